//! `ledger history`, `ledger replay` and `ledger rebuild` on a real log.

use ledger::testing::TestDb;
use ledger::LedgerId;

use crate::helpers::{run_cli_on, Probe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_replay_and_rebuild_answer_from_the_log() {
    let db = TestDb::sqlite();
    let ledger = LedgerId::new();
    let acks = Probe::start(&db.url, ledger, true, 1, 6).finish().await;
    let (lid, url) = (ledger.to_string(), db.url.as_str());

    let expense = acks[0].stream.id().to_string();
    let run = run_cli_on(url, "history", &["--ledger", &lid, "--expense", &expense]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "ExpenseRecorded");
    assert_eq!(lines[0]["data"]["amount"], "4.20");

    // As the ledger stood right after the third expense.
    let third = acks[2].position.to_string();
    let run = run_cli_on(url, "replay", &["--ledger", &lid, "--position", &third]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["analytics"]["count"], 3);
    assert_eq!(answer["analytics"]["total"], "12.60");

    let unknown = LedgerId::new().to_string();
    let run = run_cli_on(url, "replay", &["--ledger", &unknown, "--position", "3"]).await;
    assert_eq!(
        run.code,
        Some(1),
        "an unknown ledger is an error: {}",
        run.stderr
    );
    let run = run_cli_on(url, "replay", &["--ledger", &lid]).await;
    assert_eq!(run.code, Some(2), "--as-of or --position is required");

    let run = run_cli_on(url, "rebuild", &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("rebuilt 1 ledgers from 7 events"),
        "{}",
        run.stdout
    );
    let store = db.store().await;
    let checkpoint = store
        .load_checkpoint(projections::CHECKPOINT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.position.get(), 7);
    assert_eq!(checkpoint.states.len(), 1);
}
