//! A user's tokens: created, listed and revoked through `/v1/me/tokens`; a revoked
//! token is refused on every server process within a second; the admin token from
//! a file, and a warning when it is on the command line.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ledger::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::app::Api;
use crate::helpers::{TestApp, ADMIN};
use crate::two_servers::serve_with_env;

async fn tokens(api: &Api, token: &str) -> (StatusCode, Value) {
    api.call(Method::GET, "/v1/me/tokens", Some(token), None)
        .await
}

async fn create_token(api: &Api, token: &str, name: &str) -> (StatusCode, Value) {
    api.call(
        Method::POST,
        "/v1/me/tokens",
        Some(token),
        Some(json!({ "name": name })),
    )
    .await
}

async fn revoke(api: &Api, token: &str, id: &str) -> (StatusCode, Value) {
    api.call(
        Method::DELETE,
        &format!("/v1/me/tokens/{id}"),
        Some(token),
        None,
    )
    .await
}

#[tokio::test]
async fn a_user_creates_lists_and_revokes_tokens() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let alice = app.create_user("Alice").await.token;
    let bob = app.create_user("Bob").await.token;

    // The token the admin handed out is listed as "default", and this very call
    // counts as its use.
    let (status, list) = tokens(&app, &alice).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["name"], "default");
    assert!(listed[0]["created_at"].is_string(), "{list}");
    assert!(listed[0]["last_used_at"].is_string(), "{list}");

    let (status, laptop) = create_token(&app, &alice, " laptop ").await;
    assert_eq!(status, StatusCode::CREATED, "{laptop}");
    assert_eq!(laptop["name"], "laptop");
    let laptop_token = laptop["token"].as_str().unwrap().to_owned();
    let laptop_id = laptop["token_id"].as_str().unwrap().to_owned();

    // The new token works; the list names both and never shows a token.
    let (status, list) = tokens(&app, &laptop_token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "laptop"]);
    assert!(!list.to_string().contains(&laptop_token));
    assert!(!list.to_string().contains(&alice));
    assert!(list["tokens"][1].get("token").is_none(), "{list}");

    // Another user cannot revoke it, nor tell it from a token that does not exist.
    let (status, body) = revoke(&app, &bob, &laptop_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = tokens(&app, &laptop_token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = revoke(&app, &alice, &laptop_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_id"], laptop_id.as_str());
    // Refused at once on the server that revoked it.
    let (status, body) = tokens(&app, &laptop_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = revoke(&app, &alice, &laptop_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = revoke(&app, &alice, "not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A user may revoke the token they call with, even the first one.
    let default_id = listed[0]["token_id"].as_str().unwrap().to_owned();
    let (status, _) = revoke(&app, &alice, &default_id).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = tokens(&app, &alice).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The admin is no user, with no tokens of its own.
    let (status, body) = tokens(&app, ADMIN).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn token_names_are_checked_and_a_user_holds_at_most_100_tokens() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let alice = app.create_user("Alice").await.token;
    for name in ["", "   ", &"n".repeat(101), "a\u{7}b"] {
        let (status, body) = create_token(&app, &alice, name).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(body["error"]["field"], "name", "{body}");
    }
    let (status, _) = create_token(&app, &alice, &"n".repeat(100)).await;
    assert_eq!(status, StatusCode::CREATED);
    // "default" and the one above make 2; 98 more reach the cap.
    for i in 0..98 {
        let (status, body) = create_token(&app, &alice, &format!("t{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = create_token(&app, &alice, "one too many").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "too_many_tokens", "{body}");
    let (_, list) = tokens(&app, &alice).await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_on_every_server_within_a_second() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (_a, base_a) = serve_with_env(&db.url, &[]).await;
    let (_b, base_b) = serve_with_env(&db.url, &[]).await;
    let a = Api::new(base_a, Some(crate::two_servers::ADMIN));
    let b = Api::new(base_b, None);
    let alice = a.create_user("Alice").await.token;
    let (status, ci) = create_token(&a, &alice, "ci").await;
    assert_eq!(status, StatusCode::CREATED, "{ci}");
    let ci_token = ci["token"].as_str().unwrap().to_owned();
    let ci_id = ci["token_id"].as_str().unwrap().to_owned();
    // Both servers have seen (and cached) the token.
    for api in [&a, &b] {
        for _ in 0..3 {
            assert_eq!(tokens(api, &ci_token).await.0, StatusCode::OK);
        }
    }

    let (status, body) = revoke(&a, &alice, &ci_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked = Instant::now();
    for (name, api) in [("a", &a), ("b", &b)] {
        loop {
            let (status, _) = tokens(api, &ci_token).await;
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "server {name} still takes the revoked token after {:?}",
                revoked.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // And it stays refused; the user's other token still works everywhere.
    tokio::time::sleep(Duration::from_millis(900)).await;
    for api in [&a, &b] {
        assert_eq!(tokens(api, &ci_token).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(tokens(api, &alice).await.0, StatusCode::OK);
    }
}

/// `ledger serve ARGS` on a fresh SQLite file; the child, its base URL and what it
/// logged before it listened.
async fn serve_logging(
    dir: &tempfile::TempDir,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String, String) {
    let database = format!("sqlite:{}", dir.path().join("ledger.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "serve",
            "--database-url",
            &database,
            "--bind",
            "127.0.0.1:0",
        ])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("LEDGER_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start ledger serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut logged = String::new();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("ledger listening on ") {
                return url.trim().to_owned();
            }
            logged.push_str(&line);
            logged.push('\n');
        }
        panic!("the server ended before listening: {logged}");
    })
    .await
    .expect("the server starts listening");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base, logged)
}

const PROCESS_LIST_WARNING: &str = "visible to every user of this machine in the process list";

#[tokio::test]
async fn the_admin_token_comes_from_a_file_or_the_environment_and_the_command_line_warns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-token");
    // The file's trailing line break is no part of the token.
    std::fs::write(&file, "token-from-a-file\n").unwrap();
    let (_child, base, logged) =
        serve_logging(&dir, &["--admin-token-file", file.to_str().unwrap()], &[]).await;
    assert!(!logged.contains(PROCESS_LIST_WARNING), "{logged}");
    let api = Api::new(base, Some("token-from-a-file"));
    api.create_user("Alice").await;
    let answer = api.try_create_user("token-from-a-fil", "Eve").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    drop(_child);

    let env_dir = tempfile::tempdir().unwrap();
    let (_child, base, logged) =
        serve_logging(&env_dir, &[], &[("LEDGER_ADMIN_TOKEN", "token-from-env")]).await;
    assert!(!logged.contains(PROCESS_LIST_WARNING), "{logged}");
    Api::new(base, Some("token-from-env"))
        .create_user("Alice")
        .await;

    let cli_dir = tempfile::tempdir().unwrap();
    let (_child, base, logged) =
        serve_logging(&cli_dir, &["--admin-token", "token-on-the-line"], &[]).await;
    assert!(logged.contains(PROCESS_LIST_WARNING), "{logged}");
    assert!(
        !logged.contains("token-on-the-line"),
        "the warning shows the token: {logged}"
    );
    Api::new(base, Some("token-on-the-line"))
        .create_user("Alice")
        .await;
}

#[tokio::test]
async fn an_admin_token_given_twice_or_an_empty_file_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-token");
    std::fs::write(&file, " \n").unwrap();
    let database = format!("sqlite:{}", dir.path().join("ledger.db").display());
    let path = file.to_str().unwrap();
    let empty = serve_to_its_end(&database, &["--admin-token-file", path]).await;
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("is empty"));
    std::fs::write(&file, "t").unwrap();
    let twice = serve_to_its_end(
        &database,
        &["--admin-token-file", path, "--admin-token", "t"],
    )
    .await;
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("given twice"));
}

/// `ledger serve ARGS` expected to stop on its own.
async fn serve_to_its_end(database: &str, args: &[&str]) -> std::process::Output {
    let run = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["serve", "--database-url", database, "--bind", "127.0.0.1:0"])
        .args(args)
        .env_remove("LEDGER_ADMIN_TOKEN")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the server refuses to start")
        .unwrap()
}
