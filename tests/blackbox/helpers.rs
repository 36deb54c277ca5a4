//! Starting the real binary and reading what it reports.

use std::process::Stdio;

use ledger::{LedgerId, Position, StreamId};
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
