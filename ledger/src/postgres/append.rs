//! Group commit's transactions on PostgreSQL: a one-statement fast path guarded by
//! this process's memory of the heads, and a locked slow path that reads them.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row as _, Transaction};
use uuid::Uuid;

use crate::append::{Appended, Prepared};
use crate::batch::{plan, Heads, KeyRow, Plan, Row, StoredAnswer};
use crate::chain::Hash;
use crate::error::{AppendError, StoreError};
use crate::ids::{LedgerId, Position, StreamId};
use crate::recorded::EVENT_COLUMNS;

use super::columns::{EventColumns, KeyColumns};
use super::head_cache::{Guess, HeadCache};
use super::{corrupt, PgBackend, CHANNEL, INSERT_CHUNK};

/// Every committing transaction holds this advisory lock from before it reads the
/// heads of the log until after its commit is visible, so commits happen one at a
/// time, in position order, across all processes. The schema's
/// `ledger_append_if_unchanged` takes the same key.
const APPEND_LOCK: i64 = 0x6c65_6467_6572; // "ledger"

impl PgBackend {
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
         SELECT 's', v.ledger_id, s.id, v.stream_version, NULL, NULL \
           FROM unnest($1::text[]) AS s(id) \
           CROSS JOIN LATERAL (SELECT stream_version, ledger_id FROM events WHERE stream_id = s.id \
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
                heads
                    .owners
                    .insert(stream, LedgerId::from_uuid(row.try_get("ledger")?));
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
        "INSERT INTO events ({EVENT_COLUMNS}) SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], \
         $5::uuid[], $6::text[], $7::smallint[], $8::text[], $9::text[], $10::timestamptz[], $11::bytea[], $12::bytea[])"
    );
    EventColumns::from(rows)
        .bind(sqlx::query(&sql))
        .execute(&mut **tx)
        .await?;
    Ok(())
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
