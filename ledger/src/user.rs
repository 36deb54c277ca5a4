//! The directory of users: who may present which token. A user has any number of
//! named tokens (up to [`MAX_TOKENS_PER_USER`]), each revocable on its own; tokens
//! are stored hashed.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ids::UserId;

/// A user as the directory knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub user_id: UserId,
    pub name: String,
}

/// The SHA-256 of a bearer token: what the directory stores and looks up. Tokens are
/// long random strings, so a fast hash is enough, and a lookup by hash leaks nothing
/// useful through its timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Compares in time independent of where the hashes differ.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Longest user name, in characters.
pub const MAX_USER_NAME: usize = 200;

/// Most tokens one user may hold at once: enough for every device and script, and
/// a bound on what a leaked token can mint.
pub const MAX_TOKENS_PER_USER: usize = 100;

/// A token's id: what lists show and revocation names, never the token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(Uuid);

impl TokenId {
    #[allow(clippy::new_without_default)]
    pub fn new() -> TokenId {
        TokenId(Uuid::new_v4())
    }

    pub fn from_uuid(id: Uuid) -> TokenId {
        TokenId(id)
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One of a user's tokens as their list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub token_id: TokenId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// To about a minute: refreshed at most that often (see `docs/adr/0012-tokens.md`).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a token belongs to, as authentication finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What [`crate::Store::create_token`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCreated {
    Created,
    /// The user already holds [`MAX_TOKENS_PER_USER`] tokens; nothing was written.
    TooMany,
}
