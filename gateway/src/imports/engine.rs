//! The import pipeline and this process's registry of imports.
//!
//! An import is parsed before it is registered (see `request`); here it is
//! deduplicated against the read models and appended as one atomic append:
//! `ImportStarted`, one `ExpenseRecorded` per new row, `ImportCompleted`. Until the
//! append is handed to the store it can be cancelled and appends nothing; a crash
//! before the commit leaves nothing in the log either, and the imports table,
//! whose running rows this process keeps refreshing, shows it failed.
//!
//! Background imports run as tasks of a tracker: on shutdown the ones not yet
//! committing stop at their next check and are reported failed like a crash's
//! (nothing appended), those committing finish their append, and the server waits
//! for all of them before it closes the store.
//!
//! Over 500 lines: the pipeline and the registry share each running import's
//! state; splitting them (ADR 10) waits for the concurrent change to how the
//! append is built, to keep that merge easy.
//!
//! Imports of one ledger run one at a time in a process, each deduplicating right
//! before it appends, after the read models caught up with the log. Across
//! processes the log decides: a row's expense id is derived from its fingerprint
//! and appended with "no such stream yet", so the second of two racing imports
//! gets a version conflict, deduplicates again and appends only what is left.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use ledger::commands::import::{self as command, StartImport};
use ledger::event::ImportRowError;
use ledger::{
    AppendError, AppendRequest, ExpenseId, ImportId, ImportRecord, ImportState, LedgerId, Position,
    Store, StoreError, UserId,
};
use projections::Live;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::recent::Recent;
use super::request::Prepared;
use super::status::{LineError, PossibleDuplicate, Stage, Status};

/// How often this process says its running imports are alive.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(10);
/// A running import not refreshed for this long died with its process.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(30);
/// At most one `import_progress` per import this often, besides stage changes and
/// the end: ten a second is smooth for a progress bar and cheap for sockets.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Rows deduplicated under one read of the read models: short enough that the
/// fold never waits long for the lock, and a cancellation is seen within it.
const CHUNK: usize = 2000;
/// How long an import waits for the read models to reach the log's head.
const CATCH_UP: Duration = Duration::from_secs(30);
/// A hand-recorded expense this close in days with the same amount may be the
/// same spending as an imported row.
const NEAR_DAYS: i64 = 3;
/// Possible duplicates listed per import; more are counted, not listed.
const MAX_POSSIBLE_DUPLICATES: usize = 1000;
/// Appends tried when another process keeps importing the same rows meanwhile.
const ATTEMPTS: usize = 3;
/// What a failure of a process says about its imports.
const DIED: &str = "the server stopped during the import; nothing was appended";

/// What became of a cancellation.
#[derive(Debug)]
pub(crate) enum CancelOutcome {
    /// Cancelled now or before: nothing is or will be appended.
    Cancelled(Status),
    /// Too late: committing, committed or failed.
    Final(Status),
}

