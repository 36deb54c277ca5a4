//! The PostgreSQL backend: production storage shared by several server processes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row as _, Transaction};
use tokio::sync::watch;
use uuid::Uuid;

use crate::append::{Appended, Prepared};
use crate::batch::{plan, Heads, KeyRow, Row, StoredAnswer};
use crate::chain::Hash;
use crate::error::{AppendError, StoreError};
use crate::ids::{EventId, LedgerId, Position, StreamId};
use crate::recorded::RecordedEvent;
use crate::store::StoreOptions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../schema/postgres");

/// Every committing transaction holds this advisory lock from before it reads the
/// heads of the log until after its commit is visible, so commits happen one at a
/// time, in position order, across all processes.
const APPEND_LOCK: i64 = 0x6c65_6467_6572; // "ledger"

/// The channel a trigger notifies with the new head after every insert.
const CHANNEL: &str = "ledger_events";

/// Rows per INSERT statement; a large append is several statements in one transaction.
const INSERT_CHUNK: usize = 5000;

const COLUMNS: &str = "position, ledger_id, stream_id, stream_version, event_id, event_type, \
                       schema_version, payload, metadata, recorded_at, prev_hash, hash";

#[derive(Clone)]
pub(crate) struct PgBackend {
    pool: PgPool,
}

impl PgBackend {
    pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub(crate) async fn commit(&self, batch: &[Prepared], now: DateTime<Utc>) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
        let heads = load_heads(&mut tx, batch).await?;
        let plan = plan(heads, batch, now);
        if plan.rows.is_empty() {
            tx.rollback().await?;
            return Ok(plan.answers);
        }
        for chunk in plan.rows.chunks(INSERT_CHUNK) {
            insert_events(&mut tx, chunk).await?;
        }
        if !plan.keys.is_empty() {
            insert_keys(&mut tx, &plan.keys).await?;
        }
        tx.commit().await.map_err(|e| match e {
            sqlx::Error::Database(_) => StoreError::Database(e),
            other => StoreError::CommitUnknown(other.to_string()),
        })?;
        Ok(plan.answers)
    }

    pub(crate) async fn head(&self) -> Result<Position, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events").fetch_one(&self.pool).await?;
        Ok(Position::from_db(head.unwrap_or(0)))
    }

    pub(crate) async fn read_all(&self, after: Position, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
        let rows = sqlx::query(&sql).bind(after.get()).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }

    pub(crate) async fn read_ledger(
        &self,
        ledger: LedgerId,
        after: Position,
        until: Option<Position>,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE ledger_id = $1 AND position > $2 AND position <= $3 \
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

    pub(crate) async fn read_stream(&self, stream: StreamId, after_version: u64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3"
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
        let ids: Vec<Uuid> =
            sqlx::query_scalar("SELECT ledger_id FROM events WHERE event_type = 'LedgerOpened' ORDER BY position")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(LedgerId::from_uuid).collect())
    }

    #[cfg(feature = "testing")]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Raises the known head whenever another process (or this one) commits. The
    /// notification only wakes readers; they read the events themselves, so a lost
    /// notification delays, never loses, an event.
    pub(crate) async fn listen(self, head: Arc<watch::Sender<Position>>) {
        loop {
            match self.listen_once(&head).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    async fn listen_once(&self, head: &watch::Sender<Position>) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        raise(head, self.head().await?);
        loop {
            let notification = listener.recv().await?;
            if let Ok(p) = notification.payload().parse::<i64>() {
                raise(head, Position::from_db(p));
            }
        }
    }
}

fn raise(head: &watch::Sender<Position>, to: Position) {
    head.send_if_modified(|h| {
        let moved = to > *h;
        *h = (*h).max(to);
        moved
    });
}

