//! The user directory on PostgreSQL.

use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::UserId;
use crate::user::{TokenHash, User};

use super::PgBackend;

impl PgBackend {
    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, now())",
        )
        .bind(user.user_id.as_uuid())
        .bind(&user.name)
        .bind(token.as_bytes())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(Uuid, String)> =
            sqlx::query_as("SELECT user_id, name FROM users WHERE token_hash = $1")
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
