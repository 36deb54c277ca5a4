//! Starting the real binary and reading what it reports.

use std::process::Stdio;

use gateway::config::Config;
use gateway::startup::Application;
use ledger::testing::TestDb;
use ledger::{LedgerId, Position, StreamId};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A `ledger probe` child process appending to a ledger and printing one line per
/// acknowledged append.
pub(crate) struct Probe {
    pub(crate) child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

/// One acknowledged append, as the probe reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ack {
    pub(crate) position: Position,
    pub(crate) stream: StreamId,
}

impl Probe {
    pub(crate) fn start(
        database_url: &str,
        ledger: LedgerId,
        open: bool,
        writers: usize,
        count: usize,
    ) -> Probe {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ledger"));
        command
            .args([
                "probe",
                "--database-url",
                database_url,
                "--ledger",
                &ledger.to_string(),
            ])
            .args([
                "--writers",
                &writers.to_string(),
                "--count",
                &count.to_string(),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if open {
            command.arg("--open");
        }
        let mut child = command.spawn().expect("start the ledger binary");
        let stdout = child.stdout.take().expect("piped stdout");
        Probe {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next acknowledgement, or `None` once the probe said `done` or ended.
    pub(crate) async fn next_ack(&mut self) -> Option<Ack> {
        let line = self.lines.next_line().await.ok()??;
        let mut words = line.split_whitespace();
        match words.next()? {
            "ack" => {
                let position = words.next()?.parse().ok()?;
                let stream = StreamId::parse(words.next()?).ok()?;
                Some(Ack { position, stream })
            }
            _ => None,
        }
    }

    /// Reads every acknowledgement until the probe finishes, and checks it succeeded.
    pub(crate) async fn finish(mut self) -> Vec<Ack> {
        let mut acks = Vec::new();
        while let Some(ack) = self.next_ack().await {
            acks.push(ack);
        }
        let status = self.child.wait().await.expect("wait for the probe");
        assert!(status.success(), "the probe failed: {status}");
        acks
    }
}

/// A server started in-process on port 0, with an admin token, and an HTTP client.
pub(crate) const ADMIN: &str = "test-admin-token";

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: Client,
    pub(crate) db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub(crate) async fn spawn(db: TestDb) -> TestApp {
        Self::configured(db, gateway::config::DEFAULT_SOCKET_QUEUE, |_| {}).await
    }

    /// A server whose sockets may have `socket_queue` frames waiting.
    pub(crate) async fn spawn_with_queue(db: TestDb, socket_queue: usize) -> TestApp {
        Self::configured(db, socket_queue, |_| {}).await
    }

    /// As [`TestApp::spawn`], with `setup` run on the built server before it serves.
    pub(crate) async fn spawn_with(db: TestDb, setup: impl FnOnce(&Application)) -> TestApp {
        Self::configured(db, gateway::config::DEFAULT_SOCKET_QUEUE, setup).await
    }

    async fn configured(
        db: TestDb,
        socket_queue: usize,
        setup: impl FnOnce(&Application),
    ) -> TestApp {
        let config = Config {
            database_url: db.url.clone(),
            bind: "127.0.0.1:0".parse().unwrap(),
            admin_token: Some(ADMIN.into()),
            socket_queue,
        };
        let app = Application::build(config).await.expect("the server builds");
        setup(&app);
        let base = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            client: Client::new(),
            db,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub(crate) async fn raw(&self, path: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    pub(crate) async fn user(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/users",
                Some(ADMIN),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["user_id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) async fn ledger(&self, token: &str, currency: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/ledgers",
                Some(token),
                Some(json!({ "name": "Home", "currency": currency })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["ledger_id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn head(&self) -> Position {
        self.db.store().await.head().await.unwrap()
    }

    /// Stops the server and hands back its database, to start another on it.
    pub(crate) async fn stop_keeping_db(mut self) -> TestDb {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().unwrap();
        std::mem::replace(&mut self.db, TestDb::sqlite())
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

pub(crate) fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
