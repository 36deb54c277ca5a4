//! Closed-loop load: a number of workers each repeating one operation until time is
//! up, and the latencies they saw.

use std::time::{Duration, Instant};

/// Runs `workers` copies of `op` until `duration` has passed; returns how many
/// operations finished and each one's latency.
pub(crate) async fn drive<F, Fut>(workers: usize, duration: Duration, op: F) -> anyhow::Result<Run>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                op().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    gather(start, tasks).await
}

/// Waits for the workers started at `start` and puts their latencies together.
pub(crate) async fn gather(
    start: Instant,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Duration>>>>,
) -> anyhow::Result<Run> {
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Ok(Run {
        ops: latencies.len(),
        elapsed,
        latencies,
    })
}

pub(crate) struct Run {
    pub(crate) ops: usize,
    pub(crate) elapsed: Duration,
    /// Sorted ascending.
    pub(crate) latencies: Vec<Duration>,
}

impl Run {
    pub(crate) fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// The value at quantile `q` (0..=1) of durations sorted ascending, in milliseconds;
/// 0 when there are none.
pub(crate) fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
