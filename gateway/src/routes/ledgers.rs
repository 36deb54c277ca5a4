//! Ledgers and their members.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ledger::event::{LedgerOpened, MemberGranted, Role};
use ledger::{AppendRequest, Event, ExpectedVersion, LedgerId, Metadata, StreamId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, ApiJson, ApiPath};
use crate::input;
use crate::routes::openapi::{ErrorBody, Idempotency, LedgerCreated, Positioned};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewLedger {
    #[schema(example = "Home")]
    name: String,
    /// ISO 4217; every amount of the ledger is in it.
    #[schema(example = "EUR")]
    currency: String,
    /// IANA name; `UTC` when absent.
    #[schema(example = "Europe/Berlin")]
    timezone: Option<String>,
}

/// `POST /v1/ledgers`: the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/v1/ledgers",
    tag = "ledgers",
    params(Idempotency),
    request_body = NewLedger,
    responses(
        (status = 201, description = "Opened; the caller is its owner", body = LedgerCreated),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin owns no ledgers", body = ErrorBody),
        (status = 409, description = "A ledger with this id exists (`exists`)", body = ErrorBody),
        (status = 422, description = "An unknown currency, a bad name or time zone", body = ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewLedger>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(owner) = caller.user() else {
        return Err(ApiError::Forbidden(
            "a ledger is owned by a user; the admin owns none".into(),
        ));
    };
    let key = idempotency_key(&headers)?;
    // A retried create with the same key names the same ledger, so the retry is
    // recognised as the same request.
    let ledger_id = match &key {
        Some(k) => LedgerId::from_uuid(uuid::Uuid::new_v5(
            &owner.as_uuid(),
            format!("ledger:{k}").as_bytes(),
        )),
        None => LedgerId::new(),
    };
    let opened = LedgerOpened {
        ledger_id,
        name: input::label("name", &body.name, 200)?,
        currency: input::currency("currency", &body.currency)?,
        timezone: input::timezone(body.timezone.as_deref().unwrap_or("UTC"))?,
        owner,
    };
    let metadata = Metadata {
        actor: Some(owner),
        idempotency_key: key,
        ..Metadata::default()
    };
    let request = AppendRequest::new(
        ledger_id,
        StreamId::ledger(ledger_id),
        ExpectedVersion::NoStream,
        vec![Event::LedgerOpened(opened)],
    )
    .metadata(metadata);
    let appended = state.append(request).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ledger_id": ledger_id, "position": appended.last_position })),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Grant {
    #[schema(value_type = uuid::Uuid)]
    user_id: UserId,
    #[schema(value_type = crate::routes::openapi::Role)]
    role: Role,
}

/// `POST /v1/ledgers/{lid}/members`: the owner gives a user a role.
#[utoipa::path(
    post,
    path = "/v1/ledgers/{lid}/members",
    tag = "ledgers",
    params(("lid" = Uuid, Path, description = "The ledger"), Idempotency),
    request_body = Grant,
    responses(
        (status = 200, description = "Granted", body = Positioned),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the ledger's owner", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 422, description = "No such user, or an unknown role", body = ErrorBody),
    ),
)]
pub(crate) async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Grant>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Owner).await?;
    if state.store.user(body.user_id).await?.is_none() {
        return Err(ApiError::invalid(
            "user_id",
            format!("no user {}", body.user_id),
        ));
    }
    let metadata = Metadata {
        actor: caller.user(),
        idempotency_key: idempotency_key(&headers)?,
        ..Metadata::default()
    };
    let event = Event::MemberGranted(MemberGranted {
        user_id: body.user_id,
        role: body.role,
    });
    let request = AppendRequest::new(
        ledger,
        StreamId::ledger(ledger),
        ExpectedVersion::Any,
        vec![event],
    )
    .metadata(metadata);
    let appended = state.append(request).await?;
    Ok(Json(json!({ "position": appended.last_position })))
}
