//! The socket protocol's messages (see `docs/PROTOCOL.md`), apart from the loop that
//! moves them.

use ledger::{LedgerId, Position};
use projections::{Change, Delta};
use serde::Deserialize;
use serde_json::{json, Value};

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

/// The kinds of topic of a ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Expenses,
    Budgets,
    Analytics,
    Alerts,
    Imports,
}

impl Kind {
    pub(crate) const ALL: [Kind; 5] = [
        Kind::Expenses,
        Kind::Budgets,
        Kind::Analytics,
        Kind::Alerts,
        Kind::Imports,
    ];
}

/// `ledger:{lid}:{kind}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Topic {
    pub(crate) ledger: LedgerId,
    pub(crate) kind: Kind,
}

impl Topic {
    pub(crate) fn parse(text: &str) -> Option<Topic> {
        let rest = text.strip_prefix("ledger:")?;
        let (ledger, kind) = rest.split_once(':')?;
        let kind = match kind {
            "expenses" => Kind::Expenses,
            "budgets" => Kind::Budgets,
            "analytics" => Kind::Analytics,
            "alerts" => Kind::Alerts,
            "imports" => Kind::Imports,
            _ => return None,
        };
        Some(Topic {
            ledger: LedgerId::parse(ledger).ok()?,
            kind,
        })
    }

    /// The topic a delta is published on.
    pub(crate) fn of(delta: &Delta) -> Topic {
        let kind = match delta.change.topic() {
            projections::Topic::Expenses => Kind::Expenses,
            projections::Topic::Budgets => Kind::Budgets,
            projections::Topic::Analytics => Kind::Analytics,
            projections::Topic::Alerts => Kind::Alerts,
            projections::Topic::Imports => Kind::Imports,
        };
        Topic {
            ledger: delta.ledger_id,
            kind,
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Expenses => "expenses",
            Kind::Budgets => "budgets",
            Kind::Analytics => "analytics",
            Kind::Alerts => "alerts",
            Kind::Imports => "imports",
        };
        write!(f, "ledger:{}:{kind}", self.ledger)
    }
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

pub(crate) fn error(code: &str, message: impl std::fmt::Display) -> Value {
    json!({ "type": "error", "code": code, "message": message.to_string() })
}

/// A topic's current state as a snapshot's `data`, and the position it reflects.
pub(crate) fn snapshot(live: &projections::Live, topic: Topic) -> (Position, Value) {
    let today = chrono::Utc::now().date_naive();
    live.read(|p| (p.position(), data(p, topic, today)))
}

/// Several topics' snapshots read at one position, so that deltas after them follow
/// in position order whatever their topic.
pub(crate) fn snapshots(
    live: &projections::Live,
    topics: &[Topic],
) -> (Position, Vec<(Topic, Value)>) {
    let today = chrono::Utc::now().date_naive();
    live.read(|p| {
        let data = topics.iter().map(|t| (*t, data(p, *t, today))).collect();
        (p.position(), data)
    })
}

fn data(p: &projections::Projections, topic: Topic, today: chrono::NaiveDate) -> Value {
    let Some(l) = p.ledger(topic.ledger) else {
        return Value::Null;
    };
    match topic.kind {
        Kind::Expenses => {
            json!({ "items": l.expenses().in_date_order(None, None, None).collect::<Vec<_>>() })
        }
        Kind::Budgets => json!({ "budgets": l.budgets().statuses(today) }),
        Kind::Analytics => {
            serde_json::to_value(l.analytics().snapshot(today)).unwrap_or(Value::Null)
        }
        Kind::Alerts => json!({ "alerts": l.alerts().newest_first().collect::<Vec<_>>() }),
        Kind::Imports => json!({ "imports": [] }),
    }
}
