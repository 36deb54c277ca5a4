//! The same topics as Server-Sent Events: `GET /v1/ledgers/{lid}/stream?topics=...`.
//! The position is each event's SSE `id`, so a reconnecting client's `Last-Event-ID`
//! resumes after it (`curl -N` is a client). Deltas come from the fan-out hub like a
//! socket's, through a bounded queue; a stream that falls behind gets `resync` and
//! fresh snapshots.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use ledger::event::Role;
use ledger::{LedgerId, Position, UserId};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::fanout::{Follower, Frame};
use crate::state::AppState;
use crate::ws::messages::{self, Topic};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
    /// Comma-separated: `expenses,budgets,analytics,alerts,imports` (default: all).
    topics: Option<String>,
    /// Like `Last-Event-ID`, for clients that cannot set headers.
    #[param(value_type = Option<i64>)]
    since: Option<Position>,
    /// Browsers' EventSource cannot set headers either.
    #[allow(dead_code)]
    #[param(ignore)] // the `token_query` security scheme describes it
    token: Option<String>,
}

fn event(message: &Value) -> Event {
    let mut event = Event::default().data(message.to_string());
    if let Some(kind) = message["type"].as_str() {
        event = event.event(kind);
    }
    if let Some(position) = message["position"].as_i64() {
        event = event.id(position.to_string());
    }
    event
}

pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let mut topics = Vec::new();
    for name in query
        .topics
        .as_deref()
        .unwrap_or("expenses,budgets,analytics,alerts,imports")
        .split(',')
    {
        let topic = Topic::parse(&format!("ledger:{ledger}:{}", name.trim()))
            .ok_or_else(|| ApiError::invalid("topics", format!("no topic {name:?}")))?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    let since = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<Position>().ok())
                .ok_or_else(|| ApiError::invalid("Last-Event-ID", "a position"))?,
        ),
        None => query.since,
    };

    // Follow first, then read: every change after the snapshot or replay is queued.
    let (follower, queue) = state.hub.join(caller.user());
    for topic in &topics {
        follower.follow(*topic);
    }
    let mut pending = VecDeque::new();
    let covered = match since.and_then(|p| state.live.replay_since(p).map(|b| (p, b))) {
        Some((p, batches)) => {
            let mut covered = p;
            for delta in batches.iter().flat_map(|b| b.iter()) {
                covered = covered.max(delta.position);
                let topic = Topic::of(delta);
                if topics.contains(&topic) {
                    pending.push_back(event(&messages::delta(topic, delta)));
                }
            }
            covered
        }
        None => snapshots(&state.live, &topics, None, &mut pending),
    };
    let feed = Feed {
        follower,
        queue,
        pending,
        covered,
        closing: state.closing.clone(),
        topics,
        ledger,
        user: caller.user(),
        live: state.live.clone(),
        ended: false,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let next = feed.next().await?;
        Some((Ok(next), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Queues a snapshot of every topic, all at one position (preceded by `resync` when
/// the stream fell behind), and returns that position.
fn snapshots(
    live: &projections::Live,
    topics: &[Topic],
    resync: Option<&str>,
    pending: &mut VecDeque<Event>,
) -> Position {
    let (position, snapshots) = messages::snapshots(live, topics);
    for (topic, data) in snapshots {
        if let Some(reason) = resync {
            pending.push_back(event(
                &json!({ "type": "resync", "topic": topic.to_string(), "reason": reason }),
            ));
        }
        pending.push_back(event(&json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data })));
    }
    position
}

/// One stream's state between events.
struct Feed {
    follower: Follower,
    queue: mpsc::Receiver<Frame>,
    pending: VecDeque<Event>,
    /// Every change up to here is in the snapshots or replay already sent.
    covered: Position,
    closing: watch::Receiver<bool>,
    topics: Vec<Topic>,
    ledger: LedgerId,
    user: Option<UserId>,
    live: Arc<projections::Live>,
    /// Access was revoked: the stream ends once `pending` is out.
    ended: bool,
}

impl Feed {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Some(next);
            }
            if self.ended {
                return None;
            }
            tokio::select! {
                frame = self.queue.recv() => match frame? {
                    Frame::Delta(delta) => {
                        if delta.position > self.covered {
                            self.pending.push_back(
                                Event::default()
                                    .event(delta.kind)
                                    .id(delta.position.to_string())
                                    .data(delta.text.as_str()),
                            );
                        }
                    }
                    Frame::Revoked(..) => self.revoke(),
                    Frame::Lagged => {
                        self.follower.resume();
                        let allowed = self.user.is_none_or(|u| {
                            self.live.read(|p| p.role(self.ledger, u).is_some())
                        });
                        if allowed {
                            self.covered = snapshots(&self.live, &self.topics, Some("this stream fell behind"), &mut self.pending);
                        } else {
                            self.revoke();
                        }
                    }
                },
                // A stream is a request that never ends by itself: end it on shutdown.
                Ok(()) = self.closing.changed() => {
                    if *self.closing.borrow_and_update() {
                        return None;
                    }
                }
            }
        }
    }

    fn revoke(&mut self) {
        self.pending.push_back(event(&messages::error(
            "forbidden",
            format!("your access to ledger {} was revoked", self.ledger),
        )));
        self.ended = true;
    }
}
