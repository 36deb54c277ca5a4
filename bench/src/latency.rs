//! `ledger bench latency`: how long an expense takes from its HTTP request to its
//! delta arriving at every subscribed socket, at a steady rate, beside a bare
//! tokio-tungstenite broadcast server with the same sockets and channels carrying
//! messages of the same size at the same rate.
//!
//! Sockets are spread evenly over households (by default 10 devices watching each of
//! 100 ledgers); expenses go round-robin to the ledgers. A delta's latency is its
//! arrival minus the moment the request that got its position was sent; arrivals may
//! come before the HTTP answer, so positions are matched afterwards.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{self, Database, Head, Http, ServerOptions, Socket, BARE};
use crate::{quantile_ms, Figure, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct LatencyArgs {
    #[command(flatten)]
    options: ServerOptions,
    /// Subscribed sockets.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Expenses recorded per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// How long expenses are recorded.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Ledgers (households) the sockets and the expenses are spread over.
    #[arg(long, default_value_t = 100)]
    ledgers: usize,
    /// HTTP connections the paced writer sends on, so one slow request does not
    /// hold up the schedule.
    #[arg(long, default_value_t = 16)]
    writers: usize,
}

/// More events than a run of an hour at 1,000 a second has no use, and would
/// only make the bookkeeping of arrivals large.
const MAX_EVENTS: usize = 10_000_000;

/// Room reserved up front for arrivals; more grows as it comes.
const RESERVE: u64 = 1 << 16;

/// What one side measured.
struct Outcome {
    /// Sorted ascending.
    latencies: Vec<Duration>,
    missing: u64,
    /// Events sent per second, as achieved.
    sent_per_s: f64,
    /// Bytes of one delta frame, for the baseline's messages.
    frame_len: usize,
}

pub(crate) async fn run(args: LatencyArgs) -> anyhow::Result<()> {
    ensure!(args.sockets >= 1, "--sockets must be at least 1");
    ensure!(
        (1..=100_000).contains(&args.ledgers),
        "--ledgers must be between 1 and 100000"
    );
    ensure!(
        (1..=1000).contains(&args.writers),
        "--writers must be between 1 and 1000"
    );
    ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate must be positive"
    );
    ensure!(
        args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0,
        "--seconds must be between 0 and 3600"
    );
    let events = (args.rate * args.seconds).round().max(1.0);
    ensure!(
        events <= MAX_EVENTS as f64,
        "--rate times --seconds must be at most {MAX_EVENTS}"
    );
    let events = events as usize;
    harness::check_open_files(
        args.sockets
            .saturating_add(args.writers)
            .saturating_add(256),
    )?;
    let report = Report::new(args.options.json);

    let database = Database::create(args.options.backend, &args.options.postgres_url).await?;
    let backend = database.backend();
    let ours = measure_ledger(database.url(), &args, events, &report).await;
    database.drop_now().await?;
    let ours = ours?;
    if ours.sent_per_s < 0.95 * args.rate {
        report.note(&format!(
            "latency: the server acknowledged only {:.0} expenses/s of the {} asked for: \
             the latencies include the queue that built up",
            ours.sent_per_s, args.rate
        ));
    }
    let base = measure_bare(&args, events, ours.frame_len, &report).await?;

    let case = format!(
        "sockets={},rate={},ledgers={}",
        args.sockets, args.rate, args.ledgers
    );
    let figure = |metric, value, baseline_value| Figure {
        bench: "latency",
        backend: backend.to_owned(),
        case: case.clone(),
        metric,
        value,
        baseline: Some(BARE.to_owned()),
        baseline_value: Some(baseline_value),
    };
    for (metric, q) in [("p50_ms", 0.5), ("p99_ms", 0.99), ("max_ms", 1.0)] {
        report.print(&figure(
            metric,
            quantile_ms(&ours.latencies, q),
            quantile_ms(&base.latencies, q),
        ));
    }
    report.print(&figure(
        "deliveries",
        ours.latencies.len() as f64,
        base.latencies.len() as f64,
    ));
    report.print(&figure(
        "missing_deliveries",
        ours.missing as f64,
        base.missing as f64,
    ));
    report.print(&figure("events_per_s", ours.sent_per_s, base.sent_per_s));
    Ok(())
}

