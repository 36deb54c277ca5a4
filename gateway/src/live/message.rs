//! The server's messages as every transport sends them: JSON text with its `type`
//! and, for messages from the log, its position. A WebSocket writes the text as a
//! frame; an event stream writes it as `data:` with `event:` = the type and `id:` =
//! the position. Nothing here knows which.

use bytes::Bytes;
use ledger::Position;
use projections::{Change, Delta};
use serde_json::{json, Value};

use super::topic::Topic;

/// One server message, serialized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    /// The message's `type`.
    pub(crate) kind: &'static str,
    /// Where it stands in the log; `None` for messages not from the log.
    pub(crate) position: Option<Position>,
    /// The JSON text. `Bytes`, so the hub's copy is shared by every follower; always
    /// UTF-8 (it is made from a `String`).
    pub(crate) text: Bytes,
}

impl Message {
    /// `value` with its `type` and `position` read from it.
    pub(crate) fn from_json(value: &Value) -> Message {
        Message {
            kind: kind_of(value["type"].as_str().unwrap_or_default()),
            position: value["position"]
                .as_i64()
                .and_then(|p| Position::new(p).ok()),
            text: Bytes::from(value.to_string()),
        }
    }

    /// The text as a string slice.
    pub(crate) fn as_str(&self) -> &str {
        // Made from a `String` only, so this never fails.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }
}

/// Message types have a fixed vocabulary; an unknown one (a bug) still travels.
fn kind_of(kind: &str) -> &'static str {
    const KNOWN: [&str; 17] = [
        "subscribed",
        "unsubscribed",
        "snapshot",
        "resync",
        "heartbeat",
        "pong",
        "error",
        "notification",
        "import_progress",
        "import_completed",
        "expense_created",
        "expense_updated",
        "expense_deleted",
        "budget_updated",
        "budget_removed",
        "budget_alert",
        "analytics_updated",
    ];
    KNOWN
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("message")
}

/// A delta as the message the contract names for it.
pub(crate) fn delta(topic: Topic, delta: &Delta) -> Value {
    let mut message = json!({
        "type": delta.change.message_type(),
        "topic": topic.to_string(),
        "position": delta.position,
    });
    match &delta.change {
        Change::BudgetAlert(alert) => {
            message["severity"] = json!(alert.severity);
            message["data"] = json!({
                "budget_id": alert.budget_id,
                "category": alert.category,
                "period_start": alert.period_start,
                "threshold": alert.threshold,
                "utilization": alert.utilization,
                "spent": alert.spent,
                "limit": alert.limit,
                "message": alert.message,
                "snoozed": alert.snoozed,
            });
        }
        other => {
            let mut change = serde_json::to_value(other).unwrap_or(Value::Null);
            message["data"] = change
                .get_mut("data")
                .map(Value::take)
                .unwrap_or(Value::Null);
        }
    }
    message
}

/// A delta as a ready message (the hub's, serialized once for every follower).
pub(crate) fn delta_message(topic: Topic, d: &Delta) -> Message {
    Message {
        kind: d.change.message_type(),
        position: Some(d.position),
        text: Bytes::from(delta(topic, d).to_string()),
    }
}

pub(crate) fn error(code: &str, message: impl std::fmt::Display) -> Message {
    Message::from_json(&json!({ "type": "error", "code": code, "message": message.to_string() }))
}

pub(crate) fn subscribed(topic: Topic, position: Position, recovered: bool) -> Message {
    // Not from the log: its position says where the topic starts, and an event
    // stream must not resume from it, so it travels without an id.
    let mut message = Message::from_json(&json!({
        "type": "subscribed", "topic": topic.to_string(), "position": position, "recovered": recovered,
    }));
    message.position = None;
    message
}

pub(crate) fn snapshot(topic: Topic, position: Position, data: Value) -> Message {
    Message::from_json(
        &json!({ "type": "snapshot", "topic": topic.to_string(), "position": position, "data": data }),
    )
}

pub(crate) fn resync(topic: Topic, reason: &str) -> Message {
    Message::from_json(&json!({ "type": "resync", "topic": topic.to_string(), "reason": reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_know_their_type_and_position() {
        let m = Message::from_json(&json!({"type": "heartbeat", "position": 7}));
        assert_eq!(m.kind, "heartbeat");
        assert_eq!(m.position, Some(Position::new(7).unwrap()));
        assert_eq!(m.as_str(), r#"{"position":7,"type":"heartbeat"}"#);
        let odd = Message::from_json(&json!({"type": "surprise"}));
        assert_eq!((odd.kind, odd.position), ("message", None));
    }
}
