//! The protocol's edges (issue 11, points 5 and 6): a `since` beyond the log's head,
//! a frame over the size limit, the operator's view of a socket's queue, and strict
//! query positions, limits and time zones.

use std::time::Duration;

use futures::StreamExt;
use ledger::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use crate::app::socket::{next, send, Socket};
use crate::helpers::{assert_error, TestApp, ADMIN};
use crate::live_socket::record;

async fn connections(app: &TestApp) -> Vec<Value> {
    let (status, body) = app
        .call(Method::GET, "/v1/connections", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["connections"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_since_beyond_the_head_or_negative_is_bad_since_and_follows_nothing() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let head = record(&app, &alice, &lid, "1.00").await;
    let topic = format!("ledger:{lid}:expenses");
    let mut socket = app.socket(&alice).await;

    for since in [json!(head + 1_000_000), json!(-1)] {
        send(
            &mut socket,
            json!({ "type": "subscribe", "topic": topic, "since": since }),
        )
        .await;
        let answer = next(&mut socket).await;
        assert_eq!(answer["type"], "error", "{answer}");
        assert_eq!(answer["code"], "bad_since", "{answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Nothing was followed: a change is not delivered, the pong comes first.
    assert_eq!(connections(&app).await[0]["topics"], json!([]));
    record(&app, &alice, &lid, "2.00").await;
    send(&mut socket, json!({ "type": "ping", "id": 1 })).await;
    assert_eq!(next(&mut socket).await, json!({ "type": "pong", "id": 1 }));

    // The head itself still resumes.
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": topic, "since": head }),
    )
    .await;
    let subscribed = next(&mut socket).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    assert_eq!(next(&mut socket).await["type"], "expense_created");
    app.stop().await;
}

/// The event types of an SSE body, until `count` have arrived.
async fn sse_kinds(response: reqwest::Response, count: usize) -> Vec<String> {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    loop {
        let kinds: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("event:"))
            .map(|k| k.trim().to_owned())
            .collect();
        if kinds.len() >= count {
            return kinds;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_resumed_beyond_the_head_starts_afresh_and_a_negative_since_is_422() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let head = record(&app, &alice, &lid, "1.00").await;
    let url = format!("{}/v1/ledgers/{lid}/stream?topics=expenses", app.base);
    let resumed = app
        .client
        .get(&url)
        .bearer_auth(&alice)
        .header("last-event-id", (head + 1_000_000).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    assert_eq!(sse_kinds(resumed, 1).await, ["snapshot"]);

    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/stream?topics=expenses&since=-1"),
            Some(&alice),
            None,
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["error"]["field"], "since", "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_closes_the_socket_with_1009_and_a_reason() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let mut socket = app.socket(&alice).await;
    let huge = "x".repeat(2 * 1024 * 1024);
    // The server may close before the whole frame is written; that is its answer.
    let _ = futures::SinkExt::send(&mut socket, Message::Text(huge.into())).await;
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer in time")
            .expect("a close frame before the end")
            .expect("a frame, not a reset");
        if let Message::Close(close) = frame {
            break close.expect("a close code");
        }
    };
    assert_eq!(close.code, CloseCode::Size, "{close:?}");
    assert!(close.reason.contains("65536"), "{close:?}");
    app.stop().await;
}

/// A socket whose receive buffer is tiny, so the server's writes block soon after
/// the client stops reading.
async fn connect_small_window(app: &TestApp, token: &str) -> Socket {
    let address = app.base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(address).await.unwrap();
    let url = format!(
        "{}/v1/ws?token={token}",
        app.base.replace("http://", "ws://")
    );
    tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("the socket opens")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_show_a_stalled_sockets_queue_drops_and_resyncs() {
    let app = TestApp::spawn_with_queue(TestDb::sqlite(), 4).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut socket = connect_small_window(&app, &alice).await;
    let topic = format!("ledger:{lid}:expenses");
    send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;

    // Stop reading and write until the socket is stuck: its queue full (the resync
    // marker in its last slot) and changes dropped. Before that it may drain and
    // resync a few times while the connection's buffers still take its writes.
    let description = "x".repeat(1900);
    let mut written = 0;
    let row = loop {
        for _ in 0..25 {
            let (status, body) = app
                .call(Method::POST, &format!("/v1/ledgers/{lid}/expenses"), Some(&alice), Some(json!({
                    "amount": "1.00", "occurred_on": "2026-11-12", "category": "food", "description": format!("{written} {description}")
                })))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            written += 1;
        }
        let row = connections(&app).await[0].clone();
        if row["queued"] == 4 && row["dropped"].as_u64().is_some_and(|d| d > 0) {
            break row;
        }
        assert!(written < 2000, "no full queue or drops shown: {row}");
    };
    let dropped = row["dropped"].as_u64().unwrap();

    // Reading again: the socket resyncs, and the row counts it.
    loop {
        if next(&mut socket).await["type"] == "resync" {
            break;
        }
    }
    let row = connections(&app).await[0].clone();
    assert!(row["resyncs"].as_u64().is_some_and(|r| r >= 1), "{row}");
    assert!(row["dropped"].as_u64().unwrap() >= dropped, "{row}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_or_unreadable_positions_and_limits_are_422_naming_the_field() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let head = record(&app, &alice, &lid, "1.00").await;
    let beyond = head + 1_000_000;
    let cases = [
        ("events?after=-1", "after"),
        ("events?after=99999999999999999999", "after"),
        ("events?limit=-1", "limit"),
        ("events?limit=0", "limit"),
        ("events?limit=1001", "limit"),
        ("expenses?limit=-5", "limit"),
        ("expenses?min_position=-1", "min_position"),
        ("expenses?cursor=-1", "cursor"),
        ("budgets?min_position=-1", "min_position"),
        ("analytics?min_position=-3", "min_position"),
        ("alerts?min_position=-1", "min_position"),
        ("analytics?as_of=-1", "as_of"),
        (&*format!("budgets?as_of={beyond}"), "as_of"),
        ("stream?since=-1", "since"),
    ];
    for (query, field) in cases {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/v1/ledgers/{lid}/{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    // What is in range still answers.
    for query in [
        "events?after=0&limit=1",
        "expenses?min_position=0",
        &*format!("analytics?as_of={head}"),
    ] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/v1/ledgers/{lid}/{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_zones_are_checked_against_the_iana_database() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    for zone in ["Mars/Olympus", "Europe/Nowhere", "europe/berlin", "UTC+2"] {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/ledgers",
                Some(&alice),
                Some(json!({
                    "name": "Home", "currency": "EUR", "timezone": zone
                })),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(body["error"]["field"], "timezone", "{zone}: {body}");
    }
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/ledgers",
            Some(&alice),
            Some(json!({
                "name": "Home", "currency": "EUR", "timezone": "America/Argentina/Buenos_Aires"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}
