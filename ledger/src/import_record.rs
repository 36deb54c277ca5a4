//! What the store keeps about each statement import beside the log: its state and
//! summary, and the server process that runs it, so an import that died with its
//! process can be told apart from one still running.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::{ImportId, LedgerId};

/// Where an import stands. Only `Running` ever changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportState {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl ImportState {
    pub const fn as_str(self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Completed => "completed",
            ImportState::Cancelled => "cancelled",
            ImportState::Failed => "failed",
        }
    }

    pub const fn is_final(self) -> bool {
        !matches!(self, ImportState::Running)
    }
}

impl fmt::Display for ImportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImportState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "running" => Ok(ImportState::Running),
            "completed" => Ok(ImportState::Completed),
            "cancelled" => Ok(ImportState::Cancelled),
            "failed" => Ok(ImportState::Failed),
            other => Err(format!("unknown import state {other:?}")),
        }
    }
}

/// One row of the imports table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    pub import_id: ImportId,
    pub ledger_id: LedgerId,
    /// The server process running (or that ran) the import.
    pub owner: Uuid,
    pub state: ImportState,
    /// The status as the API shows it, as JSON text; the store does not read it.
    pub summary: String,
    /// Refreshed while the import runs; a running import whose owner stopped
    /// refreshing it is dead.
    pub updated_at: DateTime<Utc>,
}
