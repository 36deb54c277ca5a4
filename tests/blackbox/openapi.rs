//! The OpenAPI document at `/v1/openapi.json` against the server that serves it: every
//! documented route answers, the documented set is the expected one, real answers
//! have the documented shapes, and `schema/openapi.json` is the current copy.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use ledger::testing::TestDb;
use ledger::{ExpenseId, LedgerId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{assert_error, TestApp, ADMIN};

/// Every route of the server. A route added or removed must show up here, so the
/// document's users are told.
const EXPECTED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/status"),
    ("GET", "/v1/connections"),
    ("POST", "/v1/broadcast"),
    ("POST", "/v1/users"),
    ("POST", "/v1/me/tokens"),
    ("GET", "/v1/me/tokens"),
    ("DELETE", "/v1/me/tokens/{tid}"),
    ("POST", "/v1/ledgers"),
    ("POST", "/v1/ledgers/{lid}/members"),
    ("GET", "/v1/ledgers/{lid}/members"),
    ("DELETE", "/v1/ledgers/{lid}/members/{uid}"),
    ("GET", "/v1/ledgers"),
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("POST", "/v1/ledgers/{lid}/expenses"),
    ("GET", "/v1/ledgers/{lid}/expenses"),
    ("PATCH", "/v1/ledgers/{lid}/expenses/{eid}"),
    ("DELETE", "/v1/ledgers/{lid}/expenses/{eid}"),
    ("GET", "/v1/ledgers/{lid}/expenses/{eid}/history"),
    ("GET", "/v1/ledgers/{lid}/budgets"),
    ("PUT", "/v1/ledgers/{lid}/budgets/{bid}"),
    ("DELETE", "/v1/ledgers/{lid}/budgets/{bid}"),
    ("POST", "/v1/ledgers/{lid}/budgets/{bid}/snooze"),
    ("POST", "/v1/ledgers/{lid}/imports"),
    ("GET", "/v1/ledgers/{lid}/imports/{iid}"),
    ("DELETE", "/v1/ledgers/{lid}/imports/{iid}"),
    ("GET", "/v1/ledgers/{lid}/analytics"),
    ("GET", "/v1/ledgers/{lid}/alerts"),
    ("GET", "/v1/ledgers/{lid}/events"),
    ("GET", "/v1/ledgers/{lid}/verify"),
    ("GET", "/v1/ws"),
    ("GET", "/v1/ledgers/{lid}/stream"),
];

/// Operations that need no token.
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/metrics", "/v1/openapi.json"];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                all.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    all
}

async fn fetch_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/v1/openapi.json", app.base))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert_eq!(
        text,
        gateway::openapi_json(),
        "the server serves what the code generates"
    );
    serde_json::from_str(&text).expect("the document is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_with_every_route_described() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let doc = fetch_document(&app).await;

    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "ledger");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({ "type": "http", "scheme": "bearer" })
    );
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));

    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented, expected,
        "the documented routes changed: update EXPECTED, docs/API.md and schema/openapi.json"
    );

    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{name} has a tag"
        );
        assert!(
            op["summary"].is_string() || op["description"].is_string(),
            "{name} says what it does"
        );

        // Path parameters: each `{name}` of the path is declared, required.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let wanted = segment.trim_matches(|c| c == '{' || c == '}');
            assert!(
                params.iter().any(|p| p["name"] == wanted
                    && p["in"] == "path"
                    && p["required"] == true
                    && p["schema"]["format"] == "uuid"),
                "{name} declares its path parameter {wanted}"
            );
        }

        // Security: public operations say so; the rest fall back to the bearer token
        // and document what a missing one answers.
        let public = PUBLIC.contains(&path.as_str());
        assert_eq!(op["security"] == json!([{}]), public, "{name}: security");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.as_str() == "101"),
            "{name} documents its success"
        );
        if !public {
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{name} documents 401"
            );
        }
        // Every JSON error answer is the contract's error body (readiness has its own).
        for (status, response) in responses {
            let json_schema = &response["content"]["application/json"]["schema"];
            if status.as_str() >= "400" && !json_schema.is_null() && path != "/readyz" {
                assert_eq!(
                    json_schema["$ref"], "#/components/schemas/ErrorBody",
                    "{name} {status}"
                );
            }
        }
        // Writes with a JSON body document it; a statement upload is the file itself.
        if path.ends_with("/imports") {
            assert!(
                op["requestBody"]["content"]["application/octet-stream"]["schema"].is_object(),
                "{name} documents its request body"
            );
        } else if ["POST", "PUT", "PATCH"].contains(&method.as_str()) {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(),
                "{name} documents its request body"
            );
        }
    }
    let error = &doc["components"]["schemas"]["ErrorDetail"];
    assert_eq!(error["required"], json!(["code", "message"]));
    app.stop().await;
}

