//! Live updates over WebSocket: `GET /v1/ws`.
//!
//! `messages` holds what clients send; `connection` the loop that serves one
//! socket, generic over any stream and sink of messages so it can be tested
//! without a network.

mod connection;
mod messages;

pub use messages::read_client_frame;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use axum::response::IntoResponse;

use super::connections::Transport;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest message a client may send; larger ones get an `error` (and far larger
/// ones close the socket).
pub(crate) const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// Client messages are small (a subscription is ~100 bytes); a larger one grows the
/// buffer while it is read. Every idle socket holds this much.
const READ_BUFFER: usize = 1024;
/// Writes smaller than this wait in the buffer for the burst's flush.
const WRITE_BUFFER: usize = 16 * 1024;

pub(crate) async fn upgrade(
    State(state): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Response {
    // Counted before the upgrade, so a user over the cap gets an HTTP answer with a
    // code instead of a socket that closes at once.
    let registration = match state.connections.open(caller.user(), Transport::WebSocket) {
        Ok(registration) => registration,
        Err(too_many) => return ApiError::from(too_many).into_response(),
    };
    // Buffers sized for many idle sockets: tungstenite allocates the whole read buffer
    // up front (128 KiB by default) and grows it only for a larger frame; writes are
    // flushed after each burst, so the write buffer holds one burst at most (and
    // keeps the capacity of the largest).
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(4 * MAX_CLIENT_MESSAGE)
        .max_frame_size(4 * MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| connection::serve(socket, state, caller, registration))
}

#[cfg(test)]
mod tests;
