//! Serving one socket: subscriptions, snapshots, replay, deltas, heartbeats.
//!
//! One task per socket. Deltas come ready to write from the fan-out hub
//! ([`crate::fanout`]) through this socket's bounded queue; the task checks each
//! against the position its topic's snapshot (or replay) covered, so positions on a
//! socket never go backwards and never repeat. A socket whose queue overflowed finds
//! a `Lagged` marker, says `resync` and sends fresh snapshots; it never holds up
//! anyone else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use ledger::event::Role;
use ledger::{LedgerId, Position};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::messages::{self, ClientMessage, Topic};
use super::MAX_CLIENT_MESSAGE;
use crate::auth::Caller;
use crate::fanout::{DeltaFrame, Follower, Frame};
use crate::state::AppState;

/// How often the server says where the log is, so a client can tell idle from stalled.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);
/// Topics one socket may follow.
const MAX_SUBSCRIPTIONS: usize = 64;
/// Client messages per second; more get an error and are dropped.
const MAX_MESSAGES_PER_SECOND: u32 = 50;
/// Queued frames written with one flush, at most.
const BURST: usize = 64;

/// Serves a socket until the client leaves, stops answering, or the server stops.
pub(crate) async fn serve<S, E>(mut socket: S, state: AppState, caller: Caller)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
{
    let mut notifications = state.connections.notifications();
    let mut imports = state.imports.subscribe();
    let mut closing = state.closing.clone();
    let registry = state.connections.clone();
    let registration = registry.open(caller.user());
    let (follower, mut queue) = state.hub.join(caller.user());
    let mut connection = Connection {
        state,
        caller,
        follower,
        topics: BTreeMap::new(),
        sent: Position::ZERO,
        held: None,
    };
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_heard = Instant::now();
    let mut window = (Instant::now(), 0u32);
    loop {
        let mut out = Outgoing {
            topics_before: connection.topics.len(),
            ..Outgoing::default()
        };
        // The operator's view changes on what the client does, not on every delta:
        // updating it per delta would take a process-wide lock per delivery.
        let mut seen = false;
        if let Some(frame) = connection.held.take() {
            connection.accept(frame, &mut out);
        } else {
            tokio::select! {
                incoming = socket.next() => {
                    let Some(Ok(message)) = incoming else { break };
                    last_heard = Instant::now();
                    seen = true;
                    match message {
                        Message::Text(text) => {
                            if window.0.elapsed() >= Duration::from_secs(1) {
                                window = (Instant::now(), 0);
                            }
                            window.1 += 1;
                            if window.1 > MAX_MESSAGES_PER_SECOND {
                                out.json(messages::error("rate_limited", format!("at most {MAX_MESSAGES_PER_SECOND} messages per second")));
                            } else if text.len() > MAX_CLIENT_MESSAGE {
                                out.json(messages::error("too_large", format!("messages have at most {MAX_CLIENT_MESSAGE} bytes")));
                            } else {
                                // Boxed: authorization may query the database, a large
                                // future that idle sockets should not carry inline.
                                Box::pin(connection.handle(text.as_str(), &mut queue, &mut out)).await;
                            }
                        }
                        Message::Binary(_) => out.json(messages::error("bad_message", "send JSON text frames")),
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                frame = queue.recv() => match frame {
                    Some(frame) => {
                        connection.accept(frame, &mut out);
                        // Whatever else is ready goes in the same burst.
                        while out.messages.len() < BURST {
                            let Ok(frame) = queue.try_recv() else { break };
                            connection.accept(frame, &mut out);
                        }
                    }
                    None => break,
                },
                message = imports.recv() => match message {
                    Ok((ledger, message)) => connection.import_message(ledger, message, &mut out),
                    // Progress is advisory: a socket that missed some sees the next one.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                notification = notifications.recv() => match notification {
                    Ok(message) => out.json(message),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > 3 * HEARTBEAT {
                        let _ = socket.send(close(4000, "no answer to pings")).await;
                        break;
                    }
                    seen = true;
                    out.messages.push(Message::Ping(Default::default()));
                    let position = connection.heartbeat_position(&queue);
                    out.json(json!({ "type": "heartbeat", "position": position }));
                }
                Ok(()) = closing.changed() => {
                    let stopping = *closing.borrow_and_update();
                    if stopping {
                        let _ = socket.send(close(1001, "the server is shutting down")).await;
                        break;
                    }
                }
            }
        }
        if !out.messages.is_empty() {
            let deltas = out.deltas;
            // A client that stopped reading is one that stopped answering pings; the
            // hub has stopped queueing for it long before this.
            let burst = tokio::time::timeout(3 * HEARTBEAT, write(&mut socket, out.messages));
            if !matches!(burst.await, Ok(true)) {
                return;
            }
            registry
                .deltas_sent
                .fetch_add(deltas, std::sync::atomic::Ordering::Relaxed);
        }
        if seen || connection.topics.len() != out.topics_before {
            registration.update(
                connection.topics.keys().map(ToString::to_string),
                queue.len(),
            );
        }
    }
}

/// Writes messages as one burst: buffered, then flushed once. False when the
/// socket is gone.
async fn write<S>(socket: &mut S, messages: Vec<Message>) -> bool
where
    S: Sink<Message> + Unpin,
{
    for message in messages {
        if socket.feed(message).await.is_err() {
            return false;
        }
    }
    socket.flush().await.is_ok()
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// What one turn of the loop writes.
#[derive(Default)]
struct Outgoing {
    messages: Vec<Message>,
    /// How many of them are deltas (for `ledger_deltas_sent_total`).
    deltas: u64,
    /// Subscriptions before this turn, to notice a change.
    topics_before: usize,
}

impl Outgoing {
    fn json(&mut self, message: Value) {
        self.messages
            .push(Message::Text(message.to_string().into()));
    }

    fn delta(&mut self, frame: &DeltaFrame) {
        self.messages.push(Message::Text(frame.text.clone()));
        self.deltas += 1;
    }
}

struct Connection {
    state: AppState,
    caller: Caller,
    follower: Follower,
    /// Each followed topic, with the position its snapshot or replay covered.
    topics: BTreeMap<Topic, Position>,
    /// The highest position sent on this socket.
    sent: Position,
    /// A frame taken from the queue during a subscription that must go out after it.
    held: Option<Frame>,
}

impl Connection {
    async fn handle(&mut self, text: &str, queue: &mut mpsc::Receiver<Frame>, out: &mut Outgoing) {
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return out.json(messages::error("bad_message", e)),
        };
        match message {
            ClientMessage::Ping { id } => out.json(json!({ "type": "pong", "id": id })),
            ClientMessage::Unsubscribe { topic } => match Topic::parse(&topic) {
                Some(t) => {
                    self.topics.remove(&t);
                    self.follower.unfollow(t);
                    out.json(json!({ "type": "unsubscribed", "topic": topic }));
                }
                None => out.json(messages::error(
                    "bad_topic",
                    format!("no such topic {topic:?}"),
                )),
            },
            ClientMessage::Subscribe { topic, since } => {
                let Some(t) = Topic::parse(&topic) else {
                    return out.json(messages::error("bad_topic", format!("no such topic {topic:?}: use ledger:<id>:expenses|budgets|analytics|alerts|imports")));
                };
                if !self.topics.contains_key(&t) && self.topics.len() >= MAX_SUBSCRIPTIONS {
                    return out.json(messages::error(
                        "too_many_subscriptions",
                        format!("at most {MAX_SUBSCRIPTIONS} topics per socket"),
                    ));
                }
                if self
                    .caller
                    .require(&self.state, t.ledger, Role::Viewer)
                    .await
                    .is_err()
                {
                    return out.json(messages::error(
                        "forbidden",
                        format!("you may not read ledger {}", t.ledger),
                    ));
                }
                self.subscribe(t, since, queue, out).await;
            }
        }
    }

    /// Replays from `since` when the history still holds it and that keeps the
    /// socket's positions in order; otherwise a snapshot. Deltas of other topics the
    /// hub queued up to that point go out first, so positions stay in order across
    /// topics too.
    async fn subscribe(
        &mut self,
        topic: Topic,
        since: Option<Position>,
        queue: &mut mpsc::Receiver<Frame>,
        out: &mut Outgoing,
    ) {
        // Follow first: every change the snapshot or replay misses is then queued.
        self.follower.follow(topic);
        let replay = since
            .filter(|s| *s >= self.sent)
            .and_then(|s| Some((s, self.state.live.replay_since(s)?)));
        // The opening messages sort at `key`: the replay's `since` or the snapshot's position.
        let (covered, key, opening, replayed) = match replay {
            Some((since, batches)) => {
                let mut covered = since;
                let mut replayed = Vec::new();
                for delta in batches.iter().flat_map(|b| b.iter()) {
                    covered = covered.max(delta.position);
                    if Topic::of(delta) == topic {
                        replayed.push((delta.position, messages::delta(topic, delta)));
                    }
                }
                let subscribed = json!({ "type": "subscribed", "topic": topic.to_string(), "position": since, "recovered": true });
                (covered, since, vec![subscribed], replayed)
            }
            None => {
                let (position, data) = messages::snapshot(&self.state.live, topic);
                let opening = vec![
                    json!({ "type": "subscribed", "topic": topic.to_string(), "position": position, "recovered": false }),
                    json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data }),
                ];
                (position, position, opening, Vec::new())
            }
        };
        self.topics.insert(topic, covered);

        // Frames at `covered` itself may follow: equal positions keep the order.
        let wanted = covered.min(self.state.live.position());
        self.follower.caught_up(wanted).await;
        let mut merged: Vec<(Position, Message)> = opening
            .into_iter()
            .map(|m| (key, Message::Text(m.to_string().into())))
            .collect();
        let mut earlier = Outgoing::default();
        loop {
            let frame = match self.held.take() {
                Some(frame) => frame,
                None => match queue.try_recv() {
                    Ok(frame) => frame,
                    Err(_) => break,
                },
            };
            match frame.position() {
                Some(position) if position <= covered => {
                    self.accept(frame, &mut earlier);
                    merged.extend(earlier.messages.drain(..).map(|m| (position, m)));
                }
                _ => {
                    self.held = Some(frame);
                    break;
                }
            }
        }
        out.deltas += earlier.deltas + replayed.len() as u64;
        merged.extend(
            replayed
                .into_iter()
                .map(|(p, m)| (p, Message::Text(m.to_string().into()))),
        );
        // Stable: the opening stays ahead of everything at its own position.
        merged.sort_by_key(|(p, _)| *p);
        out.messages.extend(merged.into_iter().map(|(_, m)| m));
        self.sent = self.sent.max(covered);
    }

    /// One frame from the hub.
    fn accept(&mut self, frame: Frame, out: &mut Outgoing) {
        match frame {
            Frame::Delta(delta) => {
                // Unfollowed since, or already covered by its snapshot or replay.
                let Some(covered) = self.topics.get(&delta.topic) else {
                    return;
                };
                if delta.position <= *covered {
                    return;
                }
                self.sent = self.sent.max(delta.position);
                out.delta(&delta);
            }
            Frame::Revoked(ledger, _) => self.revoked(ledger, out),
            Frame::Lagged => {
                self.state
                    .connections
                    .resyncs
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.resync("this socket fell behind", out);
            }
        }
    }

    /// An import's `import_progress`, or the `import_completed` of an import that
    /// appended nothing, if this socket follows the ledger's imports topic. Neither
    /// comes from the log, so neither carries a position (an import that appended
    /// announces its end through the log, as a delta).
    fn import_message(&self, ledger: LedgerId, message: Value, out: &mut Outgoing) {
        let topic = Topic {
            ledger,
            kind: messages::Kind::Imports,
        };
        if self.topics.contains_key(&topic) {
            out.json(message);
        }
    }

    fn revoked(&mut self, ledger: LedgerId, out: &mut Outgoing) {
        let before = self.topics.len();
        self.topics.retain(|t, _| t.ledger != ledger);
        if self.topics.len() != before {
            out.json(messages::error(
                "forbidden",
                format!("your access to ledger {ledger} was revoked"),
            ));
        }
    }

    /// Fresh snapshots of every followed topic, all at one position.
    fn resync(&mut self, reason: &str, out: &mut Outgoing) {
        // Resume before reading: every change after the snapshots is then queued.
        self.follower.resume();
        let user = self.caller.user();
        let gone: Vec<LedgerId> = self.state.live.read(|p| {
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
        let (position, snapshots) = messages::snapshots(&self.state.live, &topics);
        for (topic, data) in snapshots {
            out.json(json!({ "type": "resync", "topic": topic.to_string(), "reason": reason }));
            out.json(json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data }));
            self.topics.insert(topic, position);
        }
        self.sent = self.sent.max(position);
    }

    /// The position a heartbeat may claim: beyond what was sent only when nothing
    /// for this socket is waiting, so no later message carries a lower one.
    fn heartbeat_position(&self, queue: &mpsc::Receiver<Frame>) -> Position {
        // Read before looking at the queue: frames up to it were queued before it moved.
        let published = self.follower.published();
        if self.held.is_none() && queue.is_empty() {
            self.sent.max(published)
        } else {
            self.sent
        }
    }
}
