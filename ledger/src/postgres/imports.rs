//! Statement imports' rows on PostgreSQL: state, summary and the owning process.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::ids::{ImportId, LedgerId, Position};
use crate::import_record::ImportRecord;

use super::{corrupt, PgBackend};

impl PgBackend {
    /// Inserts or replaces an import's row, unless its stored state is already
    /// final: a late writer cannot bring a failed or finished import back.
    pub(crate) async fn save_import(&self, record: &ImportRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO imports (import_id, ledger_id, owner, state, summary, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (import_id) DO UPDATE SET owner = EXCLUDED.owner, state = EXCLUDED.state, \
             summary = EXCLUDED.summary, updated_at = EXCLUDED.updated_at \
             WHERE imports.state = 'running'",
        )
        .bind(record.import_id.as_uuid())
        .bind(record.ledger_id.as_uuid())
        .bind(record.owner)
        .bind(record.state.as_str())
        .bind(&record.summary)
        .bind(record.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn import(&self, id: ImportId) -> Result<Option<ImportRecord>, StoreError> {
        let row: Option<(Uuid, Uuid, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT ledger_id, owner, state, summary, updated_at FROM imports WHERE import_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(ledger, owner, state, summary, updated_at)| {
            Ok(ImportRecord {
                import_id: id,
                ledger_id: LedgerId::from_uuid(ledger),
                owner,
                state: state.parse().map_err(|e| corrupt(Position::ZERO, e))?,
                summary,
                updated_at,
            })
        })
        .transpose()
    }

    pub(crate) async fn touch_imports(
        &self,
        owner: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE imports SET updated_at = $2 WHERE owner = $1 AND state = 'running'")
            .bind(owner)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn fail_stale_imports(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE imports SET state = 'failed' WHERE state = 'running' AND updated_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
