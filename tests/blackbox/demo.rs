//! `ledger demo` serves a ledger full of realistic spending and says how to reach it.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

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

    let client = reqwest::Client::new();
    let get = |path: String| {
        client
            .get(format!("{url}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let analytics: Value = get(format!("/v1/ledgers/{ledger}/analytics"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(analytics["count"].as_u64().unwrap() > 100, "{analytics}");
    assert!(analytics["top_merchants"].as_array().unwrap().len() >= 5);
    let budgets: Value = get(format!("/v1/ledgers/{ledger}/budgets"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(budgets["budgets"].as_array().unwrap().len(), 4, "{budgets}");
    let verify: Value = get(format!("/v1/ledgers/{ledger}/verify"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verify["ok"], true);
    let _ = child.start_kill();
}
