//! Users' profiles (email, locale) on SQLite.

use crate::error::StoreError;
use crate::ids::UserId;

use super::SqliteBackend;

impl SqliteBackend {
    /// The user's name, email and locale, as stored.
    pub(crate) async fn profile(
        &self,
        id: UserId,
    ) -> Result<Option<(String, Option<String>, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT name, email, locale FROM users WHERE user_id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.readers)
                .await?,
        )
    }

    /// As the PostgreSQL backend's.
    pub(crate) async fn update_profile(
        &self,
        id: UserId,
        email: Option<Option<&str>>,
        locale: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = CASE WHEN ? THEN ? ELSE email END, \
             locale = COALESCE(?, locale) WHERE user_id = ?",
        )
        .bind(email.is_some())
        .bind(email.flatten())
        .bind(locale)
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