/// A path with placeholder ids for its parameters.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                uuid::Uuid::new_v4().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_exists_and_answers_a_documented_status() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let doc = fetch_document(&app).await;

    // What the router itself answers where no route matches, told apart from a
    // handler's `not_found` for a ledger that does not exist.
    let (status, body) = app
        .call(Method::GET, "/v1/nowhere", Some(ADMIN), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown_endpoint");
    let (status, body) = app.call(Method::DELETE, "/healthz", None, None).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    for (method, path, op) in operations(&doc) {
        let url = concrete(&path);
        let body = ["POST", "PUT", "PATCH"]
            .contains(&method.as_str())
            .then(|| json!({}));
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = tokio::time::timeout(
            Duration::from_secs(20),
            app.call(method.clone(), &url, Some(ADMIN), body),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {url} answers in time"));
        let (status, body) = answer;
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is routed: {body}"
        );
        assert_ne!(
            body["error"]["code"], "unknown_endpoint",
            "{method} {path} is routed"
        );
        assert!(
            op["responses"].get(status.as_str()).is_some(),
            "{method} {url} answered {status}, which its entry does not list: {body}"
        );
    }
    app.stop().await;
}

/// Checks `value` against `schema` as far as this document uses JSON Schema: types,
/// required properties, no undocumented properties, enums, arrays and maps.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{at}: a local reference, not {reference}"));
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !allowed.is_empty() {
        assert!(
            allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number")),
            "{at}: {value} is {kind}, documented as {allowed:?}"
        );
    }
    if let Some(options) = schema["enum"].as_array() {
        assert!(
            options.contains(value),
            "{at}: {value} is not one of {options:?}"
        );
    }
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                assert!(
                    fields.contains_key(key),
                    "{at}: {key} is missing in {value}"
                );
            }
            let properties = schema["properties"].as_object();
            for (key, field) in fields {
                let here = format!("{at}.{key}");
                if let Some(property) = properties.and_then(|p| p.get(key)) {
                    conforms(doc, property, field, &here);
                } else if schema["additionalProperties"].is_object() {
                    conforms(doc, &schema["additionalProperties"], field, &here);
                } else {
                    assert!(
                        properties.is_none(),
                        "{here} is not documented (documented: {:?})",
                        properties.map(|p| p.keys().collect::<Vec<_>>())
                    );
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

/// Calls the route and checks the answer against what the document says of it.
async fn checked(
    app: &TestApp,
    doc: &Value,
    (method, path): (Method, &str),
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, answer) = app.call(method.clone(), url, token, body).await;
    let op = &doc["paths"][path][method.as_str().to_lowercase()];
    assert!(op.is_object(), "{method} {path} is documented");
    let schema = &op["responses"][status.as_str()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {url} answered {status}, documented without a JSON body: {answer}"
    );
    conforms(doc, schema, &answer, &format!("{method} {url} {status}"));
    (status, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_have_their_documented_shapes() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let doc = fetch_document(&app).await;
    let admin = Some(ADMIN);

    let (_, health) = checked(
        &app,
        &doc,
        (Method::GET, "/healthz"),
        "/healthz",
        None,
        None,
    )
    .await;
    assert_eq!(health["ok"], true);
    checked(&app, &doc, (Method::GET, "/readyz"), "/readyz", None, None).await;

    let (status, alice) = checked(
        &app,
        &doc,
        (Method::POST, "/v1/users"),
        "/v1/users",
        admin,
        Some(json!({ "name": "Alice" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let alice = alice["token"].as_str().unwrap().to_owned();
    let bob_id = app.create_user("Bob").await.id;
    let me = Some(alice.as_str());

    let (status, ledger) = checked(
        &app,
        &doc,
        (Method::POST, "/v1/ledgers"),
        "/v1/ledgers",
        me,
        Some(json!({ "name": "Home", "currency": "EUR", "timezone": "Europe/Berlin" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let lid = ledger["ledger_id"].as_str().unwrap().to_owned();
    let base = format!("/v1/ledgers/{lid}");

    checked(
        &app,
        &doc,
        (Method::POST, "/v1/ledgers/{lid}/members"),
        &format!("{base}/members"),
        me,
        Some(json!({ "user_id": bob_id, "role": "viewer" })),
    )
    .await;

    let bid = uuid::Uuid::new_v4();
    let (status, _) = checked(
        &app,
        &doc,
        (Method::PUT, "/v1/ledgers/{lid}/budgets/{bid}"),
        &format!("{base}/budgets/{bid}"),
        me,
        Some(json!({ "category": "groceries", "amount": "10.00", "period": "monthly" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, created) = checked(
        &app,
        &doc,
        (Method::POST, "/v1/ledgers/{lid}/expenses"),
        &format!("{base}/expenses"),
        me,
        Some(json!({
            "amount": "12.50", "occurred_on": "2026-11-02", "category": "groceries",
            "merchant": "Market", "tags": ["food"], "original_amount": "14.00",
            "original_currency": "USD"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let eid = created["expense_id"].as_str().unwrap().to_owned();
    let position = created["position"].as_i64().unwrap();

    let (_, amended) = checked(
        &app,
        &doc,
        (Method::PATCH, "/v1/ledgers/{lid}/expenses/{eid}"),
        &format!("{base}/expenses/{eid}"),
        me,
        Some(json!({ "description": "weekly shop" })),
    )
    .await;
    let latest = amended["position"].as_i64().unwrap();
    // A stale If-Match: the 409 carries the version and the expense as it stands.
    let (ledger, expense) = (
        LedgerId::parse(&lid).unwrap(),
        ExpenseId::parse(&eid).unwrap(),
    );
    let stale = json!({ "category": "food" });
    let conflict = app
        .try_amend_expense(&alice, ledger, expense, Some(1), &stale)
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    let conflict = conflict.body;
    let schema = &doc["paths"]["/v1/ledgers/{lid}/expenses/{eid}"]["patch"]["responses"]["409"]
        ["content"]["application/json"]["schema"];
    conforms(&doc, schema, &conflict, "409");
    conforms(
        &doc,
        &json!({ "$ref": "#/components/schemas/Expense" }),
        &conflict["error"]["current"],
        "409 current",
    );

    let (_, page) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/expenses"),
        &format!("{base}/expenses?min_position={latest}"),
        me,
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    let (_, history) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/expenses/{eid}/history"),
        &format!("{base}/expenses/{eid}/history"),
        me,
        None,
    )
    .await;
    assert_eq!(history["events"].as_array().map(Vec::len), Some(2));

    let (_, budgets) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/budgets"),
        &format!("{base}/budgets?period=2026-11&min_position={position}"),
        me,
        None,
    )
    .await;
    assert_eq!(budgets["budgets"][0]["status"], "exceeded", "{budgets}");
    checked(
        &app,
        &doc,
        (Method::POST, "/v1/ledgers/{lid}/budgets/{bid}/snooze"),
        &format!("{base}/budgets/{bid}/snooze"),
        me,
        Some(json!({ "until": "2026-12-01T00:00:00Z" })),
    )
    .await;
    let (_, analytics) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/analytics"),
        &format!("{base}/analytics?date=2026-11-20&min_position={latest}"),
        me,
        None,
    )
    .await;
    assert_eq!(analytics["top_merchants"][0]["merchant"], "Market");
    // Alerts are appended by the read models after the expense: wait for them.
    let mut alerts = Value::Null;
    for _ in 0..100 {
        alerts = checked(
            &app,
            &doc,
            (Method::GET, "/v1/ledgers/{lid}/alerts"),
            &format!("{base}/alerts"),
            me,
            None,
        )
        .await
        .1;
        if alerts["alerts"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        alerts["alerts"].as_array().is_some_and(|a| !a.is_empty()),
        "{alerts}"
    );
    let (_, events) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/events"),
        &format!("{base}/events?limit=2"),
        me,
        None,
    )
    .await;
    assert!(events["next_after"].is_i64(), "{events}");
    let (_, verified) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/verify"),
        &format!("{base}/verify"),
        me,
        None,
    )
    .await;
    assert_eq!(verified["ok"], true);

    // An open socket, so the operators' views have a row to show.
    let (mut socket, _) = tokio_tungstenite::connect_async(app.ws_url(&alice))
        .await
        .expect("the socket opens");
    let topic = format!("ledger:{lid}:budgets");
    socket
        .send(Message::Text(
            json!({ "type": "subscribe", "topic": topic })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame {
                if text.contains("\"subscribed\"") {
                    break;
                }
            }
        }
    })
    .await
    .expect("subscribed in time");
    // The socket's row learns its topics a moment after it answers `subscribed`.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = checked(
            &app,
            &doc,
            (Method::GET, "/v1/status"),
            "/v1/status",
            admin,
            None,
        )
        .await
        .1;
        if status["subscriptions"][&topic] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status["subscriptions"][&topic], 1, "{status}");
    let (_, connections) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/connections"),
        "/v1/connections",
        admin,
        None,
    )
    .await;
    assert_eq!(connections["connections"].as_array().map(Vec::len), Some(1));
    checked(
        &app,
        &doc,
        (Method::POST, "/v1/broadcast"),
        "/v1/broadcast",
        admin,
        Some(json!({ "message": "maintenance at noon", "severity": "warning" })),
    )
    .await;

    // Error answers: the contract's body, with `field` on a validation failure.
    let (status, invalid) = checked(
        &app,
        &doc,
        (Method::POST, "/v1/ledgers/{lid}/expenses"),
        &format!("{base}/expenses"),
        me,
        Some(json!({ "amount": "1.234", "occurred_on": "2026-11-02", "category": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid["error"]["field"], "amount");
    let (status, _) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/status"),
        "/v1/status",
        me,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = checked(
        &app,
        &doc,
        (Method::GET, "/v1/ledgers/{lid}/verify"),
        &format!("{base}/verify"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let _ = socket.close(None).await;
    app.stop().await;
}

#[tokio::test]
async fn the_committed_copy_is_what_the_code_generates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == gateway::openapi_json(),
        "schema/openapi.json is stale: regenerate it with \
         `cargo run -q -- openapi > schema/openapi.json`"
    );
    let printed = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("openapi")
        .output()
        .await
        .expect("run ledger openapi");
    assert!(printed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        gateway::openapi_json()
    );
}
