//! Extractors that turn axum's rejections into the contract's errors.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: 400 when it is not JSON, 422 when it has the wrong shape, 413 when
/// it is too large.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::malformed(
                "expected a request with Content-Type: application/json",
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::TooLarge)
            }
            Err(e) => return Err(ApiError::malformed(e.body_text())),
        };
        // Every body of this API is an object; serde would also fill a struct from an
        // array of its fields in order (`[null, null]`), which no client means.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b == b'[') {
            return Err(ApiError::Invalid {
                message: "the body must be a JSON object".into(),
                field: None,
            });
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Invalid {
                message: e.body_text(),
                field: None,
            }),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge),
            Err(e) => Err(ApiError::malformed(e.body_text())),
        }
    }
}

/// `application/json`, or a `+json` type, with any parameters (`; charset=utf-8`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// Path parameters: a malformed id is a 404 (no such thing), not a server error.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(ApiError::NotFound(e.body_text()))
            }
            Err(e) => Err(ApiError::malformed(e.body_text())),
        }
    }
}

/// Query parameters of the wrong shape are a 400.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::malformed(e.body_text()))
            }
            Err(e) => Err(ApiError::malformed(e.body_text())),
        }
    }
}

/// The `Idempotency-Key` of a write: 1 to 255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    if key.is_empty()
        || key.len() > ledger::MAX_IDEMPOTENCY_KEY_BYTES
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The stream version an `If-Match` header expects: `3` or `"3"` (an entity tag);
/// versions count from 1, written without leading zeros.
pub(crate) fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || ApiError::invalid("If-Match", "must be the version you read, such as 3");
    let text = value.to_str().map_err(|_| bad())?;
    let digits = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let well_formed = (1..=19).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !well_formed {
        return Err(bad());
    }
    digits.parse::<u64>().map(Some).map_err(|_| bad())
}
