//! A log the server cannot read is a fault (500), not an outage (503): retrying
//! will not help, and the details stay in the server's log.

use ledger::testing::TestDb;
use reqwest::{Method, StatusCode};

use crate::helpers::{assert_error, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_answers_500_without_its_details() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("alice").await;
    let ledger = app.ledger(&alice, "EUR").await;
    let events = format!("/v1/ledgers/{ledger}/events");
    let (status, body) = app.call(Method::GET, &events, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let store = app.db.store().await;
    store
        .execute_raw(
            "DROP TRIGGER events_no_update; \
             UPDATE events SET stream_id = 'not a stream' WHERE position = 1",
        )
        .await
        .unwrap();
    let (status, body) = app.call(Method::GET, &events, Some(&alice), None).await;
    assert_error(status, &body, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(!body.to_string().contains("not a stream"), "{body}");
    app.stop().await;
}
