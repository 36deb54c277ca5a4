//! Progress messages, and an import's end: saved, kept among the recent, announced.

use std::time::Instant;

use chrono::Utc;
use ledger::{ImportRecord, ImportState, Position, StoreError};

use crate::imports::status::{Stage, Status};

use super::{Found, Imports, Running, PROGRESS_EVERY};

impl Imports {
    /// `appended`: the log holds the import, and its `ImportCompleted` reaches the
    /// sockets from there, as a delta in log order.
    pub(super) async fn complete(
        &self,
        running: &Running,
        found: Found,
        position: Position,
        appended: bool,
    ) {
        {
            let mut state = running.lock();
            let status = &mut state.status;
            status.imported = found.fresh.len() as u64;
            status.duplicates = found.duplicates;
            status.possible_duplicates = found.possible;
            status.position = Some(position);
        }
        self.finish(running, ImportState::Completed, None, !appended)
            .await;
    }

    /// Ends an import: records its outcome, then tells the sockets (`announce`: the
    /// `import_completed` too, for an import the log does not announce).
    pub(super) async fn finish(
        &self,
        running: &Running,
        state: ImportState,
        message: Option<String>,
        announce: bool,
    ) {
        let status = {
            let mut run = running.lock();
            run.status.state = state;
            if message.is_some() {
                run.status.message = message;
            }
            let total = run.status.total;
            if state == ImportState::Completed {
                run.status.advance(Stage::Appending, total);
            }
            run.status.clone()
        };
        if let Err(e) = self.save(&status).await {
            tracing::error!(error = %e, import = %status.import_id, "could not record an import's outcome");
        }
        self.lock_running().remove(&status.import_id);
        self.recent.push(status.clone());
        if state == ImportState::Completed && announce {
            let _ = self
                .messages
                .send((status.ledger_id, status.progress_message()));
        }
        if announce {
            let _ = self
                .messages
                .send((status.ledger_id, status.completed_message()));
        }
        tracing::info!(import = %status.import_id, state = %state, imported = status.imported,
            duplicates = status.duplicates, "import ended");
    }

    /// Records progress and tells the sockets, at most every `PROGRESS_EVERY`
    /// unless the stage changed or the stage is done.
    pub(super) fn progress(&self, running: &Running, stage: Stage, processed: u64) {
        let message = {
            let mut state = running.lock();
            state.status.advance(stage, processed);
            let now = Instant::now();
            let stage_changed = state
                .last_sent
                .is_none_or(|(stage, _, _)| stage != state.status.stage);
            let stage_done = state.status.processed == state.status.total;
            let due = state.last_sent.is_none_or(|(_, at, percent)| {
                now.duration_since(at) >= PROGRESS_EVERY && percent != state.status.percent
            });
            if !(stage_changed || stage_done || due) {
                return;
            }
            state.last_sent = Some((state.status.stage, now, state.status.percent));
            (state.status.ledger_id, state.status.progress_message())
        };
        let _ = self.messages.send(message);
    }

    pub(super) async fn save(&self, status: &Status) -> Result<(), StoreError> {
        let summary = serde_json::to_string(status).map_err(|e| StoreError::Corrupt {
            position: Position::ZERO,
            reason: e.to_string(),
        })?;
        self.store
            .save_import(&ImportRecord {
                import_id: status.import_id,
                ledger_id: status.ledger_id,
                owner: self.owner,
                state: status.state,
                summary,
                updated_at: Utc::now(),
            })
            .await
    }
}
