//! Timeouts and limits, from outside: slow or endless requests are cut off, one
//! address cannot hold every connection, a token or address over its rate gets 429,
//! and a database that goes away turns into quick 503s (and back) instead of hangs.
//! Each server here is the real binary, started with short limits.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ledger::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::app::Api;
use crate::helpers::ADMIN;

/// `ledger serve` on a free port with `flags`.
struct Server {
    _child: Child,
    port: u16,
    api: Api,
}

impl Server {
    async fn start(database_url: &str, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args([
                "serve",
                "--database-url",
                database_url,
                "--bind",
                "127.0.0.1:0",
            ])
            .args(flags)
            .env("LEDGER_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the ledger binary");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let port = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("the server starts within a minute")
                .expect("stderr reads")
                .expect("the server prints where it listens");
            if let Some(url) = line.strip_prefix("ledger listening on http://127.0.0.1:") {
                break url.trim().parse().expect("a port");
            }
        };
        // Keeps draining, so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let api = Api::new(format!("http://127.0.0.1:{port}"), Some(ADMIN));
        Server {
            _child: child,
            port,
            api,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect")
    }
}

/// Reads until the server closes the connection (or resets it); what it sent.
async fn read_until_closed(tcp: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_slowloris_connection_is_dropped_after_the_header_read_timeout() {
    let db = TestDb::sqlite();
    let server = Server::start(&db.url, &["--header-read-timeout", "1s"]).await;
    let mut tcp = server.connect().await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    // One header byte every 200 ms, never the end of the headers.
    let dripping = async {
        for byte in b"Host: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if tcp.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(4), dripping).await;
    let closed = read_until_closed(&mut tcp, Duration::from_secs(2)).await;
    assert!(
        closed.is_some(),
        "the connection is still open {:?} after its first byte",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn an_endless_chunked_body_is_answered_408_and_closed() {
    let db = TestDb::sqlite();
    let server = Server::start(&db.url, &["--body-read-timeout", "1s"]).await;
    let mut tcp = server.connect().await;
    let request = format!(
        "POST /v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"nam\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut tcp, Duration::from_secs(5))
        .await
        .expect("the server answers and closes the connection");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn an_address_holds_at_most_its_share_of_connections() {
    let db = TestDb::sqlite();
    let server = Server::start(&db.url, &["--connections-per-address", "3"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.connect().await);
    }
    // Accepted by the kernel, then closed by the server at once.
    let mut fourth = server.connect().await;
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut fourth, Duration::from_secs(2))
        .await
        .expect("the fourth connection is closed");
    assert!(
        answer.is_empty(),
        "the fourth connection was served: {answer}"
    );
    // One held connection goes: its place is free again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = server.connect().await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut again, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_user_holds_at_most_their_share_of_live_sockets() {
    let db = TestDb::sqlite();
    let server = Server::start(&db.url, &["--sockets-per-user", "2"]).await;
    let api = &server.api;
    let (_, alice) = api.user("Alice").await;
    let (_, bob) = api.user("Bob").await;
    let ledger = api.open_ledger(&alice, "Home", "EUR").await;
    let stream = format!("{}/v1/ledgers/{ledger}/stream?topics=budgets", api.base);

    // One WebSocket and one event stream: her two places.
    let socket = api.socket(&alice).await;
    let events = api
        .client
        .get(&stream)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);

    // A third of either kind is refused with a code, before any upgrade.
    let refused = tokio_tungstenite::connect_async(api.ws_url(&alice)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(answer)) => {
            assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
            let body: Value = serde_json::from_slice(answer.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "too_many_sockets", "{body}");
        }
        other => panic!("a third socket was not refused: {other:?}"),
    }
    let third = api
        .client
        .get(&stream)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_sockets", "{body}");

    // Another user is not counted against her; the operator sees all three.
    let _bobs = api.socket(&bob).await;
    let rows: Value = api
        .get(ADMIN, "/v1/connections")
        .await
        .expect(StatusCode::OK);
    let transports: Vec<&str> = rows["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["transport"].as_str().unwrap())
        .collect();
    assert_eq!(transports.iter().filter(|t| **t == "websocket").count(), 2);
    assert_eq!(transports.iter().filter(|t| **t == "sse").count(), 1);

    // A closed socket frees its place (the server notices the close at once).
    drop(socket);
    drop(events);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(api.ws_url(&alice)).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "her place was never freed");
}

/// Sends `GET path` until a 429, checking the headers on the way; the 429's response.
async fn until_refused(api: &Api, path: &str, token: Option<&str>) -> reqwest::Response {
    for _ in 0..50 {
        let mut request = api.client.get(format!("{}{path}", api.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return response;
        }
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(header("ratelimit-limit").as_deref(), Some("4"));
        assert!(header("ratelimit-remaining").is_some());
        assert!(header("ratelimit-reset").is_some());
    }
    panic!("50 requests at once were all let through");
}

async fn assert_rate_limited(response: reqwest::Response) {
    let header = |name| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let retry_after: u64 = header("retry-after").parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(header("ratelimit-limit"), "4");
    assert_eq!(header("ratelimit-remaining"), "0");
    assert!(header("ratelimit-reset").parse::<u64>().unwrap() >= 1);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after_and_ratelimit_headers() {
    let db = TestDb::sqlite();
    let server = Server::start(
        &db.url,
        &["--requests-per-token", "2", "--requests-per-address", "0"],
    )
    .await;
    let (_, alice) = server.api.user("alice").await;
    let refused = until_refused(&server.api, "/v1/status", Some(ADMIN)).await;
    assert_rate_limited(refused).await;
    // Another token is not held back by the admin's.
    let theirs = server
        .api
        .client
        .get(format!(
            "{}/v1/ledgers/00000000-0000-0000-0000-000000000000/budgets",
            server.api.base
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_ne!(theirs.status(), StatusCode::TOO_MANY_REQUESTS);
    // Probes are never refused.
    let ready = server
        .api
        .client
        .get(format!("{}/healthz", server.api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    // After the wait it names, the token is let through again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let status = server
        .api
        .client
        .get(format!("{}/v1/status", server.api.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_address_over_its_rate_gets_429() {
    let db = TestDb::sqlite();
    let server = Server::start(
        &db.url,
        &["--requests-per-address", "2", "--requests-per-token", "0"],
    )
    .await;
    let refused = until_refused(&server.api, "/metrics", None).await;
    assert_rate_limited(refused).await;
}

/// A TCP proxy to PostgreSQL the test can cut: while cut, its connections are
/// dropped and new ones are held without an answer, as a database host that went
/// away would leave them.
struct Proxy {
    addr: std::net::SocketAddr,
    cut: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, watching) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut watching = watching.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    // Held, unanswered, until the cut is over; then closed.
                    if *watching.borrow() {
                        let _ = watching.wait_for(|cut| !*cut).await;
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watching.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }
}

#[tokio::test]
async fn without_its_database_the_server_answers_503_quickly_and_recovers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // postgres://user@HOST:PORT/NAME: the same database through the proxy.
    let (head, rest) = db.url.split_once('@').expect("a user in the url");
    let (upstream, name) = rest.split_once('/').expect("a database name");
    let proxy = Proxy::start(upstream.to_owned()).await;
    let url = format!("{head}@{}/{name}", proxy.addr);
    let server = Server::start(&url, &["--write-timeout", "2s"]).await;
    let api = &server.api;
    let (_, token) = api.user("alice").await;
    let ledger = api.ledger(&token, "EUR").await;
    let expense = |n: u32| {
        api.client
            .post(format!("{}/v1/ledgers/{ledger}/expenses", api.base))
            .bearer_auth(&token)
            .json(&json!({"amount": format!("{n}.00"), "occurred_on": "2026-11-02", "category": "food"}))
            .send()
    };
    assert_eq!(expense(1).await.unwrap().status(), StatusCode::CREATED);

    proxy.cut.send_replace(true);
    let started = Instant::now();
    let ready = api
        .client
        .get(format!("{}/readyz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let write = expense(2).await.unwrap();
    assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(write.headers().contains_key("retry-after"));
    let body: Value = write.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    proxy.cut.send_replace(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = api
            .client
            .get(format!("{}/readyz", api.base))
            .send()
            .await
            .unwrap();
        if ready.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut created = false;
    for n in 3..40 {
        if expense(n).await.unwrap().status() == StatusCode::CREATED {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(created, "no write accepted after the database came back");
}
