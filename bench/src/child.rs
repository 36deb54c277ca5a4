//! The servers under test as child processes of this binary: the gateway's server
//! (run by the hidden `serve` subcommand, the code `ledger serve` runs) and the bare
//! baseline.
//!
//! Servers run in their own processes, apart from the load generator: 10,000 sockets
//! take 10,000 descriptors on each end (a process may hold 20,000 on the benchmark
//! machine), and the server's memory is then its own, readable from `/proc`.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// This binary started again as a server: the gateway's (`serve`) or the bare baseline.
pub(crate) struct Child {
    process: tokio::process::Child,
    addr: SocketAddr,
}

impl Child {
    /// Starts this binary with `args` and waits for it to print
    /// `... listening on <scheme>://<address>` on stderr.
    pub(crate) async fn start(args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut process = Command::new(exe)
            .args(args)
            .envs(envs.iter().copied())
            // Its per-request logs would cost the server time the benchmark measures.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a child process")?;
        let stderr = process.stderr.take().context("the child's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some((_, rest)) = line.split_once(" listening on ") {
                    let rest = rest.trim();
                    let addr = rest.split_once("://").map_or(rest, |(_, a)| a);
                    return addr
                        .parse::<SocketAddr>()
                        .with_context(|| format!("reading the address in {line:?}"));
                }
                // What it says before listening is usually why it cannot.
                eprintln!("{line}");
            }
            bail!("the child process ended before listening")
        })
        .await
        .context("the child process did not listen within 60 s")??;
        // Keep draining its log so it never blocks on a full pipe, and show warnings.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
            }
        });
        Ok(Self { process, addr })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its resident memory now, in KiB.
    pub(crate) fn rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.process.id().context("the child process has ended")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .context("reading the child's memory (needs Linux /proc)")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc/<pid>/status")
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.process.start_kill();
        let _ = self.process.wait().await;
    }
}

/// The gateway's server (`ledger serve`) on a free port with a random admin token.
pub(crate) async fn serve(database_url: &str) -> anyhow::Result<(Child, String)> {
    let admin = uuid::Uuid::new_v4().simple().to_string();
    let child = Child::start(
        &[
            "serve",
            "--database-url",
            database_url,
            "--bind",
            "127.0.0.1:0",
            // A load generator, not clients to protect the server from: 64 writers
            // on 8 households' tokens at ~20,000 requests a second (2,500 a token),
            // or thousands of sockets on few users, all from one address. The timeouts stay on.
            "--requests-per-address",
            "0",
            "--requests-per-token",
            "0",
            "--connections-per-address",
            "0",
            "--sockets-per-user",
            "0",
        ],
        // In the environment rather than the arguments, which anyone may list.
        &[("LEDGER_ADMIN_TOKEN", &admin)],
    )
    .await?;
    Ok((child, admin))
}

/// The bare broadcast server on a free port; `capacity` is each channel's backlog,
/// `read_buffer` its sockets' read buffer (tokio-tungstenite's default if `None`).
pub(crate) async fn bare_server(
    capacity: usize,
    read_buffer: Option<usize>,
) -> anyhow::Result<Child> {
    let capacity = capacity.to_string();
    let mut args = vec!["bare-server", "--capacity", &capacity];
    let read_buffer = read_buffer.map(|b| b.to_string());
    if let Some(bytes) = &read_buffer {
        args.extend(["--read-buffer", bytes]);
    }
    Child::start(&args, &[]).await
}
