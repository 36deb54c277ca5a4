//! Statement imports: `POST` a file, follow it with `GET`, cancel it with `DELETE`.
//!
//! The file is parsed before the answer, so a file that is not what it claims,
//! a currency mismatch or too many rows is a 422 naming the line; the rest
//! (deduplication, the append) runs after a 202 and reports on the ledger's
//! `imports` topic. Several files are several requests: each gets its own import
//! and its own progress, and a ledger's imports run one after another.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::event::Role;
use ledger::{ImportId, LedgerId};
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, ApiPath, ApiQuery};
use crate::imports::{prepare, CancelOutcome, ImportQuery, Refused, Status};
use crate::routes::openapi::{ErrorBody, Idempotency, ImportStatus};
use crate::state::AppState;

/// Largest statement accepted; larger ones get 413. Bank exports of a year of a
/// busy account are a few MiB.
pub(crate) const MAX_UPLOAD: usize = 20 * 1024 * 1024;
/// Row errors listed in a 422; the message says how many there were.
const LISTED_ERRORS: usize = 100;

/// An import request's failures: the API's, or a refused statement.
pub(crate) enum ImportError {
    Api(ApiError),
    Refused(Refused),
}

impl From<ApiError> for ImportError {
    fn from(e: ApiError) -> Self {
        ImportError::Api(e)
    }
}

impl From<ledger::StoreError> for ImportError {
    fn from(e: ledger::StoreError) -> Self {
        ImportError::Api(e.into())
    }
}

impl IntoResponse for ImportError {
    fn into_response(self) -> Response {
        match self {
            ImportError::Api(e) => e.into_response(),
            ImportError::Refused(refused) => {
                let mut error = json!({
                    "code": "validation_failed",
                    "message": refused.message,
                    "field": refused.field.unwrap_or("file"),
                });
                if let Some(line) = refused.line {
                    error["line"] = json!(line);
                }
                if !refused.errors.is_empty() {
                    error["errors"] = json!(refused
                        .errors
                        .iter()
                        .take(LISTED_ERRORS)
                        .collect::<Vec<_>>());
                }
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "error": error })),
                )
                    .into_response()
            }
        }
    }
}

fn currency_of(state: &AppState, ledger: LedgerId) -> Result<ledger::Currency, ApiError> {
    state
        .live
        .read(|p| p.ledger(ledger).map(|l| l.currency()))
        .ok_or_else(|| ApiError::NotFound(format!("no ledger {ledger}")))
}

/// `POST /v1/ledgers/{lid}/imports`: the statement is the raw body.
#[utoipa::path(
    post,
    path = "/v1/ledgers/{lid}/imports",
    tag = "imports",
    params(("lid" = Uuid, Path, description = "The ledger"), ImportQuery, Idempotency),
    request_body(content = String, description = "The statement file as it came from the bank (CSV, OFX/QFX or QIF; UTF-8, UTF-16 or Windows-1252)", content_type = "application/octet-stream"),
    responses(
        (status = 202, description = "Parsed and started; follow it with GET or on `ledger:{lid}:imports`", body = ImportStatus),
        (status = 400, description = "An unknown or malformed query option", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 413, description = "A statement over 20 MiB", body = ErrorBody),
        (status = 422, description = "Not the format it claims, a currency mismatch, too many rows or unreadable rows; names the line", body = ErrorBody),
    ),
)]
pub(crate) async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ImportError> {
    caller.require(&state, ledger, Role::Member).await?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::malformed(e.body_text())
        }
    })?;
    let currency = currency_of(&state, ledger)?;
    // A retry with the same key is the same import: it is not run twice.
    let import_id = match idempotency_key(&headers)? {
        Some(key) => ImportId::from_uuid(uuid::Uuid::new_v5(
            &ledger.as_uuid(),
            format!("import:{key}").as_bytes(),
        )),
        None => ImportId::new(),
    };
    if let Some(existing) = state.imports.status(ledger, import_id).await? {
        return Ok(accepted(existing));
    }
    let prepared =
        tokio::task::spawn_blocking(move || prepare(&body, &query, ledger, currency, import_id))
            .await
            .map_err(|e| ApiError::Unavailable(format!("parsing a statement: {e}")))?
            .map_err(ImportError::Refused)?;
    let status = state.imports.start(prepared, caller.user()).await?;
    Ok(accepted(status))
}

fn accepted(status: Status) -> Response {
    let location = format!(
        "/v1/ledgers/{}/imports/{}",
        status.ledger_id, status.import_id
    );
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(status),
    )
        .into_response()
}

/// `GET /v1/ledgers/{lid}/imports/{iid}`.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/imports/{iid}",
    tag = "imports",
    params(("lid" = Uuid, Path, description = "The ledger"), ("iid" = Uuid, Path, description = "The import")),
    responses(
        (status = 200, description = "The import's status", body = ImportStatus),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read the ledger", body = ErrorBody),
        (status = 404, description = "No such ledger or import", body = ErrorBody),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, import_id)): ApiPath<(LedgerId, ImportId)>,
) -> Result<Json<Status>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    state
        .imports
        .status(ledger, import_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no import {import_id} in ledger {ledger}")))
}

/// `DELETE /v1/ledgers/{lid}/imports/{iid}`: 200 once cancelled (nothing will be
/// appended), 409 when it is being or has been committed, or has failed.
#[utoipa::path(
    delete,
    path = "/v1/ledgers/{lid}/imports/{iid}",
    tag = "imports",
    params(("lid" = Uuid, Path, description = "The ledger"), ("iid" = Uuid, Path, description = "The import")),
    responses(
        (status = 200, description = "Cancelled: nothing of it will be appended", body = ImportStatus),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger or import", body = ErrorBody),
        (status = 409, description = "Already committed, being committed, or failed (`import_finished`)", body = ErrorBody),
    ),
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, import_id)): ApiPath<(LedgerId, ImportId)>,
) -> Result<Json<Status>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    match state.imports.cancel(ledger, import_id).await? {
        Some(CancelOutcome::Cancelled(status)) => Ok(Json(status)),
        Some(CancelOutcome::Final(status)) => Err(ApiError::Conflict {
            code: "import_finished",
            message: format!(
                "import {import_id} cannot be cancelled: it is {}",
                match status.state {
                    ledger::ImportState::Running => "being committed",
                    other => other.as_str(),
                }
            ),
            version: None,
            current: serde_json::to_value(&status).ok(),
        }),
        None => Err(ApiError::NotFound(format!(
            "no import {import_id} in ledger {ledger}"
        ))),
    }
}
