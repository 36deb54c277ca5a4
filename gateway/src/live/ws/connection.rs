//! Serving one socket: the client's messages, the subscription's, heartbeats.
//!
//! One task per socket. The follow / replay / snapshot / resync logic is the
//! [`Subscription`]'s, shared with event streams; this loop reads the client's
//! messages, writes the subscription's as text frames in bursts, pings, and closes.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt, Stream, StreamExt};
use ledger::event::Role;
use ledger::Position;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::messages::ClientMessage;
use super::MAX_CLIENT_MESSAGE;
use crate::auth::Caller;
use crate::live::connections::Registration;
use crate::live::message::{self, Message as Outgoing};
use crate::live::since::{self, Since};
use crate::live::subscription::{Outbox, Subscription};
use crate::live::topic::Topic;
use crate::live::Sources;
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
pub(crate) async fn serve<S, E>(
    mut socket: S,
    state: AppState,
    caller: Caller,
    registration: Registration,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin + Send,
    E: std::error::Error + 'static,
{
    let mut notifications = state.connections.notifications();
    let mut closing = state.closing.clone();
    let sources = Sources {
        live: state.live.clone(),
        imports: state.imports.clone(),
    };
    let subscription = Subscription::open(
        &state.hub,
        sources,
        caller.user(),
        "this socket fell behind",
    );
    registration.watch(subscription.gauge());
    let mut client = Client {
        state,
        caller,
        subscription,
        window: (Instant::now(), 0),
    };
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_heard = Instant::now();
    loop {
        let mut out = Outbox::default();
        // Pings are protocol frames, not messages: they go out ahead of the burst.
        let mut ping = false;
        let topics_before = client.subscription.len();
        // The operator's view changes on what the client does, not on every delta:
        // updating it per delta would take a process-wide lock per delivery.
        let mut seen = false;
        if let Some(frame) = client.subscription.take_held() {
            client.subscription.accept(frame, &mut out);
        } else {
            tokio::select! {
                incoming = socket.next() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(e)) if too_large(&e) => {
                            let _ = socket.send(close(1009, TOO_LARGE)).await;
                            drain(&mut socket).await;
                            break;
                        }
                        _ => break,
                    };
                    last_heard = Instant::now();
                    seen = true;
                    match message {
                        // Boxed: authorization may query the database, a large
                        // future that idle sockets should not carry inline.
                        Message::Text(text) => Box::pin(client.handle(text.as_str(), &mut out)).await,
                        Message::Binary(_) => out.push(message::error("bad_message", "send JSON text frames")),
                        Message::Close(_) => break,
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                frame = client.subscription.recv() => match frame {
                    Some(frame) => {
                        client.subscription.accept(frame, &mut out);
                        // Whatever else is ready goes in the same burst.
                        while out.messages.len() < BURST {
                            let Some(frame) = client.subscription.try_recv() else { break };
                            client.subscription.accept(frame, &mut out);
                        }
                    }
                    None => break,
                },
                notification = notifications.recv() => match notification {
                    Ok(value) => out.push(Outgoing::from_json(&value)),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > 3 * HEARTBEAT {
                        let _ = socket.send(close(4000, "no answer to pings")).await;
                        break;
                    }
                    seen = true;
                    ping = true;
                    let position = client.subscription.heartbeat_position();
                    out.push(Outgoing::from_json(&json!({ "type": "heartbeat", "position": position })));
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
        registration.resynced(out.resyncs);
        if ping || !out.messages.is_empty() {
            let deltas = out.deltas;
            let frames = ping
                .then(|| Message::Ping(Default::default()))
                .into_iter()
                .chain(out.messages.into_iter().map(text_frame));
            // A client that stopped reading is one that stopped answering pings; the
            // hub has stopped queueing for it long before this.
            let burst = tokio::time::timeout(3 * HEARTBEAT, write(&mut socket, frames));
            if !matches!(burst.await, Ok(true)) {
                return;
            }
            registration.sent(deltas);
        }
        if seen || client.subscription.len() != topics_before {
            registration.update(client.subscription.topics().map(ToString::to_string));
        }
    }
}

/// A message as a text frame. Its text was made from a `String`, so the check
/// always passes; it costs a pass over bytes the socket copies anyway.
fn text_frame(message: Outgoing) -> Message {
    match Utf8Bytes::try_from(message.text) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Text(Utf8Bytes::from_static("{}")),
    }
}

/// Writes messages as one burst: buffered, then flushed once. False when the
/// socket is gone.
async fn write<S>(socket: &mut S, messages: impl Iterator<Item = Message>) -> bool
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

/// The close reason for a message over the socket's limit (4 × `MAX_CLIENT_MESSAGE`).
const TOO_LARGE: &str = "a message may have at most 65536 bytes";

/// Whether reading failed on a message or frame over the configured size.
fn too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<tungstenite::error::CapacityError>()
            .is_some()
            || matches!(
                e.downcast_ref::<tungstenite::Error>(),
                Some(tungstenite::Error::Capacity(_))
            )
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// After closing on a message that was too large: reads (and drops) what the
/// client still sends, for a short while, so the socket is not closed on unread
/// bytes. A TCP reset could otherwise overtake the close frame on its way.
async fn drain<S, E>(socket: &mut S)
where
    S: Stream<Item = Result<Message, E>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(read)) = tokio::time::timeout_at(deadline, socket.next()).await {
        if matches!(read, Ok(Message::Close(_))) {
            break;
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// One socket's client: its subscription and what it is allowed.
struct Client {
    state: AppState,
    caller: Caller,
    subscription: Subscription,
    /// The current second and the messages heard in it.
    window: (Instant, u32),
}

impl Client {
    /// A subscription's `since`, or the `error` that refuses it (nothing is followed).
    async fn since(&self, since: i64) -> Result<Position, Outgoing> {
        let Ok(since) = Position::new(since) else {
            return Err(message::error(
                "bad_since",
                "since must be a log position: a whole number, 0 or more",
            ));
        };
        match since::check(&self.state, since).await {
            Ok(Since::Resume(since)) => Ok(since),
            Ok(Since::BeyondHead(head)) => Err(message::error(
                "bad_since",
                format!("since {since} is beyond the log's head ({head}); subscribe without since for a snapshot"),
            )),
            Err(_) => Err(message::error("unavailable", "the log cannot be read now; try again")),
        }
    }

    async fn handle(&mut self, text: &str, out: &mut Outbox) {
        if self.window.0.elapsed() >= Duration::from_secs(1) {
            self.window = (Instant::now(), 0);
        }
        self.window.1 += 1;
        if self.window.1 > MAX_MESSAGES_PER_SECOND {
            return out.push(message::error(
                "rate_limited",
                format!("at most {MAX_MESSAGES_PER_SECOND} messages per second"),
            ));
        }
        if text.len() > MAX_CLIENT_MESSAGE {
            return out.push(message::error(
                "too_large",
                format!("messages have at most {MAX_CLIENT_MESSAGE} bytes"),
            ));
        }
        let message = match ClientMessage::parse(text) {
            Ok(m) => m,
            Err(e) => return out.push(message::error("bad_message", e)),
        };
        match message {
            ClientMessage::Ping { id } => {
                out.push(Outgoing::from_json(&json!({ "type": "pong", "id": id })));
            }
            ClientMessage::Unsubscribe { topic } => match Topic::parse(&topic) {
                Some(t) => {
                    self.subscription.unsubscribe(t);
                    out.push(Outgoing::from_json(
                        &json!({ "type": "unsubscribed", "topic": topic }),
                    ));
                }
                None => out.push(message::error(
                    "bad_topic",
                    format!("no such topic {topic:?}"),
                )),
            },
            ClientMessage::Subscribe { topic, since } => {
                let Some(t) = Topic::parse(&topic) else {
                    return out.push(message::error("bad_topic", format!("no such topic {topic:?}: use ledger:<id>:expenses|budgets|analytics|alerts|imports")));
                };
                if !self.subscription.follows(t) && self.subscription.len() >= MAX_SUBSCRIPTIONS {
                    return out.push(message::error(
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
                    return out.push(message::error(
                        "forbidden",
                        format!("you may not read ledger {}", t.ledger),
                    ));
                }
                let since = match since.map(|s| self.since(s)) {
                    None => None,
                    Some(checked) => match checked.await {
                        Ok(since) => Some(since),
                        Err(error) => return out.push(error),
                    },
                };
                self.subscription.subscribe(&[t], since, true, out).await;
            }
        }
    }
}
