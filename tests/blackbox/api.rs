//! The HTTP API, driven over real HTTP against a server started in-process on port 0.

use std::time::Duration;

use ledger::event::Role;
use ledger::testing::TestDb;
use ledger::{BudgetId, ExpenseId, LedgerId};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::app::{NewBudget, NewExpense};
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
    let alice = app.create_user("Alice").await.token;
    let bob = app.create_user("Bob").await;
    let lid = app.open_ledger(&alice, "Home", "EUR").await;

    let groceries = NewExpense::new("12.5", "2026-11-02", "groceries")
        .merchant("Market")
        .tags(&["food"]);
    let created = app.record_expense(&alice, lid, &groceries).await;
    assert_eq!(created.version, 1);
    let eid = created.expense_id;

    let query = format!("min_position={}", created.position);
    let list = app.expenses(&alice, lid, &query).await;
    assert!(list.position >= created.position);
    assert_eq!(list.items[0].amount, "12.50");
    assert_eq!(list.items[0].currency, "EUR");
    assert!(!list.items[0].deleted);

    // Bob is nobody here until the owner says otherwise.
    let forbidden = |answer: crate::app::Answer| answer.refused(StatusCode::FORBIDDEN, "forbidden");
    // An outsider cannot tell this ledger from one that does not exist.
    app.try_expenses(&bob.token, lid, "")
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    app.add_member(&alice, lid, bob.id, Role::Viewer).await;
    app.expenses(&bob.token, lid, "").await;
    let small = NewExpense::new("1.00", "2026-11-02", "x");
    forbidden(app.try_record_expense(&bob.token, lid, &small).await);
    forbidden(
        app.try_add_member(&bob.token, lid, bob.id, Role::Owner)
            .await,
    );

    // Optimistic concurrency: a stale If-Match is a 409 with the current version and state.
    let changes = json!({ "category": "food", "merchant": null });
    let amended = app.amend_expense(&alice, lid, eid, Some(1), &changes).await;
    assert_eq!(amended.version, 2);
    let stale = app
        .try_amend_expense(&alice, lid, eid, Some(1), &json!({ "amount": "99.00" }))
        .await;
    stale.refused(StatusCode::CONFLICT, "version_conflict");
    assert_eq!(stale.body["error"]["version"], 2);
    assert_eq!(stale.body["error"]["current"]["amount"], "12.50");
    app.try_amend_expense(&alice, lid, eid, Some(2), &json!({}))
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let deleted = app.delete_expense(&alice, lid, eid).await;
    let history = app.expense_history(&bob.token, lid, eid).await;
    assert_eq!(
        history.kinds(),
        ["ExpenseRecorded", "ExpenseAmended", "ExpenseDeleted"]
    );
    let query = format!("min_position={}", deleted.position);
    let list = app.expenses(&alice, lid, &query).await;
    assert!(list.items[0].deleted);
    assert_eq!(list.items[0].merchant, None);

    // A retried create with the same Idempotency-Key: same answer, nothing appended.
    let coffee = NewExpense::new("3.20", "2026-11-03", "coffee");
    let key = "coffee-2026-11-03";
    let first = app.record_expense_once(&alice, lid, key, &coffee).await;
    let head = app.head().await;
    let second = app.record_expense_once(&alice, lid, key, &coffee).await;
    assert_eq!(first, second);
    assert_eq!(app.head().await, head);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_appends_nothing() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let alice = app.create_user("Alice").await.token;
    let eur = app.open_ledger(&alice, "Home", "EUR").await;
    let jpy = app.open_ledger(&alice, "Home", "JPY").await;
    let head = app.head().await;
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;

    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body["ok"].clone()), (StatusCode::OK, json!(true)));
    let expenses = format!("/v1/ledgers/{eur}/expenses");
    let (status, body) = app.call(Method::GET, &expenses, None, None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    app.try_expenses("nope", eur, "")
        .await
        .refused(StatusCode::UNAUTHORIZED, "unauthorized");
    app.try_create_user(&alice, "Eve")
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");

    let day = "2026-11-02";
    let long = "x".repeat(65);
    let cases = [
        (NewExpense::new("12.345", day, "x"), "amount"),
        // Written zeros count: in much of Europe "12.500" is twelve thousand five hundred.
        (NewExpense::new("12.500", day, "x"), "amount"),
        (NewExpense::new(".5", day, "x"), "amount"),
        (NewExpense::new("1e3", day, "x"), "amount"),
        (NewExpense::new("0.00", day, "x"), "amount"),
        (NewExpense::new("1000000000000", day, "x"), "amount"),
        (NewExpense::new("1.00", "2026-02-30", "x"), "occurred_on"),
        (NewExpense::new("1.00", day, "  "), "category"),
        (NewExpense::new("1.00", day, &long), "category"),
        (
            NewExpense::new("1.00", day, "x").original("2", None),
            "original_amount",
        ),
    ];
    for (expense, field) in cases {
        let answer = app.try_record_expense(&alice, eur, &expense).await;
        answer.refused(invalid, "validation_failed");
        assert_eq!(answer.body["error"]["field"], field, "{}", answer.body);
    }
    let answer = app
        .try_record_expense(&alice, jpy, &NewExpense::new("100.5", day, "x"))
        .await;
    answer.refused(invalid, "validation_failed");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JPY allows at most 0 decimals"),
        "{}",
        answer.body
    );

    // A float amount, an unknown field, broken JSON, a hostile size.
    let float = json!({ "amount": 12.5, "occurred_on": day, "category": "x" });
    app.post(&alice, &expenses, &float)
        .await
        .refused(invalid, "validation_failed");
    let unknown = json!({ "amount": "1", "occurred_on": day, "category": "x", "color": 1 });
    app.post(&alice, &expenses, &unknown)
        .await
        .refused(invalid, "validation_failed");
    let (status, answer) = app.raw(&expenses, &alice, "{\"amount\": ").await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "malformed");
    let huge = format!(
        "{{\"amount\":\"1\",\"occurred_on\":\"2026-11-02\",\"category\":\"{}\"}}",
        "x".repeat(200_000)
    );
    let (status, answer) = app.raw(&expenses, &alice, &huge).await;
    assert_error(status, &answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    // An array where an object is meant: serde would fill the fields in order.
    let (status, answer) = app
        .raw(&expenses, &alice, r#"["1.00", "2026-11-02", "x"]"#)
        .await;
    assert_error(status, &answer, invalid, "validation_failed");
    // If-Match: a version counts from 1, in digits (or one quoted entity tag).
    let first = app
        .record_expense(&alice, eur, &NewExpense::new("1.00", day, "x"))
        .await;
    let path = format!("{expenses}/{}", first.expense_id);
    for bad in ["0", "01", "\"\"3\"\"", "-1", "x"] {
        let answer = app
            .client
            .patch(format!("{}{path}", app.base))
            .bearer_auth(&alice)
            .header("if-match", bad)
            .json(&json!({ "category": "y" }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), invalid, "If-Match {bad:?}");
    }
    let head = app.head().await;
    let answer = app.try_open_ledger(&alice, "x", "XYZ").await;
    answer.refused(invalid, "validation_failed");
    assert_eq!(answer.body["error"]["field"], "currency");

    // Unknown ledgers and expenses, malformed ids.
    let not_found = |answer: crate::app::Answer| answer.refused(StatusCode::NOT_FOUND, "not_found");
    not_found(app.try_expenses(&alice, LedgerId::new(), "").await);
    not_found(app.get(&alice, "/v1/ledgers/not-a-uuid/expenses").await);
    not_found(app.try_delete_expense(&alice, eur, ExpenseId::new()).await);
    for query in ["limit=0", "cursor=zzz"] {
        app.try_expenses(&alice, eur, query)
            .await
            .refused(invalid, "validation_failed");
    }

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
    let alice = app.create_user("Alice").await.token;
    let lid = app.open_ledger(&alice, "Home", "EUR").await;
    let mut last = None;
    for day in 1..=7 {
        let category = if day % 2 == 0 { "food" } else { "fun" };
        let expense = NewExpense::new(format!("{day}.00"), &format!("2026-11-{day:02}"), category);
        last = Some(app.record_expense(&alice, lid, &expense).await.position);
    }
    let last = last.unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&min_position={last}&cursor={c}"),
            None => format!("limit=3&min_position={last}"),
        };
        let page = app.expenses(&alice, lid, &query).await;
        seen.extend(page.amounts().into_iter().map(str::to_owned));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["1.00", "2.00", "3.00", "4.00", "5.00", "6.00", "7.00"]
    );
    let food = app
        .expenses(&alice, lid, "category=food&from=2026-11-03&to=2026-11-06")
        .await;
    assert_eq!(food.amounts(), ["4.00", "6.00"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_alerts_analytics_events_and_audits() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let alice = app.create_user("Alice").await.token;
    let lid = app.open_ledger(&alice, "Home", "EUR").await;
    let bid = BudgetId::new();
    app.set_budget(&alice, lid, bid, &NewBudget::monthly(Some("food"), "100"))
        .await;
    let negative = NewBudget::monthly(None, "-5");
    let bad = app.try_set_budget(&alice, lid, bid, &negative).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

    let mut positions = Vec::new();
    for amount in ["50.00", "35.00", "20.00"] {
        let expense = NewExpense::new(amount, "2026-11-10", "food").merchant("Market");
        positions.push(app.record_expense(&alice, lid, &expense).await.position);
    }
    let last = positions[2];

    let budgets = app
        .budgets(&alice, lid, &format!("period=2026-11&min_position={last}"))
        .await;
    let status = &budgets.budgets[0];
    assert_eq!(status.spent, "105.00", "{budgets:?}");
    assert_eq!(status.remaining, "-5.00");
    assert_eq!(status.utilization, "105.0");
    assert_eq!(status.status, "exceeded");
    assert_eq!(status.period_start, "2026-11-01");
    assert_eq!(status.period_end, "2026-11-30");

    // Crossing 80 and then 100 raises exactly two alerts (appended by the read models).
    let mut alerts = None;
    for _ in 0..100 {
        let head = app.head().await.get();
        let seen = app
            .alerts(&alice, lid, &format!("min_position={head}"))
            .await;
        let enough = seen.alerts.len() >= 2;
        alerts = Some(seen);
        if enough {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = app.alerts(&alice, lid, "").await;
    assert_eq!(again.alerts.len(), 2, "{alerts:?}");
    let thresholds: Vec<u32> = again.alerts.iter().map(|a| a.threshold).collect();
    assert_eq!(thresholds, [100, 80]);
    assert_eq!(again.alerts[0].severity, "critical");

    let analytics = app.analytics(&alice, lid, "date=2026-11-15").await;
    assert_eq!(analytics.total, "105.00", "{analytics:?}");
    assert_eq!(analytics.count, 3);
    assert_eq!(analytics.month_to_date, "105.00");
    assert_eq!(analytics.by_month["2026-11"], "105.00");
    assert_eq!(analytics.top_merchants[0].merchant, "Market");

    // As the ledger stood after the first expense.
    let first = positions[0];
    let then = app
        .budgets(&alice, lid, &format!("period=2026-11&as_of={first}"))
        .await;
    assert_eq!(then.position, first);
    assert_eq!(then.budgets[0].spent, "50.00", "{then:?}");
    app.try_analytics(&alice, lid, "as_of=yesterday")
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let events = app.events(&alice, lid, "limit=2").await;
    assert_eq!(events.events.len(), 2);
    assert_eq!(events.events[0].kind, "LedgerOpened");
    assert_eq!(events.events[1].prev_hash, events.events[0].hash);
    let after = events.next_after.unwrap();
    let rest = app.events(&alice, lid, &format!("after={after}")).await;
    assert!(rest.events.len() >= 4);
    let verify = app.verify(&alice, lid).await;
    assert!(verify.ok, "{verify:?}");

    app.snooze_budget(&alice, lid, bid, "2030-01-01T00:00:00Z")
        .await;
    app.delete_budget(&alice, lid, bid).await;
    let again = app.try_delete_budget(&alice, lid, BudgetId::new()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    app.stop().await;
}
