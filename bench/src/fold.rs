//! `ledger-bench fold`: the in-memory half of `rebuild`, in a process of its own so
//! its memory is fresh and its allocator tuned (see [`run`]).

use std::time::Instant;

use anyhow::Context;
use futures::TryStreamExt;
use ledger::{Position, Store, StoreOptions};

use crate::{Figure, Report};

/// glibc's allocator told to keep the memory the process frees rather than hand it
/// back to the kernel (and to take large blocks from the kernel directly only from
/// 32 MiB), so a second fold reuses the memory of the first.
pub(crate) const KEEP_FREED_MEMORY: &str =
    "glibc.malloc.trim_threshold=17179869184:glibc.malloc.mmap_threshold=33554432";

#[derive(Debug, clap::Args)]
pub(crate) struct FoldArgs {
    /// One JSON object per figure on stdout, nothing else.
    #[arg(long)]
    json: bool,
    /// The log to fold, written by `bench rebuild`.
    #[arg(long)]
    database_url: String,
}

/// The fold alone, run by `bench rebuild` as a child process: the log's events
/// already in memory and decoded, folded quietly (no deltas, no alert decisions) as a
/// rebuild does, beside decoding them alone; `apply_quietly` (decoding and folding
/// one event after the other) and the live fold are shown beside them.
///
/// Folding grows the state by a few hundred bytes per expense, memory the kernel
/// hands over page by page the first time. On a virtual machine whose host takes
/// freed memory back that costs more than the fold itself, so the fold is measured
/// twice: into fresh memory (cold), then once more after the first state is dropped,
/// into memory the process already holds (warm): a server's steady state, and the
/// speed of the fold itself. The parent starts this process with
/// [`KEEP_FREED_MEMORY`]; the page faults printed show whether that held.
pub(crate) async fn run(args: FoldArgs) -> anyhow::Result<()> {
    let report = Report::new(args.json);
    let store = Store::open_with(&args.database_url, StoreOptions { max_connections: 2 })
        .await
        .context("opening the store")?;
    let events: Vec<_> = store.stream_all(Position::ZERO).try_collect().await?;
    let case = format!("events={}", events.len());
    let decode_all = || {
        events
            .iter()
            .map(projections::DecodedEvent::decode)
            .collect::<Result<Vec<_>, _>>()
    };
    let started = Instant::now();
    let decoded = decode_all()?;
    let decode = events.len() as f64 / started.elapsed().as_secs_f64();

    let again = decode_all()?;
    let mut cold = projections::Projections::new();
    let used = usage();
    let started = Instant::now();
    for event in again {
        cold.apply_decoded_quietly(event)?;
    }
    report.note(&format!(
        "rebuild: fold of decoded events into fresh memory (cold): {:.0} events/s ({})",
        events.len() as f64 / started.elapsed().as_secs_f64(),
        used.since()
    ));
    drop(cold);
    let mut folded = projections::Projections::new();
    let used = usage();
    let started = Instant::now();
    for event in decoded {
        folded.apply_decoded_quietly(event)?;
    }
    let fold = events.len() as f64 / started.elapsed().as_secs_f64();
    report.note(&format!(
        "rebuild: fold of decoded events (warm): {fold:.0} events/s ({})",
        used.since()
    ));
    let started = Instant::now();
    read_every_aggregate(&folded);
    report.note(&format!(
        "rebuild: first read of every ledger's aggregates after the fold {:.3} s",
        started.elapsed().as_secs_f64()
    ));
    // Each state stays alive, so every later fold allocates fresh memory rather than
    // reusing what an earlier one freed, as the first one had to.
    let mut quiet = projections::Projections::new();
    let started = Instant::now();
    for event in &events {
        quiet.apply_quietly(event)?;
    }
    let both = events.len() as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        quiet == folded,
        "folding decoded events reached another state"
    );
    report.note(&format!(
        "rebuild: decoding and folding (apply_quietly) {both:.0} events/s"
    ));
    let mut live = projections::Projections::new();
    let started = Instant::now();
    for event in &events {
        std::hint::black_box(live.apply_with_alerts(event)?);
    }
    let live_fold = events.len() as f64 / started.elapsed().as_secs_f64();
    report.note(&format!(
        "rebuild: live fold (deltas and alert decisions) {live_fold:.0} events/s"
    ));
    report.print(&Figure {
        bench: "rebuild",
        backend: "memory".into(),
        case,
        metric: "events_per_s",
        value: fold,
        baseline: Some("decoding the same events alone".into()),
        baseline_value: Some(decode),
    });
    Ok(())
}

/// Reads what a dashboard shows of every ledger, so whatever is derived on first
/// read (budget spending, analytics, the listing index) is built.
pub(crate) fn read_every_aggregate(projections: &projections::Projections) {
    for ledger in projections.ledgers() {
        std::hint::black_box(ledger.analytics().top_merchants(1));
        std::hint::black_box(ledger.budgets());
        std::hint::black_box(ledger.expenses().in_date_order(None, None, None).next());
    }
}

/// CPU time this process has used so far, in seconds (at the kernel's 10 ms tick),
/// and the page faults it took: on a shared machine they show how much of a
/// wall-clock figure was this process's own work, and how much of that was the kernel
/// handing it fresh memory (costly on a virtual machine whose host takes freed memory
/// back). The database server's are not in them. Zeros where `/proc` cannot tell.
pub(crate) fn usage() -> Usage {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Usage {
        cpu: (field(11) + field(12)) / 100.0,
        faults: field(7),
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Usage {
    cpu: f64,
    faults: f64,
}

impl Usage {
    /// What was used since `self`, said in words.
    pub(crate) fn since(self) -> String {
        let now = usage();
        format!(
            "{:.2} s of this process's CPU, {:.0} page faults",
            now.cpu - self.cpu,
            now.faults - self.faults
        )
    }
}
