//! Users' named tokens on SQLite.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use crate::error::StoreError;
use crate::ids::{Position, UserId};
use crate::text::TokenName;
use crate::user::{TokenCreated, TokenHash, TokenId, TokenInfo, TokenOwner};

use super::{corrupt, SqliteBackend};

fn token_id(text: &str) -> Result<TokenId, StoreError> {
    uuid::Uuid::parse_str(text)
        .map(TokenId::from_uuid)
        .map_err(|e| corrupt(Position::ZERO, format!("token id {text:?}: {e}")))
}

fn moment(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(Position::ZERO, format!("token time {micros}")))
}

impl SqliteBackend {
    pub(super) async fn insert_token(
        tx: &mut Transaction<'_, Sqlite>,
        user: UserId,
        id: TokenId,
        name: &str,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (token_id, user_id, name, token_hash, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(name)
        .bind(token.as_bytes())
        .bind(now.timestamp_micros())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn create_token(
        &self,
        user: UserId,
        id: TokenId,
        name: &TokenName,
        token: &TokenHash,
        max: usize,
    ) -> Result<TokenCreated, StoreError> {
        // One writer connection: nothing else writes between the count and the
        // insert, so the cap holds.
        let mut tx = self.writer.begin().await?;
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens WHERE user_id = ?")
            .bind(user.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= max {
            return Ok(TokenCreated::TooMany);
        }
        Self::insert_token(&mut tx, user, id, name.as_str(), token, Utc::now()).await?;
        tx.commit().await?;
        Ok(TokenCreated::Created)
    }

    pub(crate) async fn tokens(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT token_id, name, created_at, last_used_at FROM tokens \
             WHERE user_id = ? ORDER BY created_at, token_id",
        )
        .bind(user.to_string())
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter()
            .map(|(id, name, created_at, last_used_at)| {
                Ok(TokenInfo {
                    token_id: token_id(&id)?,
                    name,
                    created_at: moment(created_at)?,
                    last_used_at: last_used_at.map(moment).transpose()?,
                })
            })
            .collect()
    }

    pub(crate) async fn revoke_token(&self, user: UserId, id: TokenId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE token_id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn token_owner(
        &self,
        token: &TokenHash,
    ) -> Result<Option<TokenOwner>, StoreError> {
        let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, token_id, last_used_at FROM tokens WHERE token_hash = ?",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.readers)
        .await?;
        row.map(|(user, id, last_used_at)| {
            Ok(TokenOwner {
                user_id: UserId::parse(&user).map_err(|e| corrupt(Position::ZERO, e))?,
                token_id: token_id(&id)?,
                last_used_at: last_used_at.map(moment).transpose()?,
            })
        })
        .transpose()
    }

    pub(crate) async fn touch_token(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = ? WHERE token_id = ?")
            .bind(at.timestamp_micros())
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
