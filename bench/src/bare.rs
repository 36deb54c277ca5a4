//! `ledger-bench bare-server` (hidden): the baseline of `latency` and `fanout`, a bare
//! tokio-tungstenite broadcast server with nothing of the ledger in it.
//!
//! A client's first text message names its channel; the server answers
//! [`SUBSCRIBED`]. Every later text message `<channel>\n<payload>` goes, as
//! `<payload>`, to every client of that channel through one `tokio::sync::broadcast`
//! per channel. A client that falls further behind than the channel's capacity
//! silently loses messages, which the benchmarks then count missing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The answer to a client's first message, once it is subscribed.
pub(crate) const SUBSCRIBED: &str = "subscribed";

#[derive(Debug, clap::Args)]
pub(crate) struct BareArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Messages each channel holds for its slowest client.
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// Each socket's read buffer in bytes, instead of tokio-tungstenite's default
    /// (an experiment: what a smaller one saves).
    #[arg(long)]
    read_buffer: Option<usize>,
}

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Utf8Bytes>>>>;

pub(crate) async fn run(args: BareArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.bind).await?;
    eprintln!("bare server listening on ws://{}", listener.local_addr()?);
    let channels = Channels::default();
    let capacity = args.capacity.clamp(1, 1 << 20);
    let config = args
        .read_buffer
        .map(|bytes| WebSocketConfig::default().read_buffer_size(bytes.clamp(1024, 1 << 20)));
    loop {
        // Out of descriptors or a connection reset before accept: the next may work.
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let channels = channels.clone();
        tokio::spawn(async move {
            let _ = serve(stream, channels, capacity, config).await;
        });
    }
}

async fn serve(
    stream: TcpStream,
    channels: Channels,
    capacity: usize,
    config: Option<WebSocketConfig>,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut socket = tokio_tungstenite::accept_async_with_config(stream, config).await?;
    let channel = loop {
        match socket.next().await {
            Some(Ok(Message::Text(name))) => break name.as_str().to_owned(),
            Some(Ok(_)) => {}
            _ => return Ok(()),
        }
    };
    let mut messages = lock(&channels)
        .entry(channel)
        .or_insert_with(|| broadcast::channel(capacity).0)
        .subscribe();
    socket.send(Message::text(SUBSCRIBED)).await?;
    loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some((to, payload)) = text.as_str().split_once('\n') {
                        let sender = lock(&channels).get(to).cloned();
                        if let Some(sender) = sender {
                            let _ = sender.send(Utf8Bytes::from(payload));
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
            outgoing = messages.recv() => match outgoing {
                Ok(text) => socket.send(Message::Text(text)).await?,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// The map stays usable even if a task panicked while holding it.
fn lock(
    channels: &Channels,
) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Utf8Bytes>>> {
    channels
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
