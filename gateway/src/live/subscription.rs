//! One follower of the hub, whatever carries its messages: the topics it follows,
//! how far each topic's snapshot or replay covered, and the logic every transport
//! shares: follow, replay since a position, snapshot, accept the hub's frames
//! (skipping what a snapshot already covered), resync after falling behind, stop a
//! ledger whose access was revoked. A WebSocket and an event stream each drive one
//! and only decide how its messages are written.
//!
//! Why nothing is lost, repeated or sent out of order: see `docs/adr/0006-fan-out.md`.

use std::collections::BTreeMap;
use std::sync::Arc;

use ledger::{LedgerId, Position, UserId};
use tokio::sync::mpsc;

use super::hub::{Follower, Frame, Hub, QueueGauge};
use super::message::{self, Message};
use super::snapshot::Sources;
use super::topic::Topic;

/// What a subscription wants written, in order.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) messages: Vec<Message>,
    /// How many of them are deltas (for `ledger_deltas_sent_total`).
    pub(crate) deltas: u64,
    /// How many resyncs this took (for `ledger_resyncs_total`).
    pub(crate) resyncs: u64,
}

impl Outbox {
    pub(crate) fn push(&mut self, message: Message) {
        self.messages.push(message);
    }
}

/// See the module documentation.
pub(crate) struct Subscription {
    sources: Sources,
    follower: Follower,
    queue: mpsc::Receiver<Frame>,
    /// `None` for the admin, who may read every ledger.
    user: Option<UserId>,
    /// Each followed topic, with the position its snapshot or replay covered.
    topics: BTreeMap<Topic, Position>,
    /// The highest position sent.
    sent: Position,
    /// A frame taken from the queue during a subscription that must go out after it.
    held: Option<Frame>,
    /// What `resync` says when this follower fell behind.
    lag_reason: &'static str,
}

impl Subscription {
    /// Joins the hub, following nothing yet.
    pub(crate) fn open(
        hub: &Arc<Hub>,
        sources: Sources,
        user: Option<UserId>,
        lag_reason: &'static str,
    ) -> Subscription {
        let (follower, queue) = hub.join(user);
        Subscription {
            sources,
            follower,
            queue,
            user,
            topics: BTreeMap::new(),
            sent: Position::ZERO,
            held: None,
            lag_reason,
        }
    }

