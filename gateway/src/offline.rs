//! Subcommands that work on the log directly, without a server: verify, rebuild,
//! replay and history.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::{ExpenseId, LedgerId, Position, Store, StreamId};

/// `ledger verify`: walks every ledger's hash chain.
pub(crate) async fn verify(database_url: &str) -> anyhow::Result<ExitCode> {
    let store = Store::open(database_url).await.context("opening the log")?;
    let ledgers = store.ledgers().await?;
    let mut broken = 0;
    let mut checked = 0;
    for ledger in &ledgers {
        let v = store.verify(*ledger).await?;
        checked += v.checked;
        if let Some(bad) = v.first_bad_position {
            broken += 1;
            println!(
                "ledger {ledger}: BROKEN at position {bad} ({} events checked)",
                v.checked
            );
        }
    }
    if broken > 0 {
        println!(
            "{broken} of {} ledgers have a broken hash chain",
            ledgers.len()
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "ok: {} ledgers, {checked} events, every hash chain intact",
        ledgers.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ledger rebuild`: folds the whole log again and checkpoints the result, so the
/// next server start resumes from it.
pub(crate) async fn rebuild(database_url: &str) -> anyhow::Result<ExitCode> {
    let store = Store::open(database_url).await.context("opening the log")?;
    let head = store.head().await?;
    let bar = ProgressBar::new(head.get().max(0) as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} rebuilding [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let mut rebuilt =
        projections::rebuild(&store, |p| bar.set_position(p.position.get().max(0) as u64)).await?;
    bar.finish_and_clear();
    store.delete_checkpoint(projections::CHECKPOINT).await?;
    rebuilt.mark_changed(rebuilt.ledgers().map(|l| l.ledger_id()).collect::<Vec<_>>());
    projections::save_checkpoint(&store, &mut rebuilt).await?;
    println!(
        "rebuilt {} ledgers from {} events in {:.1?}; checkpoint saved at position {}",
        rebuilt.ledgers().count(),
        head,
        started.elapsed(),
        rebuilt.position()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ledger replay`: a ledger's budgets and analytics as they stood then, as JSON.
pub(crate) async fn replay(
    database_url: &str,
    ledger: LedgerId,
    as_of: Option<DateTime<Utc>>,
    position: Option<Position>,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(database_url).await.context("opening the log")?;
    let (position, state) = match (as_of, position) {
        (Some(at), _) => projections::ledger_at_time(&store, ledger, at).await?,
        (None, Some(p)) => (p, projections::ledger_at_position(&store, ledger, p).await?),
        (None, None) => anyhow::bail!("give --as-of or --position"),
    };
    let Some(state) = state else {
        eprintln!("ledger {ledger} did not exist at position {position}");
        return Ok(ExitCode::from(1));
    };
    // "Then" for periods and month-to-date: the moment asked for, or the latest day
    // with spending when asked for a position.
    let day = as_of.map_or_else(|| state.reference_date(Utc::now()), |at| at.date_naive());
    let out = serde_json::json!({
        "ledger_id": ledger,
        "position": position,
        "date": day,
        "budgets": state.budgets().statuses(day),
        "analytics": state.analytics().snapshot(day),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// `ledger history`: every event of one expense, oldest first.
pub(crate) async fn history(
    database_url: &str,
    ledger: LedgerId,
    expense: ExpenseId,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(database_url).await.context("opening the log")?;
    let events = store
        .read_stream(StreamId::expense(expense), 0, 10_000)
        .await?;
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.ledger_id == ledger)
        .collect();
    if events.is_empty() {
        eprintln!("no expense {expense} in ledger {ledger}");
        return Ok(ExitCode::from(1));
    }
    for e in events {
        let line = serde_json::json!({
            "position": e.position,
            "version": e.stream_version,
            "type": e.event_type,
            "data": serde_json::from_str::<serde_json::Value>(&e.payload)?,
            "metadata": serde_json::from_str::<serde_json::Value>(&e.metadata)?,
            "recorded_at": e.recorded_at,
            "hash": e.hash,
        });
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
