//! What a socket's client may send (see `docs/PROTOCOL.md`); the server's messages
//! are the transport-neutral ones of `live::message`.

use ledger::Position;
use serde::Deserialize;
use serde_json::Value;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    Subscribe {
        topic: String,
        since: Option<Position>,
    },
    Unsubscribe {
        topic: String,
    },
    Ping {
        id: Option<Value>,
    },
}
