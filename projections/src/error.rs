//! The one error of this crate's boundary: an event the projections cannot fold.

use ledger::{DecodeError, Position};

/// Why an event was not folded. Either way nothing of it was applied: the read
/// models stay as they were before the event, so the caller may stop, or log it and
/// go on with the next event, knowing exactly which position is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// The payload or metadata could not be read by this build.
    #[error("event at position {position} is unreadable: {source}")]
    Decode {
        position: Position,
        #[source]
        source: DecodeError,
    },
    /// The event reads fine but contradicts what came before it (an expense amended
    /// before it was recorded, an amount its ledger's currency cannot hold, ...).
    #[error(
        "event at position {position} ({event_type}) does not fit the log before it: {reason}"
    )]
    Inconsistent {
        position: Position,
        event_type: &'static str,
        reason: String,
    },
}

impl ProjectionError {
    /// The position of the event that was not folded.
    pub fn position(&self) -> Position {
        match self {
            ProjectionError::Decode { position, .. }
            | ProjectionError::Inconsistent { position, .. } => *position,
        }
    }
}

/// Why running the projections against the store failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] ledger::StoreError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}
