//! `POST /v1/users`: the admin creates a user and receives their token, once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ledger::{TokenHash, User, UserId, MAX_USER_NAME};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    name: String,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if caller != Caller::Admin {
        return Err(ApiError::Forbidden("only the admin creates users".into()));
    }
    let user = User {
        user_id: UserId::new(),
        name: input::label("name", &body.name, MAX_USER_NAME)?,
    };
    // 244 random bits from two v4 UUIDs: unguessable, and URL-safe for `?token=`.
    let token = format!(
        "lt_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    state
        .store
        .create_user(&user, &TokenHash::of(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user_id": user.user_id, "name": user.name, "token": token })),
    ))
}
