//! Subcommands that work on the log directly, without a server.

use std::process::ExitCode;

use anyhow::Context;
use ledger::Store;

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
