//! # gateway: the `ledger` server and command line
//!
//! ## Layout
//!
//! - [`startup`]: [`startup::Application`]: open the log, start the read models, bind,
//!   serve until told to stop. [`config`]: what it is started with.
//! - `state`: what every handler shares; `auth`: who is calling (users' tokens
//!   re-checked with the database at least every 0.8 s, ADR 12) and their role;
//!   `error`: the one error type and the contract's error body (`ledger`'s text and
//!   command refusals included); `extract`: request extractors that answer with that
//!   body; `input`: checks on dates, amounts and time zones (texts are `ledger::text`).
//! - `routes/`: the HTTP API, a module per resource. Writes parse, authorize and call
//!   `ledger::commands`; every answer is a typed struct beside its handler
//!   (`routes/answers.rs` for the shared ones). `routes/openapi.rs`: the OpenAPI
//!   document's frame and the schemas of other crates' types (each route documents
//!   itself where it is registered).
//! - `imports/`: statement imports: parse, deduplicate, one atomic append, progress.
//! - `live/`: live updates: the hub that serializes each delta once and queues it,
//!   bounded, for its followers; the subscription logic both transports share; the
//!   WebSocket (`live/ws/`) and Server-Sent Events (`live/sse.rs`) transports; this
//!   process's sockets for admin endpoints and metrics (`live/connections.rs`).
//! - `limits/`: timeouts and limits: the accept loop (connections per address, header
//!   read and idle timeouts, graceful shutdown), the body read timeout (408), rate
//!   limits per token and per address (429).
//! - `histogram`: the append latency histogram `/metrics` shows.
//! - [`cli`]: the `ledger` command's arguments and what each subcommand runs.
//! - `offline`: the subcommands that work on the log directly, without a server
//!   (`verify`, `rebuild`, `replay`, `history`); not `ledger::commands`, the command layer.
//! - `bench_support` (hidden): what the benchmarks drive in-process (the import
//!   pipeline, the made-up data generator). The benchmarks are the workspace's
//!   `bench/` crate, binary `ledger-bench`, which `ledger bench ...` runs from this
//!   binary's folder.
//! - `demo`: `ledger demo`'s household of made-up spending; `random`: the generator
//!   behind made-up data.
//! - `probe` (feature `test-hooks`, on only in tests): a hidden subcommand the
//!   black-box tests drive from child processes (several writers in separate
//!   processes, kill -9 while appending).
//! - [`telemetry`]: logging setup.

mod auth;
#[doc(hidden)]
pub mod bench_support;
pub mod cli;
pub mod config;
mod demo;
mod error;
mod extract;
mod histogram;
mod imports;
mod input;
mod limits;
mod live;
mod offline;
#[cfg(feature = "test-hooks")]
mod probe;
mod random;
mod routes;
pub mod startup;
mod state;
pub mod telemetry;

/// The server's OpenAPI document as `/v1/openapi.json` serves it (pretty JSON);
/// `schema/openapi.json` is a copy (`ledger openapi > schema/openapi.json`).
pub fn openapi_json() -> &'static str {
    routes::openapi::json()
}

/// Where the log lives unless `--database-url` / `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:ledger.db";

/// One client frame read as the socket loop reads it (for the fuzz target in `fuzz/`).
#[doc(hidden)]
pub use live::read_client_frame;
