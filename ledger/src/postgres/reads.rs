//! Reading the log on PostgreSQL: pages, one streamed query for folds, and lookups.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row as _;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::chain::Hash;
use crate::error::StoreError;
use crate::ids::{EventId, LedgerId, Position, StreamId};
use crate::recorded::{LogEntry, RecordedEvent, EVENT_COLUMNS};

use super::{corrupt, PgBackend};

impl PgBackend {
    pub(crate) async fn head(&self) -> Result<Position, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(Position::from_db(head.unwrap_or(0)))
    }

    pub(crate) async fn read_all(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(after.get())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Sends the events after `after` up to `until`, each turned into a `T` by
    /// `convert`, to `entries` in batches of `batch`, from one query whose rows are streamed as they come (a query per page
    /// would cost a round trip and an index descent each), and stops when the
    /// receiver is gone. The channel's bound keeps memory constant: while it is full,
    /// the rows wait in the server.
    pub(crate) async fn send_entries<T, F: FnMut(LogEntry) -> T>(
        &self,
        after: Position,
        until: Position,
        batch: usize,
        convert: &mut F,
        entries: &mpsc::Sender<Result<Vec<T>, StoreError>>,
    ) -> Result<(), StoreError> {
        use futures::TryStreamExt;
        let mut transaction = self.pool.begin().await?;
        // The primary key already holds the log in order. Without fresh statistics
        // (right after a bulk import, before autovacuum has analyzed the table) the
        // planner may instead fetch the range by bitmap and sort it, on disk, at
        // half the speed: forbid sorting, so the order always comes from the index.
        sqlx::query("SET LOCAL enable_sort = off")
            .execute(&mut *transaction)
            .await?;
        // Only what a fold reads: the hashes, ids and stream names stay in the server.
        let mut rows = sqlx::query(
            "SELECT position, ledger_id, stream_version, event_type, schema_version, payload, \
             metadata, recorded_at FROM events WHERE position > $1 AND position <= $2 \
             ORDER BY position",
        )
        .bind(after.get())
        .bind(until.get())
        .fetch(&mut *transaction);
        let mut next = Vec::with_capacity(batch);
        while let Some(row) = rows.try_next().await? {
            next.push(convert(entry(&row)?));
            if next.len() >= batch {
                let full = std::mem::replace(&mut next, Vec::with_capacity(batch));
                if entries.send(Ok(full)).await.is_err() {
                    return Ok(());
                }
            }
        }
        if !next.is_empty() {
            let _ = entries.send(Ok(next)).await;
        }
        Ok(())
    }

    pub(crate) async fn read_ledger(
        &self,
        ledger: LedgerId,
        after: Position,
        until: Option<Position>,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND position > $2 AND position <= $3 \
             ORDER BY position LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(ledger.as_uuid())
            .bind(after.get())
            .bind(until.map_or(i64::MAX, Position::get))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn read_stream(
        &self,
        stream: StreamId,
        after_version: u64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(stream.to_string())
            .bind(i64::try_from(after_version).unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn position_at(&self, at: DateTime<Utc>) -> Result<Position, StoreError> {
        let p: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events WHERE recorded_at <= $1 ORDER BY recorded_at DESC, position DESC LIMIT 1",
        )
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Position::from_db(p.unwrap_or(0)))
    }

    pub(crate) async fn ledgers(&self) -> Result<Vec<LedgerId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT ledger_id FROM events WHERE event_type = 'LedgerOpened' ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(LedgerId::from_uuid).collect())
    }
}

/// A row of `send_entries`' query, its columns read by index: no name lookups.
fn entry(row: &PgRow) -> Result<LogEntry, StoreError> {
    // Unchecked: the columns' types are the ones the query names, so checking them
    // again for every row of a rebuild would only cost time. Each value is still
    // decoded with its length checked.
    Ok(LogEntry {
        position: Position::from_db(row.try_get_unchecked(0)?),
        ledger_id: LedgerId::from_uuid(row.try_get_unchecked(1)?),
        stream_version: row.try_get_unchecked::<i64, _>(2)? as u64,
        event_type: row.try_get_unchecked(3)?,
        schema_version: row.try_get_unchecked::<i16, _>(4)? as u16,
        payload: row.try_get_unchecked(5)?,
        metadata: row.try_get_unchecked(6)?,
        recorded_at: row.try_get_unchecked(7)?,
    })
}

fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position = Position::from_db(row.try_get("position")?);
    let hash_of = |column: &str| -> Result<Hash, StoreError> {
        Hash::from_slice(row.try_get(column)?)
            .ok_or_else(|| corrupt(position, format!("{column} is not 32 bytes")))
    };
    let stream: String = row.try_get("stream_id")?;
    Ok(RecordedEvent {
        position,
        ledger_id: LedgerId::from_uuid(row.try_get("ledger_id")?),
        stream_id: StreamId::parse(&stream).map_err(|e| corrupt(position, e))?,
        stream_version: row.try_get::<i64, _>("stream_version")? as u64,
        event_id: EventId::from_uuid(row.try_get("event_id")?),
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get::<i16, _>("schema_version")? as u16,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: row.try_get("recorded_at")?,
        prev_hash: hash_of("prev_hash")?,
        hash: hash_of("hash")?,
    })
}
