//! Saved projection state: what a projection had folded, and up to which position,
//! so a restart resumes there instead of replaying the whole log.
//!
//! State is saved per ledger and only for the ledgers that changed, beside the
//! projection's position, all in one transaction.

use crate::ids::{LedgerId, Position};

/// One ledger's saved state (opaque text, the projection's own serialization).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerState {
    pub ledger: LedgerId,
    /// The position this ledger's state reflects.
    pub position: Position,
    pub state: String,
}

/// A projection's checkpoint: its position and every ledger's saved state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub position: Position,
    pub states: Vec<LedgerState>,
}

/// Longest projection name, in bytes.
pub(crate) const MAX_PROJECTION_NAME: usize = 64;
