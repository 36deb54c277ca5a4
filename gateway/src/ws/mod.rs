//! Live updates over WebSocket: `GET /v1/ws`.
//!
//! `messages` holds the protocol's message types; `connection` the loop that serves
//! one socket, generic over any stream and sink of messages so it can be tested
//! without a network.

mod connection;
pub(crate) mod messages;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use crate::auth::Caller;
use crate::state::AppState;

/// Largest message a client may send; larger ones get an `error` (and far larger
/// ones close the socket).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

pub(crate) async fn upgrade(
    State(state): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(4 * MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| connection::serve(socket, state, caller))
}
