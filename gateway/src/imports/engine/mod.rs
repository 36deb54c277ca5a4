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
//!
//! Imports of one ledger run one at a time in a process, each deduplicating right
//! before it appends, after the read models caught up with the log. Across
//! processes the log decides: a row's expense id is derived from its fingerprint
//! and appended with "no such stream yet", so the second of two racing imports
//! gets a version conflict, deduplicates again and appends only what is left.
//!
//! ## Layout
//!
//! This file holds the state every stage shares: the registry ([`Imports`]) and
//! each running import's state; the stages are `impl Imports` blocks beside it.
//!
//! - `registry`: registering, listing, looking up and cancelling imports, the
//!   heartbeat that keeps this process's running imports alive, and shutdown.
//! - `pipeline`: one import's run: wait for the read models, deduplicate, build the
//!   one append, commit, retry on a conflict.
//! - `dedup`: splitting rows into new ones and duplicates, and finding hand-recorded
//!   look-alikes.
//! - `outcome`: progress messages and an import's end, saved and announced.

mod dedup;
mod outcome;
mod pipeline;
mod registry;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ledger::{ImportId, LedgerId, Store, StoreError};
use projections::Live;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::recent::Recent;
use super::status::{PossibleDuplicate, Stage, Status};

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
