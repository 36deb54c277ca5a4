//! A topic's current state as a snapshot's `data`: from the read models, and for
//! the imports topic from this process's registry of imports.

use std::sync::Arc;

use ledger::Position;
use projections::{Live, Projections};
use serde_json::{json, Value};

use super::topic::{Kind, Topic};
use crate::imports::Imports;

/// Where snapshots are read from.
#[derive(Clone)]
pub(crate) struct Sources {
    pub(crate) live: Arc<Live>,
    pub(crate) imports: Arc<Imports>,
}

impl Sources {
    /// Several topics' snapshots read at one position, so that deltas after them
    /// follow in position order whatever their topic.
    pub(crate) fn read(&self, topics: &[Topic]) -> (Position, Vec<(Topic, Value)>) {
        let today = chrono::Utc::now().date_naive();
        // Imports are read outside the read models' lock: their registry has its own.
        let imports: Vec<(Topic, Value)> = topics
            .iter()
            .filter(|t| t.kind == Kind::Imports)
            .map(|t| (*t, json!({ "imports": self.imports.recent(t.ledger) })))
            .collect();
        self.live.read(|p| {
            let data = topics
                .iter()
                .map(|t| {
                    let data = match imports.iter().find(|(i, _)| i == t) {
                        Some((_, data)) if p.ledger(t.ledger).is_some() => data.clone(),
                        _ => data(p, *t, today),
                    };
                    (*t, data)
                })
                .collect();
            (p.position(), data)
        })
    }
}

fn data(p: &Projections, topic: Topic, today: chrono::NaiveDate) -> Value {
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
        // Read before the lock was taken (see `Sources::read`).
        Kind::Imports => json!({ "imports": [] }),
    }
}
