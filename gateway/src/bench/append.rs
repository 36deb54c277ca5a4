//! `ledger bench append`: durable appends per second and their latency at several
//! concurrencies, beside the same number of writers doing plain single-row INSERTs
//! (each its own durable transaction) into an equivalent table in the same database.
//!
//! The baseline's SQL lives here, not in `schema/`, because it is part of the
//! measurement, not of the product.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use ledger::event::{ExpenseRecorded, LedgerOpened};
use ledger::{
    Amount, AppendRequest, Currency, Event, ExpectedVersion, ExpenseId, LedgerId, Store,
    StoreOptions, StreamId, UserId,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use super::{drive, Common, Figure, Report, Run, ScratchPostgres};

#[derive(Debug, clap::Args)]
pub(crate) struct AppendArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent writers, one case each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    writers: Vec<usize>,
    /// How long each case runs.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

const BASELINE: &str = "single-row INSERT";

pub(crate) async fn run(args: AppendArgs) -> anyhow::Result<()> {
    let report = Report::new(args.common.json);
    let duration = Duration::from_secs_f64(args.seconds.clamp(0.2, 600.0));
    if args.common.backend.postgres() {
        let scratch = ScratchPostgres::create(&args.common.postgres_url).await?;
        let result = measure_postgres(&scratch.url, &args.writers, duration, &report).await;
        scratch.drop_now().await?;
        result?;
    }
    if args.common.backend.sqlite() {
        let dir = tempfile::tempdir()?;
        measure_sqlite(
            &dir.path().join("bench.db"),
            &args.writers,
            duration,
            &report,
        )
        .await?;
    }
    Ok(())
}

enum Baseline {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

async fn measure_postgres(
    url: &str,
    writers: &[usize],
    duration: Duration,
    report: &Report,
) -> anyhow::Result<()> {
    let store = Store::open_with(url, StoreOptions { max_connections: 8 })
        .await
        .context("opening the store")?;
    let most = writers.iter().copied().max().unwrap_or(1) as u32;
    let pool = PgPoolOptions::new()
        .max_connections(most)
        .connect(url)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE baseline_events (
            position BIGSERIAL PRIMARY KEY, ledger_id UUID NOT NULL, stream_id TEXT NOT NULL,
            stream_version BIGINT NOT NULL, event_id UUID NOT NULL UNIQUE, event_type TEXT NOT NULL,
            schema_version SMALLINT NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL, prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL,
            UNIQUE (stream_id, stream_version));
         CREATE INDEX ON baseline_events (ledger_id, position);
         CREATE INDEX ON baseline_events (recorded_at, position);",
    )
    .execute(&pool)
    .await?;
    measure(
        "postgres",
        &store,
        &Baseline::Postgres(pool),
        writers,
        duration,
        report,
    )
    .await
}

async fn measure_sqlite(
    path: &std::path::Path,
    writers: &[usize],
    duration: Duration,
    report: &Report,
) -> anyhow::Result<()> {
    let store = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .context("opening the store")?;
    let options = SqliteConnectOptions::new()
        .filename(path.with_extension("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    // SQLite has one writer; more connections would only queue on its lock.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE baseline_events (
            position INTEGER PRIMARY KEY AUTOINCREMENT, ledger_id TEXT NOT NULL, stream_id TEXT NOT NULL,
            stream_version INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL,
            schema_version INTEGER NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL,
            recorded_at INTEGER NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL,
            UNIQUE (stream_id, stream_version));
         CREATE INDEX baseline_ledger ON baseline_events (ledger_id, position);
         CREATE INDEX baseline_time ON baseline_events (recorded_at, position);",
    )
    .execute(&pool)
    .await?;
    measure(
        "sqlite",
        &store,
        &Baseline::Sqlite(pool),
        writers,
        duration,
        report,
    )
    .await
}

async fn measure(
    backend: &str,
    store: &Store,
    baseline: &Baseline,
    writers: &[usize],
    duration: Duration,
    report: &Report,
) -> anyhow::Result<()> {
    let currency = Currency::parse("EUR")?;
    let ledger = LedgerId::new();
    let opened = Event::LedgerOpened(LedgerOpened {
        ledger_id: ledger,
        name: "bench".into(),
        currency,
        timezone: "UTC".into(),
        owner: UserId::new(),
    });
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::NoStream,
            vec![opened],
        ))
        .await?;
    let sample = Arc::new(Event::ExpenseRecorded(expense(currency)).encode());

    for &n in writers {
        let case = format!("writers={n}");
        report.note(&format!(
            "append/{backend}/{case}: baseline ({BASELINE}) for {duration:?} ..."
        ));
        let base = match baseline {
            Baseline::Postgres(pool) => {
                let pool = pool.clone();
                let sample = sample.clone();
                drive(n, duration, move || {
                    let pool = pool.clone();
                    let sample = sample.clone();
                    async move { insert_postgres(&pool, ledger, &sample).await }
                })
                .await?
            }
            Baseline::Sqlite(pool) => {
                let pool = pool.clone();
                let sample = sample.clone();
                drive(n, duration, move || {
                    let pool = pool.clone();
                    let sample = sample.clone();
                    async move { insert_sqlite(&pool, ledger, &sample).await }
                })
                .await?
            }
        };
        report.note(&format!(
            "append/{backend}/{case}: ledger store for {duration:?} ..."
        ));
        let store = store.clone();
        let ours = drive(n, duration, move || {
            let store = store.clone();
            async move {
                let e = expense(currency);
                let stream = StreamId::expense(e.expense_id);
                store
                    .append(AppendRequest::new(
                        ledger,
                        stream,
                        ExpectedVersion::NoStream,
                        vec![Event::ExpenseRecorded(e)],
                    ))
                    .await?;
                Ok(())
            }
        })
        .await?;
        print_case(report, backend, &case, &ours, &base);
    }
    Ok(())
}

