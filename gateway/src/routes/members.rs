//! Who is in a ledger, taking access away, and the ledgers a caller is in.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use ledger::commands::ledger as command;
use ledger::event::Role;
use ledger::{LedgerId, Metadata, UserId};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, ApiPath};
use crate::routes::answers::Positioned;
use crate::routes::openapi::{ErrorBody, Idempotency};
use crate::state::AppState;

/// One member of a ledger.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Member {
    #[schema(value_type = uuid::Uuid)]
    user_id: UserId,
    name: String,
    #[schema(value_type = crate::routes::openapi::Role)]
    role: Role,
}

/// `GET /v1/ledgers/{lid}/members`' answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Members {
    members: Vec<Member>,
}

/// `GET /v1/ledgers/{lid}/members`: every member with their role, in user id order.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/members",
    tag = "ledgers",
    params(("lid" = Uuid, Path, description = "The ledger")),
    responses(
        (status = 200, description = "The members", body = Members),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 404, description = "No such ledger, or the caller is not in it", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
) -> Result<Json<Members>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let roles: Vec<(UserId, Role)> = state.live.read(|p| {
        p.ledger(ledger)
            .map(|l| l.members().iter().collect())
            .unwrap_or_default()
    });
    let mut members = Vec::with_capacity(roles.len());
    // A ledger has a handful of members: one directory lookup each is fine.
    for (user_id, role) in roles {
        let name = state
            .store
            .user(user_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        members.push(Member {
            user_id,
            name,
            role,
        });
    }
    Ok(Json(Members { members }))
}

/// `DELETE /v1/ledgers/{lid}/members/{uid}`: the owner takes a member's role away
/// (appends `MemberRevoked`). From the answer on, the member's requests to this
/// ledger are 404 on every server, and their sockets and event streams stop.
#[utoipa::path(
    delete,
    path = "/v1/ledgers/{lid}/members/{uid}",
    tag = "ledgers",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("uid" = Uuid, Path, description = "The member"),
        Idempotency,
    ),
    responses(
        (status = 200, description = "Revoked", body = Positioned),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "Not the ledger's owner", body = ErrorBody),
        (status = 404, description = "No such ledger, the caller is not in it, or the user is not a member of it", body = ErrorBody),
        (status = 422, description = "The user is the owner (`user_id`), whose role stays", body = ErrorBody),
    ),
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, user)): ApiPath<(LedgerId, UserId)>,
    headers: HeaderMap,
) -> Result<Json<Positioned>, ApiError> {
    caller.require(&state, ledger, Role::Owner).await?;
    let role = state.live.read(|p| p.role(ledger, user));
    let metadata = Metadata {
        actor: caller.user(),
        idempotency_key: idempotency_key(&headers)?,
        ..Metadata::default()
    };
    let appended = state
        .append(command::revoke(ledger, user, role, metadata)?)
        .await?;
    Ok(Json(Positioned {
        position: appended.last_position,
    }))
}

/// One ledger the caller is in.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LedgerEntry {
    #[schema(value_type = uuid::Uuid)]
    ledger_id: LedgerId,
    name: String,
    #[schema(example = "EUR")]
    currency: String,
    #[schema(example = "Europe/Berlin")]
    timezone: String,
    /// The caller's role; `admin` for the admin, who sees every ledger.
    #[schema(example = "owner")]
    role: String,
}

/// `GET /v1/ledgers`' answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Ledgers {
    ledgers: Vec<LedgerEntry>,
}

/// `GET /v1/ledgers`: the ledgers the caller is a member of, by name.
#[utoipa::path(
    get,
    path = "/v1/ledgers",
    tag = "ledgers",
    responses(
        (status = 200, description = "The caller's ledgers", body = Ledgers),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
    ),
)]
pub(crate) async fn mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Ledgers>, ApiError> {
    // Every grant and revocation acknowledged so far shows.
    state.caught_up(state.head().await?).await;
    let mut ledgers: Vec<LedgerEntry> = state.live.read(|p| {
        p.ledgers()
            .filter_map(|l| {
                let role = match caller {
                    Caller::Admin => "admin".to_owned(),
                    Caller::User(user) => role_name(l.role(user)?).to_owned(),
                };
                Some(LedgerEntry {
                    ledger_id: l.ledger_id(),
                    name: l.name().to_owned(),
                    currency: l.currency().to_string(),
                    timezone: l.timezone().to_owned(),
                    role,
                })
            })
            .collect()
    });
    ledgers.sort_by(|a, b| a.name.cmp(&b.name).then(a.ledger_id.cmp(&b.ledger_id)));
    Ok(Json(Ledgers { ledgers }))
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Member => "member",
        Role::Viewer => "viewer",
    }
}
