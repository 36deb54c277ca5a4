//! Statement imports: `POST` a file, follow it with `GET`, cancel it with `DELETE`.
//!
//! The file is parsed before the answer, so a file that is not what it claims,
//! a currency mismatch or too many rows is a 422 naming the line; the rest
//! (deduplication, the append) runs after a 202 and reports on the ledger's
//! `imports` topic. Several files, in one `multipart/form-data` request or in
//! several requests, are several imports, each with its own progress; a ledger's
//! imports run one after another. A multipart request is all or nothing: every file
//! is parsed before any import starts, and one bad file refuses them all.

use std::convert::Infallible;

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
/// Files one multipart request may carry.
const MAX_FILES: usize = 20;

/// An import request's failures: the API's, or a refused statement (with the
/// name of its file, in a multipart request).
pub(crate) enum ImportError {
    Api(ApiError),
    Refused(Refused, Option<String>),
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
            ImportError::Refused(refused, file) => {
                let message = match &file {
                    Some(name) => format!("{name}: {}", refused.message),
                    None => refused.message,
                };
                let mut error = json!({
                    "code": "validation_failed",
                    "message": message,
                    "field": refused.field.unwrap_or("file"),
                });
                if let Some(name) = file {
                    error["file"] = json!(name);
                }
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

/// Several statement files in one request: each part is a file, its name the
/// part's file name.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the request's shape; the parts are read by `multer`
pub(crate) struct ImportFiles {
    /// One part per statement file (any field name); options in the query apply to all.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// A statement to import: its bytes and its name, if it came with one.
struct Upload {
    name: Option<String>,
    bytes: Bytes,
}

/// `POST /v1/ledgers/{lid}/imports`: the statement is the raw body, or several
/// are the parts of a `multipart/form-data` body.
#[utoipa::path(
    post,
    path = "/v1/ledgers/{lid}/imports",
    tag = "imports",
    params(("lid" = Uuid, Path, description = "The ledger"), ImportQuery, Idempotency),
    request_body(
        description = "The statement file as it came from the bank (CSV, OFX/QFX or QIF; UTF-8, UTF-16 or Windows-1252) as the raw body, or several such files as the parts of a `multipart/form-data` body (at most 20, 20 MiB in all); each file becomes its own import",
        content(
            (String = "application/octet-stream"),
            (ImportFiles = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 202, description = "Parsed and started; follow it with GET or on `ledger:{lid}:imports`. For a multipart body: the first file's import, plus `imports`: `[{import_id, file}]`, one per file in order", body = ImportStatus),
        (status = 400, description = "An unknown or malformed query option", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 413, description = "A statement over 20 MiB", body = ErrorBody),
        (status = 422, description = "Not the format it claims, a currency mismatch, too many rows or unreadable rows; names the line (and, in a multipart body, the `file`: then no file of the request is imported)", body = ErrorBody),
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
    let multipart = multipart_boundary(&headers)?;
    let uploads = match &multipart {
        Some(boundary) => read_parts(body, boundary.clone()).await?,
        None => vec![Upload {
            name: None,
            bytes: body,
        }],
    };
    // A retry with the same key is the same import(s): they are not run twice.
    let key = idempotency_key(&headers)?;
    let ids: Vec<ImportId> = (0..uploads.len())
        .map(|n| match &key {
            Some(key) => {
                // The first file's id is the one a single-file request gets.
                let name = match n {
                    0 => format!("import:{key}"),
                    n => format!("import:{key}:{n}"),
                };
                ImportId::from_uuid(uuid::Uuid::new_v5(&ledger.as_uuid(), name.as_bytes()))
            }
            None => ImportId::new(),
        })
        .collect();
    if let Some(existing) = state.imports.status(ledger, ids[0]).await? {
        if multipart.is_none() {
            return Ok(accepted(existing, None));
        }
        let mut all = Vec::new();
        for (id, upload) in ids.iter().zip(&uploads) {
            if let Some(status) = state.imports.status(ledger, *id).await? {
                all.push((status.import_id, upload.name.clone()));
            }
        }
        return Ok(accepted(existing, Some(all)));
    }
    // Every file is parsed before any import starts: one bad file refuses them all.
    let names: Vec<Option<String>> = uploads.iter().map(|u| u.name.clone()).collect();
    let named = multipart.is_some();
    let prepared = tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .zip(ids)
            .map(|(upload, id)| {
                let mut query = query.clone();
                if upload.name.is_some() {
                    query.file_name.clone_from(&upload.name);
                }
                prepare(&upload.bytes, &query, ledger, currency, id)
                    .map_err(|refused| ImportError::Refused(refused, upload.name.filter(|_| named)))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("parsing a statement: {e}")))??;
    let mut started = Vec::with_capacity(prepared.len());
    for prepared in prepared {
        started.push(state.imports.start(prepared, caller.user()).await?);
    }
    let list = named.then(|| {
        started
            .iter()
            .zip(names)
            .map(|(status, name)| (status.import_id, name))
            .collect()
    });
    Ok(accepted(started.swap_remove(0), list))
}

/// The boundary of a `multipart/form-data` body; `None` for a raw statement.
fn multipart_boundary(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Ok(None);
    }
    multer::parse_boundary(content_type)
        .map(Some)
        .map_err(|e| ApiError::malformed(format!("multipart body: {e}")))
}

/// The files of a multipart body (already read, within the upload limit).
async fn read_parts(body: Bytes, boundary: String) -> Result<Vec<Upload>, ApiError> {
    let bad = |e: multer::Error| ApiError::malformed(format!("multipart body: {e}"));
    let mut parts = multer::Multipart::new(
        futures::stream::once(async move { Ok::<_, Infallible>(body) }),
        boundary,
    );
    let mut uploads = Vec::new();
    while let Some(part) = parts.next_field().await.map_err(bad)? {
        if uploads.len() == MAX_FILES {
            return Err(ApiError::invalid(
                "file",
                format!("at most {MAX_FILES} files per request"),
            ));
        }
        let name = part
            .file_name()
            .or(part.name())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("file {}", uploads.len() + 1));
        let bytes = part.bytes().await.map_err(bad)?;
        uploads.push(Upload {
            name: Some(name),
            bytes,
        });
    }
    if uploads.is_empty() {
        return Err(ApiError::invalid(
            "file",
            "the multipart body holds no file",
        ));
    }
    Ok(uploads)
}

/// 202 with the (first) import's status; for a multipart request, `imports` lists
/// every file's import.
fn accepted(status: Status, all: Option<Vec<(ImportId, Option<String>)>>) -> Response {
    let location = format!(
        "/v1/ledgers/{}/imports/{}",
        status.ledger_id, status.import_id
    );
    let mut body = serde_json::to_value(&status).unwrap_or_default();
    if let Some(all) = all {
        body["imports"] = all
            .into_iter()
            .map(|(import_id, file)| json!({ "import_id": import_id, "file": file }))
            .collect();
    }
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(body),
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
