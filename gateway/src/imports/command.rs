//! `ledger import --ledger ID FILE...`: the server's import pipeline run in this
//! process against the database, with a progress bar per file.
//!
//! It deduplicates and appends exactly as the server does (one atomic append per
//! file, the same expense ids), so it is safe beside running servers: a row one of
//! them imported meanwhile is a version conflict here, and deduplicated again.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ledger::{ImportId, ImportState, LedgerId, Store};
use projections::LiveOptions;
use tokio::sync::watch;

use super::{prepare, ImportQuery, Imports, Status};

/// The options of `ledger import`; see `docs/API.md` for what each means.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// `postgres://...` or `sqlite:PATH`.
    #[arg(long, env = "DATABASE_URL", default_value = crate::DEFAULT_DATABASE_URL)]
    database_url: String,
    #[arg(long)]
    ledger: LedgerId,
    /// csv, ofx, qfx or qif; detected from the content when left out.
    #[arg(long)]
    format: Option<String>,
    /// For files that are not UTF-8 and have no byte order mark, e.g. windows-1252.
    #[arg(long)]
    encoding: Option<String>,
    /// ymd, dmy or mdy, for files whose dates do not decide it.
    #[arg(long)]
    date_format: Option<String>,
    /// dot or comma.
    #[arg(long)]
    decimal: Option<String>,
    /// The CSV field separator.
    #[arg(long)]
    delimiter: Option<String>,
    /// skip (default) or refund: what money coming in becomes.
    #[arg(long)]
    credits: Option<String>,
    /// debit_negative (default) or debit_positive.
    #[arg(long)]
    amount_sign: Option<String>,
    /// Import the readable rows and list the others, instead of refusing the file.
    #[arg(long)]
    skip_invalid: bool,
    /// Names the account in duplicate keys when the file does not.
    #[arg(long)]
    account: Option<String>,
    /// `USD:EUR,...`: take amounts in these currencies as they are.
    #[arg(long)]
    currency_map: Option<String>,
    /// Take amounts in any currency as they are.
    #[arg(long)]
    allow_currency: bool,
    /// The category of rows the statement gives none.
    #[arg(long)]
    category: Option<String>,
    /// Print each file's summary as a JSON line instead of text.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl ImportArgs {
    fn query(&self, file: &std::path::Path) -> ImportQuery {
        ImportQuery {
            format: self.format.clone(),
            encoding: self.encoding.clone(),
            date_format: self.date_format.clone(),
            decimal: self.decimal.clone(),
            delimiter: self.delimiter.clone(),
            credits: self.credits.clone(),
            amount_sign: self.amount_sign.clone(),
            skip_invalid: self.skip_invalid,
            account: self.account.clone(),
            currency_map: self.currency_map.clone(),
            allow_currency: self.allow_currency,
            file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
            category: self.category.clone(),
            ..ImportQuery::default()
        }
    }
}

/// Runs `ledger import`: exit 1 if any file was refused or failed.
///
/// # Errors
/// When the database cannot be opened or the ledger does not exist.
pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&args.database_url)
        .await
        .context("opening the log")?;
    let (stop, shutdown) = watch::channel(false);
    let (live, live_task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .context("starting the read models")?;
    let head = store.head().await?;
    let bars = MultiProgress::new();
    let catching_up = bars.add(ProgressBar::new_spinner().with_message("reading the ledger"));
    catching_up.enable_steady_tick(Duration::from_millis(100));
    live.wait_for(head, Duration::from_secs(3600)).await;
    catching_up.finish_and_clear();
    let currency = live
        .read(|p| p.ledger(args.ledger).map(|l| l.currency()))
        .with_context(|| format!("no ledger {}", args.ledger))?;
    let imports = Imports::new(store.clone(), live.clone());
    imports.watch().await?;

    let mut failed = 0;
    for file in &args.files {
        let name = file.display().to_string();
        let bar = bars.add(
            ProgressBar::new(100).with_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos:>3}% {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            ),
        );
        bar.set_prefix(name.clone());
        bar.set_message("parsing");
        let outcome = import_file(&imports, &args, file, currency, &bar).await;
        bar.finish();
        let line = match outcome {
            Ok(status) => {
                if status.state != ImportState::Completed {
                    failed += 1;
                }
                summary(&name, &status, args.json)
            }
            Err(message) => {
                failed += 1;
                if args.json {
                    serde_json::json!({ "file": name, "state": "refused", "message": message })
                        .to_string()
                } else {
                    format!("{name}: refused: {message}")
                }
            }
        };
        // Summaries go to stdout (bars draw on stderr), so they can be piped.
        bars.suspend(|| println!("{line}"));
    }
    drop(imports);
    stop.send_replace(true);
    let _ = live_task.await;
    store.close().await;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn import_file(
    imports: &Arc<Imports>,
    args: &ImportArgs,
    file: &std::path::Path,
    currency: ledger::Currency,
    bar: &ProgressBar,
) -> Result<Status, String> {
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| format!("reading it: {e}"))?;
    let query = args.query(file);
    let ledger = args.ledger;
    let import_id = ImportId::new();
    let prepared =
        tokio::task::spawn_blocking(move || prepare(&bytes, &query, ledger, currency, import_id))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|refused| refused.message)?;
    let mut messages = imports.subscribe();
    let watcher = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while let Ok((_, message)) = messages.recv().await {
                let data = &message["data"];
                if data["import_id"] != serde_json::json!(import_id) {
                    continue;
                }
                if let Some(percent) = data["percent"].as_u64() {
                    bar.set_position(percent);
                }
                if let Some(stage) = data["stage"].as_str() {
                    bar.set_message(format!("{stage} {}/{}", data["processed"], data["total"]));
                }
            }
        })
    };
    let status = imports
        .run(prepared, None)
        .await
        .map_err(|e| format!("recording the import: {e}"));
    watcher.abort();
    let status = status?;
    bar.set_position(u64::from(status.percent));
    bar.set_message(status.state.as_str());
    Ok(status)
}

fn summary(name: &str, status: &Status, json: bool) -> String {
    if json {
        let mut value = serde_json::to_value(status).unwrap_or_default();
        value["file"] = serde_json::json!(name);
        return value.to_string();
    }
    let mut line = format!(
        "{name}: {}: imported {}, duplicates {}, credits skipped {}, errors {}",
        status.state,
        status.imported,
        status.duplicates,
        status.skipped_credits,
        status.errors.len()
    );
    if let Some(position) = status.position {
        line.push_str(&format!(", at position {position}"));
    }
    for e in &status.errors {
        line.push_str(&format!("\n  line {}: {}", e.line, e.message));
    }
    for d in &status.possible_duplicates {
        line.push_str(&format!(
            "\n  line {}: possibly the same as expense {} recorded by hand",
            d.line, d.expense_id
        ));
    }
    if let Some(message) = &status.message {
        line.push_str(&format!("\n  {message}"));
    }
    line
}
