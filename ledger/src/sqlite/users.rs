//! The user directory on SQLite.

use chrono::Utc;

use crate::error::StoreError;
use crate::ids::{Position, UserId};
use crate::user::{TokenHash, TokenId, User};

use super::{corrupt, SqliteBackend};

impl SqliteBackend {
    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        // The user and their first token ("default") together, or neither.
        let now = Utc::now();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(user.user_id.to_string())
        .bind(&user.name)
        .bind(token.as_bytes())
        .bind(now.timestamp_micros())
        .execute(&mut *tx)
        .await?;
        Self::insert_token(&mut tx, user.user_id, TokenId::new(), "default", token, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT u.user_id, u.name FROM tokens t JOIN users u USING (user_id) \
                 WHERE t.token_hash = ?",
        )
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
