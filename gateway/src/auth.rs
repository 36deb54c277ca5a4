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
    /// The role is read from the local read models only after they have caught up
    /// with the head of the log as the database has it now, so any membership change
    /// acknowledged before this call (through this process or another) is seen: a
    /// downgrade or revocation takes effect the moment its answer is sent. That costs
    /// one indexed `max(position)` query per request; see docs/adr/0011.
    ///
    /// # Errors
    /// 404 when the ledger does not exist or the caller is not a member of it (the
    /// same answer, so ledger ids cannot be probed), 403 when a member's role is too
    /// low for this.
    pub(crate) async fn require(
        self,
        state: &AppState,
        ledger: LedgerId,
        needed: Role,
    ) -> Result<(), ApiError> {
        state.caught_up(state.store.head().await?).await;
        let found = state.live.read(|p| {
            p.ledger(ledger)
                .map(|l| self.user().and_then(|u| l.role(u)))
        });
        match (self, found) {
            (Caller::Admin, Some(_)) => Ok(()),
            (Caller::User(_), Some(Some(role))) if role >= needed => Ok(()),
            (Caller::User(_), Some(Some(_))) => Err(ApiError::Forbidden(format!(
                "this needs the {} role in ledger {ledger}",
                match needed {
                    Role::Owner => "owner",
                    Role::Member => "member",
                    Role::Viewer => "viewer",
                }
            ))),
            // An outsider learns no more than that the ledger is not theirs to see.
            _ => Err(ApiError::NotFound(format!("no ledger {ledger}"))),
        }
    }
}
