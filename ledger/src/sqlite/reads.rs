//! Reading the log on SQLite: pages and lookups, from the read-only pool.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row as _;
use tokio::sync::mpsc;

use crate::chain::Hash;
use crate::error::StoreError;
use crate::ids::{EventId, LedgerId, Position, StreamId};
use crate::recorded::{LogEntry, RecordedEvent, EVENT_COLUMNS};

use super::{corrupt, SqliteBackend};

impl SqliteBackend {
    pub(crate) async fn head(&self) -> Result<Position, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.readers)
            .await?;
        Ok(Position::from_db(head.unwrap_or(0)))
    }

    pub(crate) async fn read_all(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(after.get())
            .bind(limit)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// As the PostgreSQL backend's, page by page: SQLite answers in process, so a
    /// page costs no round trip.
    pub(crate) async fn send_entries<T, F: FnMut(LogEntry) -> T>(
        &self,
        after: Position,
        until: Position,
        batch: usize,
        convert: &mut F,
        entries: &mpsc::Sender<Result<Vec<T>, StoreError>>,
    ) -> Result<(), StoreError> {
        let mut from = after;
        while from < until {
            let page = self.read_all(from, batch.clamp(1, 10_000) as i64).await?;
            let Some(last) = page.last() else {
                break;
            };
            from = last.position;
            let page: Vec<T> = page
                .into_iter()
                .take_while(|event| event.position <= until)
                .map(|event| convert(LogEntry::from(event)))
                .collect();
            if page.is_empty() || entries.send(Ok(page)).await.is_err() {
                break;
            }
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
            "SELECT {EVENT_COLUMNS} FROM events WHERE ledger_id = ? AND position > ? AND position <= ? \
             ORDER BY position LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(ledger.to_string())
            .bind(after.get())
            .bind(until.map_or(i64::MAX, Position::get))
            .bind(limit)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn read_stream(
        &self,
        stream: StreamId,
        after_version: u64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ? ORDER BY stream_version LIMIT ?");
        let rows = sqlx::query(&sql)
            .bind(stream.to_string())
            .bind(i64::try_from(after_version).unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn position_at(&self, at: DateTime<Utc>) -> Result<Position, StoreError> {
        let p: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events WHERE recorded_at <= ? ORDER BY recorded_at DESC, position DESC LIMIT 1",
        )
        .bind(at.timestamp_micros())
        .fetch_optional(&self.readers)
        .await?;
        Ok(Position::from_db(p.unwrap_or(0)))
    }

    pub(crate) async fn ledgers(&self) -> Result<Vec<LedgerId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT ledger_id FROM events WHERE event_type = 'LedgerOpened' ORDER BY position",
        )
        .fetch_all(&self.readers)
        .await?;
        ids.iter()
            .map(|s| LedgerId::parse(s).map_err(|e| corrupt(Position::ZERO, e)))
            .collect()
    }
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position = Position::from_db(row.try_get("position")?);
    let text =
        |column: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(column)?) };
    let hash_of = |column: &str| -> Result<Hash, StoreError> {
        Hash::from_slice(row.try_get(column)?)
            .ok_or_else(|| corrupt(position, format!("{column} is not 32 bytes")))
    };
    let micros: i64 = row.try_get("recorded_at")?;
    Ok(RecordedEvent {
        position,
        ledger_id: LedgerId::parse(&text("ledger_id")?).map_err(|e| corrupt(position, e))?,
        stream_id: StreamId::parse(&text("stream_id")?).map_err(|e| corrupt(position, e))?,
        stream_version: row.try_get::<i64, _>("stream_version")? as u64,
        event_id: EventId::parse(&text("event_id")?).map_err(|e| corrupt(position, e))?,
        event_type: text("event_type")?,
        schema_version: row.try_get::<i64, _>("schema_version")? as u16,
        payload: text("payload")?,
        metadata: text("metadata")?,
        recorded_at: DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| corrupt(position, "recorded_at"))?,
        prev_hash: hash_of("prev_hash")?,
        hash: hash_of("hash")?,
    })
}
