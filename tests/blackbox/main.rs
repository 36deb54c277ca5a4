//! Black-box tests: start the real `ledger` binary and check what it does from the
//! outside. One test binary, a module per capability.

mod api;
mod app;
mod authz;
mod bench_http;
mod cli_log;
mod cli_verify;
mod corrupt_log;
mod demo;
mod fan_out;
mod helpers;
mod imports;
mod limits;
mod live_socket;
mod log_durability;
mod log_processes;
mod openapi;
mod protocol;
mod tokens;
mod two_servers;
