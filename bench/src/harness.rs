//! What the benchmarks that go through HTTP and WebSocket share: a fresh database for
//! the server under test, a cheap HTTP/1 client, socket clients, and waiting for
//! deliveries. The servers themselves run as child processes (`child`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use futures::{SinkExt, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub(crate) use crate::child::{bare_server, serve, Child};
use crate::ScratchPostgres;

/// The baseline's name in figures.
pub(crate) const BARE: &str = "bare tokio-tungstenite";

/// Sockets opened at once: quick, yet never more than the server's accept backlog.
const OPEN_AT_ONCE: usize = 100;

/// How long deliveries may stall before the ones still outstanding count as missing.
const STALL: Duration = Duration::from_secs(10);

/// Options of the benchmarks that run a server.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServerOptions {
    /// One JSON object per figure on stdout, nothing else.
    #[arg(long)]
    pub(crate) json: bool,
    /// A PostgreSQL server to create a scratch database on (dropped afterwards).
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub(crate) postgres_url: String,
    /// The backend of the server under test.
    #[arg(long, value_enum, default_value = "postgres")]
    pub(crate) backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    Postgres,
    Sqlite,
}

/// A fresh database for one server under test, removed at the end.
pub(crate) enum Database {
    Postgres(ScratchPostgres),
    Sqlite(tempfile::TempDir, String),
}

impl Database {
    pub(crate) async fn create(backend: Backend, postgres_url: &str) -> anyhow::Result<Self> {
        Ok(match backend {
            Backend::Postgres => Database::Postgres(ScratchPostgres::create(postgres_url).await?),
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
                Database::Sqlite(dir, url)
            }
        })
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Database::Postgres(scratch) => &scratch.url,
            Database::Sqlite(_, url) => url,
        }
    }

    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "postgres",
            Database::Sqlite(..) => "sqlite",
        }
    }

    pub(crate) async fn drop_now(self) -> anyhow::Result<()> {
        match self {
            Database::Postgres(scratch) => scratch.drop_now().await,
            Database::Sqlite(dir, _) => Ok(dir.close()?),
        }
    }
}

/// Fails early, with the remedy, when this process may not open `needed` files; the
/// children inherit the same limit.
pub(crate) fn check_open_files(needed: usize) -> anyhow::Result<()> {
    // Without /proc (not Linux) the operating system will say so itself.
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return Ok(());
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(soft) if soft < needed => bail!(
            "this run needs about {needed} open files but the limit is {soft}: \
             raise it first (`ulimit -n {needed}`) or ask for fewer sockets"
        ),
        _ => Ok(()),
    }
}

/// One keep-alive HTTP/1 connection, one request at a time: no pool, no retries, so
/// the load generator costs little beside the server it loads.
pub(crate) struct Http {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server goes; requests then fail.
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        token: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender
            .ready()
            .await
            .context("the HTTP connection closed")?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// A POST that must answer `201 Created`; returns the answer.
    pub(crate) async fn create<T: DeserializeOwned>(
        &mut self,
        path: &str,
        token: &str,
        body: Bytes,
    ) -> anyhow::Result<T> {
        let (status, answer) = self.post(path, token, body).await?;
        if status != StatusCode::CREATED {
            bail!(
                "POST {path} answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        serde_json::from_slice(&answer)
            .with_context(|| format!("reading the answer to POST {path}"))
    }
}

/// A user and the ledger they own: one household.
#[derive(Debug, Clone)]
pub(crate) struct Household {
    pub(crate) token: String,
    pub(crate) ledger: String,
    expenses: String,
}

impl Household {
    pub(crate) fn topic(&self) -> String {
        format!("ledger:{}:expenses", self.ledger)
    }
}

/// Creates `n` households through HTTP with the admin token.
pub(crate) async fn households(
    http: &mut Http,
    admin: &str,
    n: usize,
) -> anyhow::Result<Vec<Household>> {
    #[derive(Deserialize)]
    struct User {
        token: String,
    }
    #[derive(Deserialize)]
    struct Ledger {
        ledger_id: String,
    }
    let mut homes = Vec::with_capacity(n);
    for i in 0..n {
        let user: User = http
            .create(
                "/v1/users",
                admin,
                json!({ "name": format!("household {i}") })
                    .to_string()
                    .into(),
            )
            .await?;
        let ledger: Ledger = http
            .create(
                "/v1/ledgers",
                &user.token,
                json!({ "name": "Home", "currency": "EUR" })
                    .to_string()
                    .into(),
            )
            .await?;
        homes.push(Household {
            expenses: format!("/v1/ledgers/{}/expenses", ledger.ledger_id),
            token: user.token,
            ledger: ledger.ledger_id,
        });
    }
    Ok(homes)
}

/// Records a typical expense; returns the position it was stored at.
pub(crate) async fn record_expense(http: &mut Http, home: &Household) -> anyhow::Result<u64> {
    #[derive(Deserialize)]
    struct Recorded {
        position: u64,
    }
    const EXPENSE: &[u8] = br#"{"amount":"23.40","occurred_on":"2026-11-14","category":"groceries","merchant":"Corner Market","description":"weekly shop","tags":["food"]}"#;
    let recorded: Recorded = http
        .create(&home.expenses, &home.token, Bytes::from_static(EXPENSE))
        .await?;
    Ok(recorded.position)
}

pub(crate) type Socket = WebSocketStream<TcpStream>;

/// The fields of a server message the benchmarks look at.
#[derive(Deserialize)]
pub(crate) struct Head {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) position: Option<u64>,
}

async fn connect_socket(addr: SocketAddr, path: &str) -> anyhow::Result<Socket> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    // Small buffers: ten thousand clients in one process, each reading small frames.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (socket, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}{path}"),
        stream,
        Some(config),
    )
    .await
    .context("the WebSocket handshake")?;
    Ok(socket)
}

