//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use ledger::{AppendError, AppendRequest, Appended, Position, Store, TokenHash};
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
}

impl AppState {
    /// Waits (bounded) until the read models reflect `position`.
    pub(crate) async fn caught_up(&self, position: Position) -> bool {
        self.live.wait_for(position, CATCH_UP).await
    }

    /// Appends to the log, timed for `/metrics`: the one place the HTTP write
    /// handlers append through.
    ///
    /// # Errors
    /// As [`Store::append`].
    pub(crate) async fn append(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        let started = Instant::now();
        let appended = self.store.append(request).await;
        self.append_latency.observe(started.elapsed());
        appended
    }
}
