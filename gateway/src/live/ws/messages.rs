//! What a socket's client may send (see `docs/PROTOCOL.md`); the server's messages
//! are the transport-neutral ones of `live::message`.

use serde::Deserialize;
use serde_json::Value;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    Subscribe {
        topic: String,
        /// Checked by the loop: a negative one or one beyond the head is `bad_since`.
        since: Option<i64>,
    },
    Unsubscribe {
        topic: String,
    },
    Ping {
        id: Option<Value>,
    },
}

impl ClientMessage {
    /// Reads one text frame from a client.
    ///
    /// # Errors
    /// What does not parse as a client message, in serde's words.
    pub(crate) fn parse(text: &str) -> Result<ClientMessage, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// What the socket fuzz target (`fuzz/`) drives: one client frame read as the socket
/// loop reads it, and the topic it names parsed as the loop parses it; true when the
/// loop would act on it. Not an API.
#[doc(hidden)]
pub fn read_client_frame(text: &str) -> bool {
    match ClientMessage::parse(text) {
        Ok(ClientMessage::Subscribe { topic, .. } | ClientMessage::Unsubscribe { topic }) => {
            crate::live::topic::Topic::parse(&topic).is_some()
        }
        Ok(ClientMessage::Ping { .. }) => true,
        Err(_) => false,
    }
}
