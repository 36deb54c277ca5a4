//! Operators' endpoints: status, live connections, broadcast notifications, and
//! Prometheus metrics.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use std::collections::BTreeMap;

use ledger::Position;
use projections::LiveStatus;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::live::connections::ConnectionInfo;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::openapi::ErrorBody;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Status {
    #[schema(value_type = i64)]
    head: Position,
    #[schema(example = "postgres")]
    backend: &'static str,
    #[schema(value_type = crate::routes::openapi::ProjectionStatus)]
    projections: LiveStatus,
    /// Events committed but not yet folded.
    lag: i64,
    /// Open live sockets (WebSockets and event streams) of this server process.
    #[schema(value_type = u64)]
    connections: usize,
    /// Subscriptions per topic.
    #[schema(value_type = BTreeMap<String, u64>)]
    subscriptions: BTreeMap<String, usize>,
    /// Deltas this process could not queue for a socket (that socket resyncs).
    queue_drops: u64,
    /// Times a socket fell behind and was sent fresh snapshots.
    resyncs: u64,
    /// Delta frames written to sockets by this process.
    deltas_sent: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Connections {
    connections: Vec<ConnectionInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Delivered {
    /// Sockets of this server process the notification was queued on.
    #[schema(value_type = u64)]
    delivered_to: usize,
}
use crate::state::AppState;

fn admin_only(caller: Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Admin => Ok(()),
        Caller::User(_) => Err(ApiError::Forbidden("only the admin may do this".into())),
    }
}

/// `GET /v1/status`: the log's head, the read models' position and lag, sockets.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "admin",
    responses(
        (status = 200, description = "This server's view of the log and its read models", body = Status),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the admin", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Status>, ApiError> {
    admin_only(caller)?;
    let head = state.head().await?;
    let projections = state.live.status();
    Ok(Json(Status {
        head,
        backend: state.store.backend_name(),
        lag: head.get() - projections.position.get(),
        projections,
        connections: state.connections.count(),
        subscriptions: state.connections.topics(),
        queue_drops: state.hub.queue_drops(),
        resyncs: state.connections.resyncs.load(Ordering::Relaxed),
        deltas_sent: state.connections.deltas_sent.load(Ordering::Relaxed),
    }))
}

/// `GET /v1/connections`: one row per live socket.
#[utoipa::path(
    get,
    path = "/v1/connections",
    tag = "admin",
    responses(
        (status = 200, description = "The sockets of this server process", body = Connections),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the admin", body = ErrorBody),
    ),
)]
pub(crate) async fn connections(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Connections>, ApiError> {
    admin_only(caller)?;
    Ok(Json(Connections {
        connections: state.connections.list(),
    }))
}

/// Longest broadcast message, in characters.
const MAX_MESSAGE: usize = 2000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Broadcast {
    /// At most 2000 characters.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 2000
    )]
    message: String,
    /// `info` (the default), `warning` or `critical`.
    #[schema(example = "warning", value_type = Option<crate::routes::openapi::Severity>)]
    severity: Option<String>,
}

/// `POST /v1/broadcast`: a `notification` to every socket of this server.
#[utoipa::path(
    post,
    path = "/v1/broadcast",
    tag = "admin",
    request_body = Broadcast,
    responses(
        (status = 200, description = "Queued on every socket of this server process", body = Delivered),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the admin", body = ErrorBody),
        (status = 422, description = "A message too long or an unknown severity", body = ErrorBody),
    ),
)]
pub(crate) async fn broadcast(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Broadcast>,
) -> Result<Json<Delivered>, ApiError> {
    admin_only(caller)?;
    let message = ledger::text::free_text("message", &body.message, MAX_MESSAGE)?;
    let severity = body.severity.unwrap_or_else(|| "info".into());
    if !["info", "warning", "critical"].contains(&severity.as_str()) {
        return Err(ApiError::invalid("severity", "info, warning or critical"));
    }
    let delivered = state.connections.broadcast(
        json!({ "type": "notification", "data": { "message": message, "severity": severity } }),
    );
    Ok(Json(Delivered {
        delivered_to: delivered,
    }))
}

/// `GET /metrics`, in Prometheus' text format (no token: scrape it from inside).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Gauges and counters in Prometheus' text format 0.0.4: \
            ledger_connections, ledger_subscriptions, ledger_deltas_sent_total, ledger_resyncs_total, \
            ledger_log_head, ledger_projection_position, ledger_projection_lag, ledger_projection_failed",
            body = String, content_type = "text/plain; version=0.0.4"),
    ),
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.store.known_head().get();
    let live = state.live.status();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, value: i128| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        "ledger_connections",
        "Open live sockets (WebSockets and event streams).",
        "gauge",
        state.connections.count() as i128,
    );
    gauge(
        "ledger_subscriptions",
        "Topic subscriptions over all sockets.",
        "gauge",
        state.connections.topics().values().sum::<usize>() as i128,
    );
    gauge(
        "ledger_deltas_sent_total",
        "Delta messages written to sockets.",
        "counter",
        i128::from(state.connections.deltas_sent.load(Ordering::Relaxed)),
    );
    gauge(
        "ledger_resyncs_total",
        "Sockets that fell behind and were sent fresh snapshots.",
        "counter",
        i128::from(state.connections.resyncs.load(Ordering::Relaxed)),
    );
    gauge(
        "ledger_queue_drops_total",
        "Deltas not queued for a socket because its queue was full (it resyncs).",
        "counter",
        i128::from(state.hub.queue_drops()),
    );
    gauge(
        "ledger_log_head",
        "The last log position this process knows is committed.",
        "gauge",
        i128::from(head),
    );
    gauge(
        "ledger_projection_position",
        "The position the read models reflect.",
        "gauge",
        i128::from(live.position.get()),
    );
    gauge(
        "ledger_projection_lag",
        "Events committed but not yet folded into the read models.",
        "gauge",
        i128::from(head - live.position.get()),
    );
    gauge(
        "ledger_projection_failed",
        "1 when the read models stopped at an event.",
        "gauge",
        i128::from(live.error.is_some()),
    );
    state.append_latency.render(
        "ledger_append_seconds",
        "How long the HTTP write handlers' appends to the log take.",
        &mut out,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
