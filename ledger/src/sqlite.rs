//! The SQLite backend: the embedded default, one file, nothing to install.
//!
//! One connection writes (SQLite has one writer anyway); several read, which WAL
//! allows while a write is in progress. `synchronous=FULL` makes every commit
//! durable before it is acknowledged.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row as _, Sqlite, Transaction};
use tokio::sync::mpsc;

use crate::append::{Appended, Prepared};
use crate::batch::{plan, Heads, KeyRow, Row, StoredAnswer};
use crate::chain::Hash;
use crate::checkpoint::{Checkpoint, LedgerState};
use crate::error::{AppendError, StoreError};
use crate::ids::{EventId, ImportId, LedgerId, Position, StreamId, UserId};
use crate::import_record::ImportRecord;
use crate::recorded::{LogEntry, RecordedEvent};
use crate::store::StoreOptions;
use crate::user::{TokenHash, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../schema/sqlite");

/// Rows per INSERT statement: 12 parameters each stays under SQLite's 32766.
const INSERT_CHUNK: usize = 1000;

const COLUMNS: &str = "position, ledger_id, stream_id, stream_version, event_id, event_type, \
                       schema_version, payload, metadata, recorded_at, prev_hash, hash";

pub(crate) struct SqliteBackend {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteBackend {
    pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let base = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let base = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections.clamp(1, 8))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, readers })
    }

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
        let sql =
            format!("SELECT {COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?");
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
            "SELECT {COLUMNS} FROM events WHERE ledger_id = ? AND position > ? AND position <= ? \
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
            format!("SELECT {COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ? ORDER BY stream_version LIMIT ?");
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

    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(user.user_id.to_string())
        .bind(&user.name)
        .bind(token.as_bytes())
        .bind(Utc::now().timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT user_id, name FROM users WHERE token_hash = ?")
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

    #[cfg(feature = "testing")]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.writer).await?;
        Ok(())
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
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT stream_id, max(stream_version) FROM events \
         WHERE stream_id IN (SELECT value FROM json_each(?)) GROUP BY stream_id",
    )
    .bind(serde_json::to_string(&streams).expect("strings serialize"))
    .fetch_all(&mut **tx)
    .await?;
    for (stream, version) in rows {
        let stream = StreamId::parse(&stream).map_err(|e| corrupt(Position::ZERO, e))?;
        heads.streams.insert(stream, version as u64);
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
    let mut insert = QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({COLUMNS}) "));
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

fn corrupt(position: Position, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: reason.to_string(),
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
