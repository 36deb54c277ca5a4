//! Liveness and readiness, for load balancers and orchestrators (no token needed).

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::routes::openapi::{Health, NotReady, Ready};
use crate::state::AppState;

/// Alive while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    security(()),
    responses((status = 200, description = "The process runs", body = Health)),
)]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "ok": true }))
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
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let status = state.live.status();
    match state.store.head().await {
        Ok(head) if status.error.is_none() => (
            StatusCode::OK,
            Json(json!({ "ok": true, "head": head, "position": status.position })),
        ),
        Ok(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ok": false, "error": status.error })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ok": false, "error": e.to_string() })),
        ),
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