    pub(crate) fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.keys()
    }

    pub(crate) fn follows(&self, topic: Topic) -> bool {
        self.topics.contains_key(&topic)
    }

    pub(crate) fn len(&self) -> usize {
        self.topics.len()
    }

    /// The queue as operators see it (`/v1/connections`).
    pub(crate) fn gauge(&self) -> QueueGauge {
        self.follower.gauge()
    }

    pub(crate) fn unsubscribe(&mut self, topic: Topic) {
        self.topics.remove(&topic);
        self.follower.unfollow(topic);
    }

    /// A frame held back by the last subscription: it goes out before any other.
    pub(crate) fn take_held(&mut self) -> Option<Frame> {
        self.held.take()
    }

    /// The next frame from the hub; `None` once the hub is gone. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Frame> {
        self.queue.recv().await
    }

    /// A frame already queued, if any.
    pub(crate) fn try_recv(&mut self) -> Option<Frame> {
        self.queue.try_recv().ok()
    }

    /// Follows `topics`: replays from `since` when the history still holds it and
    /// that keeps positions in order, otherwise snapshots them all at one position.
    /// `announce`: each topic opens with `subscribed` (the socket protocol). Frames
    /// of other topics the hub queued up to that point go out first, so positions
    /// stay in order across topics too.
    pub(crate) async fn subscribe(
        &mut self,
        topics: &[Topic],
        since: Option<Position>,
        announce: bool,
        out: &mut Outbox,
    ) {
        // Follow first: every change the snapshot or replay misses is then queued.
        for topic in topics {
            self.follower.follow(*topic);
        }
        let replay = since
            .filter(|s| *s >= self.sent)
            .and_then(|s| Some((s, self.sources.live.replay_since(s)?)));
        // The opening messages sort at `key`: the replay's `since` or the snapshots'
        // position.
        let mut opening = Vec::new();
        let mut replayed = Vec::new();
        let (covered, key) = match replay {
            Some((since, batches)) => {
                let mut covered = since;
                for delta in batches.iter().flat_map(|b| b.iter()) {
                    covered = covered.max(delta.position);
                    let topic = Topic::of(delta);
                    if topics.contains(&topic) {
                        replayed.push((delta.position, message::delta_message(topic, delta)));
                    }
                }
                if announce {
                    opening.extend(topics.iter().map(|t| message::subscribed(*t, since, true)));
                }
                (covered, since)
            }
            None => {
                let (position, snapshots) = self.sources.read(topics);
                for (topic, data) in snapshots {
                    if announce {
                        opening.push(message::subscribed(topic, position, false));
                    }
                    opening.push(message::snapshot(topic, position, data));
                }
                (position, position)
            }
        };
        for topic in topics {
            self.topics.insert(*topic, covered);
        }

        // Frames at `covered` itself may follow: equal positions keep the order.
        let wanted = covered.min(self.sources.live.position());
        self.follower.caught_up(wanted).await;
        let mut merged: Vec<(Position, Message)> = opening.into_iter().map(|m| (key, m)).collect();
        let mut earlier = Outbox::default();
        loop {
            let Some(frame) = self.held.take().or_else(|| self.queue.try_recv().ok()) else {
                break;
            };
            let at = match (&frame, frame.position()) {
                (_, Some(position)) if position <= covered => position,
                // Not from the log: it may go now, after everything up to `covered`.
                (Frame::Message(_), None) => covered,
                _ => {
                    self.held = Some(frame);
                    break;
                }
            };
            self.accept(frame, &mut earlier);
            merged.extend(earlier.messages.drain(..).map(|m| (at, m)));
        }
        out.deltas += earlier.deltas + replayed.len() as u64;
        out.resyncs += earlier.resyncs;
        merged.extend(replayed);
        // Stable: the opening stays ahead of everything at its own position.
        merged.sort_by_key(|(p, _)| *p);
        out.messages.extend(merged.into_iter().map(|(_, m)| m));
        self.sent = self.sent.max(covered);
    }

    /// One frame from the hub.
    pub(crate) fn accept(&mut self, frame: Frame, out: &mut Outbox) {
        match frame {
            Frame::Message(published) => {
                // Unfollowed since, or already covered by its snapshot or replay.
                let Some(covered) = self.topics.get(&published.topic) else {
                    return;
                };
                if let Some(position) = published.message.position {
                    if position <= *covered {
                        return;
                    }
                    self.sent = self.sent.max(position);
                    out.deltas += 1;
                }
                out.push(published.message.clone());
            }
            Frame::Revoked(ledger, _) => self.revoked(ledger, out),
            Frame::Lagged => {
                out.resyncs += 1;
                self.resync(out);
            }
        }
    }

    fn revoked(&mut self, ledger: LedgerId, out: &mut Outbox) {
        let before = self.topics.len();
        self.topics.retain(|t, _| t.ledger != ledger);
        if self.topics.len() != before {
            out.push(message::error(
                "forbidden",
                format!("your access to ledger {ledger} was revoked"),
            ));
        }
    }

    /// Fresh snapshots of every followed topic, all at one position.
    fn resync(&mut self, out: &mut Outbox) {
        // Resume before reading: every change after the snapshots is then queued.
        self.follower.resume();
        let user = self.user;
        let gone: Vec<LedgerId> = self.sources.live.read(|p| {
            let mut gone: Vec<LedgerId> = self
                .topics
                .keys()
                .map(|t| t.ledger)
                .filter(|l| user.is_some_and(|u| p.role(*l, u).is_none()))
                .collect();
            gone.dedup();
            gone
        });
        for ledger in gone {
            for topic in self.topics.keys().filter(|t| t.ledger == ledger) {
                self.follower.unfollow(*topic);
            }
            self.revoked(ledger, out);
        }
        let topics: Vec<Topic> = self.topics.keys().copied().collect();
        let (position, snapshots) = self.sources.read(&topics);
        for (topic, data) in snapshots {
            out.push(message::resync(topic, self.lag_reason));
            out.push(message::snapshot(topic, position, data));
            self.topics.insert(topic, position);
        }
        self.sent = self.sent.max(position);
    }

    /// The position a heartbeat may claim: beyond what was sent only when nothing
    /// for this follower is waiting, so no later message carries a lower one.
    pub(crate) fn heartbeat_position(&self) -> Position {
        // Read before looking at the queue: frames up to it were queued before it moved.
        let published = self.follower.published();
        if self.held.is_none() && self.queue.is_empty() {
            self.sent.max(published)
        } else {
            self.sent
        }
    }
}
