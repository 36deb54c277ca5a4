//! One import's run: catch up, deduplicate, build the one append, commit, retry.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::commands::import::{self as command, StartImport};
use ledger::event::ImportRowError;
use ledger::{AppendError, AppendRequest, ImportState, UserId};

use crate::imports::request::Prepared;
use crate::imports::status::Stage;

use super::{Found, Imports, Phase, Running, Stop, ATTEMPTS, CATCH_UP, CHUNK, DIED};

impl Imports {
    pub(super) async fn execute(
        self: Arc<Self>,
        running: Arc<Running>,
        prepared: Prepared,
        actor: Option<UserId>,
    ) {
        match self.pipeline(&running, &prepared, actor).await {
            Ok(()) => {}
            Err(Stop::Cancelled) => {
                self.finish(
                    &running,
                    ImportState::Cancelled,
                    Some("cancelled; nothing was appended".into()),
                    true,
                )
                .await;
            }
            Err(Stop::Stopped) => {
                tracing::info!(import = %prepared.import_id, "import stopped by the shutdown");
                self.finish(&running, ImportState::Failed, Some(DIED.into()), true)
                    .await;
            }
            Err(Stop::Failed(reason)) => {
                tracing::warn!(import = %prepared.import_id, reason, "import failed");
                self.finish(
                    &running,
                    ImportState::Failed,
                    Some(format!("{reason}; nothing was appended")),
                    true,
                )
                .await;
            }
        }
    }

    async fn pipeline(
        &self,
        running: &Running,
        prepared: &Prepared,
        actor: Option<UserId>,
    ) -> Result<(), Stop> {
        let ledger = prepared.ledger;
        let lock = self.ledger_lock(ledger);
        let _one_at_a_time = self.unless_stopping(lock.lock()).await?;
        for attempt in 1..=ATTEMPTS {
            self.check(running)?;
            let head = self.store.head().await?;
            if !self
                .unless_stopping(self.live.wait_for(head, CATCH_UP))
                .await?
            {
                return Err(Stop::Failed(
                    "the read models did not catch up with the log in time".into(),
                ));
            }
            let clock = Instant::now();
            let found = self.deduplicate(running, prepared).await?;
            let deduplicated = clock.elapsed();
            if found.fresh.is_empty() {
                let position = self.live.position();
                self.complete(running, found, position, false).await;
                return Ok(());
            }
            let request = self.request(running, prepared, &found, actor).await?;
            let built = clock.elapsed();
            self.enter_commit(running)?;
            match self.store.append(request).await {
                Ok(appended) => {
                    tracing::debug!(
                        import = %prepared.import_id,
                        deduplicated_ms = deduplicated.as_millis() as u64,
                        built_ms = (built - deduplicated).as_millis() as u64,
                        appended_ms = (clock.elapsed() - built).as_millis() as u64,
                        "import appended"
                    );
                    // Not waiting for the read models: the status's position is what
                    // a read's `min_position` waits for, and sockets hear of the
                    // import from the read models, in log order.
                    self.complete(running, found, appended.last_position, true)
                        .await;
                    return Ok(());
                }
                Err(AppendError::VersionConflict { stream, .. }) if attempt < ATTEMPTS => {
                    tracing::info!(import = %prepared.import_id, %stream,
                        "rows of this import were just recorded elsewhere; deduplicating again");
                    running.lock().phase = Phase::Working;
                }
                Err(e) => return Err(Stop::Failed(format!("appending: {e}"))),
            }
        }
        Err(Stop::Failed(
            "other imports kept recording the same rows; retry".into(),
        ))
    }
    /// The import's one append: `ImportStarted`, the new expenses, `ImportCompleted`.
    async fn request(
        &self,
        running: &Running,
        prepared: &Prepared,
        found: &Found,
        actor: Option<UserId>,
    ) -> Result<AppendRequest, Stop> {
        let start = StartImport {
            import_id: prepared.import_id,
            format: prepared.format.clone(),
            file_name: prepared.file_name.clone(),
            rows: prepared.rows.len() as u64,
        };
        let mut append = command::start(prepared.ledger, start, actor);
        append.reserve(found.fresh.len());
        self.progress(running, Stage::Appending, 0);
        for (n, chunk) in found.fresh.chunks(CHUNK).enumerate() {
            self.check(running)?;
            for &i in chunk {
                append.record(prepared.rows[i].expense.clone());
            }
            let built = (n * CHUNK + chunk.len()) as u64;
            // Rows found to be duplicates count as done in this stage too.
            self.progress(running, Stage::Appending, built + found.duplicates);
            self.pace().await;
        }
        let errors = prepared
            .errors
            .iter()
            .map(|e| ImportRowError {
                line: e.line as u64,
                message: e.message.clone(),
            })
            .collect();
        Ok(append.complete(found.duplicates, errors))
    }

    /// Waits for `work` unless the server starts shutting down first.
    async fn unless_stopping<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Stop> {
        tokio::select! {
            done = work => Ok(done),
            () = self.stopping.cancelled() => Err(Stop::Stopped),
        }
    }

    pub(super) fn check(&self, running: &Running) -> Result<(), Stop> {
        if self.stopping.is_cancelled() {
            return Err(Stop::Stopped);
        }
        match running.lock().phase {
            Phase::Cancelled => Err(Stop::Cancelled),
            Phase::Working | Phase::Committing => Ok(()),
        }
    }

    /// Past this point a cancellation is refused: the append is in the store's hands.
    fn enter_commit(&self, running: &Running) -> Result<(), Stop> {
        let mut state = running.lock();
        if state.phase == Phase::Cancelled {
            return Err(Stop::Cancelled);
        }
        if self.stopping.is_cancelled() {
            return Err(Stop::Stopped);
        }
        state.phase = Phase::Committing;
        Ok(())
    }

    pub(super) async fn pace(&self) {
        let ms = self.pace_ms.load(Ordering::Relaxed);
        if ms > 0 {
            // A shutdown is seen at the next check.
            let _ = self
                .unless_stopping(tokio::time::sleep(Duration::from_millis(ms)))
                .await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}
