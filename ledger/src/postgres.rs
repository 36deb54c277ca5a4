//! The PostgreSQL backend: production storage shared by several server processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row as _, Transaction};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::append::{Appended, ExpectedVersion, Prepared};
use crate::batch::{plan, Heads, KeyRow, Plan, Row, StoredAnswer};
use crate::chain::Hash;
use crate::checkpoint::{Checkpoint, LedgerState};
use crate::error::{AppendError, StoreError};
use crate::ids::{EventId, ImportId, LedgerId, Position, StreamId, UserId};
use crate::import_record::ImportRecord;
use crate::recorded::{LogEntry, RecordedEvent};
use crate::store::StoreOptions;
use crate::user::{TokenHash, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../schema/postgres");

/// Every committing transaction holds this advisory lock from before it reads the
/// heads of the log until after its commit is visible, so commits happen one at a
/// time, in position order, across all processes. The schema's
/// `ledger_append_if_unchanged` takes the same key.
const APPEND_LOCK: i64 = 0x6c65_6467_6572; // "ledger"

/// The channel every committing transaction notifies with the new head.
const CHANNEL: &str = "ledger_events";

/// Rows per INSERT statement; a large append is several statements in one transaction.
const INSERT_CHUNK: usize = 5000;

const COLUMNS: &str = "position, ledger_id, stream_id, stream_version, event_id, event_type, \
                       schema_version, payload, metadata, recorded_at, prev_hash, hash";

#[derive(Clone)]
pub(crate) struct PgBackend {
    pool: PgPool,
    /// What this process knows of the log's heads as of the last batch it committed.
    cache: Arc<Mutex<Option<HeadCache>>>,
}

impl PgBackend {
    pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        // Acknowledged means durable, whatever the server's default says.
        let connect: PgConnectOptions = url
            .parse::<PgConnectOptions>()?
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            cache: Arc::default(),
        })
    }

    /// Decides and commits a batch.
    ///
    /// The fast path decides against this process's memory of the log's heads and
    /// commits with one statement that inserts only if that memory is still right
    /// (`ledger_append_if_unchanged` in the schema): one round trip per batch. When
    /// another process appended meanwhile, or the batch touches streams this process
    /// has not seen, the slow path locks, reads the heads and decides again.
    pub(crate) async fn commit(
        &self,
        batch: &[Prepared],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        let guess = self
            .cache
            .lock()
            .expect("head cache")
            .as_ref()
            .and_then(|c| c.guess(batch));
        if let Some(mut guess) = guess {
            let plan = plan(&mut guess.heads, batch, now);
            if plan.answers.iter().all(Result::is_ok) && plan.rows.len() <= INSERT_CHUNK {
                match append_if_unchanged(&self.pool, &plan, &guess).await {
                    Ok(true) => {
                        self.remember(guess.heads, false);
                        return Ok(plan.answers);
                    }
                    Ok(false) => tracing::debug!("another process appended; reading the heads"),
                    Err(e) => return Err(self.failed(e)),
                }
            }
        }
        self.commit_slowly(batch, now).await
    }

    async fn commit_slowly(
        &self,
        batch: &[Prepared],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        let mut tx = self
            .pool
            .begin_with(format!(
                "BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK})"
            ))
            .await?;
        let mut heads = load_heads(&mut tx, batch).await?;
        let plan = plan(&mut heads, batch, now);
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
        let head = plan.rows.last().map_or(Position::ZERO, |r| r.position);
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(head.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| self.failed(e))?;
        self.remember(heads, true);
        Ok(plan.answers)
    }

    /// A commit that failed may or may not have happened: forget the heads, and say
    /// "unknown" unless the database itself refused it.
    fn failed(&self, e: sqlx::Error) -> StoreError {
        *self.cache.lock().expect("head cache") = None;
        match e {
            sqlx::Error::Database(_) => StoreError::Database(e),
            other => StoreError::CommitUnknown(other.to_string()),
        }
    }

    /// Records the heads as they stand after a committed batch; `fresh` heads were
    /// read from the database and replace whatever was remembered.
    fn remember(&self, heads: Heads, fresh: bool) {
        let mut cache = self.cache.lock().expect("head cache");
        match cache.as_mut() {
            Some(c) if !fresh => c.absorb(heads),
            _ => *cache = Some(HeadCache::from(heads)),
        }
    }

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
        let sql =
            format!("SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
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

    pub(crate) async fn read_stream(
        &self,
        stream: StreamId,
        after_version: u64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
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
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT ledger_id FROM events WHERE event_type = 'LedgerOpened' ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(LedgerId::from_uuid).collect())
    }

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

    pub(crate) async fn create_user(
        &self,
        user: &User,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, now())",
        )
        .bind(user.user_id.as_uuid())
        .bind(&user.name)
        .bind(token.as_bytes())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn user_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<(Uuid, String)> =
            sqlx::query_as("SELECT user_id, name FROM users WHERE token_hash = $1")
                .bind(token.as_bytes())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name)| User {
            user_id: UserId::from_uuid(id),
            name,
        }))
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE user_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        Ok(name.map(|name| User { user_id: id, name }))
    }

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
async fn load_heads(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[Prepared],
) -> Result<Heads, StoreError> {
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
        // Every part is an index lookup shaped so (ORDER BY ... LIMIT 1, one probe per
        // key) that even a generic plan made while the table was empty stays one.
        "SELECT 'p' AS kind, NULL::uuid AS ledger, NULL::text AS name, h.position AS num, NULL::bytea AS bytes, \
                h.recorded_at AS at \
           FROM (SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1) h \
         UNION ALL \
         SELECT 's', NULL, s.id, v.stream_version, NULL, NULL \
           FROM unnest($1::text[]) AS s(id) \
           CROSS JOIN LATERAL (SELECT stream_version FROM events WHERE stream_id = s.id \
                               ORDER BY stream_version DESC LIMIT 1) v \
         UNION ALL \
         SELECT 'l', l.id, NULL, e.position, e.hash, NULL \
           FROM unnest($2::uuid[]) AS l(id) \
           CROSS JOIN LATERAL (SELECT position, hash FROM events WHERE ledger_id = l.id \
                               ORDER BY position DESC LIMIT 1) e \
         UNION ALL \
         SELECT 'k', q.ledger_id, q.key || chr(10) || k.answer, NULL, k.fingerprint, NULL \
           FROM unnest($3::uuid[], $4::text[]) AS q(ledger_id, key) \
           CROSS JOIN LATERAL (SELECT answer, fingerprint FROM idempotency_keys \
                               WHERE ledger_id = q.ledger_id AND key = q.key \
                               ORDER BY ledger_id, key LIMIT 1) k",
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
                heads
                    .streams
                    .insert(stream, row.try_get::<i64, _>("num")? as u64);
            }
            "l" => {
                let ledger = LedgerId::from_uuid(row.try_get("ledger")?);
                let position = Position::from_db(row.try_get("num")?);
                let hash = Hash::from_slice(row.try_get("bytes")?)
                    .ok_or_else(|| corrupt(position, "hash length"))?;
                heads.ledgers.insert(ledger, hash);
            }
            _ => {
                let ledger = LedgerId::from_uuid(row.try_get("ledger")?);
                let name: String = row.try_get("name")?;
                let (key, answer) = name
                    .split_once('\n')
                    .ok_or_else(|| corrupt(Position::ZERO, "idempotency row"))?;
                let appended: Appended =
                    serde_json::from_str(answer).map_err(|e| corrupt(Position::ZERO, e))?;
                let fingerprint = Hash::from_slice(row.try_get("bytes")?)
                    .ok_or_else(|| corrupt(Position::ZERO, "fingerprint"))?;
                heads.keys.insert(
                    (ledger, key.to_owned()),
                    StoredAnswer {
                        fingerprint,
                        appended,
                    },
                );
            }
        }
    }
    Ok(heads)
}

