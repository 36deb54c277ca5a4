//! The event store: one ordered, append-only log behind one interface, on PostgreSQL
//! or SQLite.
//!
//! Callers validate and encode their appends in their own task, then hand them to
//! the committer (see `committer.rs`), which commits whatever queued up together.
//! Reads go straight to the backend; tails wake on the committed head.
//!
//! Here the facade; apart from it `backend` (which engine is open, and the dispatch
//! to it), `committer` (group commit), `entries` (reading in constant memory) and
//! `tail` (following the log) and `tokens` (users' tokens).

mod backend;
mod committer;
mod entries;
mod tail;
mod tokens;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::append::{AppendRequest, Appended, Prepared};
use crate::chain::{ChainVerifier, Verification};
use crate::checkpoint::{Checkpoint, LedgerState, MAX_PROJECTION_NAME};
use crate::error::{AppendError, StoreError};
use crate::ids::{ImportId, LedgerId, Position, StreamId, UserId};
use crate::import_record::ImportRecord;
use crate::profile::{Email, Locale, Profile, ProfileError};
use crate::recorded::{LogEntry, RecordedEvent};
use crate::user::{TokenHash, User};

use backend::{dispatch, Backend};
use committer::Pending;
pub use entries::Entries;
use entries::{paged, ENTRIES_AHEAD};
pub use tail::Tail;

/// Appends waiting for the committer before callers wait to hand theirs over.
const QUEUE_DEPTH: usize = 8192;
/// Rows fetched per round trip when streaming the log.
const PAGE: i64 = 2000;

/// Tuning for [`Store::open_with`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections for reads (and, on PostgreSQL, the committer).
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
        }
    }
}

