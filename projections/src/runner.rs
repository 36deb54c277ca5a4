//! The live read models: resume from the checkpoint, follow the log, fold each event,
//! publish its deltas, let the alert policy append its alerts, checkpoint as it goes.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ledger::{Position, RecordedEvent, Store};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::alerts::PendingAlert;
use crate::checkpoint;
use crate::delta::Delta;
use crate::error::RunError;
use crate::projections::Projections;

/// How the live read models behave.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Checkpoint after this many events...
    pub checkpoint_every_events: u64,
    /// ...or this long after the last checkpoint, whichever comes first...
    pub checkpoint_every: Duration,
    /// ...but never sooner than this after the last one: a checkpoint writes the
    /// whole state of every ledger that changed, so under a heavy write load the
    /// event count alone would make it the server's main work.
    pub checkpoint_min_gap: Duration,
    /// Append the alerts the policy decides (off for read-only tools).
    pub raise_alerts: bool,
    /// Batches of deltas kept for subscribers that fall behind; a slower one is told
    /// it lagged and must resynchronise.
    pub delta_buffer: usize,
    /// Batches of deltas kept for clients that reconnect with `since`.
    pub replay_history: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            checkpoint_every_events: 10_000,
            checkpoint_every: Duration::from_secs(5),
            checkpoint_min_gap: Duration::from_secs(1),
            raise_alerts: true,
            delta_buffer: 4096,
            replay_history: 10_000,
        }
    }
}

/// What an operator sees of the read models.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveStatus {
    /// Every event up to here is folded in.
    pub position: Position,
    /// The position of the last checkpoint written.
    pub checkpoint_position: Position,
    /// Set when an event could not be folded: the read models stop before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_position: Option<Position>,
}

/// The latest delta batches, for replay to clients that come back with `since`.
struct Recent {
    batches: std::collections::VecDeque<DeltaBatch>,
    capacity: usize,
    /// Every event after this position that had deltas is in `batches`.
    covered_after: Position,
}

/// The deltas of one event, shared by every subscriber.
pub type DeltaBatch = Arc<[Delta]>;

/// The live read models, shared by everything that reads them.
pub struct Live {
    state: RwLock<Projections>,
    recent: Mutex<Recent>,
    position: watch::Sender<Position>,
    deltas: broadcast::Sender<DeltaBatch>,
    status: Mutex<LiveStatus>,
}

