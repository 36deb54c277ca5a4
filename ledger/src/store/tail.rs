//! Following the log: a reader that wakes on the committed head.

use std::time::Duration;

use tokio::sync::watch;

use crate::error::StoreError;
use crate::ids::Position;
use crate::recorded::RecordedEvent;

use super::Store;

/// How often a tail looks at the log even without a wake-up, in case a wake-up
/// was lost (a dropped LISTEN connection).
const TAIL_POLL: Duration = Duration::from_millis(500);

/// A reader that follows the log; see [`Store::tail`].
pub struct Tail {
    pub(super) store: Store,
    pub(super) after: Position,
    pub(super) head: watch::Receiver<Position>,
}

impl Tail {
    /// The next events after the last ones returned, waiting until there are some.
    ///
    /// # Errors
    /// On a database failure; the tail can be polled again afterwards.
    pub async fn next(&mut self, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            let events = self.store.read_all(self.after, limit).await?;
            if let Some(last) = events.last() {
                self.after = last.position;
                return Ok(events);
            }
            let after = self.after;
            let woke = tokio::time::timeout(TAIL_POLL, async {
                self.head.wait_for(|h| *h > after).await.map(|_| ())
            })
            .await;
            if let Ok(Err(_)) = woke {
                // The store is gone; keep polling at a slow pace rather than spin.
                tokio::time::sleep(TAIL_POLL).await;
            }
        }
    }

    /// The last position handed out.
    pub fn position(&self) -> Position {
        self.after
    }
}
