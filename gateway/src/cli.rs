//! The `ledger` command line.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;
use crate::startup::Application;
use crate::{offline, DEFAULT_DATABASE_URL};

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

/// Where the log lives: one argument every subcommand that opens the log shares.
#[derive(Debug, clap::Args)]
pub struct Database {
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        database: Database,
        #[arg(long, env = "LEDGER_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// The token that may do everything (create users, see every ledger).
        /// Prefer the environment variable or `--admin-token-file`: a command line is
        /// visible to every user of the machine in the process list.
        #[arg(long, env = "LEDGER_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// A file holding the admin token (surrounding whitespace ignored), instead
        /// of `--admin-token`.
        #[arg(long, value_name = "FILE")]
        admin_token_file: Option<std::path::PathBuf>,
        /// Where `admin_token` came from, set by [`Cli::from_env_args`]: the server
        /// warns when it was the command line.
        #[arg(skip)]
        admin_token_source: Option<ValueSource>,
        /// Timeouts and limits (docs/RELIABILITY.md).
        #[command(flatten)]
        limits: crate::config::LimitArgs,
    },
    /// Run the server with a demo household ledger of realistic spending; prints the
    /// URL and a token.
    // Its own file by default, so the demo's made-up spending never mixes with real.
    #[command(mut_arg("database_url", |a| a.default_value("sqlite:ledger-demo.db")))]
    Demo {
        #[command(flatten)]
        database: Database,
        #[arg(long, env = "LEDGER_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// Check every ledger's hash chain; exit 1 and name the first bad position if broken.
    #[command(mut_arg("database_url", |a| a.help("`postgres://...` or `sqlite:PATH`.")))]
    Verify {
        #[command(flatten)]
        database: Database,
    },
    /// Rebuild every read model from the log, with a progress bar, and checkpoint it.
    Rebuild {
        #[command(flatten)]
        database: Database,
    },
    /// Print a ledger's budgets and analytics as they stood at a moment or position (JSON).
    Replay {
        #[command(flatten)]
        database: Database,
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
        #[command(flatten)]
        database: Database,
        #[arg(long)]
        ledger: ledger::LedgerId,
        #[arg(long)]
        expense: ledger::ExpenseId,
    },
    /// Import bank statements (CSV, OFX/QFX, QIF) into a ledger, with a progress bar
    /// per file; the same pipeline as `POST /v1/ledgers/{lid}/imports`.
    Import(Box<crate::imports::ImportArgs>),
    /// Benchmarks, each printed beside a baseline measured in the same run.
    // `--help` too belongs to `ledger-bench`, which knows the benchmarks' options.
    #[command(disable_help_flag = true)]
    Bench {
        /// `<append|latency|fanout|rebuild|import> [--json] ...`, passed to `ledger-bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Test support: append from a child process and report acknowledgements.
    #[cfg(feature = "test-hooks")]
    #[command(hide = true)]
    Probe(crate::probe::ProbeArgs),
    /// Print the HTTP API's OpenAPI document (`schema/openapi.json` is its copy).
    #[command(hide = true)]
    Openapi,
}

impl Cli {
    /// Parses this process's arguments (exiting with clap's message when they are
    /// wrong), noting where the admin token came from, which derive alone forgets.
    pub fn from_env_args() -> Cli {
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let Some(Command::Serve {
            admin_token_source, ..
        }) = &mut cli.command
        {
            *admin_token_source = matches
                .subcommand_matches("serve")
                .and_then(|serve| serve.value_source("admin_token"));
        }
        cli
    }
}

/// The admin token from wherever it was given: the command line or environment
/// (`token`) or a file. Warns when it was the command line, which every user of
/// the machine can read in the process list.
///
/// # Errors
/// When both are given, or the file cannot be read or is empty.
fn admin_token(
    token: Option<String>,
    file: Option<&std::path::Path>,
    source: Option<ValueSource>,
) -> anyhow::Result<Option<String>> {
    if source == Some(ValueSource::CommandLine) {
        tracing::warn!(
            "--admin-token is visible to every user of this machine in the process list; \
             prefer LEDGER_ADMIN_TOKEN or --admin-token-file"
        );
    }
    let Some(file) = file else {
        return Ok(token);
    };
    if token.is_some() {
        anyhow::bail!(
            "the admin token is given twice: --admin-token-file and \
             --admin-token (or LEDGER_ADMIN_TOKEN); give it one way"
        );
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the admin token from {}", file.display()))?;
    let token = text.trim();
    if token.is_empty() {
        anyhow::bail!("the admin token file {} is empty", file.display());
    }
    Ok(Some(token.to_owned()))
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed with; `main` prints it.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve {
            database: Database {
                database_url: std::env::var("DATABASE_URL")
                    .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned()),
            },
            bind: match std::env::var("LEDGER_BIND") {
                Ok(bind) => bind
                    .parse()
                    .map_err(|e| anyhow::anyhow!("LEDGER_BIND {bind:?}: {e}"))?,
                Err(_) => std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            },
            admin_token: std::env::var("LEDGER_ADMIN_TOKEN").ok(),
            admin_token_file: None,
            admin_token_source: None,
            limits: crate::config::LimitArgs::from_env()?,
        },
    };
    match command {
        Command::Serve {
            database: Database { database_url },
            bind,
            admin_token,
            admin_token_file,
            admin_token_source,
            limits,
        } => {
            let admin_token =
                self::admin_token(admin_token, admin_token_file.as_deref(), admin_token_source)?;
            let config = Config {
                database_url,
                bind,
                admin_token,
                socket_queue: crate::config::DEFAULT_SOCKET_QUEUE,
                limits: limits.into(),
            };
            let app = Application::build(config).await?;
            eprintln!("ledger listening on http://{}:{}", bind.ip(), app.port());
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            database: Database { database_url },
            bind,
        } => {
            let app = Application::build(Config {
                database_url,
                bind,
                admin_token: None,
                socket_queue: crate::config::DEFAULT_SOCKET_QUEUE,
                limits: crate::config::Limits::default(),
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
        Command::Verify { database } => offline::verify(&database.database_url).await,
        Command::Rebuild { database } => offline::rebuild(&database.database_url).await,
        Command::Replay {
            database,
            ledger,
            as_of,
            position,
        } => offline::replay(&database.database_url, ledger, as_of, position).await,
        Command::History {
            database,
            ledger,
            expense,
        } => offline::history(&database.database_url, ledger, expense).await,
        Command::Import(args) => crate::imports::run_command(*args).await,
        Command::Bench { args } => run_bench(args, cli.verbose),
        #[cfg(feature = "test-hooks")]
        Command::Probe(args) => crate::probe::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Openapi => {
            print!("{}", crate::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The benchmarks' binary, expected beside this one.
const BENCH_BINARY: &str = "ledger-bench";

/// `ledger bench ...`: runs `ledger-bench ...` from this binary's folder. The
/// benchmarks carry a load generator the server has no use for, so they are a program
/// of their own (`docs/adr/0008-benchmarks-apart.md`).
///
/// # Errors
/// When `ledger-bench` is not beside this binary (naming how to build it) or cannot
/// be started.
fn run_bench(args: Vec<OsString>, verbose: bool) -> anyhow::Result<ExitCode> {
    let this = std::env::current_exe().context("finding the ledger binary")?;
    let bench = this.with_file_name(format!("{BENCH_BINARY}{}", std::env::consts::EXE_SUFFIX));
    if !bench.is_file() {
        anyhow::bail!(
            "the benchmarks are a program of their own and {} is missing; \
             build it beside `ledger` with `cargo build --release -p ledger-bench`",
            bench.display()
        );
    }
    let mut command = std::process::Command::new(&bench);
    // `-v` before `bench` was taken by this command line; pass it on.
    command.args(verbose.then_some("--verbose")).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Replaces this process, so signals, exit status and output are the
        // benchmark's own; returns only when it could not.
        let error = command.exec();
        Err(error).with_context(|| format!("running {}", bench.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("running {}", bench.display()))?;
        Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        })
    }
}
