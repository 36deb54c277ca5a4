//! `GET /v1/me`, `PATCH /v1/me`: the caller's own profile.

use axum::extract::State;
use axum::Json;
use ledger::{Email, Locale, Profile, ProfileError, UserId};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input;
use crate::routes::openapi::ErrorBody;
use crate::state::AppState;

/// A user's profile.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    #[schema(value_type = uuid::Uuid)]
    user_id: UserId,
    name: String,
    /// `null` until the user sets one.
    #[schema(example = "alice@example.com")]
    email: Option<String>,
    /// A BCP 47 language tag; `en` until the user sets one.
    #[schema(example = "de")]
    locale: String,
}

impl From<Profile> for Me {
    fn from(p: Profile) -> Self {
        Me {
            user_id: p.user_id,
            name: p.name,
            email: p.email.map(|e| e.as_str().to_owned()),
            locale: p.locale.as_str().to_owned(),
        }
    }
}

/// `PATCH /v1/me`'s body: any subset.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeChanges {
    /// `null` clears it.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<String>, example = "alice@example.com")]
    email: Option<Option<String>>,
    /// A BCP 47 language tag such as `en`, `de` or `pt-BR`.
    #[schema(
        example = "de",
        pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        max_length = 35
    )]
    locale: Option<String>,
}

fn user(caller: Caller) -> Result<UserId, ApiError> {
    caller
        .user()
        .ok_or_else(|| ApiError::Forbidden("the admin has no profile".into()))
}

async fn load(state: &AppState, id: UserId) -> Result<Json<Me>, ApiError> {
    let profile = state
        .store
        .profile(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
    Ok(Json(profile.into()))
}

fn invalid(e: ProfileError) -> ApiError {
    ApiError::invalid(e.field(), e)
}

/// `GET /v1/me`.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "users",
    responses(
        (status = 200, description = "The caller's profile", body = Me),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin has no profile", body = ErrorBody),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Me>, ApiError> {
    load(&state, user(caller)?).await
}

/// `PATCH /v1/me`: sets the email and the locale; answers the profile.
#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "users",
    request_body = MeChanges,
    responses(
        (status = 200, description = "The profile as changed", body = Me),
        (status = 400, description = "Not JSON, or an unknown field", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin has no profile", body = ErrorBody),
        (status = 422, description = "A bad `email` or `locale` (named in `field`)", body = ErrorBody),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MeChanges>,
) -> Result<Json<Me>, ApiError> {
    let id = user(caller)?;
    let email = body
        .email
        .map(|e| e.as_deref().map(Email::parse).transpose())
        .transpose()
        .map_err(invalid)?;
    let locale = body
        .locale
        .as_deref()
        .map(Locale::parse)
        .transpose()
        .map_err(invalid)?;
    if !state
        .store
        .update_profile(id, email.as_ref().map(Option::as_ref), locale.as_ref())
        .await?
    {
        return Err(ApiError::NotFound(format!("no user {id}")));
    }
    load(&state, id).await
}
