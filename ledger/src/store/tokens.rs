//! The store's user tokens: create, list, revoke, and what authentication asks.
//! Beside the facade (`store/mod.rs`) so it stays one concern per file.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::UserId;
use crate::text::TokenName;
use crate::user::{TokenCreated, TokenHash, TokenId, TokenInfo, TokenOwner, MAX_TOKENS_PER_USER};

use super::backend::dispatch;
use super::Store;

impl Store {
    /// Gives `user` another token, unless they already hold [`MAX_TOKENS_PER_USER`].
    ///
    /// # Errors
    /// On a database failure (including a token hash already in use).
    pub async fn create_token(
        &self,
        user: UserId,
        id: TokenId,
        name: &TokenName,
        token: &TokenHash,
    ) -> Result<TokenCreated, StoreError> {
        dispatch!(self.backend(), b => b.create_token(user, id, name, token, MAX_TOKENS_PER_USER).await)
    }

    /// A user's tokens, oldest first (never the tokens themselves).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn tokens(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        dispatch!(self.backend(), b => b.tokens(user).await)
    }

    /// Revokes one of `user`'s tokens; `false` when they hold none with that id
    /// (another user's token is not theirs to revoke).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn revoke_token(&self, user: UserId, id: TokenId) -> Result<bool, StoreError> {
        dispatch!(self.backend(), b => b.revoke_token(user, id).await)
    }

    /// Whose token has this hash, if it exists and is not revoked.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn token_owner(&self, token: &TokenHash) -> Result<Option<TokenOwner>, StoreError> {
        dispatch!(self.backend(), b => b.token_owner(token).await)
    }

    /// Records that a token was used at `at`. Callers do this about once a minute
    /// per token, not per request.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        dispatch!(self.backend(), b => b.touch_token(id, at).await)
    }
}
