//! Two real server processes on one PostgreSQL: a write through one reaches a socket
//! on the other.

use std::process::Stdio;
use std::time::Duration;

use ledger::testing::TestDb;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::app::socket::next;
use crate::app::{Api, NewExpense};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_server_reaches_a_socket_on_the_other() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (mut a, base_a) = serve(&db.url).await;
    let (mut b, base_b) = serve(&db.url).await;
    let (api_a, api_b) = (Api::new(base_a, Some(ADMIN)), Api::new(base_b, Some(ADMIN)));
    let token = api_a.create_user("Alice").await.token;
    let lid = api_a.open_ledger(&token, "Home", "EUR").await;

    // Server B learns of the ledger from the shared log, then serves its socket.
    let mut socket = api_b
        .subscribed_socket(&token, &format!("ledger:{lid}:expenses"))
        .await;
    for amount in ["4.00", "5.00"] {
        let expense = NewExpense::new(amount, "2026-11-20", "food");
        let created = api_a.record_expense(&token, lid, &expense).await;
        let delta = next(&mut socket).await;
        assert_eq!(delta["type"], "expense_created", "{delta}");
        assert_eq!(delta["position"], created.position.get());
        assert_eq!(delta["data"]["amount"], amount);
    }
    // And the other way round, through B's HTTP to A's read models.
    let expense = NewExpense::new("6.00", "2026-11-20", "food");
    let created = api_b.record_expense(&token, lid, &expense).await;
    let listed = api_a
        .expenses(&token, lid, &format!("min_position={}", created.position))
        .await;
    assert_eq!(listed.items.len(), 3, "{listed:?}");
    let _ = a.start_kill();
    let _ = b.start_kill();
}
