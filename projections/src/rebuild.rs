//! Folding the log from the start: a full rebuild, and the read models of one ledger
//! as they stood at a position or a moment (audits).

use chrono::{DateTime, Utc};
use ledger::{LedgerId, Position, RecordedEvent, Store};
use tokio::sync::mpsc;

use crate::error::RunError;
use crate::ledger_projection::LedgerProjection;
use crate::projections::Projections;

/// Events fetched per page while rebuilding.
const PAGE: usize = 5000;
/// Pages read ahead of the fold, so reading and folding overlap on two cores while
/// memory stays bounded.
const READ_AHEAD: usize = 4;

/// How far a rebuild has come, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub position: Position,
    /// The log's head when the rebuild started: the rebuild goes exactly that far.
    pub head: Position,
}

/// Rebuilds every read model from position 1 up to the head as it stands now,
/// streaming the log in pages (constant memory however long the log is).
///
/// # Errors
/// A storage failure, or the first event that cannot be folded (named by position).
pub async fn rebuild(
    store: &Store,
    mut progress: impl FnMut(Progress),
) -> Result<Projections, RunError> {
    let head = store.head().await?;
    let mut projections = Projections::new();
    let (pages, mut incoming) =
        mpsc::channel::<Result<Vec<RecordedEvent>, ledger::StoreError>>(READ_AHEAD);
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut after = Position::ZERO;
            while after < head {
                let page = store.read_all(after, PAGE).await;
                let stop = match &page {
                    Ok(events) => match events.last() {
                        Some(last) => {
                            after = last.position;
                            false
                        }
                        None => true,
                    },
                    Err(_) => true,
                };
                if pages.send(page).await.is_err() || stop {
                    return;
                }
            }
        })
    };
    while let Some(page) = incoming.recv().await {
        for event in page? {
            if event.position > head {
                break;
            }
            projections.apply(&event)?;
        }
        progress(Progress {
            position: projections.position(),
            head,
        });
    }
    reader.abort();
    let _ = projections.take_changed();
    Ok(projections)
}

/// One ledger's read models as they stood right after `at` (or `None` if the ledger
/// did not exist yet), folded from its own events only.
///
/// # Errors
/// A storage failure, or an event that cannot be folded.
pub async fn ledger_at_position(
    store: &Store,
    ledger: LedgerId,
    at: Position,
) -> Result<Option<LedgerProjection>, RunError> {
    let mut projections = Projections::new();
    let mut after = Position::ZERO;
    loop {
        let page = store.read_ledger(ledger, after, Some(at), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            projections.apply(event)?;
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(projections.ledger(ledger).cloned())
}

/// One ledger's read models as they stood at the moment `at`: every event recorded
/// at or before it. Also returns the position that moment corresponds to.
///
/// # Errors
/// As [`ledger_at_position`].
pub async fn ledger_at_time(
    store: &Store,
    ledger: LedgerId,
    at: DateTime<Utc>,
) -> Result<(Position, Option<LedgerProjection>), RunError> {
    let position = store.position_at(at).await?;
    Ok((position, ledger_at_position(store, ledger, position).await?))
}