async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[Row<'_>],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO events ({COLUMNS}) SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], \
         $5::uuid[], $6::text[], $7::smallint[], $8::text[], $9::text[], $10::timestamptz[], $11::bytea[], $12::bytea[])"
    );
    EventColumns::from(rows)
        .bind(sqlx::query(&sql))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rows turned into one array per column, for `UNNEST`.
struct EventColumns<'a> {
    position: Vec<i64>,
    ledger: Vec<Uuid>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<&'a str>,
    schema: Vec<i16>,
    payload: Vec<&'a str>,
    metadata: Vec<&'a str>,
    recorded_at: Vec<DateTime<Utc>>,
    prev_hash: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
}

impl<'a> From<&'a [Row<'a>]> for EventColumns<'a> {
    fn from(rows: &'a [Row<'a>]) -> Self {
        EventColumns {
            position: rows.iter().map(|r| r.position.get()).collect(),
            ledger: rows.iter().map(|r| r.ledger_id.as_uuid()).collect(),
            stream: rows.iter().map(|r| r.stream_id.to_string()).collect(),
            version: rows.iter().map(|r| r.stream_version as i64).collect(),
            event_id: rows.iter().map(|r| r.event_id.as_uuid()).collect(),
            event_type: rows.iter().map(|r| r.event_type).collect(),
            schema: rows.iter().map(|r| r.schema_version as i16).collect(),
            payload: rows.iter().map(|r| r.payload).collect(),
            metadata: rows.iter().map(|r| r.metadata).collect(),
            recorded_at: rows.iter().map(|r| r.recorded_at).collect(),
            prev_hash: rows.iter().map(|r| r.prev_hash.as_bytes()).collect(),
            hash: rows.iter().map(|r| r.hash.as_bytes()).collect(),
        }
    }
}

