//! The user directory on SQLite.

use chrono::Utc;

use crate::error::StoreError;
use crate::ids::{Position, UserId};
use crate::user::{TokenHash, User};

use super::{corrupt, SqliteBackend};

impl SqliteBackend {
    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(user.user_id.to_string())
        .bind(&user.name)
        .bind(token.as_bytes())
        .bind(Utc::now().timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT user_id, name FROM users WHERE token_hash = ?")
                .bind(token.as_bytes())
                .fetch_optional(&self.readers)
                .await?;
        row.map(|(id, name)| {
            let user_id = UserId::parse(&id).map_err(|e| corrupt(Position::ZERO, e))?;
            Ok(User { user_id, name })
        })
        .transpose()
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE user_id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await?;
        Ok(name.map(|name| User { user_id: id, name }))
    }
}
