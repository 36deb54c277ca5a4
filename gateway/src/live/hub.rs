//! The hub: one task per process turns the read models' delta batches (and the
//! imports' progress notices) into messages, each serialized once, and hands them
//! only to the followers of their topic. It knows nothing of transports: a follower
//! is whatever drives a [`super::subscription::Subscription`].
//!
//! Every follower has a bounded queue ([`crate::config::DEFAULT_SOCKET_QUEUE`]
//! frames by default). The hub never waits for a follower: when a queue is down to
//! its last slot the hub puts [`Frame::Lagged`] there and feeds that follower nothing
//! more until it has resynchronised with fresh snapshots ([`Follower::resume`]). A
//! slow client costs its own queue and nothing else.
//!
//! Ordering: a batch reaches the hub only after the read models reflect it, and the
//! hub pushes batches in position order. So a follower that first registers a topic
//! ([`Follower::follow`]) and then reads its snapshot at P receives every later
//! change through its queue and skips queued frames at or below P.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ledger::{LedgerId, Position, UserId};
use projections::{Delta, DeltaBatch, Live};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use super::message::{self, Message};
use super::topic::{Kind, Topic};

/// How long a new subscription waits for the hub to have pushed everything up to its
/// snapshot, so it can send those first. The hub does no I/O: it only waits this long
/// when it is not running any more.
const CATCH_UP: Duration = Duration::from_secs(1);

/// A message on a topic, shared by every follower of that topic.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) topic: Topic,
    pub(crate) message: Message,
}

/// A message for a ledger's followers that does not come from the log (an import's
/// progress): `(ledger, message)` as `Imports` sends it.
pub(crate) type Notice = (LedgerId, Value);

/// What a follower's queue holds. Small (a pointer or a ledger id), since every
/// queue block holds 32 of them whether they are used or not.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A delta, or (without a position) an import's progress.
    Message(Arc<Published>),
    /// The follower's access to this ledger ended at this position; the hub stopped
    /// feeding it that ledger's topics.
    Revoked(LedgerId, Position),
    /// Frames were dropped after this one: the follower resynchronises.
    Lagged,
}

impl Frame {
    /// Where the frame stands in the log; `None` for `Lagged` and for messages not
    /// from the log.
    pub(crate) fn position(&self) -> Option<Position> {
        match self {
            Frame::Message(m) => m.message.position,
            Frame::Revoked(_, p) => Some(*p),
            Frame::Lagged => None,
        }
    }
}

struct Entry {
    queue: mpsc::Sender<Frame>,
    /// `None` for the admin, who may read every ledger.
    user: Option<UserId>,
    lagging: bool,
    topics: Vec<Topic>,
    /// Frames not queued for this follower because its queue was full.
    drops: u64,
}

#[derive(Default)]
struct Index {
    entries: HashMap<u64, Entry>,
    followers: HashMap<Topic, Vec<u64>>,
}

impl Index {
    fn unfollow(&mut self, id: u64, topic: Topic) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.topics.retain(|t| *t != topic);
        }
        if let Some(ids) = self.followers.get_mut(&topic) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.followers.remove(&topic);
            }
        }
    }
}

/// The fan-out hub; see the module documentation.
pub(crate) struct Hub {
    index: Mutex<Index>,
    next_id: AtomicU64,
    capacity: usize,
    live: Arc<Live>,
    /// Every batch at or below this position has been offered to the followers.
    published: watch::Sender<Position>,
    queue_drops: AtomicU64,
}

impl Hub {
    /// A hub whose followers' queues hold `capacity` frames (at least 2: the last slot
    /// is kept for the `Lagged` marker).
    pub(crate) fn new(live: Arc<Live>, capacity: usize) -> Arc<Hub> {
        let published = watch::Sender::new(live.position());
        Arc::new(Hub {
            index: Mutex::default(),
            next_id: AtomicU64::new(1),
            capacity: capacity.max(2),
            live,
            published,
            queue_drops: AtomicU64::new(0),
        })
    }

    /// Starts the hub's task. It subscribes before returning, so no batch folded
    /// after this call is missed; it ends when `closing` turns true. `notices` are
    /// the imports' progress messages.
    pub(crate) fn start(
        self: &Arc<Self>,
        closing: watch::Receiver<bool>,
        notices: broadcast::Receiver<Notice>,
    ) -> JoinHandle<()> {
        let batches = self.live.subscribe();
        let positions = self.live.positions();
        tokio::spawn(self.clone().run(batches, positions, notices, closing))
    }

