//! The same topics as Server-Sent Events: `GET /v1/ledgers/{lid}/stream?topics=...`.
//! The position is each event's SSE `id`, so a reconnecting client's `Last-Event-ID`
//! resumes after it (`curl -N` is a client). The stream drives a [`Subscription`]
//! like a socket does; this module only turns its messages into events and ends the
//! stream when its access is revoked or the server stops.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use ledger::event::Role;
use ledger::{LedgerId, Position};
use serde::Deserialize;
use tokio_stream::wrappers::WatchStream;

use super::connections::{Registration, Transport};
use super::message::Message;
use super::since::Since;
use super::subscription::{Outbox, Subscription};
use super::topic::Topic;
use super::Sources;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
    /// Comma-separated: `expenses,budgets,analytics,alerts,imports` (default: all).
    #[param(
        pattern = "^(expenses|budgets|analytics|alerts|imports)(,(expenses|budgets|analytics|alerts|imports))*$"
    )]
    topics: Option<String>,
    /// Like `Last-Event-ID`, for clients that cannot set headers. A position beyond
    /// the log's head starts afresh with snapshots.
    #[param(value_type = Option<i64>, minimum = 0)]
    since: Option<String>,
    /// Browsers' EventSource cannot set headers either.
    #[allow(dead_code)]
    #[param(ignore)] // the `token_query` security scheme describes it
    token: Option<String>,
}

/// A message as an SSE event: `event:` its type, `id:` its position, if it has one.
fn event(message: &Message) -> Event {
    let mut event = Event::default().event(message.kind).data(message.as_str());
    if let Some(position) = message.position {
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
        let topic = Topic::parse(&format!("ledger:{ledger}:{name}"))
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
        None => query
            .since
            .as_deref()
            .map(|s| crate::input::position("since", s))
            .transpose()?,
    };
    // Beyond the head (an id from another database, or from before a restore): a
    // fresh start, not an error, because a browser's EventSource gives up for good
    // on an error answer but would keep sending the same Last-Event-ID.
    let since = match since {
        Some(since) => match super::since::check(&state, since).await? {
            Since::Resume(since) => Some(since),
            Since::BeyondHead(_) => None,
        },
        None => None,
    };

    let registration = state.connections.open(caller.user(), Transport::Sse)?;
    let sources = Sources {
        live: state.live.clone(),
        imports: state.imports.clone(),
    };
    let mut subscription = Subscription::open(
        &state.hub,
        sources,
        caller.user(),
        "this stream fell behind",
    );
    let mut out = Outbox::default();
    subscription
        .subscribe(&topics, since, false, &mut out)
        .await;
    registration.watch(subscription.gauge());
    registration.update(subscription.topics().map(ToString::to_string));
    let feed = Feed {
        subscription,
        registration,
        pending: out.messages.into(),
    };
    let messages = futures::stream::unfold(feed, |mut feed| async move {
        let next = feed.next().await?;
        Some((Ok(event(&next)), feed))
    });
    // A stream is a request that never ends by itself: end it on shutdown.
    let mut closing =
        WatchStream::new(state.closing.clone()).filter(|stop| std::future::ready(*stop));
    let stopped = async move {
        closing.next().await;
    };
    Ok(Sse::new(messages.take_until(stopped)).keep_alive(KeepAlive::default()))
}

/// One stream's state between events.
struct Feed {
    subscription: Subscription,
    /// Its row in `/v1/connections`, and its place under the per-user cap.
    registration: Registration,
    pending: VecDeque<Message>,
}

impl Feed {
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Some(next);
            }
            // Access was revoked (the stream follows one ledger): it ends once the
            // `error` is out.
            if self.subscription.len() == 0 {
                return None;
            }
            let frame = match self.subscription.take_held() {
                Some(frame) => frame,
                None => self.subscription.recv().await?,
            };
            let mut out = Outbox::default();
            self.subscription.accept(frame, &mut out);
            self.registration.resynced(out.resyncs);
            self.registration.sent(out.deltas);
            self.pending.extend(out.messages);
        }
    }
}