/// How many of `events` sent round-robin over `ledgers` go to ledger `l`.
fn share(events: usize, ledgers: usize, l: usize) -> u64 {
    (events / ledgers + usize::from(l < events % ledgers)) as u64
}

fn expected(args: &LatencyArgs, events: usize) -> u64 {
    (0..args.sockets)
        .map(|i| share(events, args.ledgers, i % args.ledgers))
        .sum()
}

/// What one socket saw: each delta's position (or sequence number) and arrival.
struct Arrivals {
    /// Held so the socket stays open until every reader is done.
    _socket: Socket,
    seen: Vec<(u64, Instant)>,
    frame_len: usize,
}

/// Reads until `expected` messages that `identify` recognises have arrived.
async fn read_arrivals(
    mut socket: Socket,
    expected: u64,
    received: Arc<AtomicU64>,
    identify: fn(&str) -> Option<u64>,
) -> Arrivals {
    let mut seen = Vec::with_capacity(expected.min(RESERVE) as usize);
    let mut frame_len = 0;
    while (seen.len() as u64) < expected {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let at = Instant::now();
                if let Some(id) = identify(text.as_str()) {
                    seen.push((id, at));
                    frame_len = text.len();
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    Arrivals {
        _socket: socket,
        seen,
        frame_len,
    }
}

fn delta_position(text: &str) -> Option<u64> {
    let head: Head = serde_json::from_str(text).ok()?;
    (head.kind == "expense_created").then_some(head.position?)
}

fn bare_position(text: &str) -> Option<u64> {
    harness::bare_seq(text).map(|s| s as u64)
}

/// Latencies of the arrivals whose send moment is known, sorted, and how many of
/// the expected deliveries never came.
fn tally(
    arrivals: &[Arrivals],
    sent: &HashMap<u64, Instant>,
    expected: u64,
) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::with_capacity(expected.min(RESERVE * 16) as usize);
    for a in arrivals {
        for (id, at) in &a.seen {
            if let Some(sent) = sent.get(id) {
                latencies.push(at.saturating_duration_since(*sent));
            }
        }
    }
    latencies.sort_unstable();
    let missing = expected.saturating_sub(latencies.len() as u64);
    (latencies, missing)
}

fn rate_of(sent: &HashMap<u64, Instant>) -> f64 {
    let first = sent.values().min();
    let last = sent.values().max();
    match (first, last) {
        (Some(first), Some(last)) if last > first => {
            (sent.len() - 1) as f64 / last.duration_since(*first).as_secs_f64()
        }
        _ => 0.0,
    }
}

async fn measure_ledger(
    database_url: &str,
    args: &LatencyArgs,
    events: usize,
    report: &Report,
) -> anyhow::Result<Outcome> {
    let (server, admin) = harness::serve(database_url).await?;
    let result = async {
        let addr = server.addr();
        let mut http = Http::connect(addr).await?;
        let homes = Arc::new(harness::households(&mut http, &admin, args.ledgers).await?);
        report.note(&format!(
            "latency: opening {} sockets on {} ledgers ...",
            args.sockets, args.ledgers
        ));
        let received = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let readers = harness::open_many(args.sockets, |i| {
            let home = homes[i % args.ledgers].clone();
            let received = received.clone();
            let expected = share(events, args.ledgers, i % args.ledgers);
            async move {
                let socket = harness::subscribe_ledger(addr, &home).await?;
                anyhow::Ok(tokio::spawn(read_arrivals(
                    socket,
                    expected,
                    received,
                    delta_position,
                )))
            }
        })
        .await?;
        report.note(&format!(
            "latency: {} sockets subscribed in {:.1?}; recording {events} expenses at {}/s ...",
            args.sockets,
            started.elapsed(),
            args.rate
        ));
        let sent = paced_writes(addr, homes, events, args.rate, args.writers).await?;
        let expected = expected(args, events);
        harness::wait_for(&received, expected).await;
        let arrivals = harness::collect(readers).await;
        let (latencies, missing) = tally(&arrivals, &sent, expected);
        let frame_len = arrivals.iter().map(|a| a.frame_len).max().unwrap_or(0);
        anyhow::Ok(Outcome {
            latencies,
            missing,
            sent_per_s: rate_of(&sent),
            frame_len,
        })
    }
    .await;
    server.stop().await;
    result
}

/// Records `events` expenses at `rate` a second over `writers` connections, the
/// `i`th to household `i % households`; returns each position's send moment.
async fn paced_writes(
    addr: SocketAddr,
    homes: Arc<Vec<harness::Household>>,
    events: usize,
    rate: f64,
    writers: usize,
) -> anyhow::Result<HashMap<u64, Instant>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::new();
    for _ in 0..writers.max(1) {
        connections.push(Http::connect(addr).await?);
    }
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for mut http in connections {
        let next = next.clone();
        let homes = homes.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= events {
                    return anyhow::Ok(sent);
                }
                tokio::time::sleep_until(harness::due(start, i, rate)).await;
                let at = Instant::now();
                let position = harness::record_expense(&mut http, &homes[i % homes.len()]).await?;
                sent.push((position, at));
            }
        }));
    }
    let mut sent = HashMap::with_capacity(events);
    for task in tasks {
        sent.extend(task.await??);
    }
    Ok(sent)
}

