//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use ledger::{Position, Store, TokenHash};
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
    pub(crate) connections: Arc<crate::connections::Connections>,
    /// Statement imports running in this process, and their progress messages.
    pub(crate) imports: Arc<crate::imports::Imports>,
    /// Turns true when the server starts shutting down: sockets close with 1001.
    pub(crate) closing: tokio::sync::watch::Receiver<bool>,
}

impl AppState {
    /// Waits (bounded) until the read models reflect `position`.
    pub(crate) async fn caught_up(&self, position: Position) -> bool {
        self.live.wait_for(position, CATCH_UP).await
    }
}
