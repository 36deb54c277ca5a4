//! Who is calling, and what they may do in a ledger.
//!
//! A bearer token (`Authorization: Bearer <token>`, or `?token=` where headers cannot
//! be set, as in browsers' WebSockets) names the admin or a user. Roles per ledger
//! come from the read models: owner > member > viewer. Users' tokens are checked
//! against the database at least every [`TOKEN_EXPIRES`], so a revocation holds on
//! every process within a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ledger::event::Role;
use ledger::{LedgerId, TokenHash, TokenId, TokenOwner, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// Tokens this process has recently seen answered by the database, so a busy
/// client's requests cost no query each. A token can be revoked through any server
/// process, so an entry is only trusted for [`TOKEN_EXPIRES`] after the database
/// last confirmed it: the first request after [`TOKEN_FRESH`] re-checks (while the
/// others still pass), and after [`TOKEN_EXPIRES`] every request waits for a check.
/// A revoked token is thus refused everywhere within [`TOKEN_EXPIRES`] of the
/// revocation, at about two queries a second per token in use
/// (`docs/adr/0012-tokens.md`). Unknown tokens are not remembered, so guessing
/// cannot fill it, and it is emptied when it gets large.
#[derive(Default)]
pub(crate) struct KnownTokens(Mutex<HashMap<TokenHash, Known>>);

struct Known {
    user: UserId,
    token: TokenId,
    /// When the query that confirmed it was sent (not answered): what the database
    /// said holds from then on, never from earlier.
    checked: Instant,
    /// A request is re-checking it: the others need not.
    refreshing: bool,
}

/// Enough for every active user of a large deployment.
const MAX_KNOWN_TOKENS: usize = 100_000;
/// How long a confirmed token passes without anyone re-checking it.
pub(crate) const TOKEN_FRESH: Duration = Duration::from_millis(400);
/// How long a confirmed token passes at all; the contract says a revocation holds
/// everywhere within a second.
pub(crate) const TOKEN_EXPIRES: Duration = Duration::from_millis(800);
/// `last_used_at` is written when the stored one is older than this, so a busy
/// token costs one write a minute, not one per request.
const LAST_USE_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What the cache says about a token.
enum Cached {
    /// Recently confirmed: pass.
    Fresh(UserId),
    /// Still valid, and this request is the one to re-check it.
    Recheck(UserId),
    /// Unknown or expired: ask the database before answering.
    Unknown,
}

impl KnownTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, Known>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, token: &TokenHash, now: Instant) -> Cached {
        let mut known = self.lock();
        let Some(entry) = known.get_mut(token) else {
            return Cached::Unknown;
        };
        let age = now.saturating_duration_since(entry.checked);
        if age < TOKEN_FRESH || (age < TOKEN_EXPIRES && entry.refreshing) {
            Cached::Fresh(entry.user)
        } else if age < TOKEN_EXPIRES {
            entry.refreshing = true;
            Cached::Recheck(entry.user)
        } else {
            Cached::Unknown
        }
    }

    fn confirm(&self, token: TokenHash, owner: &TokenOwner, checked: Instant) {
        let mut known = self.lock();
        if known.len() >= MAX_KNOWN_TOKENS && !known.contains_key(&token) {
            known.clear();
        }
        known.insert(
            token,
            Known {
                user: owner.user_id,
                token: owner.token_id,
                checked,
                refreshing: false,
            },
        );
    }

    /// The database no longer knows the token (or could not be asked).
    fn forget(&self, token: &TokenHash) {
        self.lock().remove(token);
    }

    /// A re-check failed to reach the database: let a later request try again.
    fn recheck_failed(&self, token: &TokenHash) {
        if let Some(entry) = self.lock().get_mut(token) {
            entry.refreshing = false;
        }
    }

    /// Forgets a token revoked through this process at once, without waiting for
    /// its entry to expire.
    pub(crate) fn revoked(&self, id: TokenId) {
        self.lock().retain(|_, known| known.token != id);
    }
}

/// Asks the database who holds `hash`, remembers the answer, and refreshes the
/// token's `last_used_at` when the stored one is a minute old.
async fn check(state: &AppState, hash: TokenHash) -> Result<Option<UserId>, ApiError> {
    let sent = Instant::now();
    let Some(owner) = state.bounded(state.store.token_owner(&hash)).await? else {
        state.tokens.forget(&hash);
        return Ok(None);
    };
    state.tokens.confirm(hash, &owner, sent);
    let now = chrono::Utc::now();
    if owner
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USE_RESOLUTION)
    {
        // Bookkeeping: a failure here must not refuse a valid token.
        if let Err(e) = state
            .bounded(state.store.touch_token(owner.token_id, now))
            .await
        {
            tracing::warn!(error = %e, "could not record a token's last use");
        }
    }
    Ok(Some(owner.user_id))
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
        let user = match state.tokens.get(&hash, Instant::now()) {
            Cached::Fresh(user) => Some(user),
            // The entry is still within its validity: should the database not
            // answer, the request passes on it.
            Cached::Recheck(user) => match check(state, hash).await {
                Ok(found) => found,
                Err(e) => {
                    state.tokens.recheck_failed(&hash);
                    tracing::warn!(error = %e, "could not re-check a token; trusting it a little longer");
                    Some(user)
                }
            },
            Cached::Unknown => check(state, hash).await?,
        };
        user.map(Caller::User).ok_or(ApiError::Unauthorized)
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
        state.caught_up(state.head().await?).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> TokenOwner {
        TokenOwner {
            user_id: UserId::new(),
            token_id: TokenId::new(),
            last_used_at: None,
        }
    }

    #[test]
    fn a_confirmed_token_passes_then_one_request_rechecks_then_all_wait() {
        let known = KnownTokens::default();
        let hash = TokenHash::of("t");
        let owner = owner();
        let checked = Instant::now();
        assert!(matches!(known.get(&hash, checked), Cached::Unknown));
        known.confirm(hash, &owner, checked);
        let user = owner.user_id;
        assert!(matches!(known.get(&hash, checked), Cached::Fresh(u) if u == user));
        let stale = checked + TOKEN_FRESH;
        // One request re-checks; the others pass meanwhile.
        assert!(matches!(known.get(&hash, stale), Cached::Recheck(u) if u == user));
        assert!(matches!(known.get(&hash, stale), Cached::Fresh(_)));
        // A failed re-check lets the next request try.
        known.recheck_failed(&hash);
        assert!(matches!(known.get(&hash, stale), Cached::Recheck(_)));
        // Past the expiry nobody passes unchecked, re-check or not.
        assert!(matches!(
            known.get(&hash, checked + TOKEN_EXPIRES),
            Cached::Unknown
        ));
        assert!(TOKEN_EXPIRES < Duration::from_secs(1));
    }

    #[test]
    fn a_token_revoked_here_is_forgotten_at_once() {
        let known = KnownTokens::default();
        let (a, b) = (owner(), owner());
        let now = Instant::now();
        known.confirm(TokenHash::of("a"), &a, now);
        known.confirm(TokenHash::of("b"), &b, now);
        known.revoked(a.token_id);
        assert!(matches!(
            known.get(&TokenHash::of("a"), now),
            Cached::Unknown
        ));
        assert!(matches!(
            known.get(&TokenHash::of("b"), now),
            Cached::Fresh(_)
        ));
        known.forget(&TokenHash::of("b"));
        assert!(matches!(
            known.get(&TokenHash::of("b"), now),
            Cached::Unknown
        ));
    }
}
