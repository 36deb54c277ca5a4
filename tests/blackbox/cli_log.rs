//! `ledger history`, `ledger replay` and `ledger rebuild` on a real log.

use ledger::testing::TestDb;
use ledger::LedgerId;

use crate::helpers::Probe;

async fn ledger_cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .output()
        .await
        .expect("run ledger");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_replay_and_rebuild_answer_from_the_log() {
    let db = TestDb::sqlite();
    let ledger = LedgerId::new();
    let acks = Probe::start(&db.url, ledger, true, 1, 6).finish().await;
    let (lid, url) = (ledger.to_string(), db.url.as_str());

    let expense = acks[0].stream.id().to_string();
    let (code, out, err) = ledger_cli(&[
        "history",
        "--database-url",
        url,
        "--ledger",
        &lid,
        "--expense",
        &expense,
    ])
    .await;
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "ExpenseRecorded");
    assert_eq!(lines[0]["data"]["amount"], "4.20");

    // As the ledger stood right after the third expense.
    let third = acks[2].position.to_string();
    let (code, out, err) = ledger_cli(&[
        "replay",
        "--database-url",
        url,
        "--ledger",
        &lid,
        "--position",
        &third,
    ])
    .await;
    assert_eq!(code, Some(0), "{err}");
    let replay: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(replay["analytics"]["count"], 3);
    assert_eq!(replay["analytics"]["total"], "12.60");

    let (code, _, err) = ledger_cli(&[
        "replay",
        "--database-url",
        url,
        "--ledger",
        &LedgerId::new().to_string(),
        "--position",
        "3",
    ])
    .await;
    assert_eq!(code, Some(1), "an unknown ledger is an error: {err}");
    let (code, _, _) = ledger_cli(&["replay", "--database-url", url, "--ledger", &lid]).await;
    assert_eq!(code, Some(2), "--as-of or --position is required");

    let (code, out, err) = ledger_cli(&["rebuild", "--database-url", url]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("rebuilt 1 ledgers from 7 events"), "{out}");
    let store = db.store().await;
    let checkpoint = store
        .load_checkpoint(projections::CHECKPOINT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.position.get(), 7);
    assert_eq!(checkpoint.states.len(), 1);
}
