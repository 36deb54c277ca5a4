//! `ledger bench fanout`: with many sockets on one ledger's expenses, the server's
//! memory per idle socket, and deltas delivered per second while expenses are
//! recorded through HTTP as fast as they are acknowledged; beside a bare
//! tokio-tungstenite broadcast server with the same sockets on one channel and a
//! publisher sending as many messages of a delta's size.
//!
//! Deliveries per second: frames received by all sockets over the time from the
//! first send until the last socket got the last one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use futures::{SinkExt, StreamExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{self, Child, Database, Http, ServerOptions, Socket, BARE};
use crate::{Figure, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct FanoutArgs {
    #[command(flatten)]
    options: ServerOptions,
    /// Sockets subscribed to the one ledger.
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Expenses recorded (each delivered to every socket).
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// HTTP connections recording them.
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// The baseline's read buffer per socket in bytes, instead of tokio-tungstenite's
    /// default: what a smaller one would save the server.
    #[arg(long, hide = true)]
    bare_read_buffer: Option<usize>,
}

/// How long a server is left alone before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

struct Outcome {
    deliveries_per_s: f64,
    delivered: u64,
    missing: u64,
    rss_kib_per_socket: f64,
    /// Bytes of one delta frame, for the baseline's messages.
    frame_len: usize,
}

pub(crate) async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    ensure!(args.sockets >= 1, "--sockets must be at least 1");
    ensure!(args.events >= 1, "--events must be at least 1");
    ensure!(
        (1..=1000).contains(&args.writers),
        "--writers must be between 1 and 1000"
    );
    harness::check_open_files(
        args.sockets
            .saturating_add(args.writers)
            .saturating_add(256),
    )?;
    let report = Report::new(args.options.json);

    let database = Database::create(args.options.backend, &args.options.postgres_url).await?;
    let backend = database.backend();
    let ours = measure_ledger(database.url(), &args, &report).await;
    database.drop_now().await?;
    let ours = ours?;
    let base = measure_bare(&args, ours.frame_len, &report).await?;

    let case = format!("sockets={},events={}", args.sockets, args.events);
    let figure = |metric, value, baseline_value| Figure {
        bench: "fanout",
        backend: backend.to_owned(),
        case: case.clone(),
        metric,
        value,
        baseline: Some(BARE.to_owned()),
        baseline_value: Some(baseline_value),
    };
    report.print(&figure(
        "deliveries_per_s",
        ours.deliveries_per_s,
        base.deliveries_per_s,
    ));
    report.print(&figure(
        "rss_kib_per_socket",
        ours.rss_kib_per_socket,
        base.rss_kib_per_socket,
    ));
    report.print(&figure(
        "deliveries",
        ours.delivered as f64,
        base.delivered as f64,
    ));
    report.print(&figure(
        "missing_deliveries",
        ours.missing as f64,
        base.missing as f64,
    ));
    Ok(())
}

/// What one socket counted.
struct Count {
    /// Held so the socket stays open until every reader is done.
    _socket: Socket,
    last: Option<Instant>,
    frame_len: usize,
}