/// Reads text frames until `done` says one is the last of the handshake.
async fn await_text(
    socket: &mut Socket,
    mut done: impl FnMut(&str) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    if done(text.as_str())? {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => bail!("the socket closed"),
            }
        }
    })
    .await
    .context("no answer within 60 s")?
}

/// A socket on the server under test subscribed to a household's expenses, its
/// snapshot read.
pub(crate) async fn subscribe_ledger(addr: SocketAddr, home: &Household) -> anyhow::Result<Socket> {
    let mut socket = connect_socket(addr, &format!("/v1/ws?token={}", home.token)).await?;
    let subscribe = json!({ "type": "subscribe", "topic": home.topic() }).to_string();
    socket.send(Message::text(subscribe)).await?;
    await_text(&mut socket, |text| {
        let head: Head = serde_json::from_str(text).context("a message that is not JSON")?;
        match head.kind.as_str() {
            "snapshot" => Ok(true),
            "error" => bail!("subscribing answered {text}"),
            _ => Ok(false),
        }
    })
    .await
    .context("subscribing")?;
    Ok(socket)
}

/// A socket on the bare server listening to `channel`.
pub(crate) async fn subscribe_bare(addr: SocketAddr, channel: &str) -> anyhow::Result<Socket> {
    let mut socket = connect_socket(addr, "/").await?;
    socket.send(Message::text(channel.to_owned())).await?;
    await_text(&mut socket, |text| Ok(text == crate::bare::SUBSCRIBED))
        .await
        .context("subscribing to the bare server")?;
    Ok(socket)
}

/// Runs `open(0..n)`, a bounded number at a time, in order.
pub(crate) async fn open_many<T, F, Fut>(n: usize, open: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    futures::stream::iter(0..n)
        .map(open)
        .buffered(OPEN_AT_ONCE)
        .try_collect()
        .await
}

/// Waits until `counter` reaches `expected` or stops moving for a while.
pub(crate) async fn wait_for(counter: &AtomicU64, expected: u64) {
    let mut last = counter.load(Ordering::Relaxed);
    let mut moved = Instant::now();
    loop {
        let now = counter.load(Ordering::Relaxed);
        if now >= expected {
            return;
        }
        if now != last {
            last = now;
            moved = Instant::now();
        } else if moved.elapsed() >= STALL {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What the readers returned; those still waiting after a short grace are stopped
/// (their deliveries are then counted missing by the caller).
pub(crate) async fn collect<T>(readers: Vec<JoinHandle<T>>) -> Vec<T> {
    let grace = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut done = Vec::with_capacity(readers.len());
    for mut reader in readers {
        match tokio::time::timeout_at(grace, &mut reader).await {
            Ok(Ok(value)) => done.push(value),
            Ok(Err(_)) => {}
            Err(_) => reader.abort(),
        }
    }
    done
}

/// When the `i`th event of a steady `rate` a second from `start` is due.
pub(crate) fn due(start: Instant, i: usize, rate: f64) -> tokio::time::Instant {
    (start + Duration::from_secs_f64(i as f64 / rate)).into()
}

/// A bare-server message of `len` bytes that opens with its sequence number, as a
/// delta carries its position.
pub(crate) fn bare_payload(channel: &str, seq: usize, len: usize) -> String {
    let mut text = format!("{channel}\n{seq} ");
    let target = channel.len() + 1 + len;
    text.extend(std::iter::repeat_n('x', target.saturating_sub(text.len())));
    text
}

/// The sequence number a bare-server message opens with.
pub(crate) fn bare_seq(text: &str) -> Option<usize> {
    text.split(' ').next()?.parse().ok()
}
