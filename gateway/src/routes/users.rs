//! `POST /v1/users`: the admin creates a user and receives their token, once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ledger::{TokenHash, User, UserId, UserName};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::openapi::ErrorBody;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    #[schema(
        example = "Alice",
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 200
    )]
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UserCreated {
    #[schema(value_type = uuid::Uuid)]
    user_id: UserId,
    name: String,
    /// Shown once; only its SHA-256 is stored.
    #[schema(example = "lt_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    token: String,
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
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    if caller != Caller::Admin {
        return Err(ApiError::Forbidden("only the admin creates users".into()));
    }
    let user = User {
        user_id: UserId::new(),
        name: UserName::parse(&body.name)?.into_string(),
    };
    let token = super::tokens::mint();
    state
        .store
        .create_user(&user, &TokenHash::of(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            user_id: user.user_id,
            name: user.name,
            token,
        }),
    ))
}
