//! The directory of users: who may present which token. Tokens are stored hashed.

use sha2::{Digest, Sha256};

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