impl<'a> EventColumns<'a> {
    /// Binds the twelve columns, in table order, as the query's next parameters.
    fn bind<'q, Q: BindArrays<'q>>(&'q self, query: Q) -> Q {
        query
            .bind(&self.position)
            .bind(&self.ledger)
            .bind(&self.stream)
            .bind(&self.version)
            .bind(&self.event_id)
            .bind(&self.event_type)
            .bind(&self.schema)
            .bind(&self.payload)
            .bind(&self.metadata)
            .bind(&self.recorded_at)
            .bind(&self.prev_hash)
            .bind(&self.hash)
    }
}

/// Queries and scalar queries alike take the column arrays.
trait BindArrays<'q>: Sized {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>;
}

impl<'q> BindArrays<'q> for sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        sqlx::query::Query::bind(self, value)
    }
}

impl<'q, O> BindArrays<'q>
    for sqlx::query::QueryScalar<'q, Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        sqlx::query::QueryScalar::bind(self, value)
    }
}

struct KeyColumns<'a> {
    ledgers: Vec<Uuid>,
    names: Vec<&'a str>,
    fingerprints: Vec<&'a [u8]>,
    answers: Vec<&'a str>,
}

impl<'a> From<&'a [KeyRow<'a>]> for KeyColumns<'a> {
    fn from(keys: &'a [KeyRow<'a>]) -> Self {
        KeyColumns {
            ledgers: keys.iter().map(|k| k.ledger_id.as_uuid()).collect(),
            names: keys.iter().map(|k| k.key).collect(),
            fingerprints: keys.iter().map(|k| k.fingerprint.as_bytes()).collect(),
            answers: keys.iter().map(|k| k.answer.as_str()).collect(),
        }
    }
}

