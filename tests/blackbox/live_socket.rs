//! The WebSocket `/v1/ws`: snapshots then deltas that reproduce the HTTP state,
//! resume with `since`, forbidden subscriptions and bad messages.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ledger::testing::TestDb;
use ledger::LedgerId;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::app::socket::{next, send};
use crate::app::NewExpense;
use crate::helpers::TestApp;

/// Records an expense of `amount` in `lid`; answers its position.
pub(crate) async fn record(app: &TestApp, token: &str, lid: &str, amount: &str) -> i64 {
    let expense = NewExpense::new(amount, "2026-11-12", "food").merchant("Market");
    let ledger = LedgerId::parse(lid).unwrap();
    app.record_expense(token, ledger, &expense)
        .await
        .position
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_deltas_reproduce_the_http_state_and_resume_without_gaps() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    record(&app, &alice, &lid, "1.00").await;

    let mut socket = app.socket(&alice).await;
    let topic = format!("ledger:{lid}:expenses");
    send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;
    let subscribed = next(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["recovered"], false);
    let snapshot = next(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    let mut mirror: Vec<Value> = snapshot["data"]["items"].as_array().unwrap().clone();
    let mut last = snapshot["position"].as_i64().unwrap();

    for amount in ["2.00", "3.00", "4.00"] {
        record(&app, &alice, &lid, amount).await;
    }
    for _ in 0..3 {
        let delta = next(&mut socket).await;
        assert_eq!(delta["type"], "expense_created", "{delta}");
        let position = delta["position"].as_i64().unwrap();
        assert!(position > last, "positions only go forward");
        last = position;
        mirror.push(delta["data"].clone());
    }
    let (_, list) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/expenses?min_position={last}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        &mirror,
        list["items"].as_array().unwrap(),
        "snapshot + deltas = the HTTP state"
    );

    // Drop the socket, keep writing, come back with `since`: exactly the missed changes.
    drop(socket);
    let mut missed = Vec::new();
    for amount in ["5.00", "6.00"] {
        missed.push(record(&app, &alice, &lid, amount).await);
    }
    let mut socket = app.socket(&alice).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": topic, "since": last }),
    )
    .await;
    let subscribed = next(&mut socket).await;
    assert_eq!(subscribed["recovered"], true, "{subscribed}");
    for expected in missed {
        let delta = next(&mut socket).await;
        assert_eq!(delta["type"], "expense_created");
        assert_eq!(delta["position"].as_i64().unwrap(), expected);
    }
    send(&mut socket, json!({ "type": "ping", "id": 7 })).await;
    assert_eq!(
        next(&mut socket).await,
        json!({ "type": "pong", "id": 7 }),
        "nothing repeated before the pong"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_topics_and_bad_messages_get_errors_and_the_socket_stays_open() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let (_, eve) = app.user("Eve").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut socket = app.socket(&eve).await;

    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("ledger:{lid}:budgets") }),
    )
    .await;
    let error = next(&mut socket).await;
    assert_eq!(
        (error["type"].clone(), error["code"].clone()),
        (json!("error"), json!("forbidden"))
    );
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": "ledger:nope:budgets" }),
    )
    .await;
    assert_eq!(next(&mut socket).await["code"], "bad_topic");
    socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await["code"], "bad_message");
    send(&mut socket, json!({ "type": "dance" })).await;
    assert_eq!(next(&mut socket).await["code"], "bad_message");
    socket
        .send(Message::Text(
            format!("{{\"type\":\"ping\",\"id\":\"{}\"}}", "x".repeat(20_000)).into(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await["code"], "too_large");
    send(&mut socket, json!({ "type": "ping", "id": "still here" })).await;
    assert_eq!(next(&mut socket).await["type"], "pong");

    // Without a token there is no socket at all.
    let url = format!("{}/v1/ws", app.base.replace("http://", "ws://"));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    app.stop().await;
}

/// Reads SSE events (`event`, `id`, parsed `data`) until `count` have arrived.
async fn sse_events(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    count: usize,
) -> Vec<(String, String, Value)> {
    let mut events = Vec::new();
    while events.len() < count {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut kind, mut id, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !data.is_empty() {
                events.push((kind, id, serde_json::from_str(&data).unwrap()));
            }
        }
        if events.len() >= count {
            break;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("an event in time");
        buffer.push_str(&String::from_utf8_lossy(
            &chunk.expect("the stream is open").unwrap(),
        ));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_carry_positions_and_resume_from_last_event_id() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let url = format!(
        "{}/v1/ledgers/{lid}/stream?topics=expenses,analytics",
        app.base
    );
    let response = app
        .client
        .get(&url)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let snapshots = sse_events(&mut body, &mut buffer, 2).await;
    assert!(
        snapshots.iter().all(|(kind, _, _)| kind == "snapshot"),
        "{snapshots:?}"
    );

    let position = record(&app, &alice, &lid, "9.99").await;
    let events = sse_events(&mut body, &mut buffer, 2).await;
    let kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, ["expense_created", "analytics_updated"]);
    assert!(events.iter().all(|(_, id, _)| *id == position.to_string()));
    assert_eq!(events[0].2["data"]["amount"], "9.99");
    drop(body);

    let later = record(&app, &alice, &lid, "1.01").await;
    let resumed = app
        .client
        .get(format!(
            "{}/v1/ledgers/{lid}/stream?topics=expenses",
            app.base
        ))
        .bearer_auth(&alice)
        .header("last-event-id", position.to_string())
        .send()
        .await
        .unwrap();
    let mut body = resumed.bytes_stream();
    let mut buffer = String::new();
    let events = sse_events(&mut body, &mut buffer, 1).await;
    assert_eq!(events[0].0, "expense_created");
    assert_eq!(events[0].1, later.to_string());
    drop(body);

    // An outsider gets what an unknown ledger gets.
    let outsider = app
        .client
        .get(&url)
        .bearer_auth(&app.user("Eve").await.1)
        .send()
        .await
        .unwrap();
    assert_eq!(outsider.status(), reqwest::StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_status_connections_and_metrics_and_broadcasts_to_sockets() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut socket = app.socket(&alice).await;
    let topic = format!("ledger:{lid}:budgets");
    send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    assert_eq!(next(&mut socket).await["type"], "snapshot");

    let (status, body) = app
        .call(Method::GET, "/v1/status", Some(&alice), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .call(Method::GET, "/v1/status", Some(crate::helpers::ADMIN), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["connections"], 1);
    assert_eq!(body["subscriptions"][&topic], 1);
    assert!(body["head"].as_i64().unwrap() >= 1);
    let (_, body) = app
        .call(
            Method::GET,
            "/v1/connections",
            Some(crate::helpers::ADMIN),
            None,
        )
        .await;
    assert_eq!(
        body["connections"][0]["topics"][0],
        topic.as_str(),
        "{body}"
    );

    let (status, body) = app
        .call(
            Method::POST,
            "/v1/broadcast",
            Some(crate::helpers::ADMIN),
            Some(json!({ "message": "maintenance at 22:00", "severity": "warning" })),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let notification = next(&mut socket).await;
    assert_eq!(notification["type"], "notification");
    assert_eq!(notification["data"]["message"], "maintenance at 22:00");

    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ledger_connections 1"), "{metrics}");
    assert!(metrics.contains("ledger_projection_lag"), "{metrics}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socket_does_not_delay_the_others() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let topic = format!("ledger:{lid}:expenses");
    // One client subscribes and then never reads again.
    let mut stalled = app.socket(&alice).await;
    send(&mut stalled, json!({ "type": "subscribe", "topic": topic })).await;
    let mut reader = app.socket(&alice).await;
    send(&mut reader, json!({ "type": "subscribe", "topic": topic })).await;
    assert_eq!(next(&mut reader).await["type"], "subscribed");
    assert_eq!(next(&mut reader).await["type"], "snapshot");

    let writes = 200;
    let description = "x".repeat(1500);
    let mut last = 0;
    for i in 0..writes {
        let (status, body) = app
            .call(Method::POST, &format!("/v1/ledgers/{lid}/expenses"), Some(&alice), Some(json!({
                "amount": "1.00", "occurred_on": "2026-11-12", "category": "food", "description": format!("{i} {description}")
            })))
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        last = body["position"].as_i64().unwrap();
    }
    let mut seen = 0;
    let mut previous = 0;
    while previous < last {
        let delta = next(&mut reader).await;
        assert_eq!(delta["type"], "expense_created", "{delta}");
        let position = delta["position"].as_i64().unwrap();
        assert!(position > previous);
        previous = position;
        seen += 1;
    }
    assert_eq!(
        seen, writes,
        "the reading socket got every change while the other stalled"
    );
    drop(stalled);
    app.stop().await;
}