/// Why a pipeline stopped short.
enum Stop {
    Cancelled,
    Failed(String),
    /// The server is shutting down.
    Stopped,
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Failed(format!("storage: {e}"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Working,
    Cancelled,
    /// Handed to the store: past cancelling.
    Committing,
}

struct RunState {
    status: Status,
    phase: Phase,
    /// Stage, time and percent of the last `import_progress` sent.
    last_sent: Option<(Stage, Instant, u32)>,
}

/// One import running in this process.
struct Running {
    state: Mutex<RunState>,
    /// When it was registered, to list the running ones in order.
    since: Instant,
}

impl Running {
    fn lock(&self) -> MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// This process's imports: the ones running, their progress on a broadcast, and
/// one lock per ledger so its imports run one at a time.
pub(crate) struct Imports {
    store: Store,
    live: Arc<Live>,
    /// This process, as the imports table knows it.
    owner: Uuid,
    running: Mutex<HashMap<ImportId, Arc<Running>>>,
    locks: Mutex<HashMap<LedgerId, Arc<tokio::sync::Mutex<()>>>>,
    messages: broadcast::Sender<(LedgerId, Value)>,
    /// Finished imports per ledger, newest first, for the imports topic's snapshot.
    recent: Recent,
    /// The background imports, awaited on shutdown.
    tasks: TaskTracker,
    /// Cancelled on shutdown: imports not yet committing stop.
    stopping: CancellationToken,
    /// A pause per chunk of rows, for tests that need an import to take a while.
    pace_ms: AtomicU64,
}

impl Imports {
    pub(crate) fn new(store: Store, live: Arc<Live>) -> Arc<Imports> {
        Arc::new(Imports {
            store,
            live,
            owner: Uuid::new_v4(),
            running: Mutex::default(),
            locks: Mutex::default(),
            messages: broadcast::channel(1024).0,
            recent: Recent::default(),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            pace_ms: AtomicU64::new(0),
        })
    }

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
    pub(crate) fn set_pace(&self, pause: Duration) {
        self.pace_ms
            .store(pause.as_millis() as u64, Ordering::Relaxed);
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

    async fn execute(
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

    /// Splits the rows into new ones and duplicates (already in the ledger, even if
    /// deleted since, or repeated in the file), and finds hand-recorded expenses
    /// that look like new rows.
    async fn deduplicate(&self, running: &Running, prepared: &Prepared) -> Result<Found, Stop> {
        let ledger = prepared.ledger;
        let manual = self
            .live
            .read(|p| p.ledger(ledger).map(manual_index))
            .ok_or_else(|| Stop::Failed(format!("no ledger {ledger}")))?;
        let mut found = Found::default();
        let mut seen: HashSet<ExpenseId> = HashSet::with_capacity(prepared.rows.len());
        self.progress(running, Stage::Deduplicating, 0);
        let mut done = 0;
        for chunk in prepared.rows.chunks(CHUNK) {
            self.check(running)?;
            let start = found.fresh.len();
            self.live.read(|p| {
                let expenses = p.ledger(ledger).map(|l| l.expenses());
                for (i, draft) in chunk.iter().enumerate() {
                    let id = draft.expense.expense_id;
                    let known = expenses.is_some_and(|e| e.get(id).is_some());
                    if known || !seen.insert(id) {
                        found.duplicates += 1;
                    } else {
                        found.fresh.push(done + i);
                    }
                }
            });
            for &i in &found.fresh[start..] {
                let draft = &prepared.rows[i];
                let key = draft.expense.amount.as_decimal().normalize();
                let Some(candidates) = manual.get(&key) else {
                    continue;
                };
                for &(day, expense_id) in candidates {
                    let apart = (day - draft.expense.occurred_on).num_days().abs();
                    if apart <= NEAR_DAYS && found.possible.len() < MAX_POSSIBLE_DUPLICATES {
                        found.possible.push(PossibleDuplicate {
                            line: draft.line,
                            expense_id,
                        });
                    }
                }
            }
            done += chunk.len();
            self.progress(running, Stage::Deduplicating, done as u64);
            self.pace().await;
        }
        Ok(found)
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

    fn check(&self, running: &Running) -> Result<(), Stop> {
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

    /// `appended`: the log holds the import, and its `ImportCompleted` reaches the
    /// sockets from there, as a delta in log order.
    async fn complete(&self, running: &Running, found: Found, position: Position, appended: bool) {
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
    async fn finish(
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
    fn progress(&self, running: &Running, stage: Stage, processed: u64) {
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

    async fn save(&self, status: &Status) -> Result<(), StoreError> {
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

    async fn pace(&self) {
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

    fn ledger_lock(&self, ledger: LedgerId) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(ledger)
            .or_default()
            .clone()
    }

    fn lock_running(&self) -> MutexGuard<'_, HashMap<ImportId, Arc<Running>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What deduplication found: indexes of new rows, how many were duplicates, and
/// hand-recorded look-alikes.
#[derive(Default)]
struct Found {
    fresh: Vec<usize>,
    duplicates: u64,
    possible: Vec<PossibleDuplicate>,
}

/// Live expenses recorded by hand, by amount: what an imported row may duplicate.
fn manual_index(
    ledger: &projections::LedgerProjection,
) -> HashMap<Decimal, Vec<(NaiveDate, ExpenseId)>> {
    let mut index: HashMap<Decimal, Vec<(NaiveDate, ExpenseId)>> = HashMap::new();
    for e in ledger.expenses().iter() {
        if e.deleted || e.import_id().is_some() {
            continue;
        }
        index
            .entry(e.amount.as_decimal().normalize())
            .or_default()
            .push((e.occurred_on, e.expense_id));
    }
    index
}

fn stale_before() -> chrono::DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default()
}
