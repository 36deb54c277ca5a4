//! Liveness and readiness, for load balancers and orchestrators (no token needed).

use std::time::Duration;

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::Position;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    ok: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Ready {
    ok: bool,
    /// The last committed log position.
    #[schema(value_type = i64)]
    head: Position,
    /// The position the read models reflect.
    #[schema(value_type = i64)]
    position: Position,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct NotReady {
    ok: bool,
    /// Why not: the database's error or the read models'.
    #[schema(required = true)]
    error: Option<String>,
}

/// Alive while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    security(()),
    responses((status = 200, description = "The process runs", body = Health)),
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { ok: true })
}

/// Ready when the database answers and the read models are running.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The database does not answer or the read models stopped", body = NotReady),
    ),
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let status = state.live.status();
    let not_ready = |error| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(NotReady { ok: false, error }),
        )
            .into_response()
    };
    // An orchestrator asks often and waits little: a database that does not answer
    // quickly is as good as down (the pool would otherwise wait its acquire timeout).
    match tokio::time::timeout(READY_TIMEOUT, state.store.head()).await {
        Ok(Ok(head)) if status.error.is_none() => Json(Ready {
            ok: true,
            head,
            position: status.position,
        })
        .into_response(),
        Ok(Ok(_)) => not_ready(status.error),
        Ok(Err(e)) => not_ready(Some(e.to_string())),
        Err(_) => not_ready(Some(format!(
            "the database did not answer within {READY_TIMEOUT:?}"
        ))),
    }
}

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::UnknownEndpoint(uri.path().chars().take(200).collect())
}

pub(crate) async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
    }
}
