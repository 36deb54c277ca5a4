//! The socket loop without a network: an in-memory socket of two channels stands
//! for the client, the rest (log, read models, hub) is a real server's.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::Message;
use futures::channel::mpsc;
use futures::{Sink, SinkExt, Stream, StreamExt};
use ledger::event::{ExpenseRecorded, LedgerOpened};
use ledger::testing::TestDb;
use ledger::{
    AppendRequest, Currency, Event, ExpectedVersion, ExpenseId, LedgerId, StreamId, UserId,
};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::auth::Caller;
use crate::state::AppState;

/// The server's end of an in-memory socket.
struct MemorySocket {
    incoming: mpsc::UnboundedReceiver<Result<Message, Infallible>>,
    outgoing: mpsc::UnboundedSender<Message>,
}

impl Stream for MemorySocket {
    type Item = Result<Message, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_next_unpin(cx)
    }
}

impl Sink<Message> for MemorySocket {
    type Error = mpsc::SendError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outgoing.poll_ready_unpin(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.outgoing.start_send_unpin(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outgoing.poll_flush_unpin(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outgoing.poll_close_unpin(cx)
    }
}

/// The client's end.
struct Client {
    send: mpsc::UnboundedSender<Result<Message, Infallible>>,
    receive: mpsc::UnboundedReceiver<Message>,
}

impl Client {
    fn send(&self, message: &str) {
        self.send
            .unbounded_send(Ok(Message::Text(message.into())))
            .expect("the loop reads");
    }

    /// The next JSON message (pings and heartbeats aside).
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.receive.next())
                .await
                .expect("a message in time")
                .expect("the loop is running");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["type"] != "heartbeat" {
                    return value;
                }
            }
        }
    }
}

async fn server(db: &TestDb) -> (AppState, watch::Sender<bool>) {
    let store = db.store().await;
    let (stop, stopped) = watch::channel(false);
    let (live, _task) = projections::start(
        store.clone(),
        projections::LiveOptions::default(),
        stopped.clone(),
    )
    .await
    .unwrap();
    let imports = crate::imports::Imports::new(store.clone(), live.clone());
    let hub = crate::live::Hub::new(live.clone(), 64);
    hub.start(stopped.clone(), imports.subscribe());
    let state = AppState {
        store,
        live,
        admin: None,
        connections: Arc::default(),
        imports,
        closing: stopped,
        tokens: Arc::default(),
        hub,
        append_latency: Arc::new(crate::histogram::Histogram::new(
            crate::histogram::APPEND_BUCKETS,
        )),
        write_timeout: crate::config::Limits::default().write_timeout,
    };
    (state, stop)
}

#[tokio::test]
async fn the_loop_answers_subscribes_snapshots_and_forwards_deltas() {
    let db = TestDb::sqlite();
    let (state, stop) = server(&db).await;
    let eur = Currency::parse("EUR").unwrap();
    let ledger = LedgerId::new();
    state
        .store
        .append(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::NoStream,
            vec![Event::LedgerOpened(LedgerOpened {
                ledger_id: ledger,
                name: "Home".into(),
                currency: eur,
                timezone: "UTC".into(),
                owner: UserId::new(),
            })],
        ))
        .await
        .unwrap();

    let (to_server, incoming) = mpsc::unbounded();
    let (outgoing, from_server) = mpsc::unbounded();
    let socket = MemorySocket { incoming, outgoing };
    let registration = state
        .connections
        .open(None, crate::live::connections::Transport::WebSocket)
        .unwrap();
    let serving = tokio::spawn(super::connection::serve(
        socket,
        state.clone(),
        Caller::Admin,
        registration,
    ));
    let mut client = Client {
        send: to_server,
        receive: from_server,
    };

    client.send(r#"{"type":"ping","id":7}"#);
    assert_eq!(client.next().await, json!({"type": "pong", "id": 7}));

    client.send("not json");
    let error = client.next().await;
    assert_eq!(
        (&error["type"], &error["code"]),
        (&json!("error"), &json!("bad_message"))
    );
    client.send(r#"{"type":"subscribe","topic":"ledger:nope:expenses"}"#);
    assert_eq!(client.next().await["code"], "bad_topic");

    let topic = format!("ledger:{ledger}:expenses");
    client.send(&json!({"type": "subscribe", "topic": topic}).to_string());
    let subscribed = client.next().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["recovered"], false);
    let snapshot = client.next().await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["data"], json!({"items": []}));
    assert_eq!(snapshot["position"], subscribed["position"]);

    let expense_id = ExpenseId::new();
    let appended = state
        .store
        .append(AppendRequest::new(
            ledger,
            StreamId::expense(expense_id),
            ExpectedVersion::NoStream,
            vec![Event::ExpenseRecorded(ExpenseRecorded {
                expense_id,
                amount: ledger::Amount::parse("12.50", eur).unwrap(),
                occurred_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
                category: "coffee".into(),
                merchant: None,
                description: None,
                tags: Vec::new(),
                original_amount: None,
                original_currency: None,
                import_id: None,
            })],
        ))
        .await
        .unwrap();
    let delta = client.next().await;
    assert_eq!(delta["type"], "expense_created", "{delta}");
    assert_eq!(delta["topic"], topic);
    assert_eq!(delta["position"], json!(appended.last_position));
    assert_eq!(delta["data"]["amount"], "12.50");

    client.send(&json!({"type": "unsubscribe", "topic": topic}).to_string());
    assert_eq!(client.next().await["type"], "unsubscribed");

    // The client leaves: the loop ends.
    drop(client.send);
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the loop ends when the client leaves")
        .unwrap();
    stop.send_replace(true);
}
