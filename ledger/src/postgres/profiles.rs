//! Users' profiles (email, locale) on PostgreSQL.

use crate::error::StoreError;
use crate::ids::UserId;

use super::PgBackend;

impl PgBackend {
    /// The user's name, email and locale, as stored.
    pub(crate) async fn profile(
        &self,
        id: UserId,
    ) -> Result<Option<(String, Option<String>, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT name, email, locale FROM users WHERE user_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets the email (when `email` is `Some`; `Some(None)` clears it) and the locale
    /// (when given); false when there is no such user.
    pub(crate) async fn update_profile(
        &self,
        id: UserId,
        email: Option<Option<&str>>,
        locale: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = CASE WHEN $2 THEN $3 ELSE email END, \
             locale = COALESCE($4, locale) WHERE user_id = $1",
        )
        .bind(id.as_uuid())
        .bind(email.is_some())
        .bind(email.flatten())
        .bind(locale)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
