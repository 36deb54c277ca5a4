//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use ledger::{AppendError, AppendRequest, Appended, Position, Store, StoreError, TokenHash};
use projections::Live;

/// How long a read waits for `min_position`, and an authorization check for a
/// ledger it has not seen yet, before answering with what it has.
pub(crate) const CATCH_UP: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) live: Arc<Live>,
    pub(crate) admin: Option<TokenHash>,
    /// This process's sockets, for the admin endpoints and metrics.
    pub(crate) connections: Arc<crate::live::Connections>,
    /// Statement imports running in this process, and their progress messages.
    pub(crate) imports: Arc<crate::imports::Imports>,
    /// Turns true when the server starts shutting down: sockets close with 1001.
    pub(crate) closing: tokio::sync::watch::Receiver<bool>,
    /// Users by token hash, as the database answered.
    pub(crate) tokens: Arc<crate::auth::KnownTokens>,
    /// Delivers the read models' deltas to sockets and event streams.
    pub(crate) hub: Arc<crate::live::Hub>,
    /// How long the write handlers' appends take (`ledger_append_seconds`).
    pub(crate) append_latency: Arc<crate::histogram::Histogram>,
    /// The longest an append waits for the database (`--write-timeout`).
    pub(crate) write_timeout: Duration,
}

impl AppState {
    /// Waits (bounded) until the read models reflect `position`.
    pub(crate) async fn caught_up(&self, position: Position) -> bool {
        self.live.wait_for(position, CATCH_UP).await
    }

    /// A database call of a request, bounded like a write: with the database
    /// unreachable, the request answers 503 within the write timeout instead of
    /// waiting out the connection pool.
    ///
    /// # Errors
    /// The call's own, and a pool time-out when the database does not answer.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.write_timeout, call)
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::PoolTimedOut)))
    }

    /// The log's head as the database has it, bounded (see [`AppState::bounded`]).
    ///
    /// # Errors
    /// As [`AppState::bounded`].
    pub(crate) async fn head(&self) -> Result<Position, StoreError> {
        self.bounded(self.store.head()).await
    }

    /// Appends to the log, timed for `/metrics`: the one place the HTTP write
    /// handlers append through.
    ///
    /// # Errors
    /// As [`Store::append`]; [`StoreError::CommitUnknown`] (a 503 with `Retry-After`)
    /// when the database has not answered within the write timeout. The append may
    /// still commit after that, which is why the answer does not say it failed: a
    /// client retries with the same Idempotency-Key.
    pub(crate) async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        let started = Instant::now();
        let appended = tokio::time::timeout(self.write_timeout, self.store.append(request))
            .await
            .unwrap_or_else(|_| {
                Err(AppendError::Store(StoreError::CommitUnknown(format!(
                    "no answer from the database within {:?}",
                    self.write_timeout
                ))))
            });
        self.append_latency.observe(started.elapsed());
        appended
    }
}
