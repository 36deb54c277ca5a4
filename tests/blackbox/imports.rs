//! Statement imports through the real server: every format and encoding,
//! re-import and overlap, cancellation midway, progress on the socket, imports
//! racing with hand-recorded expenses, refused files, and a crash mid-import.

use std::time::Duration;

use futures::StreamExt;
use ledger::testing::TestDb;
use ledger::{ImportId, ImportRecord, ImportState, LedgerId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app::socket::{next_of_type, next_within, send, Socket};
use crate::helpers::{assert_error, TestApp};

/// Runs each `async fn name(db: TestDb)` as `sqlite::name` and `postgres::name`.
macro_rules! both_backends {
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

both_backends!(
    every_format_and_encoding_is_imported,
    reimports_and_overlaps_append_only_new_rows,
    cancelling_midway_appends_nothing,
    progress_arrives_in_order_then_the_import_completes,
    an_import_racing_with_manual_expenses_loses_nothing,
    an_import_left_running_by_a_crash_shows_failed_after_restart,
    several_files_in_one_request_are_imports_of_their_own,
    a_server_shut_down_mid_import_stops_it_and_appends_nothing,
);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../statements/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn utf16le(bytes: &[u8], bom: bool) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// A CSV of `rows` distinct card payments, spread over 2025.
fn big_csv(rows: usize) -> Vec<u8> {
    let mut out = String::from("Date,Description,Amount\n");
    for i in 0..rows {
        out.push_str(&format!(
            "2025-{:02}-{:02},Shop {} ref {},-{}.{:02}\n",
            1 + (i / 28) % 12,
            1 + i % 28,
            i % 300,
            i,
            1 + i % 900,
            i % 100
        ));
    }
    out.into_bytes()
}

async fn upload(
    app: &TestApp,
    token: &str,
    lid: &str,
    query: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/v1/ledgers/{lid}/imports?{query}", app.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Uploads `files` as the parts of one `multipart/form-data` request.
async fn upload_parts(
    app: &TestApp,
    token: &str,
    lid: &str,
    files: &[(&str, Vec<u8>)],
) -> (StatusCode, Value) {
    let boundary = "ledger-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let response = app
        .client
        .post(format!("{}/v1/ledgers/{lid}/imports", app.base))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Imports a file and waits for its end; returns the final status.
async fn import(app: &TestApp, token: &str, lid: &str, query: &str, body: Vec<u8>) -> Value {
    let (status, body) = upload(app, token, lid, query, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let iid = body["import_id"].as_str().unwrap().to_owned();
    finished(app, token, lid, &iid).await
}

async fn finished(app: &TestApp, token: &str, lid: &str, iid: &str) -> Value {
    let path = format!("/v1/ledgers/{lid}/imports/{iid}");
    for _ in 0..600 {
        let (status, body) = app.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["state"] != "running" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {iid} did not finish");
}

/// The number of live expenses, by the analytics read model.
async fn expense_count(app: &TestApp, token: &str, lid: &str) -> u64 {
    let (status, body) = app
        .call(
            Method::GET,
            &format!(
                "/v1/ledgers/{lid}/analytics?min_position={}",
                app.head().await
            ),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["count"].as_u64().unwrap()
}

/// Imports report progress while they work; under a loaded machine a stage can
/// take longer than a delta, so these waits are longer than the socket default.
const SLOW: Duration = Duration::from_secs(30);

async fn next(socket: &mut Socket) -> Value {
    next_within(socket, SLOW).await
}

async fn every_format_and_encoding_is_imported(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (_, alice) = app.user("Alice").await;
    let uk = fixture("uk_debit_credit.csv");
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "CSV, UTF-8 with BOM",
            "EUR",
            fixture("utf8_bom.csv"),
            "format=csv",
        ),
        ("CSV with ids, UTF-8", "EUR", fixture("with_id.csv"), ""),
        (
            "CSV, ISO-8859-1",
            "EUR",
            fixture("iso_8859_1.csv"),
            "encoding=iso-8859-1",
        ),
        (
            "CSV, Windows-1252",
            "EUR",
            fixture("de_semicolon_1252.csv"),
            "",
        ),
        ("CSV, UTF-8", "GBP", uk.clone(), ""),
        ("CSV, UTF-16LE with BOM", "GBP", utf16le(&uk, true), ""),
        ("CSV, UTF-16LE", "GBP", utf16le(&uk, false), ""),
        ("CSV, quoted", "USD", fixture("us_quoted_balance.csv"), ""),
        (
            "OFX 1 SGML, Windows-1252",
            "EUR",
            fixture("ofx1_sgml_1252.ofx"),
            "format=ofx",
        ),
        ("OFX 2 XML", "USD", fixture("ofx2_xml.ofx"), "format=ofx"),
        ("QFX", "USD", fixture("card.qfx"), "format=qfx"),
        ("QIF", "USD", fixture("bank.qif"), "format=qif"),
    ];
    for (case, currency, bytes, query) in cases {
        let lid = app.ledger(&alice, currency).await;
        let status = import(&app, &alice, &lid, query, bytes).await;
        assert_eq!(status["state"], "completed", "{case}: {status}");
        assert_eq!(status["percent"], 100, "{case}");
        let imported = status["imported"].as_u64().unwrap();
        assert!(imported > 0, "{case}: {status}");
        assert_eq!(status["duplicates"], 0, "{case}: {status}");
        assert_eq!(expense_count(&app, &alice, &lid).await, imported, "{case}");
        let (_, events) = app
            .call(
                Method::GET,
                &format!("/v1/ledgers/{lid}/events?limit=1000"),
                Some(&alice),
                None,
            )
            .await;
        let types: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        // LedgerOpened, then the import as one ordered run.
        assert_eq!(types[1], "ImportStarted", "{case}: {types:?}");
        assert_eq!(types.last(), Some(&"ImportCompleted"), "{case}: {types:?}");
        assert_eq!(types.len() as u64, imported + 3, "{case}");
    }
    // The UTF-16 files hold the same rows as the UTF-8 one: in one ledger, only
    // the first is new.
    let lid = app.ledger(&alice, "GBP").await;
    let first = import(&app, &alice, &lid, "", uk.clone()).await;
    for bytes in [utf16le(&uk, true), utf16le(&uk, false)] {
        let again = import(&app, &alice, &lid, "", bytes).await;
        assert_eq!(again["imported"], 0, "{again}");
        assert_eq!(again["duplicates"], first["imported"]);
    }
    app.stop().await;
}

fn csv(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut out = String::from("Date,Description,Amount\n");
    for (date, what, amount) in rows {
        out.push_str(&format!("{date},{what},{amount}\n"));
    }
    out.into_bytes()
}

async fn reimports_and_overlaps_append_only_new_rows(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    // A coffee recorded by hand two days before the statement's.
    let (status, manual) = app
        .call(
            Method::POST,
            &format!("/v1/ledgers/{lid}/expenses"),
            Some(&alice),
            Some(json!({"amount": "7.77", "occurred_on": "2025-03-01", "category": "coffee"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manual}");
    let march = csv(&[
        ("2025-03-01", "Coffee", "-3.20"),
        ("2025-03-01", "Coffee", "-3.20"),
        ("2025-03-02", "Groceries", "-45.10"),
        ("2025-03-03", "Bakery", "-7.77"),
        ("2025-03-04", "Salary", "2500.00"),
    ]);
    let first = import(&app, &alice, &lid, "", march.clone()).await;
    assert_eq!(
        first["imported"], 4,
        "two identical coffees stay two: {first}"
    );
    assert_eq!(first["skipped_credits"], 1);
    assert_eq!(
        first["possible_duplicates"],
        json!([{ "line": 5, "expense_id": manual["expense_id"] }]),
        "the hand-recorded 7.77 two days off is reported, not merged"
    );
    assert_eq!(expense_count(&app, &alice, &lid).await, 5);

    let head = app.head().await;
    let again = import(&app, &alice, &lid, "", march.clone()).await;
    assert_eq!(
        (again["imported"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(app.head().await, head, "a re-import appends nothing");

    // A deleted imported expense stays deleted when its statement comes again.
    let (_, list) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/expenses?category=uncategorized"),
            Some(&alice),
            None,
        )
        .await;
    let groceries = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["merchant"] == "Groceries")
        .unwrap()["expense_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/ledgers/{lid}/expenses/{groceries}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let overlap = csv(&[
        ("2025-03-02", "Groceries", "-45.10"),
        ("2025-03-03", "Bakery", "-7.77"),
        ("2025-03-05", "Cinema", "-12.00"),
        ("2025-03-05", "Coffee", "-3.20"),
    ]);
    let head = app.head().await;
    let third = import(&app, &alice, &lid, "", overlap).await;
    assert_eq!(
        (third["imported"].as_u64(), third["duplicates"].as_u64()),
        (Some(2), Some(2)),
        "{third}"
    );
    assert_eq!(
        app.head().await.get(),
        head.get() + 4,
        "ImportStarted, two expenses, ImportCompleted"
    );
    assert_eq!(expense_count(&app, &alice, &lid).await, 6);

    // The same Idempotency-Key is the same import, run once.
    let send = |key: &'static str| {
        app.client
            .post(format!("{}/v1/ledgers/{lid}/imports", app.base))
            .bearer_auth(&alice)
            .header("idempotency-key", key)
            .body(csv(&[("2025-03-09", "Florist", "-20.00")]))
            .send()
    };
    let a: Value = send("statement-9").await.unwrap().json().await.unwrap();
    let b: Value = send("statement-9").await.unwrap().json().await.unwrap();
    assert_eq!(a["import_id"], b["import_id"]);
    let done = finished(&app, &alice, &lid, a["import_id"].as_str().unwrap()).await;
    assert_eq!(done["imported"], 1);
    assert_eq!(expense_count(&app, &alice, &lid).await, 7);
    app.stop().await;
}

async fn cancelling_midway_appends_nothing(db: TestDb) {
    let app = TestApp::spawn_with(db, |server| {
        server.slow_imports_for_tests(Duration::from_millis(150));
    })
    .await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut socket = app
        .subscribed_socket(&alice, &format!("ledger:{lid}:imports"))
        .await;
    let head = app.head().await;
    let (status, body) = upload(&app, &alice, &lid, "", big_csv(20_000)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let iid = body["import_id"].as_str().unwrap().to_owned();
    // Wait until it is well into deduplicating.
    loop {
        let message = next(&mut socket).await;
        assert_eq!(message["type"], "import_progress", "{message}");
        if message["data"]["stage"] == "deduplicating"
            && message["data"]["processed"].as_u64() > Some(0)
        {
            break;
        }
    }
    let path = format!("/v1/ledgers/{lid}/imports/{iid}");
    let (status, body) = app.call(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    let completed = next_of_type(&mut socket, "import_completed", SLOW).await;
    assert_eq!(completed["data"]["state"], "cancelled", "{completed}");
    assert!(
        completed.get("position").is_none(),
        "nothing from the log: {completed}"
    );
    let status = finished(&app, &alice, &lid, &iid).await;
    assert_eq!(status["state"], "cancelled");
    assert_eq!(app.head().await, head, "a cancelled import appends nothing");
    assert_eq!(expense_count(&app, &alice, &lid).await, 0);
    // Cancelling again says the same; a viewer may not cancel.
    let (status, _) = app.call(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);

    // A committed import cannot be cancelled.
    let done = import(
        &app,
        &alice,
        &lid,
        "",
        csv(&[("2025-01-01", "Tea", "-2.00")]),
    )
    .await;
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!(
                "/v1/ledgers/{lid}/imports/{}",
                done["import_id"].as_str().unwrap()
            ),
            Some(&alice),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "import_finished");
    app.stop().await;
}

async fn progress_arrives_in_order_then_the_import_completes(db: TestDb) {
    let app = TestApp::spawn_with(db, |server| {
        server.slow_imports_for_tests(Duration::from_millis(30));
    })
    .await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let mut imports = app
        .subscribed_socket(&alice, &format!("ledger:{lid}:imports"))
        .await;
    let rows = 12_000;
    let (status, body) = upload(&app, &alice, &lid, "", big_csv(rows)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let iid = body["import_id"].clone();
    let mut progress = Vec::new();
    let completed = loop {
        let message = next(&mut imports).await;
        assert_eq!(message["topic"], format!("ledger:{lid}:imports"));
        match message["type"].as_str() {
            Some("import_progress") => progress.push(message["data"].clone()),
            Some("import_completed") => break message,
            other => panic!("unexpected {other:?}: {message}"),
        }
    };
    assert!(progress.len() >= 4, "{progress:?}");
    let stage = |p: &Value| match p["stage"].as_str() {
        Some("parsing") => 0,
        Some("deduplicating") => 1,
        Some("appending") => 2,
        other => panic!("stage {other:?}"),
    };
    for pair in progress.windows(2) {
        assert!(stage(&pair[0]) <= stage(&pair[1]), "{pair:?}");
        assert!(
            pair[0]["percent"].as_u64() <= pair[1]["percent"].as_u64(),
            "{pair:?}"
        );
    }
    for p in &progress {
        assert_eq!(p["import_id"], iid);
        assert_eq!(p["total"], rows as u64);
        assert!(p["processed"].as_u64() <= p["total"].as_u64());
    }
    assert!(progress.iter().any(|p| p["stage"] == "appending"));
    assert_eq!(completed["data"]["import_id"], iid);
    assert_eq!(completed["data"]["imported"], rows as u64);
    let status = finished(&app, &alice, &lid, iid.as_str().unwrap()).await;
    assert_eq!(
        completed["position"], status["position"],
        "{completed} {status}"
    );
    assert_eq!(status["position"], json!(app.head().await));
    // Exactly one import_completed: nothing else follows but heartbeats.
    let more = tokio::time::timeout(Duration::from_millis(500), next(&mut imports)).await;
    assert!(more.is_err(), "{more:?}");
    app.stop().await;
}

async fn an_import_racing_with_manual_expenses_loses_nothing(db: TestDb) {
    let app = TestApp::spawn_with(db, |server| {
        server.slow_imports_for_tests(Duration::from_millis(20));
    })
    .await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let rows = 6_000;
    let (status, body) = upload(&app, &alice, &lid, "", big_csv(rows)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let iid = body["import_id"].as_str().unwrap().to_owned();
    let mut positions = Vec::new();
    for i in 0..40 {
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/v1/ledgers/{lid}/expenses"),
                Some(&alice),
                Some(json!({"amount": format!("{}.50", i + 1), "occurred_on": "2025-06-01", "category": "manual"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        positions.push(body["position"].as_i64().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A second file at the same time is queued behind the first and sees its rows.
    let (status, second) = upload(&app, &alice, &lid, "", big_csv(rows + 10)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{second}");
    let first = finished(&app, &alice, &lid, &iid).await;
    let second = finished(&app, &alice, &lid, second["import_id"].as_str().unwrap()).await;
    assert_eq!(first["imported"], rows as u64, "{first}");
    assert_eq!(
        (second["imported"].as_u64(), second["duplicates"].as_u64()),
        (Some(10), Some(rows as u64))
    );
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        expense_count(&app, &alice, &lid).await,
        rows as u64 + 10 + 40
    );
    let (_, verify) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/verify"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(verify["ok"], true, "{verify}");
    // The import's events are one unbroken run of positions.
    let end = first["position"].as_i64().unwrap();
    let start = end - rows as i64 - 1;
    assert!(
        positions.iter().all(|p| *p < start || *p > end),
        "{positions:?} vs {start}..={end}"
    );
    app.stop().await;
}

async fn an_import_left_running_by_a_crash_shows_failed_after_restart(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let head = app.head().await;
    let db = app.stop_keeping_db().await;
    // What a server killed mid-import leaves: a running row nobody refreshes, and
    // nothing in the log (the append is atomic).
    let iid = ImportId::new();
    let summary = json!({
        "import_id": iid, "ledger_id": lid, "state": "running", "stage": "appending",
        "processed": 10, "total": 100, "percent": 50, "imported": 0, "duplicates": 0,
        "errors": [], "possible_duplicates": [], "skipped_credits": 0, "skipped_zero": 0,
        "format": "csv", "encoding": "UTF-8", "file_name": "march.csv", "position": null,
        "message": null
    });
    let store = db.store().await;
    store
        .save_import(&ImportRecord {
            import_id: iid,
            ledger_id: LedgerId::parse(&lid).unwrap(),
            owner: uuid::Uuid::new_v4(),
            state: ImportState::Running,
            summary: summary.to_string(),
            updated_at: chrono::Utc::now() - chrono::Duration::minutes(5),
        })
        .await
        .unwrap();
    store.close().await;
    let app = TestApp::spawn(db).await;
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/imports/{iid}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "failed", "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("nothing was appended"));
    assert_eq!(app.head().await, head);
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/v1/ledgers/{lid}/imports/{iid}"),
            Some(&alice),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "import_finished");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_files_and_callers_get_clear_errors_and_append_nothing() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let (bob_id, bob) = app.user("Bob").await;
    let lid = app.ledger(&alice, "EUR").await;
    let usd = app.ledger(&alice, "USD").await;
    let head = app.head().await;

    // Not what the format says: 422 naming the line.
    let (status, body) = upload(&app, &alice, &lid, "format=ofx", fixture("with_id.csv")).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["error"]["line"], 1, "{body}");
    let (status, body) = upload(&app, &alice, &lid, "", b"%PDF-1.7\n...".to_vec()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("PDF"),
        "{body}"
    );
    let (status, body) = upload(&app, &alice, &lid, "", Vec::new()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    // Unreadable rows fail the file, each named; with skip_invalid the good ones go in.
    let (status, body) = upload(&app, &alice, &lid, "", fixture("malformed.csv")).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        body["error"]["errors"].as_array().unwrap().len() >= 2,
        "{body}"
    );
    assert!(
        body["error"]["errors"][0]["line"].as_u64().is_some(),
        "{body}"
    );
    // Another currency: refused unless mapped.
    let (status, body) = upload(&app, &alice, &usd, "", fixture("with_id.csv")).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(body["error"]["line"].as_u64().is_some(), "{body}");
    // Too many rows, and too large.
    let (status, body) = upload(&app, &alice, &lid, "max_rows=10", big_csv(11)).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(body["error"]["line"].as_u64().is_some(), "{body}");
    let (status, body) = upload(&app, &alice, &lid, "", vec![b'a'; 21 * 1024 * 1024]).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    // Options that are not understood.
    let (status, body) = upload(&app, &alice, &lid, "credits=keep", fixture("with_id.csv")).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["error"]["field"], "credits");
    let (status, body) = upload(
        &app,
        &alice,
        &lid,
        "no_such_option=1",
        fixture("with_id.csv"),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "malformed");
    // Someone else's ledger (as if it did not exist), and a viewer.
    let (status, body) = upload(&app, &bob, &lid, "", fixture("with_id.csv")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/ledgers/{lid}/members"),
            Some(&alice),
            Some(json!({"user_id": bob_id, "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let head_after_grant = app.head().await;
    let (status, body) = upload(&app, &bob, &lid, "", fixture("with_id.csv")).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/imports/{}", ImportId::new()),
            Some(&bob),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.head().await, head_after_grant, "nothing appended");
    assert_eq!(head_after_grant.get(), head.get() + 1);

    // skip_invalid: the good rows go in, the bad ones are listed with their lines.
    let status = import(
        &app,
        &alice,
        &lid,
        "skip_invalid=true",
        fixture("malformed.csv"),
    )
    .await;
    assert_eq!(status["state"], "completed", "{status}");
    assert!(status["imported"].as_u64().unwrap() >= 1);
    assert!(status["errors"].as_array().unwrap().len() >= 2, "{status}");
    // Mapped currency goes in.
    let status = import(
        &app,
        &alice,
        &usd,
        "currency_map=EUR:USD",
        fixture("with_id.csv"),
    )
    .await;
    assert_eq!(status["state"], "completed", "{status}");
    // A viewer reads an import's status.
    let (status, body) = app
        .call(
            Method::GET,
            &format!(
                "/v1/ledgers/{usd}/imports/{}",
                status["import_id"].as_str().unwrap()
            ),
            Some(&bob),
            None,
        )
        .await;
    // Bob is no member of this ledger: it is as unknown to him as the import.
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_imports_files_with_the_same_summary() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let db = app.stop_keeping_db().await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("march.csv");
    let second = dir.path().join("statement.ofx");
    std::fs::write(&first, fixture("with_id.csv")).unwrap();
    std::fs::write(&second, fixture("ofx1_sgml_1252.ofx")).unwrap();
    let run = |json: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"));
        command
            .args(["import", "--database-url", &db.url, "--ledger", &lid])
            .arg(&first)
            .arg(&second)
            .env("RUST_LOG", "warn");
        if json {
            command.arg("--json");
        }
        command.output().expect("the ledger binary runs")
    };
    let output = run(true);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines
            .iter()
            .all(|l| l["state"] == "completed" && l["imported"].as_u64() > Some(0)),
        "{stdout}"
    );
    let again = run(false);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{text}");
    assert_eq!(text.matches("imported 0").count(), 2, "{text}");
    // A file that is not a statement: refused, exit 1.
    std::fs::write(&first, b"%PDF-1.4 not a statement").unwrap();
    let refused = run(false);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("PDF"));
}

/// A server killed (SIGKILL) in the middle of an import leaves nothing of it in the
/// log, and the next server reports the import as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_import_appends_nothing_and_reports_it_failed() {
    use crate::two_servers::{serve_with_env, ADMIN};
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let client = reqwest::Client::new();
    let (mut first, base) = serve_with_env(&db.url, &[("LEDGER_TEST_IMPORT_PACE_MS", "200")]).await;
    let send = |method: Method, url: String, token: &str| {
        client.request(method, url).bearer_auth(token.to_owned())
    };
    let user: Value = send(Method::POST, format!("{base}/v1/users"), ADMIN)
        .json(&json!({ "name": "Alice" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice = user["token"].as_str().unwrap().to_owned();
    let ledger: Value = send(Method::POST, format!("{base}/v1/ledgers"), &alice)
        .json(&json!({ "name": "Home", "currency": "EUR" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lid = ledger["ledger_id"].as_str().unwrap().to_owned();
    let head_before = db.store().await.head().await.unwrap();

    let response = send(
        Method::POST,
        format!("{base}/v1/ledgers/{lid}/imports"),
        &alice,
    )
    .header("content-type", "application/octet-stream")
    .body(big_csv(20_000))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let iid = response.json::<Value>().await.unwrap()["import_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status_url = format!("{base}/v1/ledgers/{lid}/imports/{iid}");
    // Kill it once the import is well under way.
    for attempt in 0.. {
        let status: Value = send(Method::GET, status_url.clone(), &alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["state"], "running", "{status}");
        if status["stage"] == "deduplicating" && status["processed"].as_u64() > Some(0) {
            break;
        }
        assert!(attempt < 300, "the import never got going: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();

    let store = db.store().await;
    assert_eq!(
        store.head().await.unwrap(),
        head_before,
        "a killed import appends nothing"
    );
    let (_second, base) = serve_with_env(&db.url, &[]).await;
    let status_url = format!("{base}/v1/ledgers/{lid}/imports/{iid}");
    // The dead server's heartbeat goes stale; the import is then reported failed.
    let failed = loop {
        let status: Value = send(Method::GET, status_url.clone(), &alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["state"] != "running" {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["imported"], 0, "{failed}");
    assert_eq!(store.head().await.unwrap(), head_before);
}

async fn several_files_in_one_request_are_imports_of_their_own(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let march = csv(&[
        ("2025-03-01", "Coffee", "-3.20"),
        ("2025-03-02", "Groceries", "-45.10"),
    ]);
    let april = csv(&[
        ("2025-04-01", "Bakery", "-7.77"),
        ("2025-04-02", "Cinema", "-12.00"),
        ("2025-04-03", "Books", "-30.00"),
    ]);
    let broken = csv(&[
        ("2025-05-01", "Coffee", "-3.20"),
        ("2025-05-02", "Groceries", "lots"),
    ]);

    // One bad file refuses the request, naming the file and the line: nothing of
    // any file is appended.
    let head = app.head().await;
    let (status, body) = upload_parts(
        &app,
        &alice,
        &lid,
        &[("march.csv", march.clone()), ("may.csv", broken)],
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(body["error"]["file"], "may.csv", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("may.csv: "), "{body}");
    let line = body["error"]["line"]
        .as_u64()
        .or_else(|| body["error"]["errors"][0]["line"].as_u64());
    assert_eq!(line, Some(3), "{body}");
    assert_eq!(app.head().await, head, "nothing appended");

    // Progress reaches event streams too.
    let sse = app
        .client
        .get(format!(
            "{}/v1/ledgers/{lid}/stream?topics=imports",
            app.base
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    let mut sse = sse.bytes_stream();
    let mut socket = app
        .subscribed_socket(&alice, &format!("ledger:{lid}:imports"))
        .await;
    let (status, body) = upload_parts(
        &app,
        &alice,
        &lid,
        &[("march.csv", march), ("april.csv", april)],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let listed = body["imports"].as_array().expect("imports").clone();
    assert_eq!(listed.len(), 2, "{body}");
    assert_eq!(body["import_id"], listed[0]["import_id"]);
    assert_eq!(listed[0]["file"], "march.csv");
    assert_eq!(listed[1]["file"], "april.csv");
    assert_ne!(listed[0]["import_id"], listed[1]["import_id"]);

    // Each import has its own progress and exactly one completion.
    let mut progress = [0, 0];
    let mut completed = [0, 0];
    let which = |message: &Value| {
        listed
            .iter()
            .position(|l| l["import_id"] == message["data"]["import_id"])
            .expect("one of the two imports")
    };
    while completed != [1, 1] {
        let message = next(&mut socket).await;
        match message["type"].as_str() {
            Some("import_progress") => progress[which(&message)] += 1,
            Some("import_completed") => {
                let i = which(&message);
                completed[i] += 1;
                assert!(message["position"].as_i64().is_some(), "{message}");
                assert_eq!(message["data"]["imported"], [2, 3][i], "{message}");
            }
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert!(progress.iter().all(|n| *n >= 1), "{progress:?}");
    for (i, l) in listed.iter().enumerate() {
        let status = finished(&app, &alice, &lid, l["import_id"].as_str().unwrap()).await;
        assert_eq!(status["state"], "completed", "{status}");
        assert_eq!(status["file_name"], ["march.csv", "april.csv"][i]);
    }
    assert_eq!(expense_count(&app, &alice, &lid).await, 5);

    let mut text = String::new();
    while !text.contains("event: import_progress") {
        let chunk = tokio::time::timeout(Duration::from_secs(30), sse.next())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }

    // A new subscriber's snapshot lists the recent imports.
    let mut late = app.socket(&alice).await;
    let topic = format!("ledger:{lid}:imports");
    send(&mut late, json!({ "type": "subscribe", "topic": topic })).await;
    assert_eq!(next(&mut late).await["type"], "subscribed");
    let snapshot = next(&mut late).await;
    assert_eq!(snapshot["type"], "snapshot");
    let ids: Vec<&Value> = snapshot["data"]["imports"]
        .as_array()
        .expect("imports")
        .iter()
        .map(|i| &i["import_id"])
        .collect();
    assert_eq!(
        ids,
        vec![&listed[1]["import_id"], &listed[0]["import_id"]],
        "newest first: {snapshot}"
    );
    app.stop().await;
}

async fn a_server_shut_down_mid_import_stops_it_and_appends_nothing(db: TestDb) {
    let app = TestApp::spawn_with(db, |server| {
        server.slow_imports_for_tests(Duration::from_millis(200));
    })
    .await;
    let (_, alice) = app.user("Alice").await;
    let lid = app.ledger(&alice, "EUR").await;
    let head = app.head().await;
    let (status, body) = upload(&app, &alice, &lid, "", big_csv(12_000)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let iid = body["import_id"].as_str().unwrap().to_owned();
    // The shutdown stops the import and waits for it, well before it would end.
    let db = tokio::time::timeout(Duration::from_secs(20), app.stop_keeping_db())
        .await
        .expect("the server stops without waiting for the import to finish");

    let app = TestApp::spawn(db).await;
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/ledgers/{lid}/imports/{iid}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "failed", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("server stopped"),
        "{body}"
    );
    assert_eq!(app.head().await, head, "nothing appended");
    app.stop().await;
}