struct Inner {
    backend: Arc<Backend>,
    queue: mpsc::Sender<Pending>,
    head: watch::Receiver<Position>,
    committer: std::sync::Mutex<Option<JoinHandle<()>>>,
    shutdown: watch::Sender<bool>,
    /// Background tasks (the PostgreSQL LISTEN loop) that die with the store.
    _tasks: Vec<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A handle to the log; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (and migrates) the store at `url`: `postgres://...` or `sqlite:PATH`
    /// (a bare path also means SQLite).
    ///
    /// # Errors
    /// When the database cannot be reached or migrated.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// # Errors
    /// As [`Store::open`].
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let backend = Arc::new(Backend::connect(url, &options).await?);
        let initial = dispatch!(&*backend, b => b.head().await)?;
        let (head_tx, head_rx) = watch::channel(initial);
        let head_tx = Arc::new(head_tx);
        let mut tasks = Vec::new();
        if let Backend::Postgres(pg) = &*backend {
            tasks.push(AbortOnDrop(tokio::spawn(
                pg.clone().listen(head_tx.clone()),
            )));
        }
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let committer = committer::spawn(backend.clone(), rx, head_tx, shutdown_rx);
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                queue,
                head: head_rx,
                committer: std::sync::Mutex::new(Some(committer)),
                shutdown,
                _tasks: tasks,
            }),
        })
    }

    fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// The name of the backend, for reports: `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    /// Appends atomically and durably; returns once the events are committed.
    ///
    /// # Errors
    /// [`AppendError::VersionConflict`] (naming the current version),
    /// [`AppendError::IdempotencyKeyReused`], [`AppendError::LedgerNotFound`],
    /// [`AppendError::Invalid`] for a malformed request, or a storage failure.
    /// A failed append has written nothing.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        let prepared = Prepared::new(request)?;
        let (reply, answer) = oneshot::channel();
        self.inner
            .queue
            .send(Pending { prepared, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The last position this process knows to be committed (its own appends and,
    /// on PostgreSQL, other processes' as their notifications arrive).
    pub fn known_head(&self) -> Position {
        *self.inner.head.borrow()
    }

    /// The last committed position, read from the database.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn head(&self) -> Result<Position, StoreError> {
        dispatch!(self.backend(), b => b.head().await)
    }

    /// Events after `after`, in position order, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self.backend(), b => b.read_all(after, clamp(limit)).await)
    }

    /// A ledger's events after `after` and up to `until` (inclusive) if given.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn read_ledger(
        &self,
        ledger: LedgerId,
        after: Position,
        until: Option<Position>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self.backend(), b => b.read_ledger(ledger, after, until, clamp(limit)).await)
    }

    /// A stream's events with a version above `after_version`, oldest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn read_stream(
        &self,
        stream: StreamId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self.backend(), b => b.read_stream(stream, after_version, clamp(limit)).await)
    }

    /// The last position recorded at or before `at` (zero if none): the log as it
    /// stood at that moment is every event up to it.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn position_at(&self, at: DateTime<Utc>) -> Result<Position, StoreError> {
        dispatch!(self.backend(), b => b.position_at(at).await)
    }

    /// Every ledger that has been opened.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn ledgers(&self) -> Result<Vec<LedgerId>, StoreError> {
        dispatch!(self.backend(), b => b.ledgers().await)
    }

    /// The whole log after `after` as a stream, fetched page by page, so memory stays
    /// constant however long the log is.
    pub fn stream_all(
        &self,
        after: Position,
    ) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send + 'static {
        let store = self.clone();
        paged(after, move |from| {
            let store = store.clone();
            async move { store.read_all(from, PAGE as usize).await }
        })
    }

    /// The events after `after` up to `until` (inclusive), in position order and in
    /// batches of about `batch`, as a fold reads them (see [`LogEntry`]), each turned
    /// into what the caller needs by `convert`.
    ///
    /// A task of its own reads them ahead of the caller, a bounded number of batches
    /// ahead, so reading overlaps whatever the caller does with them while memory
    /// stays constant however long the log is. On PostgreSQL that is one query, its
    /// rows streamed as they come. `convert` runs on that task as each entry is read
    /// (a rebuild decodes there), so an entry's texts are freed by the thread that
    /// allocated them, and only what the caller keeps is handed over.
    pub fn read_entries<T, F>(
        &self,
        after: Position,
        until: Position,
        batch: usize,
        mut convert: F,
    ) -> Entries<T>
    where
        T: Send + 'static,
        F: FnMut(LogEntry) -> T + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(ENTRIES_AHEAD);
        let backend = self.inner.backend.clone();
        let batch = batch.max(1);
        let task = tokio::spawn(async move {
            let sent = dispatch!(&*backend, b => b.send_entries(after, until, batch, &mut convert, &sender).await);
            if let Err(e) = sent {
                let _ = sender.send(Err(e)).await;
            }
        });
        Entries {
            receiver,
            task: Some(AbortOnDrop(task)),
        }
    }

    /// A ledger's events after `after` and up to `until`, as a stream in constant memory.
    pub fn stream_ledger(
        &self,
        ledger: LedgerId,
        after: Position,
        until: Option<Position>,
    ) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send + 'static {
        let store = self.clone();
        paged(after, move |from| {
            let store = store.clone();
            async move { store.read_ledger(ledger, from, until, PAGE as usize).await }
        })
    }

    /// Saves a projection's position and the states of the ledgers that changed since
    /// its last checkpoint, atomically.
    ///
    /// # Errors
    /// On a database failure, or a projection name that is empty or too long.
    pub async fn save_checkpoint(
        &self,
        projection: &str,
        position: Position,
        changed: &[LedgerState],
    ) -> Result<(), StoreError> {
        check_projection_name(projection)?;
        dispatch!(self.backend(), b => b.save_checkpoint(projection, position, changed).await)
    }

    /// A projection's last checkpoint, if it saved one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn load_checkpoint(
        &self,
        projection: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        check_projection_name(projection)?;
        dispatch!(self.backend(), b => b.load_checkpoint(projection).await)
    }

    /// Forgets a projection's checkpoint, so it rebuilds from the start of the log.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_checkpoint(&self, projection: &str) -> Result<(), StoreError> {
        check_projection_name(projection)?;
        dispatch!(self.backend(), b => b.delete_checkpoint(projection).await)
    }

    /// Adds a user who authenticates with the token whose hash is `token`.
    ///
    /// # Errors
    /// On a database failure (including a token hash already in use).
    pub async fn create_user(&self, user: &User, token: &TokenHash) -> Result<(), StoreError> {
        dispatch!(self.backend(), b => b.create_user(user, token).await)
    }

    /// The user who holds the token with this hash, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn user_by_token(&self, token: &TokenHash) -> Result<Option<User>, StoreError> {
        dispatch!(self.backend(), b => b.user_by_token(token).await)
    }

    /// # Errors
    /// On a database failure.
    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self.backend(), b => b.user(id).await)
    }

    /// A user's profile, if there is such a user.
    ///
    /// # Errors
    /// On a database failure, or a stored email or locale that no longer parses.
    pub async fn profile(&self, id: UserId) -> Result<Option<Profile>, StoreError> {
        let row = dispatch!(self.backend(), b => b.profile(id).await)?;
        row.map(|(name, email, locale)| {
            let bad = |e: ProfileError| StoreError::Corrupt {
                position: Position::ZERO,
                reason: format!("user {id}: {e}"),
            };
            Ok(Profile {
                user_id: id,
                name,
                email: email
                    .as_deref()
                    .map(Email::parse)
                    .transpose()
                    .map_err(bad)?,
                locale: Locale::parse(&locale).map_err(bad)?,
            })
        })
        .transpose()
    }

    /// Sets a user's email (`Some(None)` clears it) and locale, where given; false
    /// when there is no such user.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn update_profile(
        &self,
        id: UserId,
        email: Option<Option<&Email>>,
        locale: Option<&Locale>,
    ) -> Result<bool, StoreError> {
        let email = email.map(|e| e.map(Email::as_str));
        let locale = locale.map(Locale::as_str);
        dispatch!(self.backend(), b => b.update_profile(id, email, locale).await)
    }

    /// Records an import's state and summary. A row already in a final state is
    /// left as it is.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn save_import(&self, record: &ImportRecord) -> Result<(), StoreError> {
        dispatch!(self.backend(), b => b.save_import(record).await)
    }

    /// An import's row, if it was ever recorded.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn import(&self, id: ImportId) -> Result<Option<ImportRecord>, StoreError> {
        dispatch!(self.backend(), b => b.import(id).await)
    }

    /// Says that `owner` is alive: refreshes `updated_at` of its running imports.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn touch_imports(&self, owner: uuid::Uuid) -> Result<(), StoreError> {
        dispatch!(self.backend(), b => b.touch_imports(owner, Utc::now()).await)
    }

    /// Marks failed every running import not refreshed since `before`: its process
    /// is gone, and since an import appends atomically, it appended nothing.
    /// Returns how many were marked.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn fail_stale_imports(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        dispatch!(self.backend(), b => b.fail_stale_imports(before).await)
    }

    /// Walks a ledger's hash chain and reports the first event that does not match.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn verify(&self, ledger: LedgerId) -> Result<Verification, StoreError> {
        use futures::TryStreamExt;
        let mut verifier = ChainVerifier::new();
        let mut events = std::pin::pin!(self.stream_ledger(ledger, Position::ZERO, None));
        while let Some(event) = events.try_next().await? {
            if !verifier.check(&event) {
                break;
            }
        }
        Ok(verifier.finish())
    }

    /// Follows the log from `after`: every event exactly once, in position order,
    /// waking as soon as new events are committed.
    pub fn tail(&self, after: Position) -> Tail {
        Tail {
            store: self.clone(),
            after,
            head: self.inner.head.clone(),
        }
    }

    /// Stops taking appends, lets the committer finish what was already handed to
    /// it, and waits for that. Appends after this fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        self.inner.shutdown.send_replace(true);
        let handle = self.inner.committer.lock().expect("committer lock").take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    /// Direct access for tests that tamper with the log behind the store's back.
    #[cfg(feature = "testing")]
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        dispatch!(self.backend(), b => b.execute_raw(sql).await)
    }
}

fn check_projection_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > MAX_PROJECTION_NAME {
        return Err(StoreError::BadProjectionName(
            name.chars().take(MAX_PROJECTION_NAME).collect(),
        ));
    }
    Ok(())
}

fn clamp(limit: usize) -> i64 {
    limit.clamp(1, 10_000) as i64
}
