//! Users' named tokens on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::UserId;
use crate::text::TokenName;
use crate::user::{TokenCreated, TokenHash, TokenId, TokenInfo, TokenOwner};

use super::PgBackend;

impl PgBackend {
    pub(super) async fn insert_token(
        tx: &mut Transaction<'_, Postgres>,
        user: UserId,
        id: TokenId,
        name: &str,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (token_id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, now())",
        )
        .bind(id.as_uuid())
        .bind(user.as_uuid())
        .bind(name)
        .bind(token.as_bytes())
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
        let mut tx = self.pool.begin().await?;
        // Locking the user's row makes count-then-insert one decision: two
        // creations at once cannot both see room for one more.
        sqlx::query("SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens WHERE user_id = $1")
            .bind(user.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= max {
            return Ok(TokenCreated::TooMany);
        }
        Self::insert_token(&mut tx, user, id, name.as_str(), token).await?;
        tx.commit().await?;
        Ok(TokenCreated::Created)
    }

    pub(crate) async fn tokens(&self, user: UserId) -> Result<Vec<TokenInfo>, StoreError> {
        type Row = (Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT token_id, name, created_at, last_used_at FROM tokens \
             WHERE user_id = $1 ORDER BY created_at, token_id",
        )
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, last_used_at)| TokenInfo {
                token_id: TokenId::from_uuid(id),
                name,
                created_at,
                last_used_at,
            })
            .collect())
    }

    pub(crate) async fn revoke_token(&self, user: UserId, id: TokenId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE token_id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn token_owner(
        &self,
        token: &TokenHash,
    ) -> Result<Option<TokenOwner>, StoreError> {
        let row: Option<(Uuid, Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT user_id, token_id, last_used_at FROM tokens WHERE token_hash = $1",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user, id, last_used_at)| TokenOwner {
            user_id: UserId::from_uuid(user),
            token_id: TokenId::from_uuid(id),
            last_used_at,
        }))
    }

    pub(crate) async fn touch_token(
        &self,
        id: TokenId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE token_id = $1")
            .bind(id.as_uuid())
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
