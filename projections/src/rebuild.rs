//! Folding the log from the start: a full rebuild, and the read models of one ledger
//! as they stood at a position or a moment (audits).

use chrono::{DateTime, Utc};
use ledger::{LedgerId, Position, Store};

use crate::error::RunError;
use crate::ledger_projection::LedgerProjection;
use crate::projections::{DecodedEvent, Projections};

/// Events fetched per query by `ledger_at_position`: the most the store returns at
/// once, as every query costs a round trip and an index descent on top of its rows.
const PAGE: usize = 10_000;
/// Events handed from the reader to the fold at once: enough that the hand-over
/// costs little per event, few enough that the fold starts early and the batches in
/// flight (a bounded number, see [`Store::read_entries`]) stay small.
const BATCH: usize = 1024;

/// How far a rebuild has come, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub position: Position,
    /// The log's head when the rebuild started: the rebuild goes exactly that far.
    pub head: Position,
}

/// Rebuilds every read model from position 1 up to the head as it stands now, in
/// constant memory however long the log is, and returns it ready to be read: what the
/// read models derive on first read is built too, on every core
/// ([`Projections::derive_all`]). Progress is reported after every batch of about a
/// thousand events.
///
/// Two stages overlap, linked by a bounded channel: a task of the store's streams
/// the log and decodes each event as it reads it ([`Store::read_entries`]), while the
/// caller's task folds the decoded batches quietly
/// ([`Projections::apply_decoded_quietly`]): nobody subscribes to the past, and the
/// alerts it called for are already in the log.
///
/// # Errors
/// A storage failure, or the first event that cannot be folded (named by position).
pub async fn rebuild(
    store: &Store,
    mut progress: impl FnMut(Progress),
) -> Result<Projections, RunError> {
    let head = store.head().await?;
    let mut projections = Projections::new();
    let mut batches = store.read_entries(Position::ZERO, head, BATCH, |entry| {
        DecodedEvent::of(&entry)
    });
    while let Some(batch) = batches.next().await {
        for event in batch? {
            projections.apply_decoded_quietly(event?)?;
        }
        progress(Progress {
            position: projections.position(),
            head,
        });
    }
    let _ = projections.take_changed();
    projections.derive_all();
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
