//! Fan-out under pressure: a socket whose queue overflows resyncs and stays
//! consistent, revoked access stops deliveries, and `/metrics` shows queue drops
//! and append latency.

use std::collections::BTreeMap;

use ledger::event::{Event, MemberRevoked, Role};
use ledger::testing::TestDb;
use ledger::{AppendRequest, ExpectedVersion, LedgerId, StreamId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::MaybeTlsStream;

use crate::app::socket::{next, send, subscribe, Socket};
use crate::helpers::TestApp;
use crate::live_socket::record;

async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of an unlabelled metric.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
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
async fn a_socket_whose_queue_overflows_resyncs_and_stays_consistent() {
    let app = TestApp::spawn_with_queue(TestDb::sqlite(), 4).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let expenses = format!("ledger:{lid}:expenses");
    let analytics = format!("ledger:{lid}:analytics");
    let mut socket = connect_small_window(&app, &alice).await;
    for topic in [&expenses, &analytics] {
        send(&mut socket, json!({ "type": "subscribe", "topic": topic })).await;
    }

    // Stop reading while more is written than the connection's buffers and the
    // socket's four-frame queue hold.
    let description = "x".repeat(1900);
    let mut last = 0;
    let mut written = 0;
    loop {
        for _ in 0..50 {
            let (status, body) = app
                .call(Method::POST, &format!("/v1/ledgers/{lid}/expenses"), Some(&alice), Some(json!({
                    "amount": "1.00", "occurred_on": "2026-11-12", "category": "food", "description": format!("{written} {description}")
                })))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            last = body["position"].as_i64().unwrap();
            written += 1;
        }
        if metric(&metrics(&app).await, "ledger_queue_drops_total") >= 1.0 {
            break;
        }
        assert!(written < 2000, "the queue never overflowed");
    }

    // Snapshot + deltas, across resyncs, rebuild exactly the HTTP state; positions
    // never go backwards and no change comes twice.
    let mut mirror: BTreeMap<String, Value> = BTreeMap::new();
    let mut covered: BTreeMap<String, i64> = BTreeMap::new();
    let mut previous = 0;
    let mut resyncs = 0;
    while covered.get(&expenses).copied().unwrap_or(0) < last
        || covered.get(&analytics).copied().unwrap_or(0) < last
    {
        let message = next(&mut socket).await;
        let kind = message["type"].as_str().unwrap_or_default().to_owned();
        let topic = message["topic"].as_str().unwrap_or_default().to_owned();
        if kind == "resync" {
            resyncs += 1;
            continue;
        }
        if kind == "subscribed" {
            continue;
        }
        let position = message["position"].as_i64().expect("a position");
        assert!(position >= previous, "went back from {previous}: {message}");
        previous = position;
        match kind.as_str() {
            "snapshot" => {
                if topic == expenses {
                    mirror = message["data"]["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| (e["expense_id"].as_str().unwrap().to_owned(), e.clone()))
                        .collect();
                }
            }
            "expense_created" => {
                assert!(position > covered[&topic], "repeated: {message}");
                let id = message["data"]["expense_id"].as_str().unwrap().to_owned();
                assert!(mirror.insert(id, message["data"].clone()).is_none());
            }
            "analytics_updated" => assert!(position > covered[&topic], "repeated: {message}"),
            other => panic!("unexpected {other}: {message}"),
        }
        covered.insert(topic, position);
    }
    assert!(resyncs >= 1, "the socket was told to resync");

    // Fresh writes arrive as deltas again.
    let after = record(&app, &alice, &lid, "2.00").await;
    loop {
        let message = next(&mut socket).await;
        if message["type"] == "expense_created" {
            assert_eq!(message["position"].as_i64().unwrap(), after);
            let id = message["data"]["expense_id"].as_str().unwrap().to_owned();
            mirror.insert(id, message["data"].clone());
            break;
        }
        assert_eq!(message["type"], "analytics_updated", "{message}");
    }
    let mut http: BTreeMap<String, Value> = BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = app
            .call(
                Method::GET,
                &format!("/v1/ledgers/{lid}/expenses?min_position={after}&limit=1000{cursor}"),
                Some(&alice),
                None,
            )
            .await;
        for e in page["items"].as_array().unwrap() {
            http.insert(e["expense_id"].as_str().unwrap().to_owned(), e.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(http.len(), written + 1);
    assert_eq!(mirror, http, "snapshot + deltas = the HTTP state");

    let text = metrics(&app).await;
    assert!(metric(&text, "ledger_resyncs_total") >= 1.0, "{text}");
    assert!(metric(&text, "ledger_deltas_sent_total") >= 1.0, "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_access_stops_deliveries_for_that_ledger_only() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let (bob_id, bob) = app.user("Bob").await;
    let home = app.ledger(&alice, "EUR").await;
    let trip = app.ledger(&alice, "EUR").await;
    let bob_id = UserId::parse(&bob_id).unwrap();
    for lid in [&home, &trip] {
        let ledger = LedgerId::parse(lid).unwrap();
        app.add_member(&alice, ledger, bob_id, Role::Viewer).await;
    }
    let mut socket = app.socket(&bob).await;
    subscribe(&mut socket, &format!("ledger:{home}:expenses")).await;
    subscribe(&mut socket, &format!("ledger:{trip}:expenses")).await;

    let store = app.db.store().await;
    let ledger = LedgerId::parse(&home).unwrap();
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::Any,
            vec![Event::MemberRevoked(MemberRevoked { user_id: bob_id })],
        ))
        .await
        .unwrap();
    record(&app, &alice, &home, "5.00").await;
    let error = next(&mut socket).await;
    assert_eq!(
        (error["type"].clone(), error["code"].clone()),
        (json!("error"), json!("forbidden")),
        "{error}"
    );
    record(&app, &alice, &home, "6.00").await;
    let still = record(&app, &alice, &trip, "7.00").await;
    let delta = next(&mut socket).await;
    assert_eq!(delta["type"], "expense_created", "{delta}");
    assert_eq!(delta["position"].as_i64().unwrap(), still, "{delta}");
    assert_eq!(delta["topic"], format!("ledger:{trip}:expenses"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_append_latency_queue_drops_and_subscriptions() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut socket = app.socket(&alice).await;
    subscribe(&mut socket, &format!("ledger:{lid}:budgets")).await;
    record(&app, &alice, &lid, "3.00").await;

    let text = metrics(&app).await;
    // The ledger and the expense: two appends by the HTTP write handlers.
    assert_eq!(metric(&text, "ledger_append_seconds_count"), 2.0, "{text}");
    assert!(metric(&text, "ledger_append_seconds_sum") > 0.0, "{text}");
    assert!(
        text.contains("# TYPE ledger_append_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("ledger_append_seconds_bucket{le=\"0.0005\"}"),
        "{text}"
    );
    assert!(
        text.contains("ledger_append_seconds_bucket{le=\"+Inf\"} 2\n"),
        "{text}"
    );
    assert_eq!(metric(&text, "ledger_queue_drops_total"), 0.0, "{text}");
    assert_eq!(metric(&text, "ledger_subscriptions"), 1.0, "{text}");
    assert_eq!(metric(&text, "ledger_connections"), 1.0, "{text}");
    // Prometheus' text format: every sample line is `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    drop(socket);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_while_changes_flow_keeps_positions_in_order_across_topics() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let expenses = format!("ledger:{lid}:expenses");
    let analytics = format!("ledger:{lid}:analytics");
    let mut socket = app.socket(&alice).await;
    subscribe(&mut socket, &expenses).await;

    let writes = 60;
    let writer = {
        let (client, base, alice, lid) = (
            app.client.clone(),
            app.base.clone(),
            alice.clone(),
            lid.clone(),
        );
        tokio::spawn(async move {
            let mut last = 0;
            for i in 0..writes {
                let body: Value = client
                    .post(format!("{base}/v1/ledgers/{lid}/expenses"))
                    .bearer_auth(&alice)
                    .json(&json!({ "amount": format!("{i}.50"), "occurred_on": "2026-11-12", "category": "food" }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                last = body["position"].as_i64().unwrap();
            }
            last
        })
    };
    // Subscribe to a second topic while the first one's changes are arriving.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": analytics }),
    )
    .await;
    let last = writer.await.unwrap();

    let mut previous = 0;
    let mut expenses_seen = 0;
    let mut covered: BTreeMap<String, i64> = BTreeMap::new();
    while covered.get(&expenses).copied().unwrap_or(0) < last
        || covered.get(&analytics).copied().unwrap_or(0) < last
    {
        let message = next(&mut socket).await;
        let Some(position) = message["position"].as_i64() else {
            panic!("unexpected {message}");
        };
        assert!(position >= previous, "went back from {previous}: {message}");
        previous = position;
        let topic = message["topic"].as_str().unwrap().to_owned();
        if message["type"] == "expense_created" {
            expenses_seen += 1;
        }
        if message["type"] != "subscribed" {
            covered.insert(topic, position);
        }
    }
    assert_eq!(expenses_seen, writes, "every expense once");
    app.stop().await;
}
