//! The API's one error type and the contract's error body:
//! `{"error": {"code", "message", "field"?}}` (409s also carry `version` and `current`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::{AppendError, CommandError, StoreError, TextError};
use serde_json::{json, Value};

/// The `Retry-After` of a 503, in seconds.
const UNAVAILABLE_RETRY_AFTER: u64 = 1;

/// Everything a request can fail with. Internal failures are logged in full and
/// answered without their details.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{message}")]
    Malformed { message: String },
    #[error("missing or unknown token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// No route matches the path: told apart from a missing ledger or expense, so a
    /// client with a typo in its URL sees that at once.
    #[error("no such endpoint: {0}")]
    UnknownEndpoint(String),
    #[error("{method} is not allowed on this path")]
    MethodNotAllowed { method: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        version: Option<u64>,
        current: Option<Value>,
    },
    #[error("request body too large")]
    TooLarge,
    #[error("{message}")]
    Invalid {
        message: String,
        field: Option<&'static str>,
    },
    #[error("the service is unavailable: {0}")]
    Unavailable(String),
    /// Over a rate limit (`limits/rate.rs`); `retry_after` in whole seconds.
    #[error("too many requests; retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The user already holds as many live sockets (WebSocket and event streams) as
    /// one may in this process.
    #[error("you already have {max} live connections (WebSockets and event streams) open on this server; close one first")]
    TooManySockets { max: u32 },
    /// The request body did not arrive within the body read timeout.
    #[error("the request body did not arrive in time")]
    Timeout,
    /// The log holds what this build cannot read: a fault, not an outage, so
    /// retrying will not help.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn invalid(field: &'static str, message: impl std::fmt::Display) -> ApiError {
        ApiError::Invalid {
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::Malformed {
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Malformed { .. } => (StatusCode::BAD_REQUEST, "malformed"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::UnknownEndpoint(_) => (StatusCode::NOT_FOUND, "unknown_endpoint"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooManySockets { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_sockets"),
            ApiError::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Unavailable(detail) => {
                tracing::error!(detail, "request failed inside the service");
                "the service cannot answer right now; retry later".to_owned()
            }
            ApiError::Internal(detail) => {
                tracing::error!(detail, "request failed on an unreadable log");
                "the service failed inside; the details are logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": code, "message": message });
        // The rest of a body too large to read is still on the wire: the connection
        // cannot carry another request, and a client must not reuse it.
        let close = matches!(self, ApiError::TooLarge | ApiError::Timeout);
        let retry_after = match &self {
            ApiError::RateLimited { retry_after } => Some((*retry_after).max(1)),
            // An outage of the database: most pass within seconds, and a client
            // that retries at once only adds to the load of one that recovers.
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        };
        match self {
            ApiError::Invalid {
                field: Some(field), ..
            } => error["field"] = json!(field),
            ApiError::Conflict {
                version, current, ..
            } => {
                if let Some(v) = version {
                    error["version"] = json!(v);
                }
                if let Some(c) = current {
                    error["current"] = c;
                }
            }
            _ => {}
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if close {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<crate::live::connections::TooManySockets> for ApiError {
    fn from(e: crate::live::connections::TooManySockets) -> Self {
        ApiError::TooManySockets { max: e.max }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { .. } => ApiError::Internal(e.to_string()),
            e => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::VersionConflict { current, .. } => ApiError::Conflict {
                code: "version_conflict",
                message: e.to_string(),
                version: Some(current),
                current: None,
            },
            AppendError::IdempotencyKeyReused { .. } => ApiError::Invalid {
                message: e.to_string(),
                field: Some("Idempotency-Key"),
            },
            AppendError::LedgerNotFound(_) | AppendError::OtherLedger { .. } => {
                ApiError::NotFound(e.to_string())
            }
            AppendError::LedgerExists(_) => ApiError::Conflict {
                code: "exists",
                message: e.to_string(),
                version: None,
                current: None,
            },
            AppendError::Invalid(message) => ApiError::Invalid {
                message,
                field: None,
            },
            AppendError::Store(e) => e.into(),
        }
    }
}

impl From<TextError> for ApiError {
    fn from(e: TextError) -> Self {
        ApiError::invalid(e.field(), e)
    }
}

/// The commands' refusals as the API answers them. A 409 about an expense also
/// carries the expense as it stands, which only its handler has: see
/// `routes/expenses.rs`.
impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::ExpenseDeleted { version, .. }
            | CommandError::AlreadyDeleted { version, .. } => ApiError::Conflict {
                code: "deleted",
                message: e.to_string(),
                version: Some(version),
                current: None,
            },
            CommandError::NothingToChange => ApiError::Invalid {
                message: e.to_string(),
                field: None,
            },
            CommandError::NoBudget { .. } => ApiError::NotFound(e.to_string()),
            CommandError::Thresholds => ApiError::invalid("thresholds", e),
            // The user named does not exist, or not in this ledger: like any id that
            // names nothing (and the same answer whether the user exists elsewhere).
            CommandError::NoUser(_) | CommandError::NotAMember(_) => {
                ApiError::NotFound(e.to_string())
            }
            CommandError::Owner(_) => ApiError::invalid("user_id", e),
        }
    }
}
