//! `ledger bench ...`: each benchmark prints its figures beside a baseline measured in
//! the same run, because the machines they run on are shared and noisy.

mod append;
mod append_http;
mod bare;
mod fanout;
mod harness;
mod import;
mod latency;
mod rebuild;
mod report;

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, PgConnection};

pub(crate) use report::{Figure, Report};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, clap::Subcommand)]
enum Which {
    /// Durable appends per second at 1, 16 and 64 concurrent writers, to the store and
    /// through HTTP, beside plain single-row INSERTs into an equivalent table.
    Append(append::AppendArgs),
    /// Append-to-socket latency at a steady rate of expenses with many subscribed
    /// sockets, beside a bare tokio-tungstenite broadcast server.
    Latency(latency::LatencyArgs),
    /// Deliveries per second and memory per idle socket with 10,000 sockets, beside a
    /// bare tokio-tungstenite broadcast server.
    Fanout(fanout::FanoutArgs),
    /// Rebuild every read model from a log of 1,000,000 realistic events, beside
    /// reading the same rows plainly; and the fold alone, in memory.
    Rebuild(rebuild::RebuildArgs),
    /// The in-memory part of `rebuild`, run by it as a child process.
    #[command(hide = true)]
    Fold(rebuild::FoldArgs),
    /// The baseline of `latency` and `fanout`, run by them as a child process.
    #[command(hide = true)]
    BareServer(bare::BareArgs),
    /// A 100,000-row CSV statement parsed, deduplicated and appended on PostgreSQL
    /// through the import pipeline, beside multi-row INSERTs of the same rows.
    Import(import::ImportArgs),
}

/// Options every benchmark takes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    /// One JSON object per figure on stdout, nothing else.
    #[arg(long)]
    json: bool,
    /// A PostgreSQL server to create a scratch database on (dropped afterwards).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Which backends to measure.
    #[arg(long, value_enum, default_value = "all")]
    backend: BackendChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendChoice {
    All,
    Postgres,
    Sqlite,
}

impl BackendChoice {
    pub(crate) fn postgres(self) -> bool {
        matches!(self, BackendChoice::All | BackendChoice::Postgres)
    }

    pub(crate) fn sqlite(self) -> bool {
        matches!(self, BackendChoice::All | BackendChoice::Sqlite)
    }
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Append(a) => append::run(a).await,
        Which::Latency(a) => latency::run(a).await,
        Which::Fanout(a) => fanout::run(a).await,
        Which::Rebuild(a) => rebuild::run(a).await,
        Which::Fold(a) => rebuild::fold(a).await,
        Which::BareServer(a) => bare::run(a).await,
        Which::Import(a) => import::run(a).await,
    }
}

/// A database created for one benchmark run on a PostgreSQL server, dropped at the end.
pub(crate) struct ScratchPostgres {
    pub(crate) url: String,
    server_url: String,
    name: String,
}

impl ScratchPostgres {
    pub(crate) async fn create(server_url: &str) -> anyhow::Result<Self> {
        let mut admin = PgConnection::connect(server_url).await.with_context(|| {
            format!("connecting to PostgreSQL at {server_url} (set --postgres-url)")
        })?;
        let name = format!("ledger_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let base = server_url.split('?').next().unwrap_or(server_url);
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let host = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        Ok(Self {
            url: format!("{host}/{name}"),
            server_url: server_url.to_owned(),
            name,
        })
    }

    pub(crate) async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.server_url).await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// Runs `workers` copies of `op` until `duration` has passed; returns how many
/// operations finished and each one's latency.
pub(crate) async fn drive<F, Fut>(workers: usize, duration: Duration, op: F) -> anyhow::Result<Run>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                op().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Ok(Run {
        ops: latencies.len(),
        elapsed,
        latencies,
    })
}

pub(crate) struct Run {
    pub(crate) ops: usize,
    pub(crate) elapsed: Duration,
    /// Sorted ascending.
    pub(crate) latencies: Vec<Duration>,
}

impl Run {
    pub(crate) fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// The value at quantile `q` (0..=1) of durations sorted ascending, in milliseconds;
/// 0 when there are none.
pub(crate) fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