/// Counts the frames `counts` accepts until `expected` arrived; only as much work
/// per frame as needed, so ten thousand of these stay cheap beside the server.
async fn count_frames(
    mut socket: Socket,
    expected: u64,
    received: Arc<AtomicU64>,
    counts: fn(&str) -> bool,
) -> Count {
    let mut frames = 0;
    let mut last = None;
    let mut frame_len = 0;
    while frames < expected {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                if counts(text.as_str()) {
                    frames += 1;
                    last = Some(Instant::now());
                    frame_len = text.len();
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    Count {
        _socket: socket,
        last,
        frame_len,
    }
}

fn is_delta(text: &str) -> bool {
    // A substring, not a parse: the type name cannot occur unquoted inside a string.
    text.contains("\"expense_created\"")
}

fn any_frame(_: &str) -> bool {
    true
}

/// The memory the server gained per socket between `warm` and now.
fn per_socket(server: &Child, warm: u64, sockets: usize) -> anyhow::Result<f64> {
    let idle = server.rss_kib()?;
    Ok(idle.saturating_sub(warm) as f64 / sockets as f64)
}

/// Waits until every socket had its share (`expected` each) or arrivals stopped,
/// then sums up what arrived.
async fn settle(
    readers: Vec<JoinHandle<Count>>,
    received: &AtomicU64,
    expected: u64,
    sockets: usize,
    first_send: Instant,
    rss_kib_per_socket: f64,
) -> Outcome {
    let total = expected.saturating_mul(sockets as u64);
    harness::wait_for(received, total).await;
    let counts = harness::collect(readers).await;
    outcome(
        &counts,
        received.load(Ordering::Relaxed),
        total,
        first_send,
        rss_kib_per_socket,
    )
}

/// Deliveries over the time from `first_send` to the last arrival.
fn outcome(
    counts: &[Count],
    received: u64,
    expected: u64,
    first_send: Instant,
    rss_kib_per_socket: f64,
) -> Outcome {
    let last = counts.iter().filter_map(|c| c.last).max();
    let seconds = last.map_or(0.0, |l| {
        l.saturating_duration_since(first_send).as_secs_f64()
    });
    Outcome {
        deliveries_per_s: if seconds > 0.0 {
            received as f64 / seconds
        } else {
            0.0
        },
        delivered: received,
        missing: expected.saturating_sub(received),
        rss_kib_per_socket,
        frame_len: counts.iter().map(|c| c.frame_len).max().unwrap_or(0),
    }
}

async fn measure_ledger(
    database_url: &str,
    args: &FanoutArgs,
    report: &Report,
) -> anyhow::Result<Outcome> {
    let (server, admin) = harness::serve(database_url).await?;
    let result = async {
        let addr = server.addr();
        let mut http = Http::connect(addr).await?;
        let home = harness::households(&mut http, &admin, 1)
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no household was created"))?;
        // Warm: the write path and the read models have served once.
        harness::record_expense(&mut http, &home).await?;
        tokio::time::sleep(SETTLE).await;
        let warm = server.rss_kib()?;

        report.note(&format!("fanout: opening {} sockets ...", args.sockets));
        let received = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let expected = args.events as u64;
        let readers = harness::open_many(args.sockets, |_| {
            let home = home.clone();
            let received = received.clone();
            async move {
                let socket = harness::subscribe_ledger(addr, &home).await?;
                anyhow::Ok(tokio::spawn(count_frames(
                    socket, expected, received, is_delta,
                )))
            }
        })
        .await?;
        report.note(&format!(
            "fanout: {} sockets subscribed in {:.1?}",
            args.sockets,
            started.elapsed()
        ));
        tokio::time::sleep(SETTLE).await;
        let rss = per_socket(&server, warm, args.sockets)?;

        report.note(&format!(
            "fanout: recording {} expenses over {} connections ...",
            args.events, args.writers
        ));
        let mut connections = Vec::new();
        for _ in 0..args.writers.max(1) {
            connections.push(Http::connect(addr).await?);
        }
        let next = Arc::new(AtomicUsize::new(0));
        let first_send = Instant::now();
        let mut writers = Vec::new();
        for mut http in connections {
            let next = next.clone();
            let home = home.clone();
            let events = args.events;
            writers.push(tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < events {
                    harness::record_expense(&mut http, &home).await?;
                }
                anyhow::Ok(())
            }));
        }
        for writer in writers {
            writer.await??;
        }
        anyhow::Ok(settle(readers, &received, expected, args.sockets, first_send, rss).await)
    }
    .await;
    server.stop().await;
    result
}

async fn measure_bare(
    args: &FanoutArgs,
    frame_len: usize,
    report: &Report,
) -> anyhow::Result<Outcome> {
    let frame_len = if frame_len == 0 { 400 } else { frame_len };
    // Room for every message, so the baseline never drops any for a slow reader.
    let server = harness::bare_server(args.events.max(1024), args.bare_read_buffer).await?;
    let result = async {
        let addr = server.addr();
        tokio::time::sleep(SETTLE).await;
        let warm = server.rss_kib()?;
        report.note(&format!(
            "fanout: baseline ({BARE}): opening {} sockets ...",
            args.sockets
        ));
        let received = Arc::new(AtomicU64::new(0));
        let expected = args.events as u64;
        let readers = harness::open_many(args.sockets, |_| {
            let received = received.clone();
            async move {
                let socket = harness::subscribe_bare(addr, "ledger").await?;
                anyhow::Ok(tokio::spawn(count_frames(
                    socket, expected, received, any_frame,
                )))
            }
        })
        .await?;
        tokio::time::sleep(SETTLE).await;
        let rss = per_socket(&server, warm, args.sockets)?;

        report.note(&format!(
            "fanout: baseline: publishing {} messages of {frame_len} bytes ...",
            args.events
        ));
        let mut publisher = harness::subscribe_bare(addr, "publisher").await?;
        let first_send = Instant::now();
        for i in 0..args.events {
            publisher
                .send(Message::text(harness::bare_payload("ledger", i, frame_len)))
                .await?;
        }
        anyhow::Ok(settle(readers, &received, expected, args.sockets, first_send, rss).await)
    }
    .await;
    server.stop().await;
    result
}