impl Live {
    /// Runs `read` on the current read models. Keep it short: folding waits for it.
    pub fn read<R>(&self, read: impl FnOnce(&Projections) -> R) -> R {
        read(
            &self
                .state
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The position the read models reflect.
    pub fn position(&self) -> Position {
        *self.position.borrow()
    }

    /// Waits, at most `timeout`, until the read models reflect `position`; says
    /// whether they do (read-your-writes).
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> bool {
        let mut rx = self.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// The position the read models reflect, as it changes. It moves only after the
    /// event's delta batch was sent to [`Live::subscribe`]rs.
    pub fn positions(&self) -> watch::Receiver<Position> {
        self.position.subscribe()
    }

    /// Deltas from now on, one batch per event, in position order. Subscribe first,
    /// then read a snapshot, then skip batches at or below the snapshot's position.
    pub fn subscribe(&self) -> broadcast::Receiver<DeltaBatch> {
        self.deltas.subscribe()
    }

    /// The delta batches of every event after `after`, oldest first, or `None` when
    /// `after` is older than the history kept (the caller then sends a snapshot).
    /// Subscribe before calling, and skip broadcast batches already replayed.
    pub fn replay_since(&self, after: Position) -> Option<Vec<DeltaBatch>> {
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if after < recent.covered_after {
            return None;
        }
        Some(
            recent
                .batches
                .iter()
                .filter(|b| b.first().is_some_and(|d| d.position > after))
                .cloned()
                .collect(),
        )
    }

    pub fn status(&self) -> LiveStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        status.position = self.position();
        status
    }

    fn update_status(&self, change: impl FnOnce(&mut LiveStatus)) {
        change(
            &mut self
                .status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
}

/// Loads the checkpoint (or starts empty) and starts following the log. The task
/// ends when `shutdown` turns true (after a last checkpoint), or with the error of an
/// event it cannot fold, which also shows in [`Live::status`].
///
/// # Errors
/// A storage failure while loading the checkpoint.
pub async fn start(
    store: Store,
    options: LiveOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<Live>, JoinHandle<Result<(), RunError>>), RunError> {
    let projections = checkpoint::load(&store).await?.unwrap_or_default();
    let position = projections.position();
    let (deltas, _) = broadcast::channel(options.delta_buffer.max(16));
    let live = Arc::new(Live {
        state: RwLock::new(projections),
        recent: Mutex::new(Recent {
            batches: std::collections::VecDeque::new(),
            capacity: options.replay_history.max(1),
            covered_after: position,
        }),
        position: watch::Sender::new(position),
        deltas,
        status: Mutex::new(LiveStatus {
            checkpoint_position: position,
            ..LiveStatus::default()
        }),
    });
    let task = tokio::spawn(follow(store, live.clone(), options, shutdown));
    Ok((live, task))
}

async fn follow(
    store: Store,
    live: Arc<Live>,
    options: LiveOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), RunError> {
    let mut tail = store.tail(live.position());
    let mut unsaved = 0u64;
    let mut last_checkpoint = Instant::now();
    let mut saving: Option<JoinHandle<()>> = None;
    let mut last_cost = Duration::ZERO;
    let result = loop {
        let page = tokio::select! {
            page = tail.next(1000) => page,
            _ = shutdown.wait_for(|stop| *stop) => break Ok(()),
        };
        let events = match page {
            Ok(events) => events,
            Err(e) => {
                // The database is unreachable for now; the tail resumes where it was.
                tracing::warn!(error = %e, "reading the log failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = fold(&store, &live, &options, &events).await {
            tracing::error!(error = %e, position = %e.position(), "the read models stopped at an event they cannot fold");
            live.update_status(|s| {
                s.error = Some(e.to_string());
                s.error_position = Some(e.position());
            });
            break Err(RunError::Projection(e));
        }
        unsaved += events.len() as u64;
        // One checkpoint written at a time, in order, and never awaited here: the
        // next events' deltas must not wait for a database write.
        let idle = saving.as_ref().is_none_or(JoinHandle::is_finished);
        let since = last_checkpoint.elapsed();
        // Taking a checkpoint holds the state while it serializes every changed
        // ledger, which grows with the ledgers: keep that under 5% of the time.
        let gap = options.checkpoint_min_gap.max(20 * last_cost);
        if idle
            && ((unsaved >= options.checkpoint_every_events && since >= gap)
                || since >= options.checkpoint_every.max(gap))
        {
            let started = Instant::now();
            let pending = take_pending(&live);
            last_cost = started.elapsed();
            saving = Some(tokio::spawn(save(store.clone(), live.clone(), pending)));
            unsaved = 0;
            last_checkpoint = Instant::now();
        }
    };
    if let Some(saving) = saving {
        let _ = saving.await;
    }
    let pending = take_pending(&live);
    save(store, live, pending).await;
    result
}

async fn fold(
    store: &Store,
    live: &Live,
    options: &LiveOptions,
    events: &[RecordedEvent],
) -> Result<(), crate::error::ProjectionError> {
    for (i, event) in events.iter().enumerate() {
        // A page can hold a thousand events: let the requests waiting on this
        // worker thread run between slices of it.
        if i % 64 == 63 {
            tokio::task::yield_now().await;
        }
        let applied = live
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply_with_alerts(event)?;
        if !applied.deltas.is_empty() {
            let batch: DeltaBatch = applied.deltas.into();
            {
                let mut recent = live
                    .recent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if recent.batches.len() == recent.capacity {
                    if let Some(oldest) = recent.batches.pop_front() {
                        recent.covered_after =
                            oldest.first().map_or(recent.covered_after, |d| d.position);
                    }
                }
                recent.batches.push_back(batch.clone());
            }
            // No subscribers is fine: nobody is watching.
            let _ = live.deltas.send(batch);
        }
        // Only after the batch is out: whoever sees this position and then finds the
        // delta channel empty knows it has every batch up to it.
        live.position.send_replace(event.position);
        if options.raise_alerts {
            for alert in applied.alerts {
                raise(store, event, alert).await;
            }
        }
    }
    Ok(())
}

/// Appends an alert the policy decided. The key makes it once per budget, arming,
/// period and threshold however many processes (or replays after a crash) decide it.
async fn raise(store: &Store, cause: &RecordedEvent, alert: PendingAlert) {
    let key = alert.idempotency_key();
    let request = ledger::commands::budget::raise_alert(
        alert.ledger_id,
        alert.event,
        cause.event_id.as_uuid(),
        key.clone(),
    );
    if let Err(e) = store.append(request).await {
        tracing::error!(error = %e, key, "could not record a budget alert");
    }
}

/// What the next checkpoint holds, taken at one consistent moment of the state.
fn take_pending(live: &Live) -> checkpoint::Pending {
    let mut state = live
        .state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    checkpoint::Pending::take(&mut state)
}

async fn save(store: Store, live: Arc<Live>, pending: checkpoint::Pending) {
    let position = pending.position();
    match pending.save(&store).await {
        Ok(()) => live.update_status(|s| s.checkpoint_position = position),
        Err((e, changed)) => {
            tracing::warn!(error = %e, "checkpoint failed; the next one will include these ledgers");
            live.state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .mark_changed(changed);
        }
    }
}
