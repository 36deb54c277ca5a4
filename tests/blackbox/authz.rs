//! Authorization: ids belong to the ledger in the path, outsiders cannot probe
//! ledgers, and membership changes hold the moment they are acknowledged, on every
//! server process and on live connections.

use std::time::Duration;

use ledger::event::Role;
use ledger::testing::TestDb;
use ledger::{BudgetId, LedgerId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::socket::{next, send};
use crate::app::{Api, NewBudget, NewExpense};
use crate::helpers::TestApp;
use crate::two_servers::{serve_with_env, ADMIN};

/// Runs each `async fn name(db: TestDb)` on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(ledger::testing::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = ledger::testing::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    ids_of_another_ledger_are_404_and_touch_nothing,
    outsiders_get_404_and_low_roles_403,
    members_are_listed_revoked_and_ledgers_listed,
);

async fn ids_of_another_ledger_are_404_and_touch_nothing(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let alice = app.create_user("Alice").await.token;
    let bob = app.create_user("Bob").await.token;
    let theirs = app.open_ledger(&alice, "Alice's", "EUR").await;
    let mine = app.open_ledger(&bob, "Bob's", "EUR").await;
    let budget = BudgetId::new();
    let set = app
        .set_budget(&alice, theirs, budget, &NewBudget::monthly(None, "500"))
        .await;
    let expense = app
        .record_expense(
            &alice,
            theirs,
            &NewExpense::new("12.50", "2026-11-02", "food"),
        )
        .await;
    let csv = "Date,Description,Amount\n2026-11-03,Shop,-4.00\n";
    let started = app
        .client
        .post(format!(
            "{}/v1/ledgers/{theirs}/imports?format=csv",
            app.base
        ))
        .bearer_auth(&alice)
        .header("content-type", "application/octet-stream")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let import: Value = started.json().await.unwrap();
    let import = import["import_id"].as_str().unwrap().to_owned();
    // Let the import finish, so the head below is final.
    let import_path = format!("/v1/ledgers/{theirs}/imports/{import}");
    for _ in 0..200 {
        let (_, body) = app
            .call(Method::GET, &import_path, Some(&alice), None)
            .await;
        if body["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let head = app.head().await;

    // Bob, a member of his own ledger only, names Alice's ids under his ledger.
    let eid = expense.expense_id;
    let refused = [
        app.try_set_budget(&bob, mine, budget, &NewBudget::monthly(None, "1"))
            .await,
        app.try_delete_budget(&bob, mine, budget).await,
        app.post(
            &bob,
            &format!("/v1/ledgers/{mine}/budgets/{budget}/snooze"),
            &json!({ "until": "2030-01-01T00:00:00Z" }),
        )
        .await,
        app.try_amend_expense(&bob, mine, eid, None, &json!({ "category": "x" }))
            .await,
        app.try_delete_expense(&bob, mine, eid).await,
        app.get(&bob, &format!("/v1/ledgers/{mine}/expenses/{eid}/history"))
            .await,
        app.post(
            &bob,
            &format!("/v1/ledgers/{mine}/expenses"),
            &json!({ "amount": "1.00", "occurred_on": "2026-11-02", "category": "x",
                     "expense_id": eid }),
        )
        .await,
        app.get(&bob, &format!("/v1/ledgers/{mine}/imports/{import}"))
            .await,
    ];
    for answer in refused {
        answer.refused(StatusCode::NOT_FOUND, "not_found");
    }
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/v1/ledgers/{mine}/imports/{import}"),
            Some(&bob),
            None,
        )
        .await;
    crate::helpers::assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");

    // Nothing was appended, and Alice's streams are where she left them.
    assert_eq!(app.head().await, head);
    let next = app
        .try_set_budget(&alice, theirs, budget, &NewBudget::monthly(None, "600"))
        .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    assert_eq!(next.body["version"], set.version + 1);
    let history: Value = app
        .get(
            &alice,
            &format!("/v1/ledgers/{theirs}/expenses/{eid}/history"),
        )
        .await
        .expect(StatusCode::OK);
    assert!(
        history.to_string().matches("ExpenseRecorded").count() == 1
            && !history.to_string().contains("ExpenseAmended"),
        "{history}"
    );
    app.stop().await;
}

async fn outsiders_get_404_and_low_roles_403(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let alice = app.create_user("Alice").await.token;
    let bob = app.create_user("Bob").await;
    let lid = app.open_ledger(&alice, "Home", "EUR").await;
    let unknown = LedgerId::new();
    // The same status, code and message shape for a real ledger and an unknown one.
    for (ledger, token) in [(lid, &bob.token), (unknown, &bob.token)] {
        let answer = app.try_expenses(token, ledger, "").await;
        answer.refused(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(
            answer.body["error"]["message"],
            format!("no ledger {ledger}")
        );
        app.try_record_expense(token, ledger, &NewExpense::new("1.00", "2026-11-02", "x"))
            .await
            .refused(StatusCode::NOT_FOUND, "not_found");
    }
    // A member with too low a role still hears why.
    app.add_member(&alice, lid, bob.id, Role::Viewer).await;
    app.expenses(&bob.token, lid, "").await;
    app.try_record_expense(&bob.token, lid, &NewExpense::new("1.00", "2026-11-02", "x"))
        .await
        .refused(StatusCode::FORBIDDEN, "forbidden");
    app.stop().await;
}

async fn members_are_listed_revoked_and_ledgers_listed(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let alice = app.create_user("Alice").await;
    let bob = app.create_user("Bob").await;
    let lid = app.open_ledger(&alice.token, "Home", "EUR").await;
    app.add_member(&alice.token, lid, bob.id, Role::Member)
        .await;

    let members: Value = app
        .get(&bob.token, &format!("/v1/ledgers/{lid}/members"))
        .await
        .expect(StatusCode::OK);
    let mut roles: Vec<(String, String)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m.as_object().unwrap().len(), 3, "{m}");
            (
                m["name"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        vec![
            ("Alice".to_owned(), "owner".to_owned()),
            ("Bob".to_owned(), "member".to_owned())
        ]
    );
    let ledgers: Value = app
        .get(&bob.token, "/v1/ledgers")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        ledgers,
        json!({ "ledgers": [{ "ledger_id": lid, "name": "Home", "currency": "EUR",
                               "timezone": "UTC", "role": "member" }] })
    );

    // Bob watches the ledger live, then loses access.
    let mut socket = app.socket(&bob.token).await;
    send(
        &mut socket,
        json!({ "type": "subscribe", "topic": format!("ledger:{lid}:expenses") }),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");
    assert_eq!(next(&mut socket).await["type"], "snapshot");
    // And as Server-Sent Events.
    let mut events = app
        .client
        .get(format!(
            "{}/v1/ledgers/{lid}/stream?topics=expenses",
            app.base
        ))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut heard = String::new();
    while !heard.contains("event: snapshot") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .expect("the snapshot arrives")
            .unwrap()
            .expect("the stream is open");
        heard.push_str(&String::from_utf8_lossy(&chunk));
    }

    let member_path = format!("/v1/ledgers/{lid}/members/{}", bob.id);
    let (status, body) = app
        .call(Method::DELETE, &member_path, Some(&bob.token), None)
        .await;
    crate::helpers::assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = app
        .call(Method::DELETE, &member_path, Some(&alice.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["position"].as_i64().unwrap() > 0);

    // From the answer on: no read, no write, no listing, no deliveries.
    app.try_expenses(&bob.token, lid, "")
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    app.try_record_expense(&bob.token, lid, &NewExpense::new("1.00", "2026-11-02", "x"))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    let ledgers: Value = app
        .get(&bob.token, "/v1/ledgers")
        .await
        .expect(StatusCode::OK);
    assert_eq!(ledgers, json!({ "ledgers": [] }));
    // The ledger's next change is not delivered: the socket hears why instead.
    app.record_expense(
        &alice.token,
        lid,
        &NewExpense::new("3.00", "2026-11-02", "x"),
    )
    .await;
    let revoked = next(&mut socket).await;
    assert_eq!(revoked["type"], "error", "{revoked}");
    assert_eq!(revoked["code"], "forbidden", "{revoked}");
    // The event stream says why and ends, without the expense.
    let mut after = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = events.chunk().await.unwrap() {
            after.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end: {after}");
    assert!(
        after.contains("event: error") && after.contains("forbidden"),
        "{after}"
    );
    assert!(
        !after.contains("3.00"),
        "a delivery after revocation: {after}"
    );
    app.record_expense(
        &alice.token,
        lid,
        &NewExpense::new("4.00", "2026-11-02", "x"),
    )
    .await;
    let later = tokio::time::timeout(Duration::from_millis(800), next(&mut socket)).await;
    assert!(later.is_err(), "a delivery after revocation: {later:?}");

    // Revoking again names a member the ledger no longer has (404); revoking the
    // owner is refused (422). Neither appends anything.
    let head = app.head().await;
    let (status, body) = app
        .call(Method::DELETE, &member_path, Some(&alice.token), None)
        .await;
    crate::helpers::assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let owner_path = format!("/v1/ledgers/{lid}/members/{}", alice.id);
    let (status, body) = app
        .call(Method::DELETE, &owner_path, Some(&alice.token), None)
        .await;
    crate::helpers::assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["error"]["field"], "user_id");
    assert_eq!(app.head().await, head);
    app.stop().await;
}

/// The owner changes a member's role through server A; right after the answer, the
/// member writes (or reads) through server B. 100 tries each, none accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downgrades_and_revocations_hold_at_once_on_another_server() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (mut a, base_a) = serve_with_env(&db.url, &[]).await;
    let (mut b, base_b) = serve_with_env(&db.url, &[]).await;
    let (api_a, api_b) = (Api::new(base_a, Some(ADMIN)), Api::new(base_b, Some(ADMIN)));
    let owner = api_a.create_user("Owner").await.token;
    let member = api_a.create_user("Member").await;
    let lid = api_a.open_ledger(&owner, "Home", "EUR").await;
    let expense = NewExpense::new("1.00", "2026-11-02", "x");

    let mut accepted = 0;
    for _ in 0..100 {
        api_a.add_member(&owner, lid, member.id, Role::Member).await;
        api_a.add_member(&owner, lid, member.id, Role::Viewer).await;
        let answer = api_b.try_record_expense(&member.token, lid, &expense).await;
        match answer.status {
            StatusCode::FORBIDDEN => {}
            StatusCode::CREATED => accepted += 1,
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(accepted, 0, "writes accepted after a downgrade");

    let mut read = 0;
    let member_path = format!("/v1/ledgers/{lid}/members/{}", member.id);
    for _ in 0..100 {
        api_a.add_member(&owner, lid, member.id, Role::Viewer).await;
        let (status, body) = api_a
            .call(Method::DELETE, &member_path, Some(&owner), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answer = api_b.try_expenses(&member.token, lid, "").await;
        match answer.status {
            StatusCode::NOT_FOUND => {}
            StatusCode::OK => read += 1,
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(read, 0, "reads answered after a revocation");
    let _ = a.start_kill();
    let _ = b.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reads_and_sets_their_profile() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let alice = app.create_user("Alice").await;
    let me: Value = app.get(&alice.token, "/v1/me").await.expect(StatusCode::OK);
    assert_eq!(
        me,
        json!({ "user_id": alice.id, "name": "Alice", "email": null, "locale": "en" })
    );
    let patch = |body: Value| {
        let token = alice.token.clone();
        let app = &app;
        async move {
            app.call(Method::PATCH, "/v1/me", Some(&token), Some(body))
                .await
        }
    };
    let (status, me) = patch(json!({ "email": "alice@example.com", "locale": "de" })).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["locale"], "de");
    for (body, field) in [
        (json!({ "email": "alice@" }), "email"),
        (json!({ "email": "a b@example.com" }), "email"),
        (json!({ "locale": "english" }), "locale"),
        (json!({ "locale": "en_US" }), "locale"),
    ] {
        let (status, answer) = patch(body).await;
        crate::helpers::assert_error(
            status,
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(answer["error"]["field"], field);
    }
    let (status, me) = patch(json!({ "email": null })).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["email"].clone(), me["locale"].clone()),
        (Value::Null, json!("de"))
    );
    let (status, _) = app
        .call(Method::GET, "/v1/me", Some(crate::helpers::ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}
