//! Serving one socket: subscriptions, snapshots, replay, deltas, heartbeats.
//!
//! One task per socket. It forwards the deltas of the topics the socket subscribed
//! to, in position order, each after the snapshot (or replay) that covers the ones
//! before it, so positions on a socket never go backwards. A socket too slow for the
//! broadcast buffer is told `resync` and gets fresh snapshots; it never holds up
//! anyone else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use ledger::event::Role;
use ledger::Position;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::messages::{self, ClientMessage, Topic};
use super::MAX_CLIENT_MESSAGE;
use crate::auth::Caller;
use crate::state::AppState;

/// How often the server says where the log is, so a client can tell idle from stalled.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);
/// Topics one socket may follow.
const MAX_SUBSCRIPTIONS: usize = 64;
/// Client messages per second; more get an error and are dropped.
const MAX_MESSAGES_PER_SECOND: u32 = 50;

/// Serves a socket until the client leaves, stops answering, or the server stops.
pub(crate) async fn serve<S, E>(mut socket: S, state: AppState, caller: Caller)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
{
    let mut deltas = state.live.subscribe();
    let mut notifications = state.connections.notifications();
    let mut imports = state.imports.subscribe();
    let mut closing = state.closing.clone();
    let registry = state.connections.clone();
    let registration = registry.open(caller.user());
    let mut connection = Connection {
        state,
        caller,
        topics: BTreeMap::new(),
        sent: Position::ZERO,
    };
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_heard = Instant::now();
    let mut window = (Instant::now(), 0u32);
    loop {
        let outgoing: Vec<Value> = tokio::select! {
            incoming = socket.next() => {
                let Some(Ok(message)) = incoming else { break };
                last_heard = Instant::now();
                match message {
                    Message::Text(text) => {
                        if window.0.elapsed() >= Duration::from_secs(1) {
                            window = (Instant::now(), 0);
                        }
                        window.1 += 1;
                        if window.1 > MAX_MESSAGES_PER_SECOND {
                            vec![messages::error("rate_limited", format!("at most {MAX_MESSAGES_PER_SECOND} messages per second"))]
                        } else if text.len() > MAX_CLIENT_MESSAGE {
                            vec![messages::error("too_large", format!("messages have at most {MAX_CLIENT_MESSAGE} bytes"))]
                        } else {
                            connection.handle(text.as_str()).await
                        }
                    }
                    Message::Binary(_) => vec![messages::error("bad_message", "send JSON text frames")],
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => Vec::new(),
                }
            }
            batch = deltas.recv() => match batch {
                Ok(batch) => connection.forward(&batch),
                Err(RecvError::Lagged(_)) => {
                    registry.resyncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    connection.resync("this socket fell behind")
                }
                Err(RecvError::Closed) => break,
            },
            message = imports.recv() => match message {
                Ok((ledger, message)) => connection.import_message(ledger, message),
                // Progress is advisory: a socket that missed some sees the next one.
                Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => break,
            },
            notification = notifications.recv() => match notification {
                Ok(message) => vec![message],
                Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => break,
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > 3 * HEARTBEAT {
                    let _ = socket.send(close(4000, "no answer to pings")).await;
                    break;
                }
                let _ = socket.send(Message::Ping(Default::default())).await;
                vec![json!({ "type": "heartbeat", "position": connection.state.live.position().max(connection.sent) })]
            }
            Ok(()) = closing.changed() => {
                let stopping = *closing.borrow_and_update();
                if stopping {
                    let _ = socket.send(close(1001, "the server is shutting down")).await;
                    break;
                }
                Vec::new()
            }
        };
        let from_log = outgoing
            .iter()
            .filter(|m| m.get("position").is_some() && m["type"] != "heartbeat")
            .count();
        for message in outgoing {
            if socket
                .send(Message::Text(message.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
        registry
            .deltas_sent
            .fetch_add(from_log as u64, std::sync::atomic::Ordering::Relaxed);
        registration.update(
            connection.topics.keys().map(ToString::to_string),
            deltas.len(),
        );
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

struct Connection {
    state: AppState,
    caller: Caller,
    /// Each followed topic, with the position its snapshot or replay covered.
    topics: BTreeMap<Topic, Position>,
    /// The highest position sent on this socket.
    sent: Position,
}

impl Connection {
    async fn handle(&mut self, text: &str) -> Vec<Value> {
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return vec![messages::error("bad_message", e)],
        };
        match message {
            ClientMessage::Ping { id } => vec![json!({ "type": "pong", "id": id })],
            ClientMessage::Unsubscribe { topic } => match Topic::parse(&topic) {
                Some(t) => {
                    self.topics.remove(&t);
                    vec![json!({ "type": "unsubscribed", "topic": topic })]
                }
                None => vec![messages::error(
                    "bad_topic",
                    format!("no such topic {topic:?}"),
                )],
            },
            ClientMessage::Subscribe { topic, since } => {
                let Some(t) = Topic::parse(&topic) else {
                    return vec![messages::error("bad_topic", format!("no such topic {topic:?}: use ledger:<id>:expenses|budgets|analytics|alerts|imports"))];
                };
                if !self.topics.contains_key(&t) && self.topics.len() >= MAX_SUBSCRIPTIONS {
                    return vec![messages::error(
                        "too_many_subscriptions",
                        format!("at most {MAX_SUBSCRIPTIONS} topics per socket"),
                    )];
                }
                if self
                    .caller
                    .require(&self.state, t.ledger, Role::Viewer)
                    .await
                    .is_err()
                {
                    return vec![messages::error(
                        "forbidden",
                        format!("you may not read ledger {}", t.ledger),
                    )];
                }
                self.subscribe(t, since)
            }
        }
    }

    /// Replays from `since` when the history still holds it and that keeps the
    /// socket's positions in order; otherwise a snapshot.
    fn subscribe(&mut self, topic: Topic, since: Option<Position>) -> Vec<Value> {
        if let Some(since) = since.filter(|s| *s >= self.sent) {
            if let Some(batches) = self.state.live.replay_since(since) {
                let mut out = vec![
                    json!({ "type": "subscribed", "topic": topic.to_string(), "position": since, "recovered": true }),
                ];
                let mut covered = since;
                for delta in batches.iter().flat_map(|b| b.iter()) {
                    covered = covered.max(delta.position);
                    if Topic::of(delta) == topic {
                        out.push(messages::delta(topic, delta));
                    }
                }
                self.topics.insert(topic, covered);
                self.sent = self.sent.max(covered);
                return out;
            }
        }
        let (position, data) = self.snapshot(topic);
        self.topics.insert(topic, position);
        self.sent = self.sent.max(position);
        vec![
            json!({ "type": "subscribed", "topic": topic.to_string(), "position": position, "recovered": false }),
            json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data }),
        ]
    }

    fn snapshot(&self, topic: Topic) -> (Position, Value) {
        messages::snapshot(&self.state.live, topic)
    }

    fn forward(&mut self, batch: &[projections::Delta]) -> Vec<Value> {
        let mut out = Vec::new();
        for delta in batch {
            let topic = Topic::of(delta);
            let Some(covered) = self.topics.get(&topic) else {
                continue;
            };
            if delta.position <= *covered {
                continue;
            }
            // A revoked membership stops deliveries at once.
            let still_allowed = self.caller == Caller::Admin
                || self
                    .caller
                    .user()
                    .is_some_and(|u| self.state.live.read(|p| p.role(topic.ledger, u)).is_some());
            if !still_allowed {
                self.topics.retain(|t, _| t.ledger != topic.ledger);
                out.push(messages::error(
                    "forbidden",
                    format!("your access to ledger {} was revoked", topic.ledger),
                ));
                continue;
            }
            out.push(messages::delta(topic, delta));
            self.sent = self.sent.max(delta.position);
        }
        out
    }

    /// An import's `import_progress`, or the `import_completed` of an import that
    /// appended nothing, if this socket follows the ledger's imports topic. Neither
    /// comes from the log, so neither carries a position (an import that appended
    /// announces its end through the log, as a delta).
    fn import_message(&self, ledger: ledger::LedgerId, message: Value) -> Vec<Value> {
        let topic = Topic {
            ledger,
            kind: messages::Kind::Imports,
        };
        if self.topics.contains_key(&topic) {
            vec![message]
        } else {
            Vec::new()
        }
    }

    fn resync(&mut self, reason: &str) -> Vec<Value> {
        let topics: Vec<Topic> = self.topics.keys().copied().collect();
        let mut out = Vec::new();
        for topic in topics {
            out.push(json!({ "type": "resync", "topic": topic.to_string(), "reason": reason }));
            let (position, data) = self.snapshot(topic);
            self.topics.insert(topic, position);
            self.sent = self.sent.max(position);
            out.push(json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data }));
        }
        out
    }
}
