//! Folding the log from the start: a full rebuild, and the read models of one ledger
//! as they stood at a position or a moment (audits).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use ledger::{LedgerId, Position, RecordedEvent, Store, StoreError};
use tokio::task::{JoinError, JoinHandle};

use crate::error::{ProjectionError, RunError};
use crate::ledger_projection::LedgerProjection;
use crate::projections::{Decoded, Projections};

/// Events fetched per query while rebuilding: the most the store returns at once, as
/// every query costs a round trip and an index descent on top of its rows.
const PAGE: usize = 10_000;
/// Pages read and decoded ahead of the fold, each by a task of its own, so reading
/// overlaps folding while memory stays bounded (this many pages of `PAGE` events).
/// Two keep the fold fed on a two-core machine shared with the database; more only
/// add readers competing with it for the cores (measured: 3 and 6 were slower).
const READ_AHEAD: usize = 2;

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
/// Events are folded quietly ([`Projections::apply_quietly`]): nobody subscribes to
/// the past, and the alerts it called for are already in the log.
///
/// # Errors
/// A storage failure, or the first event that cannot be folded (named by position).
pub async fn rebuild(
    store: &Store,
    mut progress: impl FnMut(Progress),
) -> Result<Projections, RunError> {
    let head = store.head().await?;
    let mut projections = Projections::new();
    // Page `k` is positions `k * PAGE + 1 ..= (k + 1) * PAGE`, so pages can be read
    // concurrently and still be folded in order. (The starts count up from zero, so
    // none is refused as negative.)
    let pages = (0..head.get())
        .step_by(PAGE)
        .filter_map(|after| Position::new(after).ok())
        .map(|after| PageTask::spawn(store, after, head));
    let mut pages = futures::stream::iter(pages).buffered(READ_AHEAD);
    while let Some(page) = pages.next().await {
        for (event, decoded) in page? {
            projections.apply_decoded_quietly(&event, decoded)?;
        }
        progress(Progress {
            position: projections.position(),
            head,
        });
    }
    let _ = projections.take_changed();
    Ok(projections)
}

/// A page's events, each with its payload decoded.
type Page = Vec<(RecordedEvent, Result<Decoded, ProjectionError>)>;

/// One page being read and decoded by a task of its own; dropping it (the rebuild
/// stopped at an error) stops the task.
struct PageTask(JoinHandle<Result<Page, StoreError>>);

impl PageTask {
    /// Reads the events after position `after`, up to one page further but not past
    /// `head`. A position range rather than "the next `PAGE` events": positions may
    /// have gaps, and a page that holds fewer events only means a smaller page.
    fn spawn(store: &Store, after: Position, head: Position) -> PageTask {
        let store = store.clone();
        let last = after.get().saturating_add(PAGE as i64).min(head.get());
        PageTask(tokio::spawn(async move {
            let events = store.read_all(after, PAGE).await?;
            Ok(events
                .into_iter()
                .take_while(|event| event.position.get() <= last)
                .map(|event| {
                    let decoded = Decoded::of(&event);
                    (event, decoded)
                })
                .collect())
        }))
    }
}

impl Future for PageTask {
    type Output = Result<Page, RunError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|done| match done {
            Ok(page) => page.map_err(RunError::from),
            Err(error) => Err(stopped(error)),
        })
    }
}

impl Drop for PageTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A page task that did not finish. Nothing aborts it while it is awaited, so it
/// either panicked, and the panic goes on in the rebuild, or the runtime is shutting
/// down, which for the rebuild is the store going away.
fn stopped(error: JoinError) -> RunError {
    match error.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(_) => RunError::Store(StoreError::Closed),
    }
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
            projections.apply_quietly(event)?;
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
