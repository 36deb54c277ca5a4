//! Group commit's transactions on SQLite: one write transaction per batch.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::append::{Appended, Prepared};
use crate::batch::{plan, Heads, KeyRow, Row, StoredAnswer};
use crate::chain::Hash;
use crate::error::{AppendError, StoreError};
use crate::ids::{LedgerId, Position, StreamId};
use crate::recorded::EVENT_COLUMNS;

use super::{corrupt, SqliteBackend};

/// Rows per INSERT statement: 12 parameters each stays under SQLite's 32766.
const INSERT_CHUNK: usize = 1000;

impl SqliteBackend {
    /// Decides and commits a batch inside one write transaction; `BEGIN IMMEDIATE`
    /// takes the write lock before the heads are read.
    pub(crate) async fn commit(
        &self,
        batch: &[Prepared],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut heads = load_heads(&mut tx, batch).await?;
        let plan = plan(&mut heads, batch, now);
        if plan.rows.is_empty() {
            tx.rollback().await?;
            return Ok(plan.answers);
        }
        for chunk in plan.rows.chunks(INSERT_CHUNK) {
            insert_events(&mut tx, chunk).await?;
        }
        for key in &plan.keys {
            insert_key(&mut tx, key).await?;
        }
        tx.commit().await.map_err(|e| match e {
            sqlx::Error::Database(_) => StoreError::Database(e),
            other => StoreError::CommitUnknown(other.to_string()),
        })?;
        Ok(plan.answers)
    }
}

async fn load_heads(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[Prepared],
) -> Result<Heads, StoreError> {
    let mut heads = Heads::default();
    let last: Option<(i64, i64)> =
        sqlx::query_as("SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    if let Some((position, micros)) = last {
        heads.position = Position::from_db(position);
        heads.recorded_at = DateTime::from_timestamp_micros(micros);
    }

    let streams: Vec<String> = batch
        .iter()
        .flat_map(|p| p.writes.iter().map(|w| w.stream.to_string()))
        .collect();
    // The ledger of a stream is the same on every row (the first event fixed it).
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT stream_id, max(stream_version), min(ledger_id) FROM events \
         WHERE stream_id IN (SELECT value FROM json_each(?)) GROUP BY stream_id",
    )
    .bind(serde_json::to_string(&streams).expect("strings serialize"))
    .fetch_all(&mut **tx)
    .await?;
    for (stream, version, ledger) in rows {
        let stream = StreamId::parse(&stream).map_err(|e| corrupt(Position::ZERO, e))?;
        let ledger = LedgerId::parse(&ledger).map_err(|e| corrupt(Position::ZERO, e))?;
        heads.streams.insert(stream, version as u64);
        heads.owners.insert(stream, ledger);
    }

    let mut ledgers: Vec<String> = batch.iter().map(|p| p.ledger.to_string()).collect();
    ledgers.sort_unstable();
    ledgers.dedup();
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT l.value, (SELECT hash FROM events WHERE ledger_id = l.value ORDER BY position DESC LIMIT 1) AS h \
         FROM json_each(?) AS l WHERE h IS NOT NULL",
    )
    .bind(serde_json::to_string(&ledgers).expect("strings serialize"))
    .fetch_all(&mut **tx)
    .await?;
    for (ledger, hash) in rows {
        let ledger = LedgerId::parse(&ledger).map_err(|e| corrupt(Position::ZERO, e))?;
        let hash = Hash::from_slice(&hash).ok_or_else(|| corrupt(Position::ZERO, "hash length"))?;
        heads.ledgers.insert(ledger, hash);
    }

    for p in batch {
        let Some(key) = &p.idempotency_key else {
            continue;
        };
        let stored: Option<(Vec<u8>, String)> = sqlx::query_as(
            "SELECT fingerprint, answer FROM idempotency_keys WHERE ledger_id = ? AND key = ?",
        )
        .bind(p.ledger.to_string())
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((fingerprint, answer)) = stored {
            let fingerprint = Hash::from_slice(&fingerprint)
                .ok_or_else(|| corrupt(Position::ZERO, "fingerprint"))?;
            let appended: Appended =
                serde_json::from_str(&answer).map_err(|e| corrupt(Position::ZERO, e))?;
            heads.keys.insert(
                (p.ledger, key.clone()),
                StoredAnswer {
                    fingerprint,
                    appended,
                },
            );
        }
    }
    Ok(heads)
}

async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[Row<'_>],
) -> Result<(), StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
    insert.push_values(rows, |mut b, r| {
        b.push_bind(r.position.get())
            .push_bind(r.ledger_id.to_string())
            .push_bind(r.stream_id.to_string())
            .push_bind(r.stream_version as i64)
            .push_bind(r.event_id.to_string())
            .push_bind(r.event_type)
            .push_bind(i64::from(r.schema_version))
            .push_bind(r.payload)
            .push_bind(r.metadata)
            .push_bind(r.recorded_at.timestamp_micros())
            .push_bind(r.prev_hash.as_bytes())
            .push_bind(r.hash.as_bytes());
    });
    insert.build().execute(&mut **tx).await?;
    Ok(())
}

async fn insert_key(tx: &mut Transaction<'_, Sqlite>, key: &KeyRow<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idempotency_keys (ledger_id, key, fingerprint, answer) VALUES (?, ?, ?, ?)",
    )
    .bind(key.ledger_id.to_string())
    .bind(key.key)
    .bind(key.fingerprint.as_bytes())
    .bind(&key.answer)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
