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
use crate::routes::openapi::{ErrorBody, UserCreated};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    #[schema(example = "Alice")]
    name: String,
}

/// Creates a user and answers with their token, the only time it is shown.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created; keep the token", body = UserCreated),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the admin", body = ErrorBody),
        (status = 422, description = "An empty or overlong name", body = ErrorBody),
    ),
)]
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
