//! The HTTP API, driven over real HTTP against a server started in-process on port 0.

use ledger::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expenses_round_trip_with_roles_versions_and_idempotency_on_sqlite() {
    expenses_round_trip(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expenses_round_trip_with_roles_versions_and_idempotency_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        expenses_round_trip(db).await;
    }
}

async fn expenses_round_trip(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (_, alice) = app.user("Alice").await;
    let (bob_id, bob) = app.user("Bob").await;
    let lid = app.ledger(&alice, "EUR").await;
    let expenses = format!("/v1/ledgers/{lid}/expenses");

    let (status, created) = app
        .call(Method::POST, &expenses, Some(&alice), Some(json!({
            "amount": "12.5", "occurred_on": "2026-11-02", "category": "groceries", "merchant": "Market", "tags": ["food"]
        })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    let eid = created["expense_id"].as_str().unwrap().to_owned();
    let position = created["position"].as_i64().unwrap();

    let (status, list) = app
        .call(
            Method::GET,
            &format!("{expenses}?min_position={position}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["position"].as_i64().unwrap() >= position);
    assert_eq!(list["items"][0]["amount"], "12.50");
    assert_eq!(list["items"][0]["currency"], "EUR");
    assert_eq!(list["items"][0]["deleted"], false);

    // Bob is nobody here until the owner says otherwise.
    let (status, body) = app.call(Method::GET, &expenses, Some(&bob), None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let members = format!("/v1/ledgers/{lid}/members");
    let (status, body) = app
        .call(
            Method::POST,
            &members,
            Some(&alice),
            Some(json!({ "user_id": bob_id, "role": "viewer" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call(Method::GET, &expenses, Some(&bob), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .call(
            Method::POST,
            &expenses,
            Some(&bob),
            Some(json!({ "amount": "1.00", "occurred_on": "2026-11-02", "category": "x" })),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = app
        .call(
            Method::POST,
            &members,
            Some(&bob),
            Some(json!({ "user_id": bob_id, "role": "owner" })),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // Optimistic concurrency: a stale If-Match is a 409 with the current version and state.
    let one = format!("{expenses}/{eid}");
    let patch = |app: &TestApp, version: u64, body: Value| {
        let request = app
            .client
            .patch(format!("{}{one}", app.base))
            .bearer_auth(&alice)
            .header("if-match", version.to_string())
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = patch(&app, 1, json!({ "category": "food", "merchant": null })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    let (status, body) = patch(&app, 1, json!({ "amount": "99.00" })).await;
    assert_error(status, &body, StatusCode::CONFLICT, "version_conflict");
    assert_eq!(body["error"]["version"], 2);
    assert_eq!(body["error"]["current"]["amount"], "12.50");
    let (status, body) = patch(&app, 2, json!({})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (status, body) = app.call(Method::DELETE, &one, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, history) = app
        .call(Method::GET, &format!("{one}/history"), Some(&bob), None)
        .await;
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ExpenseRecorded", "ExpenseAmended", "ExpenseDeleted"]
    );
    let (_, list) = app
        .call(
            Method::GET,
            &format!("{expenses}?min_position={}", body["position"]),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(list["items"][0]["deleted"], true);
    assert_eq!(list["items"][0]["merchant"], Value::Null);

    // A retried create with the same Idempotency-Key: same answer, nothing appended.
    let retry = || {
        app.client
            .post(format!("{}{expenses}", app.base))
            .bearer_auth(&alice)
            .header("idempotency-key", "coffee-2026-11-03")
            .json(&json!({ "amount": "3.20", "occurred_on": "2026-11-03", "category": "coffee" }))
            .send()
    };
    let first: Value = retry().await.unwrap().json().await.unwrap();
    let head = app.head().await;
    let second = retry().await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(app.head().await, head);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_appends_nothing() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let eur = app.ledger(&alice, "EUR").await;
    let jpy = app.ledger(&alice, "JPY").await;
    let head = app.head().await;

    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body["ok"].clone()), (StatusCode::OK, json!(true)));
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{eur}/expenses"),
            None,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{eur}/expenses"),
            Some("nope"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/users",
            Some(&alice),
            Some(json!({ "name": "Eve" })),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let expenses = format!("/v1/ledgers/{eur}/expenses");
    let cases = [
        (
            json!({ "amount": "12.345", "occurred_on": "2026-11-02", "category": "x" }),
            "amount",
        ),
        (
            json!({ "amount": "0.00", "occurred_on": "2026-11-02", "category": "x" }),
            "amount",
        ),
        (
            json!({ "amount": "1000000000000", "occurred_on": "2026-11-02", "category": "x" }),
            "amount",
        ),
        (
            json!({ "amount": "1.00", "occurred_on": "2026-02-30", "category": "x" }),
            "occurred_on",
        ),
        (
            json!({ "amount": "1.00", "occurred_on": "2026-11-02", "category": "  " }),
            "category",
        ),
        (
            json!({ "amount": "1.00", "occurred_on": "2026-11-02", "category": "x".repeat(65) }),
            "category",
        ),
        (
            json!({ "amount": "1.00", "occurred_on": "2026-11-02", "category": "x", "original_amount": "2" }),
            "original_amount",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(Method::POST, &expenses, Some(&alice), Some(body))
            .await;
        assert_error(
            status,
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = app
        .call(
            Method::POST,
            &format!("/v1/ledgers/{jpy}/expenses"),
            Some(&alice),
            Some(json!({
                "amount": "100.5", "occurred_on": "2026-11-02", "category": "x"
            })),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JPY allows at most 0 decimals"),
        "{answer}"
    );

    // A float amount, an unknown field, broken JSON, a hostile size.
    let (status, answer) = app
        .call(
            Method::POST,
            &expenses,
            Some(&alice),
            Some(json!({ "amount": 12.5, "occurred_on": "2026-11-02", "category": "x" })),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, answer) = app
        .call(
            Method::POST,
            &expenses,
            Some(&alice),
            Some(
                json!({ "amount": "1", "occurred_on": "2026-11-02", "category": "x", "color": 1 }),
            ),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, answer) = app.raw(&expenses, &alice, "{\"amount\": ").await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "malformed");
    let huge = format!(
        "{{\"amount\":\"1\",\"occurred_on\":\"2026-11-02\",\"category\":\"{}\"}}",
        "x".repeat(200_000)
    );
    let (status, answer) = app.raw(&expenses, &alice, &huge).await;
    assert_error(status, &answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let (status, answer) = app
        .call(
            Method::POST,
            "/v1/ledgers",
            Some(&alice),
            Some(json!({ "name": "x", "currency": "XYZ" })),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer["error"]["field"], "currency");

    // Unknown ledgers and expenses, malformed ids.
    let (status, answer) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{}/expenses", uuid::Uuid::new_v4()),
            Some(&alice),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, answer) = app
        .call(
            Method::GET,
            "/v1/ledgers/not-a-uuid/expenses",
            Some(&alice),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, answer) = app
        .call(
            Method::DELETE,
            &format!("{expenses}/{}", uuid::Uuid::new_v4()),
            Some(&alice),
            None,
        )
        .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "not_found");
    let (status, answer) = app
        .call(
            Method::GET,
            &format!("{expenses}?limit=0"),
            Some(&alice),
            None,
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (status, answer) = app
        .call(
            Method::GET,
            &format!("{expenses}?cursor=zzz"),
            Some(&alice),
            None,
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    assert_eq!(
        app.head().await,
        head,
        "no rejected request appended anything"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_with_a_cursor() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let expenses = format!("/v1/ledgers/{lid}/expenses");
    let mut last = 0;
    for day in 1..=7 {
        let (_, body) = app
            .call(
                Method::POST,
                &expenses,
                Some(&alice),
                Some(json!({
                    "amount": format!("{day}.00"), "occurred_on": format!("2026-11-{day:02}"),
                    "category": if day % 2 == 0 { "food" } else { "fun" }
                })),
            )
            .await;
        last = body["position"].as_i64().unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{expenses}?limit=3&min_position={last}&cursor={c}"),
            None => format!("{expenses}?limit=3&min_position={last}"),
        };
        let (status, page) = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["amount"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["1.00", "2.00", "3.00", "4.00", "5.00", "6.00", "7.00"]
    );
    let (_, food) = app
        .call(
            Method::GET,
            &format!("{expenses}?category=food&from=2026-11-03&to=2026-11-06"),
            Some(&alice),
            None,
        )
        .await;
    let amounts: Vec<&str> = food["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["4.00", "6.00"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_alerts_analytics_events_and_audits() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let bid = uuid::Uuid::new_v4();
    let budget = format!("/v1/ledgers/{lid}/budgets/{bid}");
    let client = &app.client;
    let put = client
        .put(format!("{}{budget}", app.base))
        .bearer_auth(&alice)
        .json(&json!({ "category": "food", "amount": "100", "period": "monthly" }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let bad = client
        .put(format!("{}{budget}", app.base))
        .bearer_auth(&alice)
        .json(&json!({ "amount": "-5", "period": "monthly" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let expenses = format!("/v1/ledgers/{lid}/expenses");
    let mut positions = Vec::new();
    for amount in ["50.00", "35.00", "20.00"] {
        let (status, body) = app
            .call(Method::POST, &expenses, Some(&alice), Some(json!({
                "amount": amount, "occurred_on": "2026-11-10", "category": "food", "merchant": "Market"
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        positions.push(body["position"].as_i64().unwrap());
    }
    let last = positions[2];

    let (_, budgets) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/budgets?period=2026-11&min_position={last}"),
            Some(&alice),
            None,
        )
        .await;
    let status = &budgets["budgets"][0];
    assert_eq!(status["spent"], "105.00", "{budgets}");
    assert_eq!(status["remaining"], "-5.00");
    assert_eq!(status["utilization"], "105.0");
    assert_eq!(status["status"], "exceeded");
    assert_eq!(status["period_start"], "2026-11-01");
    assert_eq!(status["period_end"], "2026-11-30");

    // Crossing 80 and then 100 raises exactly two alerts (appended by the read models).
    let alerts_path = format!("/v1/ledgers/{lid}/alerts");
    let mut alerts = Value::Null;
    for _ in 0..100 {
        let head = app.head().await.get();
        let (_, body) = app
            .call(
                Method::GET,
                &format!("{alerts_path}?min_position={head}"),
                Some(&alice),
                None,
            )
            .await;
        alerts = body;
        if alerts["alerts"].as_array().is_some_and(|a| a.len() >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, alerts_again) = app
        .call(Method::GET, &alerts_path, Some(&alice), None)
        .await;
    assert_eq!(
        alerts_again["alerts"].as_array().unwrap().len(),
        2,
        "{alerts}"
    );
    let thresholds: Vec<i64> = alerts_again["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["threshold"].as_i64().unwrap())
        .collect();
    assert_eq!(thresholds, [100, 80]);
    assert_eq!(alerts_again["alerts"][0]["severity"], "critical");

    let (_, analytics) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/analytics?date=2026-11-15"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(analytics["total"], "105.00", "{analytics}");
    assert_eq!(analytics["count"], 3);
    assert_eq!(analytics["month_to_date"], "105.00");
    assert_eq!(analytics["by_month"]["2026-11"], "105.00");
    assert_eq!(analytics["top_merchants"][0]["merchant"], "Market");

    // As the ledger stood after the first expense.
    let first = positions[0];
    let (_, then) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/budgets?period=2026-11&as_of={first}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(then["position"], first);
    assert_eq!(then["budgets"][0]["spent"], "50.00", "{then}");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/analytics?as_of=yesterday"),
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

    let (_, events) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/events?limit=2"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 2);
    assert_eq!(events["events"][0]["type"], "LedgerOpened");
    assert_eq!(
        events["events"][1]["prev_hash"],
        events["events"][0]["hash"]
    );
    let after = events["next_after"].as_i64().unwrap();
    let (_, rest) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/events?after={after}"),
            Some(&alice),
            None,
        )
        .await;
    assert!(rest["events"].as_array().unwrap().len() >= 4);
    let (_, verify) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/verify"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(verify["ok"], true, "{verify}");

    let snooze = client
        .post(format!("{}{budget}/snooze", app.base))
        .bearer_auth(&alice)
        .json(&json!({ "until": "2030-01-01T00:00:00Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(snooze.status(), StatusCode::OK);
    let removed = client
        .delete(format!("{}{budget}", app.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let again = client
        .delete(format!(
            "{}/v1/ledgers/{lid}/budgets/{}",
            app.base,
            uuid::Uuid::new_v4()
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