/// The fast path's one statement; true if the batch was committed.
async fn append_if_unchanged(
    pool: &PgPool,
    plan: &Plan<'_>,
    guess: &Guess,
) -> Result<bool, sqlx::Error> {
    let columns = EventColumns::from(&plan.rows[..]);
    let keys = KeyColumns::from(&plan.keys[..]);
    let query = sqlx::query_scalar(
        "SELECT ledger_append_if_unchanged($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19)",
    )
    .bind(guess.expected_head.get())
    .bind(&guess.new_streams)
    .bind(&guess.new_ledgers);
    columns
        .bind(query)
        .bind(&keys.ledgers)
        .bind(&keys.names)
        .bind(&keys.fingerprints)
        .bind(&keys.answers)
        .fetch_one(pool)
        .await
}

async fn insert_keys(
    tx: &mut Transaction<'_, Postgres>,
    keys: &[KeyRow<'_>],
) -> Result<(), StoreError> {
    let keys = KeyColumns::from(keys);
    sqlx::query(
        "INSERT INTO idempotency_keys (ledger_id, key, fingerprint, answer) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bytea[], $4::text[])",
    )
    .bind(&keys.ledgers)
    .bind(&keys.names)
    .bind(&keys.fingerprints)
    .bind(&keys.answers)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Streams remembered at most; past that the cache starts over (it is only a cache).
const CACHED_STREAMS: usize = 100_000;

/// The heads of the log as this process last committed them.
struct HeadCache {
    position: Position,
    recorded_at: Option<DateTime<Utc>>,
    streams: HashMap<StreamId, u64>,
    ledgers: HashMap<LedgerId, Hash>,
}

/// Heads assumed for one batch, and the assumptions the guarded insert must check.
struct Guess {
    heads: Heads,
    expected_head: Position,
    new_streams: Vec<String>,
    new_ledgers: Vec<Uuid>,
    new_key_ledgers: Vec<Uuid>,
    new_keys: Vec<String>,
}

impl From<Heads> for HeadCache {
    fn from(heads: Heads) -> Self {
        HeadCache {
            position: heads.position,
            recorded_at: heads.recorded_at,
            streams: heads.streams,
            ledgers: heads.ledgers,
        }
    }
}

impl HeadCache {
    /// The heads a batch needs, if the cache can vouch for all of them: a stream it
    /// does not know must be expected not to exist, a ledger it does not know must be
    /// opened by the batch.
    fn guess(&self, batch: &[Prepared]) -> Option<Guess> {
        let mut guess = Guess {
            heads: Heads {
                position: self.position,
                recorded_at: self.recorded_at,
                ..Heads::default()
            },
            expected_head: self.position,
            new_streams: Vec::new(),
            new_ledgers: Vec::new(),
            new_key_ledgers: Vec::new(),
            new_keys: Vec::new(),
        };
        for p in batch {
            match self.ledgers.get(&p.ledger) {
                Some(hash) => {
                    guess.heads.ledgers.insert(p.ledger, *hash);
                }
                None if p.opens_ledger => guess.new_ledgers.push(p.ledger.as_uuid()),
                None => return None,
            }
            for w in &p.writes {
                match self.streams.get(&w.stream) {
                    Some(v) => {
                        guess.heads.streams.insert(w.stream, *v);
                    }
                    None if w.expected == ExpectedVersion::NoStream => {
                        guess.new_streams.push(w.stream.to_string())
                    }
                    None => return None,
                }
            }
            if let Some(key) = &p.idempotency_key {
                guess.new_key_ledgers.push(p.ledger.as_uuid());
                guess.new_keys.push(key.clone());
            }
        }
        Some(guess)
    }

    fn absorb(&mut self, heads: Heads) {
        if self.streams.len() + heads.streams.len() > CACHED_STREAMS {
            self.streams.clear();
        }
        self.position = heads.position;
        self.recorded_at = heads.recorded_at;
        self.streams.extend(heads.streams);
        self.ledgers.extend(heads.ledgers);
    }
}

fn corrupt(position: Position, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: reason.to_string(),
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
