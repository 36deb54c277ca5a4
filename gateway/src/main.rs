//! `ledger`: the server and its command line.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = gateway::cli::Cli::from_env_args();
    gateway::telemetry::init(cli.verbose);
    match gateway::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