/// Reads, in one round trip, what the batch's decisions depend on: the log's head,
/// the versions of the streams it writes, the chain heads of its ledgers and the
/// answers stored for its idempotency keys.
async fn load_heads(tx: &mut Transaction<'_, Postgres>, batch: &[Prepared]) -> Result<Heads, StoreError> {
    let mut streams: Vec<String> = Vec::new();
    let mut ledgers: Vec<Uuid> = Vec::new();
    let mut key_ledgers: Vec<Uuid> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    for p in batch {
        streams.extend(p.writes.iter().map(|w| w.stream.to_string()));
        ledgers.push(p.ledger.as_uuid());
        if let Some(k) = &p.idempotency_key {
            key_ledgers.push(p.ledger.as_uuid());
            keys.push(k);
        }
    }
    ledgers.sort_unstable();
    ledgers.dedup();
    let rows = sqlx::query(
        "SELECT 'p' AS kind, NULL::uuid AS ledger, NULL::text AS name, h.position AS num, NULL::bytea AS bytes, \
                h.recorded_at AS at \
           FROM (SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1) h \
         UNION ALL \
         SELECT 's', NULL, stream_id, max(stream_version), NULL, NULL \
           FROM events WHERE stream_id = ANY($1) GROUP BY stream_id \
         UNION ALL \
         SELECT 'l', l.id, NULL, e.position, e.hash, NULL \
           FROM unnest($2::uuid[]) AS l(id) \
           CROSS JOIN LATERAL (SELECT position, hash FROM events WHERE ledger_id = l.id \
                               ORDER BY position DESC LIMIT 1) e \
         UNION ALL \
         SELECT 'k', k.ledger_id, k.key || chr(10) || k.answer, NULL, k.fingerprint, NULL \
           FROM idempotency_keys k JOIN unnest($3::uuid[], $4::text[]) AS q(ledger_id, key) \
             ON k.ledger_id = q.ledger_id AND k.key = q.key",
    )
    .bind(&streams)
    .bind(&ledgers)
    .bind(&key_ledgers)
    .bind(&keys)
    .fetch_all(&mut **tx)
    .await?;

    let mut heads = Heads::default();
    for row in rows {
        let kind: &str = row.try_get("kind")?;
        match kind {
            "p" => {
                heads.position = Position::from_db(row.try_get("num")?);
                heads.recorded_at = row.try_get("at")?;
            }
            "s" => {
                let name: String = row.try_get("name")?;
                let stream = StreamId::parse(&name).map_err(|e| corrupt(Position::ZERO, e))?;
                heads.streams.insert(stream, row.try_get::<i64, _>("num")? as u64);
            }
            "l" => {
                let ledger = LedgerId::from_uuid(row.try_get("ledger")?);
                let position = Position::from_db(row.try_get("num")?);
                let hash = Hash::from_slice(row.try_get("bytes")?).ok_or_else(|| corrupt(position, "hash length"))?;
                heads.ledgers.insert(ledger, hash);
            }
            _ => {
                let ledger = LedgerId::from_uuid(row.try_get("ledger")?);
                let name: String = row.try_get("name")?;
                let (key, answer) = name.split_once('\n').ok_or_else(|| corrupt(Position::ZERO, "idempotency row"))?;
                let appended: Appended = serde_json::from_str(answer).map_err(|e| corrupt(Position::ZERO, e))?;
                let fingerprint =
                    Hash::from_slice(row.try_get("bytes")?).ok_or_else(|| corrupt(Position::ZERO, "fingerprint"))?;
                heads.keys.insert((ledger, key.to_owned()), StoredAnswer { fingerprint, appended });
            }
        }
    }
    Ok(heads)
}

async fn insert_events(tx: &mut Transaction<'_, Postgres>, rows: &[Row<'_>]) -> Result<(), StoreError> {
    let n = rows.len();
    let mut position = Vec::with_capacity(n);
    let mut ledger = Vec::with_capacity(n);
    let mut stream = Vec::with_capacity(n);
    let mut version = Vec::with_capacity(n);
    let mut event_id = Vec::with_capacity(n);
    let mut event_type = Vec::with_capacity(n);
    let mut schema = Vec::with_capacity(n);
    let mut payload = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    let mut recorded_at = Vec::with_capacity(n);
    let mut prev_hash = Vec::with_capacity(n);
    let mut hash = Vec::with_capacity(n);
    for r in rows {
        position.push(r.position.get());
        ledger.push(r.ledger_id.as_uuid());
        stream.push(r.stream_id.to_string());
        version.push(r.stream_version as i64);
        event_id.push(r.event_id.as_uuid());
        event_type.push(r.event_type);
        schema.push(r.schema_version as i16);
        payload.push(r.payload);
        metadata.push(r.metadata);
        recorded_at.push(r.recorded_at);
        prev_hash.push(r.prev_hash.as_bytes());
        hash.push(r.hash.as_bytes());
    }
    let sql = format!(
        "INSERT INTO events ({COLUMNS}) SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], \
         $5::uuid[], $6::text[], $7::smallint[], $8::text[], $9::text[], $10::timestamptz[], $11::bytea[], $12::bytea[])"
    );
    sqlx::query(&sql)
        .bind(&position)
        .bind(&ledger)
        .bind(&stream)
        .bind(&version)
        .bind(&event_id)
        .bind(&event_type)
        .bind(&schema)
        .bind(&payload)
        .bind(&metadata)
        .bind(&recorded_at)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_keys(tx: &mut Transaction<'_, Postgres>, keys: &[KeyRow<'_>]) -> Result<(), StoreError> {
    let ledgers: Vec<Uuid> = keys.iter().map(|k| k.ledger_id.as_uuid()).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key).collect();
    let fingerprints: Vec<&[u8]> = keys.iter().map(|k| k.fingerprint.as_bytes()).collect();
    let answers: Vec<&str> = keys.iter().map(|k| k.answer.as_str()).collect();
    sqlx::query(
        "INSERT INTO idempotency_keys (ledger_id, key, fingerprint, answer) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bytea[], $4::text[])",
    )
    .bind(&ledgers)
    .bind(&names)
    .bind(&fingerprints)
    .bind(&answers)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn corrupt(position: Position, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { position, reason: reason.to_string() }
}

fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position = Position::from_db(row.try_get("position")?);
    let hash_of = |column: &str| -> Result<Hash, StoreError> {
        Hash::from_slice(row.try_get(column)?).ok_or_else(|| corrupt(position, format!("{column} is not 32 bytes")))
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

