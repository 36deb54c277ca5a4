//! `ledger bench append --through http`: expenses recorded through HTTP, each client
//! on its own keep-alive connection to a `ledger serve` child process, one request at
//! a time, beside as many writers doing the store case's single-row INSERTs.
//!
//! Clients share eight households (ledgers), as members of a few busy households
//! would; every acknowledged `201 Created` counts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::{Currency, LedgerId};

use crate::append::{self, Baseline, BASELINE};
use crate::harness::{self, Household, Http};
use crate::{gather, Report, Run};

const HOUSEHOLDS: usize = 8;

/// One case per number of `writers`, against a server on `database_url`.
pub(super) async fn measure(
    backend: &str,
    database_url: &str,
    baseline: &Baseline,
    writers: &[usize],
    duration: Duration,
    report: &Report,
) -> anyhow::Result<()> {
    let (server, admin) = harness::serve(database_url).await?;
    let result = async {
        let addr = server.addr();
        let mut http = Http::connect(addr).await?;
        let homes = Arc::new(harness::households(&mut http, &admin, HOUSEHOLDS).await?);
        let sample = Arc::new(append::sample(Currency::parse("EUR")?)?);
        for &n in writers {
            let case = format!("http,writers={n}");
            report.note(&format!(
                "append/{backend}/{case}: baseline ({BASELINE}) for {duration:?} ..."
            ));
            let base = baseline
                .drive(LedgerId::new(), &sample, n, duration)
                .await?;
            report.note(&format!(
                "append/{backend}/{case}: HTTP to `ledger serve` for {duration:?} ..."
            ));
            let ours = drive_http(addr, &homes, n, duration).await?;
            append::print_case(report, backend, &case, &ours, &base);
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    result
}

/// `clients` connections recording expenses one after another for `duration`.
async fn drive_http(
    addr: SocketAddr,
    homes: &Arc<Vec<Household>>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    // Connected before the clock starts: the case measures requests, not handshakes.
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        connections.push(Http::connect(addr).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(connections.len());
    for (i, mut http) in connections.into_iter().enumerate() {
        let homes = homes.clone();
        tasks.push(tokio::spawn(async move {
            let home = &homes[i % homes.len()];
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                harness::record_expense(&mut http, home).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    gather(start, tasks).await
}
