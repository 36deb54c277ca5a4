//! Liveness and readiness, for load balancers and orchestrators (no token needed).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// Ready when the database answers and the read models are running.
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

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