async fn measure_bare(
    args: &LatencyArgs,
    events: usize,
    frame_len: usize,
    report: &Report,
) -> anyhow::Result<Outcome> {
    // Should the ledger side have delivered nothing, a typical delta's size.
    let frame_len = if frame_len == 0 { 400 } else { frame_len };
    let server = harness::bare_server(1024, None).await?;
    let result = async {
        let addr = server.addr();
        report.note(&format!(
            "latency: baseline ({BARE}): opening {} sockets ...",
            args.sockets
        ));
        let received = Arc::new(AtomicU64::new(0));
        let readers = harness::open_many(args.sockets, |i| {
            let received = received.clone();
            let expected = share(events, args.ledgers, i % args.ledgers);
            async move {
                let channel = format!("ledger-{}", i % args.ledgers);
                let socket = harness::subscribe_bare(addr, &channel).await?;
                anyhow::Ok(tokio::spawn(read_arrivals(
                    socket,
                    expected,
                    received,
                    bare_position,
                )))
            }
        })
        .await?;
        report.note(&format!(
            "latency: baseline: publishing {events} messages of {frame_len} bytes at {}/s ...",
            args.rate
        ));
        let mut publisher = harness::subscribe_bare(addr, "publisher").await?;
        let mut sent = HashMap::with_capacity(events);
        let start = Instant::now() + Duration::from_millis(50);
        for i in 0..events {
            let text = harness::bare_payload(&format!("ledger-{}", i % args.ledgers), i, frame_len);
            tokio::time::sleep_until(harness::due(start, i, args.rate)).await;
            sent.insert(i as u64, Instant::now());
            publisher.send(Message::text(text)).await?;
        }
        let expected = expected(args, events);
        harness::wait_for(&received, expected).await;
        let arrivals = harness::collect(readers).await;
        let (latencies, missing) = tally(&arrivals, &sent, expected);
        anyhow::Ok(Outcome {
            latencies,
            missing,
            sent_per_s: rate_of(&sent),
            frame_len,
        })
    }
    .await;
    server.stop().await;
    result
}
