//! Live updates' entry points. The protocols live in `live/ws/` and `live/sse.rs`; these
//! handlers only carry their documentation, so those modules stay free of it.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// `GET /v1/ws`: a WebSocket of JSON text frames (docs/PROTOCOL.md).
#[utoipa::path(
    get,
    path = "/v1/ws",
    tag = "live",
    description = "Upgrades to a WebSocket of JSON text frames: the client subscribes to \
        topics (`ledger:{lid}:expenses`, `budgets`, `analytics`, `alerts`, `imports`) and \
        receives snapshots and deltas, each with its log position. See docs/PROTOCOL.md.",
    security(("bearer" = []), ("token_query" = [])),
    responses(
        (status = 101, description = "Switching Protocols: the socket protocol of docs/PROTOCOL.md follows"),
        (status = 400, description = "Not a WebSocket handshake", body = String, content_type = "text/plain"),
        (status = 401, description = "No token or an unknown one", body = super::openapi::ErrorBody),
        (status = 429, description = "`too_many_sockets`: the user already holds `--sockets-per-user` WebSockets and event streams on this server; or `rate_limited`", body = super::openapi::ErrorBody),
    ),
)]
pub(crate) async fn socket(
    state: State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Response {
    crate::live::ws::upgrade(state, caller, ws).await
}

/// `GET /v1/ledgers/{lid}/stream`: the socket's topics as Server-Sent Events.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/stream",
    tag = "live",
    description = "The same topics as the WebSocket, as Server-Sent Events: a `snapshot` \
        per topic, then deltas. Each event's SSE `id` is its log position, so a client \
        that reconnects with `Last-Event-ID` (or `since`) resumes after it. \
        Try `curl -N -H 'authorization: Bearer $TOKEN' .../stream?topics=budgets`.",
    security(("bearer" = []), ("token_query" = [])),
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        crate::live::sse::StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Resume after this position; one beyond the log's head starts afresh with snapshots"),
    ),
    responses(
        (status = 200, description = "An endless stream of events; the `data` of each is a message of docs/PROTOCOL.md (a JSON object)", body = Object, content_type = "text/event-stream"),
        (status = 401, description = "No token or an unknown one", body = super::openapi::ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = super::openapi::ErrorBody),
        (status = 404, description = "No such ledger", body = super::openapi::ErrorBody),
        (status = 422, description = "An unknown topic or a bad `Last-Event-ID`", body = super::openapi::ErrorBody),
        (status = 429, description = "`too_many_sockets`: the user already holds `--sockets-per-user` WebSockets and event streams on this server; or `rate_limited`", body = super::openapi::ErrorBody),
    ),
)]
pub(crate) async fn stream(
    state: State<AppState>,
    caller: Caller,
    path: ApiPath<ledger::LedgerId>,
    query: ApiQuery<crate::live::sse::StreamQuery>,
    headers: HeaderMap,
) -> Response {
    crate::live::sse::stream(state, caller, path, query, headers)
        .await
        .into_response()
}
