//! Who is calling, and what they may do in a ledger.
//!
//! A bearer token (`Authorization: Bearer <token>`, or `?token=` where headers cannot
//! be set, as in browsers' WebSockets) names the admin or a user. Roles per ledger
//! come from the read models: owner > member > viewer.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ledger::event::Role;
use ledger::{LedgerId, TokenHash, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// Tokens this process has already seen answered by the database, so a busy
/// client's requests cost no query each. Tokens are never revoked or reassigned
/// (users are not deleted), so an entry never goes stale; unknown tokens are not
/// remembered, so guessing cannot fill it, and it is emptied when it gets large.
#[derive(Default)]
pub(crate) struct KnownTokens(Mutex<HashMap<TokenHash, UserId>>);

/// Enough for every active user of a large deployment.
const MAX_KNOWN_TOKENS: usize = 100_000;

impl KnownTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, UserId>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, token: &TokenHash) -> Option<UserId> {
        self.lock().get(token).copied()
    }

    fn insert(&self, token: TokenHash, user: UserId) {
        let mut known = self.lock();
        if known.len() >= MAX_KNOWN_TOKENS {
            known.clear();
        }
        known.insert(token, user);
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    Admin,
    User(UserId),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let hash = TokenHash::of(&token);
        if state.admin.is_some_and(|admin| admin.matches(&hash)) {
            return Ok(Caller::Admin);
        }
        if let Some(user) = state.tokens.get(&hash) {
            return Ok(Caller::User(user));
        }
        match state.store.user_by_token(&hash).await? {
            Some(user) => {
                state.tokens.insert(hash, user.user_id);
                Ok(Caller::User(user.user_id))
            }
            None => Err(ApiError::Unauthorized),
        }
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return (!token.trim().is_empty()).then(|| token.trim().to_owned());
    }
    let query = parts.uri.query()?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl Caller {
    /// The user behind the call; the admin is nobody in particular.
    pub(crate) fn user(self) -> Option<UserId> {
        match self {
            Caller::Admin => None,
            Caller::User(id) => Some(id),
        }
    }

    /// Checks the caller holds at least `needed` in `ledger`.
    ///
    /// # Errors
    /// 404 when the ledger does not exist, 403 when the caller may not do this there.
    pub(crate) async fn require(
        self,
        state: &AppState,
        ledger: LedgerId,
        needed: Role,
    ) -> Result<(), ApiError> {
        let lookup = |state: &AppState| {
            state.live.read(|p| {
                p.ledger(ledger)
                    .map(|l| self.user().and_then(|u| l.role(u)))
            })
        };
        let allowed = |found: &Option<Option<Role>>| match (self, found) {
            (Caller::Admin, Some(_)) => true,
            (Caller::User(_), Some(Some(role))) => *role >= needed,
            _ => false,
        };
        let mut found = lookup(state);
        if !allowed(&found) {
            // Maybe the ledger or the grant was just committed, through this server or
            // another: let the read models catch up with everything committed so far
            // before saying no.
            state.caught_up(state.store.head().await?).await;
            found = lookup(state);
        }
        let Some(role) = found else {
            return Err(ApiError::NotFound(format!("no ledger {ledger}")));
        };
        match (self, role) {
            (Caller::Admin, _) => Ok(()),
            (Caller::User(_), Some(role)) if role >= needed => Ok(()),
            (Caller::User(_), _) => Err(ApiError::Forbidden(format!(
                "this needs the {} role in ledger {ledger}",
                match needed {
                    Role::Owner => "owner",
                    Role::Member => "member",
                    Role::Viewer => "viewer",
                }
            ))),
        }
    }
}
