//! The one WebSocket client of the black-box tests: connect, send, subscribe, and
//! wait for the next message (or the next of one type) with a timeout, so a test
//! that waits for something that never comes fails instead of hanging.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Api;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long [`next`] waits: a delta arrives within milliseconds; ten seconds is
/// for a loaded machine, not for the server.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

impl Api {
    /// A socket of `token`'s, open.
    pub(crate) async fn socket(&self, token: &str) -> Socket {
        tokio_tungstenite::connect_async(self.ws_url(token))
            .await
            .expect("the socket opens")
            .0
    }

    /// A socket of `token`'s, subscribed to `topic` with its snapshot read.
    pub(crate) async fn subscribed_socket(&self, token: &str, topic: &str) -> Socket {
        let mut socket = self.socket(token).await;
        subscribe(&mut socket, topic).await;
        socket
    }
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// Subscribes to `topic` and checks the answer: `subscribed`, then the snapshot.
pub(crate) async fn subscribe(socket: &mut Socket, topic: &str) {
    send(socket, json!({ "type": "subscribe", "topic": topic })).await;
    assert_eq!(next(socket).await["type"], "subscribed");
    assert_eq!(next(socket).await["type"], "snapshot");
}

/// The next JSON message within [`WAIT`], skipping heartbeats.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    next_within(socket, WAIT).await
}

/// The next JSON message within `wait`, skipping heartbeats. Panics when the
/// socket closes or nothing comes in time.
pub(crate) async fn next_within(socket: &mut Socket, wait: Duration) -> Value {
    loop {
        let frame = tokio::time::timeout(wait, socket.next())
            .await
            .expect("a message in time");
        match frame.expect("the socket is open").expect("a frame") {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "heartbeat" {
                    return value;
                }
            }
            Message::Close(frame) => panic!("the socket closed: {frame:?}"),
            _ => {}
        }
    }
}

/// The next message of type `kind`, skipping the others, each within `wait`.
pub(crate) async fn next_of_type(socket: &mut Socket, kind: &str, wait: Duration) -> Value {
    loop {
        let message = next_within(socket, wait).await;
        if message["type"] == kind {
            return message;
        }
    }
}
