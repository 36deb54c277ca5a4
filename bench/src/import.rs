//! `ledger bench import`: a generated CSV statement (100,000 rows by default)
//! imported into a fresh PostgreSQL ledger through the server's import pipeline
//! (parse, deduplicate against the read models, one atomic append, read models
//! caught up; driven in-process through `gateway::bench_support`), beside plain multi-row INSERTs of the same rows into an equivalent
//! events table, in one transaction, in the same database and run.
//!
//! The baseline's SQL lives here, not in `schema/`, because it is part of the
//! measurement, not of the product.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ledger::{Currency, ImportState, LedgerId, Store};
use projections::LiveOptions;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, QueryBuilder};
use tokio::sync::watch;

use gateway::bench_support::{ImportPipeline, PreparedImport, MAX_ROWS};

use crate::{append, Common, Figure, Report, ScratchPostgres};

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    common: Common,
    /// Rows in the generated statement.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
}

const BASELINE: &str = "multi-row INSERT";
/// Rows per baseline INSERT: 11 parameters each stays under PostgreSQL's 65,535.
const BASELINE_CHUNK: usize = 5000;

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let report = Report::new(args.common.json);
    if !args.common.backend.postgres() {
        report.note("bench import measures PostgreSQL only");
        return Ok(());
    }
    let rows = args.rows.clamp(1, MAX_ROWS);
    let scratch = ScratchPostgres::create(&args.common.postgres_url).await?;
    let result = measure(&scratch.url, rows, &report).await;
    scratch.drop_now().await?;
    result
}

/// A statement of `rows` distinct card payments, as a German bank exports them.
fn statement(rows: usize) -> Vec<u8> {
    let mut out = String::from("Buchungstag;Empfänger;Verwendungszweck;Betrag (EUR);Saldo (EUR)\n");
    for i in 0..rows {
        out.push_str(&format!(
            "{:02}.{:02}.2025;\"Händler {}\";\"Kartenzahlung Ref {:012}\";-{},{:02};{}.{:02}\n",
            1 + i % 28,
            1 + (i / 28) % 12,
            i % 500,
            i * 7919,
            1 + i % 1500,
            i % 100,
            10_000 + i,
            i % 100
        ));
    }
    out.into_bytes()
}

async fn measure(url: &str, rows: usize, report: &Report) -> anyhow::Result<()> {
    let store = Store::open(url).await.context("opening the store")?;
    let currency = Currency::parse("EUR")?;
    let ledger = LedgerId::new();
    store.append(append::open_ledger(ledger, currency)?).await?;
    let (stop, shutdown) = watch::channel(false);
    let (live, live_task) =
        projections::start(store.clone(), LiveOptions::default(), shutdown).await?;
    live.wait_for(store.head().await?, Duration::from_secs(30))
        .await;
    let imports = ImportPipeline::new(store.clone(), live.clone());
    let bytes = Arc::new(statement(rows));
    report.note(&format!(
        "importing a {rows}-row CSV ({:.1} MiB) on PostgreSQL",
        bytes.len() as f64 / (1024.0 * 1024.0)
    ));

    let started = Instant::now();
    let file = bytes.clone();
    let prepared =
        tokio::task::spawn_blocking(move || PreparedImport::parse(&file, ledger, currency))
            .await?
            .map_err(|e| anyhow::anyhow!("the generated statement was refused: {e}"))?;
    let parsed = started.elapsed();
    let status = imports.run(prepared).await?;
    let imported = started.elapsed();
    anyhow::ensure!(
        status.state == ImportState::Completed && status.imported == rows as u64,
        "the import did not complete: {:?}",
        status.message
    );

    // Outside the clock: the read models fold the import (the next import of the
    // ledger waits for that before deduplicating).
    let folding = Instant::now();
    live.wait_for(
        status.position.unwrap_or_default(),
        Duration::from_secs(600),
    )
    .await;
    let folded = folding.elapsed();

    // The same rows again: all duplicates, nothing appended.
    let again_started = Instant::now();
    let file = bytes.clone();
    let prepared =
        tokio::task::spawn_blocking(move || PreparedImport::parse(&file, ledger, currency))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let again = imports.run(prepared).await?;
    let reimported = again_started.elapsed();
    anyhow::ensure!(again.imported == 0, "a re-import appended rows");

    // The baseline: the same expenses, parsed once more outside the clock, written
    // as events rows with plain multi-row INSERTs in one transaction.
    let file = bytes.clone();
    let prepared =
        tokio::task::spawn_blocking(move || PreparedImport::parse(&file, ledger, currency))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let payloads = prepared.expense_events(ledger);
    let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
    append::create_baseline_table(&pool).await?;
    let baseline_started = Instant::now();
    baseline_insert(&pool, ledger, &payloads).await?;
    let baseline = baseline_started.elapsed();

    stop.send_replace(true);
    let _ = live_task.await;
    drop(imports);
    store.close().await;

    let case = format!("rows={rows}");
    let figure = |metric, value: f64, baseline_value: Option<f64>| Figure {
        bench: "import",
        backend: "postgres".into(),
        case: case.clone(),
        metric,
        value,
        baseline: baseline_value.map(|_| BASELINE.to_owned()),
        baseline_value,
    };
    let seconds = |d: Duration| d.as_secs_f64();
    report.print(&figure(
        "seconds",
        seconds(imported),
        Some(seconds(baseline)),
    ));
    report.print(&figure(
        "rows_per_s",
        rows as f64 / seconds(imported),
        Some(rows as f64 / seconds(baseline)),
    ));
    report.note(&format!(
        "of which parsing {:.3} s; afterwards the live read models took {:.3} s more to fold \
         the import; re-importing the same file (all duplicates) took {:.3} s",
        seconds(parsed),
        seconds(folded),
        seconds(reimported)
    ));
    Ok(())
}

async fn baseline_insert(
    pool: &PgPool,
    ledger: LedgerId,
    rows: &[(String, String)],
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let now = chrono::Utc::now();
    let zero = vec![0u8; 32];
    for chunk in rows.chunks(BASELINE_CHUNK) {
        let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO baseline_events (ledger_id, stream_id, stream_version, event_id, \
             event_type, schema_version, payload, metadata, recorded_at, prev_hash, hash) ",
        );
        insert.push_values(chunk, |mut row, (stream, payload)| {
            row.push_bind(ledger.as_uuid())
                .push_bind(stream)
                .push_bind(1i64)
                .push_bind(uuid::Uuid::now_v7())
                .push_bind("ExpenseRecorded")
                .push_bind(2i16)
                .push_bind(payload)
                .push_bind("{}")
                .push_bind(now)
                .push_bind(&zero)
                .push_bind(&zero);
        });
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
