//! `/v1/me/tokens`: a user creates, lists and revokes their own tokens. A token is
//! shown once, when created; lists show its id, name and last use. A revoked token
//! is refused on every server process within a second (see `crate::auth`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use ledger::{TokenCreated, TokenHash, TokenId, TokenInfo, TokenName, UserId, MAX_TOKENS_PER_USER};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::openapi::ErrorBody;
use crate::state::AppState;

/// A new bearer token: 244 random bits from two v4 UUIDs, unguessable, and
/// URL-safe for `?token=`.
pub(crate) fn mint() -> String {
    format!("lt_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The user calling; the admin has no tokens of its own to manage.
fn user(caller: Caller) -> Result<UserId, ApiError> {
    caller.user().ok_or_else(|| {
        ApiError::Forbidden("the admin token is not a user's: it has no tokens to manage".into())
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// 1 to 100 characters, to tell one's tokens apart.
    #[schema(
        example = "laptop",
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 100
    )]
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenMinted {
    #[schema(value_type = Uuid)]
    token_id: TokenId,
    name: String,
    /// Shown once; only its SHA-256 is stored.
    #[schema(example = "lt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    token: String,
}

/// `POST /v1/me/tokens`: another token for the caller, shown once.
#[utoipa::path(
    post,
    path = "/v1/me/tokens",
    tag = "users",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; keep the token", body = TokenMinted),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin token, which is no user's", body = ErrorBody),
        (status = 409, description = "The caller already holds 100 tokens (code `too_many_tokens`)", body = ErrorBody),
        (status = 422, description = "An empty or overlong name", body = ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenMinted>), ApiError> {
    let user = user(caller)?;
    let name = TokenName::parse(&body.name)?;
    let token = mint();
    let token_id = TokenId::new();
    match state
        .store
        .create_token(user, token_id, &name, &TokenHash::of(&token))
        .await?
    {
        TokenCreated::Created => Ok((
            StatusCode::CREATED,
            Json(TokenMinted {
                token_id,
                name: name.into_string(),
                token,
            }),
        )),
        TokenCreated::TooMany => Err(ApiError::Conflict {
            code: "too_many_tokens",
            message: format!("a user holds at most {MAX_TOKENS_PER_USER} tokens; revoke one first"),
            version: None,
            current: None,
        }),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenEntry {
    #[schema(value_type = Uuid)]
    token_id: TokenId,
    name: String,
    created_at: DateTime<Utc>,
    /// To about a minute; null until first used.
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenList {
    /// Oldest first.
    tokens: Vec<TokenEntry>,
}

impl From<TokenInfo> for TokenEntry {
    fn from(info: TokenInfo) -> Self {
        TokenEntry {
            token_id: info.token_id,
            name: info.name,
            created_at: info.created_at,
            last_used_at: info.last_used_at,
        }
    }
}

/// `GET /v1/me/tokens`: the caller's tokens, never the tokens themselves.
#[utoipa::path(
    get,
    path = "/v1/me/tokens",
    tag = "users",
    responses(
        (status = 200, description = "The caller's tokens", body = TokenList),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin token, which is no user's", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TokenList>, ApiError> {
    let user = user(caller)?;
    let tokens = state.store.tokens(user).await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(TokenEntry::from).collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenRevoked {
    #[schema(value_type = Uuid)]
    token_id: TokenId,
}

/// `DELETE /v1/me/tokens/{tid}`: revokes one of the caller's tokens, the one making
/// the call included. Another user's token id is 404, as an unknown one.
#[utoipa::path(
    delete,
    path = "/v1/me/tokens/{tid}",
    tag = "users",
    params(("tid" = Uuid, Path, description = "The token's id, from the list")),
    responses(
        (status = 200, description = "Revoked: refused everywhere within a second", body = TokenRevoked),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The admin token, which is no user's", body = ErrorBody),
        (status = 404, description = "The caller holds no token with this id", body = ErrorBody),
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(token_id): ApiPath<TokenId>,
) -> Result<Json<TokenRevoked>, ApiError> {
    let user = user(caller)?;
    if !state.store.revoke_token(user, token_id).await? {
        return Err(ApiError::NotFound(format!("you hold no token {token_id}")));
    }
    // This process refuses it at once; the others within their cache's expiry.
    state.tokens.revoked(token_id);
    Ok(Json(TokenRevoked { token_id }))
}
