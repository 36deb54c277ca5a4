//! Registering, listing, looking up and cancelling imports; the heartbeat; shutdown.

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use chrono::Utc;
use ledger::{ImportId, ImportState, LedgerId, Position, StoreError, UserId};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::imports::request::Prepared;
use crate::imports::status::{LineError, Stage, Status};

use super::{CancelOutcome, Imports, Phase, RunState, Running, DIED, HEARTBEAT, STALE_AFTER};

impl Imports {
    /// Marks failed the imports whose process died (at startup: a crash left them
    /// running), then keeps this process's running imports alive until `self` is
    /// dropped.
    ///
    /// # Errors
    /// When the imports table cannot be updated.
    pub(crate) async fn watch(self: &Arc<Self>) -> Result<(), StoreError> {
        let stale = self.store.fail_stale_imports(stale_before()).await?;
        if stale > 0 {
            tracing::warn!(
                stale,
                "imports left running by a stopped server marked failed"
            );
        }
        let this: Weak<Imports> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            loop {
                tick.tick().await;
                let Some(imports) = this.upgrade() else { break };
                if imports.lock_running().is_empty() {
                    continue;
                }
                if let Err(e) = imports.store.touch_imports(imports.owner).await {
                    tracing::warn!(error = %e, "could not refresh the running imports");
                }
            }
        });
        Ok(())
    }

    /// `(ledger, message)` for every `import_progress` and `import_completed`.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<(LedgerId, Value)> {
        self.messages.subscribe()
    }

    /// Stops the background imports and waits for them: the ones not yet committing
    /// end failed with nothing appended (as after a crash), the ones committing
    /// finish their append. Call before the store closes.
    pub(crate) async fn shutdown(&self) {
        self.stopping.cancel();
        self.tasks.close();
        if !self.tasks.is_empty() {
            tracing::info!(
                imports = self.tasks.len(),
                "waiting for the running imports to stop"
            );
        }
        self.tasks.wait().await;
    }

    /// The imports of `ledger` to list in a snapshot: the ones running in this
    /// process, oldest first, then the ones finished recently (see `recent`), newest
    /// first.
    pub(crate) fn recent(&self, ledger: LedgerId) -> Vec<Status> {
        let mut running: Vec<(Instant, Status)> = self
            .lock_running()
            .values()
            .map(|r| (r.since, r.lock().status.clone()))
            .filter(|(_, s)| s.ledger_id == ledger)
            .collect();
        running.sort_by_key(|(since, _)| *since);
        let finished = self.recent.list(ledger);
        running
            .into_iter()
            .map(|(_, s)| s)
            .chain(finished)
            .collect()
    }

    /// Slows every import down by `pause` per chunk of rows (tests only).
    #[cfg(feature = "test-hooks")]
    pub(crate) fn set_pace(&self, pause: std::time::Duration) {
        self.pace_ms.store(
            pause.as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Registers a parsed import and runs it in the background.
    ///
    /// # Errors
    /// When the import cannot be recorded; nothing runs then.
    pub(crate) async fn start(
        self: &Arc<Self>,
        prepared: Prepared,
        actor: Option<UserId>,
    ) -> Result<Status, StoreError> {
        let already = self.lock_running().get(&prepared.import_id).cloned();
        if let Some(running) = already {
            // The same import asked for twice (a retried request): it runs once.
            return Ok(running.lock().status.clone());
        }
        let running = self.register(&prepared).await?;
        let status = running.lock().status.clone();
        let this = self.clone();
        self.tasks.spawn(async move {
            let work = tokio::spawn(this.clone().execute(running.clone(), prepared, actor));
            if let Err(e) = work.await {
                tracing::error!(error = %e, "an import's task failed");
                this.finish(
                    &running,
                    ImportState::Failed,
                    Some(format!("internal error: {e}")),
                    true,
                )
                .await;
            }
        });
        Ok(status)
    }

    /// Registers a parsed import and runs it to its end in this task.
    ///
    /// # Errors
    /// When the import cannot be recorded.
    pub(crate) async fn run(
        self: &Arc<Self>,
        prepared: Prepared,
        actor: Option<UserId>,
    ) -> Result<Status, StoreError> {
        let running = self.register(&prepared).await?;
        self.clone().execute(running.clone(), prepared, actor).await;
        let status = running.lock().status.clone();
        Ok(status)
    }

    async fn register(&self, prepared: &Prepared) -> Result<Arc<Running>, StoreError> {
        let total = prepared.rows.len() as u64;
        let mut status = Status {
            import_id: prepared.import_id,
            ledger_id: prepared.ledger,
            state: ImportState::Running,
            stage: Stage::Parsing,
            processed: 0,
            total,
            percent: 0,
            imported: 0,
            duplicates: 0,
            errors: prepared
                .errors
                .iter()
                .map(|e| LineError {
                    line: e.line as u64,
                    message: e.message.clone(),
                })
                .collect(),
            possible_duplicates: Vec::new(),
            skipped_credits: prepared.skipped_credits,
            skipped_zero: prepared.skipped_zero,
            format: prepared.format.clone(),
            encoding: prepared.encoding.clone(),
            file_name: prepared.file_name.clone(),
            position: None,
            message: None,
        };
        // Parsing is done by now: the file was read before it was accepted.
        status.advance(Stage::Parsing, total);
        self.save(&status).await?;
        let running = Arc::new(Running {
            state: Mutex::new(RunState {
                status,
                phase: Phase::Working,
                last_sent: None,
            }),
            since: Instant::now(),
        });
        self.lock_running()
            .insert(prepared.import_id, running.clone());
        self.progress(&running, Stage::Parsing, total);
        tracing::info!(import = %prepared.import_id, ledger = %prepared.ledger, rows = total,
            content = %prepared.content_hash, "import started");
        Ok(running)
    }

    /// An import of `ledger`: from memory while it runs here, else from the table.
    ///
    /// # Errors
    /// When the imports table cannot be read.
    pub(crate) async fn status(
        &self,
        ledger: LedgerId,
        id: ImportId,
    ) -> Result<Option<Status>, StoreError> {
        let running = self.lock_running().get(&id).cloned();
        if let Some(running) = running {
            let status = running.lock().status.clone();
            return Ok((status.ledger_id == ledger).then_some(status));
        }
        let Some(record) = self.store.import(id).await? else {
            return Ok(None);
        };
        if record.ledger_id != ledger {
            return Ok(None);
        }
        let mut status = match serde_json::from_str::<Status>(&record.summary) {
            Ok(s) => s,
            Err(e) => {
                return Err(StoreError::Corrupt {
                    position: Position::ZERO,
                    reason: format!("import {id}: {e}"),
                })
            }
        };
        status.state = record.state;
        // Running in the table but not here: either another live process runs it,
        // or its process died (this one, if it is ours: its task is gone).
        let dead = record.state == ImportState::Running
            && (record.owner == self.owner || record.updated_at < stale_before());
        if dead {
            status.state = ImportState::Failed;
            if let Err(e) = self.save(&status).await {
                tracing::warn!(error = %e, import = %id, "could not mark a dead import failed");
            }
        }
        if status.state == ImportState::Failed && status.message.is_none() {
            status.message = Some(DIED.into());
        }
        Ok(Some(status))
    }

    /// Cancels an import of `ledger` unless it is already being committed.
    ///
    /// # Errors
    /// When the imports table cannot be read.
    pub(crate) async fn cancel(
        &self,
        ledger: LedgerId,
        id: ImportId,
    ) -> Result<Option<CancelOutcome>, StoreError> {
        let running = self.lock_running().get(&id).cloned();
        if let Some(running) = running {
            let mut state = running.lock();
            if state.status.ledger_id != ledger {
                return Ok(None);
            }
            return Ok(Some(match state.phase {
                Phase::Working | Phase::Cancelled => {
                    state.phase = Phase::Cancelled;
                    state.status.state = ImportState::Cancelled;
                    state.status.message = Some("cancelled; nothing was appended".into());
                    CancelOutcome::Cancelled(state.status.clone())
                }
                Phase::Committing => CancelOutcome::Final(state.status.clone()),
            }));
        }
        Ok(self.status(ledger, id).await?.map(|s| {
            if s.state == ImportState::Cancelled {
                CancelOutcome::Cancelled(s)
            } else {
                CancelOutcome::Final(s)
            }
        }))
    }
}

fn stale_before() -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default()
}
