//! The `ledger` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::Application;
use crate::{bench, commands, probe, DEFAULT_DATABASE_URL};

/// Ctrl-C or SIGTERM: the server then finishes what is in flight and stops.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted; shutting down"),
        () = terminate => tracing::info!("terminated; shutting down"),
    }
}

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
    /// Without one, `serve` with its defaults (or their environment variables).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        #[arg(long, env = "LEDGER_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// The token that may do everything (create users, see every ledger).
        #[arg(long, env = "LEDGER_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Run the server with a demo household ledger of realistic spending; prints the
    /// URL and a token.
    Demo {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite:ledger-demo.db")]
        database_url: String,
        #[arg(long, env = "LEDGER_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// Check every ledger's hash chain; exit 1 and name the first bad position if broken.
    Verify {
        /// `postgres://...` or `sqlite:PATH`.
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Rebuild every read model from the log, with a progress bar, and checkpoint it.
    Rebuild {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Print a ledger's budgets and analytics as they stood at a moment or position (JSON).
    Replay {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        #[arg(long)]
        ledger: ledger::LedgerId,
        /// An RFC 3339 moment, e.g. 2026-11-01T00:00:00Z.
        #[arg(
            long,
            conflicts_with = "position",
            required_unless_present = "position"
        )]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// A log position.
        #[arg(long)]
        position: Option<ledger::Position>,
    },
    /// Print every event of one expense, oldest first (JSON lines).
    History {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        #[arg(long)]
        ledger: ledger::LedgerId,
        #[arg(long)]
        expense: ledger::ExpenseId,
    },
    /// Import bank statements (CSV, OFX/QFX, QIF) into a ledger, with a progress bar
    /// per file; the same pipeline as `POST /v1/ledgers/{lid}/imports`.
    Import(Box<crate::imports::ImportArgs>),
    /// Benchmarks, each printed beside a baseline measured in the same run.
    Bench(bench::BenchArgs),
    /// Test support: append from a child process and report acknowledgements.
    #[command(hide = true)]
    Probe(probe::ProbeArgs),
    /// Print the HTTP API's OpenAPI document (`schema/openapi.json` is its copy).
    #[command(hide = true)]
    Openapi,
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed with; `main` prints it.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve {
            database_url: std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned()),
            bind: match std::env::var("LEDGER_BIND") {
                Ok(bind) => bind
                    .parse()
                    .map_err(|e| anyhow::anyhow!("LEDGER_BIND {bind:?}: {e}"))?,
                Err(_) => std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            },
            admin_token: std::env::var("LEDGER_ADMIN_TOKEN").ok(),
        },
    };
    match command {
        Command::Serve {
            database_url,
            bind,
            admin_token,
        } => {
            let config = Config {
                database_url,
                bind,
                admin_token,
                socket_queue: crate::config::DEFAULT_SOCKET_QUEUE,
            };
            let app = Application::build(config).await?;
            eprintln!("ledger listening on http://{}:{}", bind.ip(), app.port());
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { database_url, bind } => {
            let app = Application::build(Config {
                database_url,
                bind,
                admin_token: None,
                socket_queue: crate::config::DEFAULT_SOCKET_QUEUE,
            })
            .await?;
            let demo = crate::demo::seed(app.store()).await?;
            let url = format!("http://{}:{}", bind.ip(), app.port());
            println!("demo ledger ready at {url} ({} events)", demo.events);
            println!("token:  {}", demo.token);
            println!("ledger: {}", demo.ledger);
            println!(
                "try:    curl -s -H 'authorization: Bearer {}' {url}/v1/ledgers/{}/analytics",
                demo.token, demo.ledger
            );
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { database_url } => commands::verify(&database_url).await,
        Command::Rebuild { database_url } => commands::rebuild(&database_url).await,
        Command::Replay {
            database_url,
            ledger,
            as_of,
            position,
        } => commands::replay(&database_url, ledger, as_of, position).await,
        Command::History {
            database_url,
            ledger,
            expense,
        } => commands::history(&database_url, ledger, expense).await,
        Command::Import(args) => crate::imports::run_command(*args).await,
        Command::Bench(args) => bench::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Probe(args) => probe::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Openapi => {
            print!("{}", crate::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}
