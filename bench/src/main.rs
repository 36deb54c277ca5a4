//! # ledger-bench: the ledger's benchmarks
//!
//! Each benchmark prints its figures beside a baseline measured in the same run,
//! because the machines they run on are shared and noisy. They live apart from the
//! server so the release `ledger` binary carries no load generator; `ledger bench ...`
//! runs this binary from the same folder (see `docs/adr/0008-benchmarks-apart.md`).
//!
//! ## Layout
//!
//! - `append` (and `append_http`, its HTTP half), `latency`, `fanout`, `rebuild`
//!   (and `fold`, its in-memory half, run as a child process), `import`: one
//!   benchmark each, with its baseline.
//! - `report`: prints the figures (a table, or JSON lines).
//! - `harness`: drives servers through HTTP and WebSocket; `child`: starts them as
//!   child processes of this binary (`serve`: the gateway's server, exactly as
//!   `ledger serve` runs it; `bare-server`: the baseline of `bare`).
//! - `bare`: the bare tokio-tungstenite broadcast server the socket benchmarks are
//!   compared with.
//! - `scratch`: a PostgreSQL database made for one run; `drive`: closed-loop load
//!   and its latencies.

mod append;
mod append_http;
mod bare;
mod child;
mod drive;
mod fanout;
mod fold;
mod harness;
mod import;
mod latency;
mod rebuild;
mod report;
mod scratch;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub(crate) use drive::{drive, gather, quantile_ms, Run};
pub(crate) use report::{Figure, Report};
pub(crate) use scratch::ScratchPostgres;

#[derive(Debug, Parser)]
#[command(
    name = "ledger-bench",
    version,
    about = "The ledger's benchmarks, each printed beside a baseline measured in the same run"
)]
struct Cli {
    /// More log output (or set RUST_LOG).
    #[arg(long, short, global = true)]
    verbose: bool,
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
    Fold(fold::FoldArgs),
    /// The baseline of `latency` and `fanout`, run by them as a child process.
    #[command(hide = true)]
    BareServer(bare::BareArgs),
    /// The server under test, run by the benchmarks as a child process: the arguments
    /// of `ledger serve`, served by the same code.
    #[command(hide = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    gateway::telemetry::init(cli.verbose);
    let result = match cli.which {
        Which::Append(a) => append::run(a).await,
        Which::Latency(a) => latency::run(a).await,
        Which::Fanout(a) => fanout::run(a).await,
        Which::Rebuild(a) => rebuild::run(a).await,
        Which::Fold(a) => fold::run(a).await,
        Which::BareServer(a) => bare::run(a).await,
        Which::Serve { args } => serve(args).await,
        Which::Import(a) => import::run(a).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ledger serve <args>`, through the gateway's own command line, so the server
/// measured is the one `ledger` runs and never a stale `ledger` binary lying nearby.
async fn serve(args: Vec<OsString>) -> anyhow::Result<()> {
    let argv = [OsString::from("ledger"), OsString::from("serve")]
        .into_iter()
        .chain(args);
    let cli = gateway::cli::Cli::try_parse_from(argv)?;
    let code = gateway::cli::run(cli).await?;
    anyhow::ensure!(code == ExitCode::SUCCESS, "the server failed");
    Ok(())
}
