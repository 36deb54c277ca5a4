//! Ledgers and their members.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ledger::commands::ledger::{self as command, OpenLedger};
use ledger::event::Role;
use ledger::{LedgerId, LedgerName, Metadata, Position, Timezone, UserId};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, ApiJson, ApiPath};
use crate::input;
use crate::routes::answers::Positioned;
use crate::routes::openapi::{ErrorBody, Idempotency};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewLedger {
    #[schema(
        example = "Home",
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 200
    )]
    name: String,
    /// ISO 4217; every amount of the ledger is in it.
    #[schema(example = "EUR")]
    currency: String,
    /// IANA name; `UTC` when absent.
    #[schema(example = "Europe/Berlin")]
    timezone: Option<String>,
}

/// `POST /v1/ledgers`' answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LedgerCreated {
    #[schema(value_type = uuid::Uuid)]
    ledger_id: LedgerId,
    #[schema(value_type = i64)]
    position: Position,
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
) -> Result<(StatusCode, Json<LedgerCreated>), ApiError> {
    let Some(owner) = caller.user() else {
        return Err(ApiError::Forbidden(
            "a ledger is owned by a user; the admin owns none".into(),
        ));
    };
    let key = idempotency_key(&headers)?;
    let ledger_id = command::new_id(owner, key.as_deref());
    let open = OpenLedger {
        owner,
        name: LedgerName::parse(&body.name)?,
        currency: input::currency("currency", &body.currency)?,
        timezone: match body.timezone.as_deref() {
            Some(name) => Timezone::parse("timezone", name)?,
            None => Timezone::UTC,
        },
    };
    let metadata = Metadata {
        actor: Some(owner),
        idempotency_key: key,
        ..Metadata::default()
    };
    let request = command::open(ledger_id, open, metadata);
    let appended = state.append(request).await?;
    Ok((
        StatusCode::CREATED,
        Json(LedgerCreated {
            ledger_id,
            position: appended.last_position,
        }),
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
        (status = 404, description = "No such ledger, or no such user", body = ErrorBody),
        (status = 422, description = "An unknown role, or the owner's role (`user_id`)", body = ErrorBody),
    ),
)]
pub(crate) async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Grant>,
) -> Result<Json<Positioned>, ApiError> {
    caller.require(&state, ledger, Role::Owner).await?;
    let user_exists = state.store.user(body.user_id).await?.is_some();
    // The command decides before the headers are read, so an unknown user is
    // answered first, as it always was; who asked is added after.
    let request = command::grant(
        ledger,
        body.user_id,
        body.role,
        user_exists,
        Metadata::default(),
    )?
    .metadata(Metadata {
        actor: caller.user(),
        idempotency_key: idempotency_key(&headers)?,
        ..Metadata::default()
    });
    let appended = state.append(request).await?;
    Ok(Json(Positioned {
        position: appended.last_position,
    }))
}
