//! The benchmarks that load a server through HTTP and WebSocket, run tiny through the
//! binary: they finish, print parseable figures, and lose no delivery. (That `ledger
//! bench` reaches this binary is the black-box suite's `bench_http`.)

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

/// The PostgreSQL server to run against, or `None` (the test is then skipped).
fn postgres() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TEST_DATABASE_URL is not set"
            );
            eprintln!("SKIPPED: PostgreSQL benchmark smoke test (set TEST_DATABASE_URL)");
            None
        }
    }
}

/// Runs `ledger-bench <args> --json` and returns its figures.
async fn bench(postgres: &str, args: &[&str]) -> Vec<Value> {
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(env!("CARGO_BIN_EXE_ledger-bench"))
            .args(args)
            .args(["--json", "--postgres-url", postgres])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the benchmark finishes in time")
    .expect("the benchmark runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

fn figure<'a>(figures: &'a [Value], metric: &str) -> &'a Value {
    figures
        .iter()
        .find(|f| f["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} in {figures:?}"))
}

/// Checks the figure has a value and a baseline value, both finite and >= 0.
fn measured(figures: &[Value], metric: &str) -> (f64, f64) {
    let f = figure(figures, metric);
    let value = f["value"].as_f64().expect("a value");
    let baseline = f["baseline_value"].as_f64().expect("a baseline value");
    assert!(value.is_finite() && value >= 0.0, "{f}");
    assert!(baseline.is_finite() && baseline >= 0.0, "{f}");
    (value, baseline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_latency_delivers_every_delta() {
    let Some(postgres) = postgres() else {
        return;
    };
    let figures = bench(
        &postgres,
        &[
            "latency",
            "--sockets",
            "20",
            "--ledgers",
            "4",
            "--rate",
            "50",
            "--seconds",
            "1",
        ],
    )
    .await;
    assert!(
        figures.iter().all(|f| f["bench"] == "latency"),
        "{figures:?}"
    );
    assert_eq!(measured(&figures, "missing_deliveries"), (0.0, 0.0));
    // 50 expenses over 4 ledgers, each watched by 5 sockets.
    assert_eq!(measured(&figures, "deliveries"), (250.0, 250.0));
    let (p50, _) = measured(&figures, "p50_ms");
    let (p99, _) = measured(&figures, "p99_ms");
    let (max, _) = measured(&figures, "max_ms");
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{figures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_fanout_delivers_every_delta_to_every_socket() {
    let Some(postgres) = postgres() else {
        return;
    };
    let figures = bench(&postgres, &["fanout", "--sockets", "20", "--events", "50"]).await;
    assert!(
        figures.iter().all(|f| f["bench"] == "fanout"),
        "{figures:?}"
    );
    assert_eq!(measured(&figures, "missing_deliveries"), (0.0, 0.0));
    assert_eq!(measured(&figures, "deliveries"), (1000.0, 1000.0));
    let (ours, bare) = measured(&figures, "deliveries_per_s");
    assert!(ours > 0.0 && bare > 0.0, "{figures:?}");
    measured(&figures, "rss_kib_per_socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_append_through_http() {
    let Some(postgres) = postgres() else {
        return;
    };
    let figures = bench(
        &postgres,
        &[
            "append",
            "--through",
            "http",
            "--backend",
            "postgres",
            "--writers",
            "4",
            "--seconds",
            "0.5",
        ],
    )
    .await;
    assert!(
        figures
            .iter()
            .all(|f| f["bench"] == "append" && f["case"] == "http,writers=4"),
        "{figures:?}"
    );
    let (ours, baseline) = measured(&figures, "events_per_s");
    assert!(ours > 0.0 && baseline > 0.0, "{figures:?}");
    measured(&figures, "p99_ms");
}
