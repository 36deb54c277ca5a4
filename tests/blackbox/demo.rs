//! `ledger demo` serves a ledger full of realistic spending and says how to reach it.

use std::process::Stdio;
use std::time::Duration;

use ledger::LedgerId;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::app::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_a_household_ledger() {
    let db = ledger::testing::TestDb::sqlite();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["demo", "--database-url", &db.url, "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start ledger demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token, mut ledger) = (String::new(), String::new(), String::new());
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("demo ledger ready at ") {
                url = rest.split_whitespace().next().unwrap().to_owned();
            } else if let Some(rest) = line.strip_prefix("token:") {
                token = rest.trim().to_owned();
            } else if let Some(rest) = line.strip_prefix("ledger:") {
                ledger = rest.trim().to_owned();
                break;
            }
        }
    })
    .await
    .expect("the demo says where it is");

    let api = Api::new(url, None);
    let ledger = LedgerId::parse(&ledger).expect("the demo prints a ledger id");
    let analytics = api.analytics(&token, ledger, "").await;
    assert!(analytics.count > 100, "{analytics:?}");
    assert!(analytics.top_merchants.len() >= 5);
    let budgets = api.budgets(&token, ledger, "").await;
    assert_eq!(budgets.budgets.len(), 4, "{budgets:?}");
    assert!(api.verify(&token, ledger).await.ok);
    let _ = child.start_kill();
}
