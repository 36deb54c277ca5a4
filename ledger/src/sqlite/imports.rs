//! Statement imports' rows on SQLite: state, summary and the owning process.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::{ImportId, LedgerId, Position};
use crate::import_record::ImportRecord;

use super::{corrupt, SqliteBackend};

impl SqliteBackend {
    /// Inserts or replaces an import's row, unless its stored state is already
    /// final: a late writer cannot bring a failed or finished import back.
    pub(crate) async fn save_import(&self, record: &ImportRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO imports (import_id, ledger_id, owner, state, summary, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (import_id) DO UPDATE SET owner = excluded.owner, state = excluded.state, \
             summary = excluded.summary, updated_at = excluded.updated_at \
             WHERE imports.state = 'running'",
        )
        .bind(record.import_id.to_string())
        .bind(record.ledger_id.to_string())
        .bind(record.owner.to_string())
        .bind(record.state.as_str())
        .bind(&record.summary)
        .bind(record.updated_at.timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn import(&self, id: ImportId) -> Result<Option<ImportRecord>, StoreError> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT ledger_id, owner, state, summary, updated_at FROM imports WHERE import_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.readers)
        .await?;
        row.map(|(ledger, owner, state, summary, micros)| {
            let bad = |e: String| corrupt(Position::ZERO, format!("import {id}: {e}"));
            Ok(ImportRecord {
                import_id: id,
                ledger_id: LedgerId::parse(&ledger).map_err(|e| bad(e.to_string()))?,
                owner: uuid::Uuid::try_parse(&owner).map_err(|e| bad(e.to_string()))?,
                state: state.parse().map_err(bad)?,
                summary,
                updated_at: DateTime::from_timestamp_micros(micros)
                    .ok_or_else(|| bad("updated_at".into()))?,
            })
        })
        .transpose()
    }

    pub(crate) async fn touch_imports(
        &self,
        owner: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE imports SET updated_at = ? WHERE owner = ? AND state = 'running'")
            .bind(now.timestamp_micros())
            .bind(owner.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn fail_stale_imports(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE imports SET state = 'failed' WHERE state = 'running' AND updated_at < ?",
        )
        .bind(before.timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
