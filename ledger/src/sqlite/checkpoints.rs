//! Projection checkpoints on SQLite: a position and the changed ledgers' states,
//! saved in one transaction.

use chrono::Utc;

use crate::checkpoint::{Checkpoint, LedgerState};
use crate::error::StoreError;
use crate::ids::{LedgerId, Position};

use super::{corrupt, SqliteBackend};

impl SqliteBackend {
    pub(crate) async fn save_checkpoint(
        &self,
        projection: &str,
        position: Position,
        changed: &[LedgerState],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO checkpoints (projection, position, saved_at) VALUES (?, ?, ?) \
             ON CONFLICT (projection) DO UPDATE SET position = excluded.position, saved_at = excluded.saved_at",
        )
        .bind(projection)
        .bind(position.get())
        .bind(Utc::now().timestamp_micros())
        .execute(&mut *tx)
        .await?;
        for state in changed {
            sqlx::query(
                "INSERT INTO checkpoint_states (projection, ledger_id, position, state) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (projection, ledger_id) DO UPDATE SET position = excluded.position, state = excluded.state",
            )
            .bind(projection)
            .bind(state.ledger.to_string())
            .bind(state.position.get())
            .bind(&state.state)
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
            sqlx::query_scalar::<_, i64>("SELECT position FROM checkpoints WHERE projection = ?")
                .bind(projection)
                .fetch_optional(&self.readers)
                .await?
        else {
            return Ok(None);
        };
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT ledger_id, position, state FROM checkpoint_states WHERE projection = ?",
        )
        .bind(projection)
        .fetch_all(&self.readers)
        .await?;
        let states = rows
            .into_iter()
            .map(|(ledger, p, state)| {
                let ledger = LedgerId::parse(&ledger).map_err(|e| corrupt(Position::ZERO, e))?;
                Ok(LedgerState {
                    ledger,
                    position: Position::from_db(p),
                    state,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(Checkpoint {
            position: Position::from_db(position),
            states,
        }))
    }

    pub(crate) async fn delete_checkpoint(&self, projection: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM checkpoints WHERE projection = ?")
            .bind(projection)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
