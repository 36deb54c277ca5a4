//! # gateway: the `ledger` server and command line
//!
//! ## Layout
//!
//! - [`cli`]: the `ledger` command's arguments and what each subcommand runs.
//! - `commands`: the subcommands that work on the log directly (`verify`).
//! - `bench/`: `ledger bench ...`, each benchmark beside a baseline measured in the
//!   same run; `bench/report.rs` prints the figures (a table, or JSON lines).
//! - `probe`: a hidden subcommand the black-box tests drive from child processes
//!   (several writers in separate processes, kill -9 while appending).
//! - [`telemetry`]: logging setup.

mod bench;
pub mod cli;
mod commands;
mod probe;
pub mod telemetry;

/// Where the log lives unless `--database-url` / `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:ledger.db";
