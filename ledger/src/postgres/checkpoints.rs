//! Projection checkpoints on PostgreSQL: a position and the changed ledgers' states,
//! saved in one transaction.

use uuid::Uuid;

use crate::checkpoint::{Checkpoint, LedgerState};
use crate::error::StoreError;
use crate::ids::{LedgerId, Position};

use super::{PgBackend, INSERT_CHUNK};

impl PgBackend {
    pub(crate) async fn save_checkpoint(
        &self,
        projection: &str,
        position: Position,
        changed: &[LedgerState],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO checkpoints (projection, position, saved_at) VALUES ($1, $2, now()) \
             ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position, saved_at = EXCLUDED.saved_at",
        )
        .bind(projection)
        .bind(position.get())
        .execute(&mut *tx)
        .await?;
        for chunk in changed.chunks(INSERT_CHUNK) {
            let ledgers: Vec<Uuid> = chunk.iter().map(|s| s.ledger.as_uuid()).collect();
            let positions: Vec<i64> = chunk.iter().map(|s| s.position.get()).collect();
            let states: Vec<&str> = chunk.iter().map(|s| s.state.as_str()).collect();
            sqlx::query(
                "INSERT INTO checkpoint_states (projection, ledger_id, position, state) \
                 SELECT $1, * FROM UNNEST($2::uuid[], $3::bigint[], $4::text[]) \
                 ON CONFLICT (projection, ledger_id) DO UPDATE SET position = EXCLUDED.position, state = EXCLUDED.state",
            )
            .bind(projection)
            .bind(&ledgers)
            .bind(&positions)
            .bind(&states)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn load_checkpoint(
        &self,
        projection: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let Some(position) =
            sqlx::query_scalar::<_, i64>("SELECT position FROM checkpoints WHERE projection = $1")
                .bind(projection)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let rows: Vec<(Uuid, i64, String)> = sqlx::query_as(
            "SELECT ledger_id, position, state FROM checkpoint_states WHERE projection = $1",
        )
        .bind(projection)
        .fetch_all(&self.pool)
        .await?;
        let states = rows
            .into_iter()
            .map(|(ledger, p, state)| LedgerState {
                ledger: LedgerId::from_uuid(ledger),
                position: Position::from_db(p),
                state,
            })
            .collect();
        Ok(Some(Checkpoint {
            position: Position::from_db(position),
            states,
        }))
    }

    pub(crate) async fn delete_checkpoint(&self, projection: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM checkpoints WHERE projection = $1")
            .bind(projection)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
