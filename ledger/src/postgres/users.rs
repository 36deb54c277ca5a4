//! The user directory on PostgreSQL.

use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::UserId;
use crate::user::{TokenHash, TokenId, User};

use super::PgBackend;

impl PgBackend {
    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        // The user and their first token ("default") together, or neither.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, now())",
        )
        .bind(user.user_id.as_uuid())
        .bind(&user.name)
        .bind(token.as_bytes())
        .execute(&mut *tx)
        .await?;
        Self::insert_token(&mut tx, user.user_id, TokenId::new(), "default", token).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT u.user_id, u.name FROM tokens t JOIN users u USING (user_id) \
                 WHERE t.token_hash = $1",
        )
        .bind(token.as_bytes())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, name)| User {
            user_id: UserId::from_uuid(id),
            name,
        }))
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE user_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        Ok(name.map(|name| User { user_id: id, name }))
    }
}
