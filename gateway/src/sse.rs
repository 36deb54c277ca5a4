//! The same topics as Server-Sent Events: `GET /v1/ledgers/{lid}/stream?topics=...`.
//! The position is each event's SSE `id`, so a reconnecting client's `Last-Event-ID`
//! resumes after it (`curl -N` is a client).

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use ledger::event::Role;
use ledger::{LedgerId, Position};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
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

    let deltas = state.live.subscribe();
    let mut pending = VecDeque::new();
    let mut covered = Position::ZERO;
    match since.and_then(|p| state.live.replay_since(p).map(|b| (p, b))) {
        Some((p, batches)) => {
            covered = p;
            for delta in batches.iter().flat_map(|b| b.iter()) {
                covered = covered.max(delta.position);
                let topic = Topic::of(delta);
                if topics.contains(&topic) {
                    pending.push_back(event(&messages::delta(topic, delta)));
                }
            }
        }
        None => {
            for topic in &topics {
                let (position, data) = messages::snapshot(&state.live, *topic);
                covered = covered.max(position);
                let snapshot = json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data });
                pending.push_back(event(&snapshot));
            }
        }
    }
    let closing = state.closing.clone();
    let live = state.live.clone();
    let stream = futures::stream::unfold(
        (deltas, pending, covered, closing, topics, live),
        |(mut deltas, mut pending, mut covered, mut closing, topics, live)| async move {
            loop {
                if let Some(next) = pending.pop_front() {
                    return Some((Ok(next), (deltas, pending, covered, closing, topics, live)));
                }
                tokio::select! {
                    batch = deltas.recv() => match batch {
                        Ok(batch) => {
                            for delta in batch.iter().filter(|d| d.position > covered) {
                                let topic = Topic::of(delta);
                                if topics.contains(&topic) {
                                    pending.push_back(event(&messages::delta(topic, delta)));
                                }
                            }
                            covered = covered.max(batch.last().map_or(covered, |d| d.position));
                        }
                        Err(RecvError::Lagged(_)) => {
                            for topic in &topics {
                                let (position, data) = messages::snapshot(&live, *topic);
                                covered = covered.max(position);
                                pending.push_back(event(&json!({ "type": "resync", "topic": topic.to_string(), "reason": "this stream fell behind" })));
                                pending.push_back(event(&json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data })));
                            }
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    // A stream is a request that never ends by itself: end it on shutdown.
                    Ok(()) = closing.changed() => {
                        if *closing.borrow_and_update() {
                            return None;
                        }
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
