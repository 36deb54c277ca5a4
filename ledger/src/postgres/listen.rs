//! Following other processes' commits: LISTEN on the channel every commit notifies.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::error::StoreError;
use crate::ids::Position;

use super::{PgBackend, CHANNEL};

impl PgBackend {
    /// Raises the known head whenever another process (or this one) commits. The
    /// notification only wakes readers; they read the events themselves, so a lost
    /// notification delays, never loses, an event.
    pub(crate) async fn listen(self, head: Arc<watch::Sender<Position>>) {
        loop {
            match self.listen_once(&head).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    async fn listen_once(&self, head: &watch::Sender<Position>) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        raise(head, self.head().await?);
        loop {
            let notification = listener.recv().await?;
            if let Ok(p) = notification.payload().parse::<i64>() {
                raise(head, Position::from_db(p));
            }
        }
    }
}

fn raise(head: &watch::Sender<Position>, to: Position) {
    head.send_if_modified(|h| {
        let moved = to > *h;
        *h = (*h).max(to);
        moved
    });
}
