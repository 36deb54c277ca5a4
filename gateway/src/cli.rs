//! The `ledger` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{bench, commands, probe, DEFAULT_DATABASE_URL};

#[derive(Debug, Parser)]
#[command(
    name = "ledger",
    version,
    about = "An event-sourced expense ledger with live projections"
)]
pub struct Cli {
    /// More log output (or set RUST_LOG).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every ledger's hash chain; exit 1 and name the first bad position if broken.
    Verify {
        /// `postgres://...` or `sqlite:PATH`.
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Benchmarks, each printed beside a baseline measured in the same run.
    Bench(bench::BenchArgs),
    /// Test support: append from a child process and report acknowledgements.
    #[command(hide = true)]
    Probe(probe::ProbeArgs),
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed with; `main` prints it.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Verify { database_url } => commands::verify(&database_url).await,
        Command::Bench(args) => bench::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Probe(args) => probe::run(args).await.map(|()| ExitCode::SUCCESS),
    }
}
