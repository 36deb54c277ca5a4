//! Two real server processes on one PostgreSQL: a write through one reaches a socket
//! on the other.

use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ledger::testing::TestDb;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

pub(crate) const ADMIN: &str = "two-servers-admin";

/// `ledger serve` on a free port; returns the child and its base URL.
async fn serve(database_url: &str) -> (Child, String) {
    serve_with_env(database_url, &[]).await
}

/// As [`serve`], with extra environment variables.
pub(crate) async fn serve_with_env(database_url: &str, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "serve",
            "--database-url",
            database_url,
            "--bind",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
        ])
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start ledger serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("ledger listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("the server ended before listening");
    })
    .await
    .expect("the server starts listening");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn next_delta(
    socket: &mut (impl StreamExt<Item = tokio_tungstenite::tungstenite::Result<Message>> + Unpin),
) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time");
        if let Message::Text(text) = frame.unwrap().unwrap() {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "heartbeat"
                && value["type"] != "subscribed"
                && value["type"] != "snapshot"
            {
                return value;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_server_reaches_a_socket_on_the_other() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (mut a, base_a) = serve(&db.url).await;
    let (mut b, base_b) = serve(&db.url).await;
    let client = reqwest::Client::new();

    let user = post(
        &client,
        format!("{base_a}/v1/users"),
        ADMIN,
        json!({ "name": "Alice" }),
    )
    .await;
    let token = user["token"].as_str().unwrap().to_owned();
    let ledger = post(
        &client,
        format!("{base_a}/v1/ledgers"),
        &token,
        json!({ "name": "Home", "currency": "EUR" }),
    )
    .await;
    let lid = ledger["ledger_id"].as_str().unwrap().to_owned();

    // Server B learns of the ledger from the shared log, then serves its socket.
    let url = format!("{}/v1/ws?token={token}", base_b.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "subscribe", "topic": format!("ledger:{lid}:expenses") })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    for amount in ["4.00", "5.00"] {
        let created = post(
            &client,
            format!("{base_a}/v1/ledgers/{lid}/expenses"),
            &token,
            json!({ "amount": amount, "occurred_on": "2026-11-20", "category": "food" }),
        )
        .await;
        let delta = next_delta(&mut socket).await;
        assert_eq!(delta["type"], "expense_created", "{delta}");
        assert_eq!(delta["position"], created["position"]);
        assert_eq!(delta["data"]["amount"], amount);
    }
    // And the other way round, through B's HTTP to A's read models.
    let created = post(
        &client,
        format!("{base_b}/v1/ledgers/{lid}/expenses"),
        &token,
        json!({ "amount": "6.00", "occurred_on": "2026-11-20", "category": "food" }),
    )
    .await;
    let listed: Value = client
        .get(format!(
            "{base_a}/v1/ledgers/{lid}/expenses?min_position={}",
            created["position"]
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    let _ = a.start_kill();
    let _ = b.start_kill();
}
