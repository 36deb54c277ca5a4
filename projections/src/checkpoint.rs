//! Checkpoints of the read models: saving what changed, and resuming from them.

use ledger::{LedgerId, LedgerState, Position, Store};

use crate::error::RunError;
use crate::projections::Projections;

/// The name the read models' checkpoint is stored under.
pub const CHECKPOINT: &str = "read-models";

/// The read models as last checkpointed, or `None` when there is no usable
/// checkpoint (none saved yet, or saved by an incompatible build: then the caller
/// folds the log from the start, which is always correct).
///
/// # Errors
/// A storage failure.
pub async fn load(store: &Store) -> Result<Option<Projections>, RunError> {
    let Some(checkpoint) = store.load_checkpoint(CHECKPOINT).await? else {
        return Ok(None);
    };
    let states = checkpoint.states.into_iter().map(|s| s.state);
    match Projections::restore(checkpoint.position, states) {
        Ok(projections) => Ok(Some(projections)),
        Err(e) => {
            tracing::warn!(error = %e, "checkpoint unusable; folding the log from the start");
            Ok(None)
        }
    }
}

/// What a checkpoint will write, taken from the read models in one go so the (slow)
/// write happens without holding them.
#[derive(Debug)]
pub(crate) struct Pending {
    position: Position,
    changed: Vec<LedgerId>,
    states: Vec<LedgerState>,
}

impl Pending {
    /// Takes the position and the states of the ledgers changed since the last take.
    pub(crate) fn take(projections: &mut Projections) -> Pending {
        let changed = projections.take_changed();
        let states = changed
            .iter()
            .filter_map(|id| {
                let ledger = projections.ledger(*id)?;
                Some(LedgerState {
                    ledger: *id,
                    position: ledger.position(),
                    state: projections.snapshot_json(*id)?,
                })
            })
            .collect();
        Pending {
            position: projections.position(),
            changed,
            states,
        }
    }

    /// The position the checkpoint reflects.
    pub(crate) fn position(&self) -> Position {
        self.position
    }

    /// Writes the checkpoint in one transaction.
    ///
    /// # Errors
    /// A storage failure; the ledgers it carried are handed back so the caller can
    /// mark them changed again and the next checkpoint includes them.
    pub(crate) async fn save(self, store: &Store) -> Result<(), (RunError, Vec<LedgerId>)> {
        store
            .save_checkpoint(CHECKPOINT, self.position, &self.states)
            .await
            .map_err(|e| (e.into(), self.changed))
    }
}

/// Saves a checkpoint of read models nobody else is holding.
///
/// # Errors
/// A storage failure.
pub async fn save(store: &Store, projections: &mut Projections) -> Result<(), RunError> {
    Pending::take(projections)
        .save(store)
        .await
        .map_err(|(e, changed)| {
            projections.mark_changed(changed);
            e
        })
}
