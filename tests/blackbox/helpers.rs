//! Starting the real binary and reading what it reports.

use std::ops::Deref;
use std::process::Stdio;

use gateway::config::Config;
use gateway::startup::Application;
use ledger::testing::TestDb;
use ledger::{LedgerId, Position, StreamId};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::app::Api;

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

/// The admin token of every server [`TestApp`] starts.
pub(crate) const ADMIN: &str = "test-admin-token";

/// A server started in-process on port 0, with an admin token, and a typed client of
/// it: [`Api`]'s methods and fields (`base`, `client`) are the app's, by `Deref`.
pub(crate) struct TestApp {
    api: Api,
    pub(crate) db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
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
            limits: gateway::config::Limits::default(),
        };
        let app = Application::build(config).await.expect("the server builds");
        setup(&app);
        let api = Api::new(format!("http://127.0.0.1:{}", app.port()), Some(ADMIN));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            api,
            db,
            stop: Some(stop),
            server: Some(server),
        }
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

/// What one run of the `ledger` binary left: its exit code and what it printed.
pub(crate) struct CliRun {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `ledger ARGS...` to its end.
pub(crate) async fn run_cli(args: &[&str]) -> CliRun {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .output()
        .await
        .expect("run the ledger binary");
    CliRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `ledger COMMAND --database-url URL ARGS...` to its end.
pub(crate) async fn run_cli_on(database_url: &str, command: &str, args: &[&str]) -> CliRun {
    run_cli(&[&[command, "--database-url", database_url], args].concat()).await
}

#[track_caller]
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
