//! `ledger bench append`: durable appends per second and their latency at several
//! concurrencies, beside the same number of writers doing plain single-row INSERTs
//! (each its own durable transaction) into an equivalent table in the same database.
//! Appends go to the store directly, or through HTTP to a `ledger serve` child process
//! (`--through`, see `append_http`), or both.
//!
//! The baseline's SQL lives here, not in `schema/`, because it is part of the
//! measurement, not of the product.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use ledger::commands::expense::{self as expenses, NewExpense};
use ledger::commands::ledger::{self as ledgers, OpenLedger};
use ledger::{
    Amount, AppendRequest, Category, Currency, Description, ExpenseId, LedgerId, LedgerName,
    Merchant, Metadata, Store, StoreOptions, Tag, Timezone, UserId,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::{append_http, drive, Common, Figure, Report, Run, ScratchPostgres};

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
    /// Append to the store in this process, through HTTP to a server process, or both.
    #[arg(long, value_enum, default_value = "both")]
    through: Through,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Through {
    Both,
    Store,
    Http,
}

impl Through {
    fn store(self) -> bool {
        matches!(self, Through::Both | Through::Store)
    }

    fn http(self) -> bool {
        matches!(self, Through::Both | Through::Http)
    }
}

pub(super) const BASELINE: &str = "single-row INSERT";

pub(crate) async fn run(args: AppendArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.seconds.is_finite(), "--seconds must be a number");
    anyhow::ensure!(
        args.writers.iter().all(|&n| (1..=10_000).contains(&n)),
        "--writers must be between 1 and 10000"
    );
    let report = Report::new(args.common.json);
    let duration = Duration::from_secs_f64(args.seconds.clamp(0.2, 600.0));
    let most = args.writers.iter().copied().max().unwrap_or(1) as u32;
    if args.common.backend.postgres() && args.through.store() {
        let scratch = ScratchPostgres::create(&args.common.postgres_url).await?;
        let result = measure_postgres(&scratch.url, &args.writers, duration, &report).await;
        scratch.drop_now().await?;
        result?;
    }
    if args.common.backend.postgres() && args.through.http() {
        // A database of its own: a server starting on the store case's log would
        // first fold all of it.
        let scratch = ScratchPostgres::create(&args.common.postgres_url).await?;
        let result = async {
            let baseline = Baseline::Postgres(baseline_postgres(&scratch.url, most).await?);
            append_http::measure(
                "postgres",
                &scratch.url,
                &baseline,
                &args.writers,
                duration,
                &report,
            )
            .await
        }
        .await;
        scratch.drop_now().await?;
        result?;
    }
    if args.common.backend.sqlite() && args.through.store() {
        let dir = tempfile::tempdir()?;
        measure_sqlite(
            &dir.path().join("bench.db"),
            &args.writers,
            duration,
            &report,
        )
        .await?;
    }
    if args.common.backend.sqlite() && args.through.http() {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
        let baseline = Baseline::Sqlite(baseline_sqlite(&dir.path().join("bench.db")).await?);
        append_http::measure("sqlite", &url, &baseline, &args.writers, duration, &report).await?;
    }
    Ok(())
}

pub(super) enum Baseline {
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
    let pool = baseline_postgres(url, most).await?;
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

/// The baseline's table: the log's columns and constraints without the server.
pub(crate) async fn create_baseline_table(pool: &PgPool) -> anyhow::Result<()> {
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
    .execute(pool)
    .await?;
    Ok(())
}

/// A pool of `connections` on a database with the baseline's table created.
async fn baseline_postgres(url: &str, connections: u32) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .connect(url)
        .await?;
    create_baseline_table(&pool).await?;
    Ok(pool)
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
    let pool = baseline_sqlite(path).await?;
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

/// A pool on a database beside `path` with the baseline's table created.
async fn baseline_sqlite(path: &std::path::Path) -> anyhow::Result<SqlitePool> {
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
    Ok(pool)
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
    store.append(open_ledger(ledger, currency)?).await?;
    let sample = Arc::new(sample(currency)?);

    for &n in writers {
        let case = format!("writers={n}");
        report.note(&format!(
            "append/{backend}/{case}: baseline ({BASELINE}) for {duration:?} ..."
        ));
        let base = baseline.drive(ledger, &sample, n, duration).await?;
        report.note(&format!(
            "append/{backend}/{case}: ledger store for {duration:?} ..."
        ));
        let store = store.clone();
        let ours = drive(n, duration, move || {
            let store = store.clone();
            async move {
                store.append(record(ledger, currency)?).await?;
                Ok(())
            }
        })
        .await?;
        print_case(report, backend, &case, &ours, &base);
    }
    Ok(())
}

impl Baseline {
    /// `writers` inserting rows carrying `sample` for `duration`.
    pub(super) async fn drive(
        &self,
        ledger: LedgerId,
        sample: &Arc<String>,
        writers: usize,
        duration: Duration,
    ) -> anyhow::Result<Run> {
        let sample = sample.clone();
        match self {
            Baseline::Postgres(pool) => {
                let pool = pool.clone();
                drive(writers, duration, move || {
                    let pool = pool.clone();
                    let sample = sample.clone();
                    async move { insert_postgres(&pool, ledger, &sample).await }
                })
                .await
            }
            Baseline::Sqlite(pool) => {
                let pool = pool.clone();
                drive(writers, duration, move || {
                    let pool = pool.clone();
                    let sample = sample.clone();
                    async move { insert_sqlite(&pool, ledger, &sample).await }
                })
                .await
            }
        }
    }
}

pub(super) fn print_case(report: &Report, backend: &str, case: &str, ours: &Run, base: &Run) {
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

/// Opens the benchmark's ledger `ledger`, through the command layer.
pub(super) fn open_ledger(ledger: LedgerId, currency: Currency) -> anyhow::Result<AppendRequest> {
    let open = OpenLedger {
        owner: UserId::new(),
        name: LedgerName::parse("bench")?,
        currency,
        timezone: Timezone::UTC,
    };
    Ok(ledgers::open(ledger, open, Metadata::default()))
}

/// The expense every writer records, a new id each time.
fn expense(currency: Currency) -> anyhow::Result<NewExpense> {
    Ok(NewExpense {
        expense_id: ExpenseId::new(),
        amount: Amount::parse("23.40", currency)?,
        occurred_on: NaiveDate::from_ymd_opt(2026, 11, 14).context("a date")?,
        category: Category::parse("groceries")?,
        merchant: Some(Merchant::parse("Corner Market")?),
        description: Some(Description::parse("weekly shop")?),
        tags: vec![Tag::parse("food")?],
        original: None,
    })
}

/// Recording one such expense in `ledger`: the request a writer appends.
fn record(ledger: LedgerId, currency: Currency) -> anyhow::Result<AppendRequest> {
    Ok(expenses::record(
        ledger,
        expense(currency)?,
        Metadata::default(),
    ))
}

/// The payload the baseline inserts: the very event the command produces.
pub(super) fn sample(currency: Currency) -> anyhow::Result<String> {
    let request = record(LedgerId::new(), currency)?;
    let event = request
        .writes
        .first()
        .and_then(|write| write.events.first())
        .context("recording an expense writes an event")?;
    Ok(event.encode())
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