fn print_case(report: &Report, backend: &str, case: &str, ours: &Run, base: &Run) {
    let figure = |metric, value, baseline_value| Figure {
        bench: "append",
        backend: backend.to_owned(),
        case: case.to_owned(),
        metric,
        value,
        baseline: Some(BASELINE.to_owned()),
        baseline_value: Some(baseline_value),
    };
    report.print(&figure(
        "events_per_s",
        ours.per_second(),
        base.per_second(),
    ));
    report.print(&figure(
        "p50_ms",
        ours.quantile_ms(0.5),
        base.quantile_ms(0.5),
    ));
    report.print(&figure(
        "p99_ms",
        ours.quantile_ms(0.99),
        base.quantile_ms(0.99),
    ));
    report.print(&figure(
        "max_ms",
        ours.quantile_ms(1.0),
        base.quantile_ms(1.0),
    ));
}

fn expense(currency: Currency) -> ExpenseRecorded {
    ExpenseRecorded {
        expense_id: ExpenseId::new(),
        amount: Amount::parse("23.40", currency).expect("a valid amount"),
        occurred_on: NaiveDate::from_ymd_opt(2026, 11, 14).expect("a date"),
        category: "groceries".into(),
        merchant: Some("Corner Market".into()),
        description: Some("weekly shop".into()),
        tags: vec!["food".into()],
        original_amount: None,
        original_currency: None,
        import_id: None,
    }
}

/// Ids as the store makes them (time-ordered UUIDv7), so both sides index alike.
fn row_parts() -> (uuid::Uuid, String, [u8; 32]) {
    let id = uuid::Uuid::now_v7();
    (
        id,
        format!("expense-{id}"),
        *id.as_bytes()
            .repeat(2)
            .first_chunk::<32>()
            .expect("32 bytes"),
    )
}

async fn insert_postgres(pool: &PgPool, ledger: LedgerId, payload: &str) -> anyhow::Result<()> {
    let (id, stream, hash) = row_parts();
    sqlx::query(
        "INSERT INTO baseline_events (ledger_id, stream_id, stream_version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at, prev_hash, hash) VALUES ($1, $2, 1, $3, 'ExpenseRecorded', 2, $4, '{}', now(), $5, $6)",
    )
    .bind(ledger.as_uuid())
    .bind(stream)
    .bind(id)
    .bind(payload)
    .bind(&hash[..])
    .bind(&hash[..])
    .execute(pool)
    .await?;
    Ok(())
}

async fn insert_sqlite(pool: &SqlitePool, ledger: LedgerId, payload: &str) -> anyhow::Result<()> {
    let (id, stream, hash) = row_parts();
    sqlx::query(
        "INSERT INTO baseline_events (ledger_id, stream_id, stream_version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, 1, ?, 'ExpenseRecorded', 2, ?, '{}', ?, ?, ?)",
    )
    .bind(ledger.to_string())
    .bind(stream)
    .bind(id.to_string())
    .bind(payload)
    .bind(chrono::Utc::now().timestamp_micros())
    .bind(&hash[..])
    .bind(&hash[..])
    .execute(pool)
    .await?;
    Ok(())
}
