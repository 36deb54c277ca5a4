//! A client's `since` (a socket's `subscribe`, an event stream's `since` or
//! `Last-Event-ID`) checked against the log before anything is followed.
//!
//! A position beyond the log's head cannot be resumed from: replaying "every change
//! after it" would answer `recovered: true` and then stay silent until the log
//! caught up, possibly for ever (a client that kept a position from another
//! database). A position the log holds but the read models have not reached yet
//! (a client that just wrote) waits, bounded, for them instead.

use ledger::Position;

use crate::error::ApiError;
use crate::state::AppState;

/// Where a `since` stands.
pub(crate) enum Since {
    /// At or below the head: resume from it.
    Resume(Position),
    /// Beyond the head, which is given.
    BeyondHead(Position),
}

/// # Errors
/// When the log's head cannot be read.
pub(crate) async fn check(state: &AppState, since: Position) -> Result<Since, ApiError> {
    // The read models never run ahead of the log: no query for the common case.
    if since <= state.live.position() {
        return Ok(Since::Resume(since));
    }
    let head = state.head().await?;
    if since > head {
        return Ok(Since::BeyondHead(head));
    }
    state.caught_up(since).await;
    Ok(Since::Resume(since))
}