    async fn run(
        self: Arc<Self>,
        mut batches: broadcast::Receiver<DeltaBatch>,
        mut positions: watch::Receiver<Position>,
        mut notices: broadcast::Receiver<Notice>,
        mut closing: watch::Receiver<bool>,
    ) {
        let mut notices_open = true;
        loop {
            tokio::select! {
                // Notices first: an import's last progress was sent before its append,
                // so it goes out before the append's deltas. They are few (at most ten
                // a second per import), so they cannot starve the batches.
                biased;
                notice = notices.recv(), if notices_open => match notice {
                    Ok((ledger, message)) => self.announce(ledger, &message),
                    // Progress is advisory: followers that missed some see the next one.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "fan-out skipped import progress");
                    }
                    Err(RecvError::Closed) => notices_open = false,
                },
                batch = batches.recv() => match batch {
                    Ok(batch) => self.publish(&batch),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "fan-out fell behind the read models; every follower resyncs");
                        self.lag_everyone();
                    }
                    Err(RecvError::Closed) => break,
                },
                changed = positions.changed() => if changed.is_err() { break },
                _ = closing.wait_for(|stop| *stop) => break,
            }
            // Read the position before looking at the channel: the read models send a
            // batch before they move the position, so if the channel is empty now, every
            // batch up to `reached` has been published (events without deltas included).
            let reached = *positions.borrow_and_update();
            if batches.is_empty() {
                self.mark_published(reached);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_published(&self, position: Position) {
        self.published.send_if_modified(|p| {
            let later = position > *p;
            if later {
                *p = position;
            }
            later
        });
    }

    /// Registers a follower with an empty queue; it follows nothing yet.
    pub(crate) fn join(
        self: &Arc<Self>,
        user: Option<UserId>,
    ) -> (Follower, mpsc::Receiver<Frame>) {
        let (queue, frames) = mpsc::channel(self.capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entries.insert(
            id,
            Entry {
                queue,
                user,
                lagging: false,
                topics: Vec::new(),
                drops: 0,
            },
        );
        (
            Follower {
                hub: self.clone(),
                id,
            },
            frames,
        )
    }

    /// Frames not queued because a follower's queue was full.
    pub(crate) fn queue_drops(&self) -> u64 {
        self.queue_drops.load(Ordering::Relaxed)
    }

    fn publish(&self, batch: &[Delta]) {
        let Some(last) = batch.last() else { return };
        {
            let mut index = self.lock();
            if !index.followers.is_empty() {
                self.stop_revoked(&mut index, batch);
                let Index { entries, followers } = &mut *index;
                for delta in batch {
                    let topic = Topic::of(delta);
                    let Some(ids) = followers.get(&topic) else {
                        continue;
                    };
                    // Serialized once, here, whoever follows it.
                    let frame = Arc::new(Published {
                        topic,
                        message: message::delta_message(topic, delta),
                    });
                    for id in ids {
                        if let Some(entry) = entries.get_mut(id) {
                            self.offer(entry, Frame::Message(frame.clone()));
                        }
                    }
                }
            }
        }
        self.mark_published(last.position);
    }

    /// Offers a message that is not from the log to the followers of the ledger's
    /// imports topic.
    fn announce(&self, ledger: LedgerId, message: &Value) {
        let topic = Topic::imports(ledger);
        let mut index = self.lock();
        let Index { entries, followers } = &mut *index;
        let Some(ids) = followers.get(&topic) else {
            return;
        };
        let frame = Arc::new(Published {
            topic,
            message: Message::from_json(message),
        });
        for id in ids {
            if let Some(entry) = entries.get_mut(id) {
                self.offer(entry, Frame::Message(frame.clone()));
            }
        }
    }

    /// Stops feeding followers whose access to a ledger of this batch is gone. One
    /// look at the read models per ledger and batch, not per delivery.
    fn stop_revoked(&self, index: &mut Index, batch: &[Delta]) {
        let mut ledgers: Vec<(LedgerId, Position)> = Vec::new();
        for delta in batch {
            if !ledgers.iter().any(|(l, _)| *l == delta.ledger_id) {
                ledgers.push((delta.ledger_id, delta.position));
            }
        }
        for (ledger, position) in ledgers {
            let mut readers: Vec<(u64, UserId)> = Kind::ALL
                .iter()
                .filter_map(|kind| {
                    index.followers.get(&Topic {
                        ledger,
                        kind: *kind,
                    })
                })
                .flatten()
                .filter_map(|id| Some((*id, index.entries.get(id)?.user?)))
                .collect();
            if readers.is_empty() {
                continue;
            }
            readers.sort_unstable();
            readers.dedup();
            let revoked: Vec<u64> = self.live.read(|p| {
                readers
                    .iter()
                    .filter(|(_, user)| p.role(ledger, *user).is_none())
                    .map(|(id, _)| *id)
                    .collect()
            });
            for id in revoked {
                for kind in Kind::ALL {
                    index.unfollow(id, Topic { ledger, kind });
                }
                if let Some(entry) = index.entries.get_mut(&id) {
                    self.offer(entry, Frame::Revoked(ledger, position));
                }
            }
        }
    }

    /// Queues a frame without ever waiting; a follower down to its last slot gets
    /// the `Lagged` marker there instead and nothing more until it resumes.
    fn offer(&self, entry: &mut Entry, frame: Frame) {
        if entry.lagging {
            self.queue_drops.fetch_add(1, Ordering::Relaxed);
            entry.drops += 1;
            return;
        }
        // Only the hub sends, under the index lock, so the capacity seen here can only
        // grow before the send. A closed queue belongs to a follower on its way out.
        if entry.queue.capacity() > 1 {
            let _ = entry.queue.try_send(frame);
            return;
        }
        self.queue_drops.fetch_add(1, Ordering::Relaxed);
        entry.drops += 1;
        entry.lagging = true;
        let _ = entry.queue.try_send(Frame::Lagged);
    }

    fn lag_everyone(&self) {
        let mut index = self.lock();
        for entry in index.entries.values_mut() {
            if !entry.lagging {
                entry.lagging = true;
                let _ = entry.queue.try_send(Frame::Lagged);
            }
        }
    }
}

/// A follower's registration with the hub; it leaves the hub when dropped.
pub(crate) struct Follower {
    hub: Arc<Hub>,
    id: u64,
}

impl Follower {
    /// Starts queueing `topic`'s frames. Call before reading its snapshot.
    pub(crate) fn follow(&self, topic: Topic) {
        let mut index = self.hub.lock();
        let Some(entry) = index.entries.get_mut(&self.id) else {
            return;
        };
        if entry.topics.contains(&topic) {
            return;
        }
        entry.topics.push(topic);
        index.followers.entry(topic).or_default().push(self.id);
    }

    pub(crate) fn unfollow(&self, topic: Topic) {
        self.hub.lock().unfollow(self.id, topic);
    }

    /// Feeds the follower again after a `Lagged` marker. Call before reading the
    /// fresh snapshots.
    pub(crate) fn resume(&self) {
        if let Some(entry) = self.hub.lock().entries.get_mut(&self.id) {
            entry.lagging = false;
        }
    }

    /// A view of this follower's queue for operators, readable from elsewhere.
    pub(crate) fn gauge(&self) -> QueueGauge {
        QueueGauge {
            hub: self.hub.clone(),
            id: self.id,
        }
    }

    /// Every batch at or below this position has been offered to the followers.
    pub(crate) fn published(&self) -> Position {
        *self.hub.published.borrow()
    }

    /// Waits (bounded) until the hub has offered every batch up to `position`.
    pub(crate) async fn caught_up(&self, position: Position) {
        let mut published = self.hub.published.subscribe();
        let _ = tokio::time::timeout(CATCH_UP, published.wait_for(|p| *p >= position)).await;
    }
}

/// A follower's queue as `/v1/connections` shows it. Read from the hub's side, so
/// it is true even while the follower's task is stuck writing to a slow client
/// (which is when an operator looks).
#[derive(Clone)]
pub(crate) struct QueueGauge {
    hub: Arc<Hub>,
    id: u64,
}

impl QueueGauge {
    /// Frames waiting in the queue, and frames dropped because it was full; zeros
    /// once the follower has left.
    pub(crate) fn read(&self) -> (usize, u64) {
        let index = self.hub.lock();
        index.entries.get(&self.id).map_or((0, 0), |entry| {
            let queued = entry.queue.max_capacity() - entry.queue.capacity();
            (queued, entry.drops)
        })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let mut index = self.hub.lock();
        if let Some(entry) = index.entries.remove(&self.id) {
            for topic in entry.topics {
                if let Some(ids) = index.followers.get_mut(&topic) {
                    ids.retain(|i| *i != self.id);
                    if ids.is_empty() {
                        index.followers.remove(&topic);
                    }
                }
            }
        }
    }
}
