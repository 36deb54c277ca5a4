//! What a client follows: `ledger:{lid}:{kind}`, whatever the transport.

use ledger::LedgerId;
use projections::Delta;

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

    fn name(self) -> &'static str {
        match self {
            Kind::Expenses => "expenses",
            Kind::Budgets => "budgets",
            Kind::Analytics => "analytics",
            Kind::Alerts => "alerts",
            Kind::Imports => "imports",
        }
    }
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
        let kind = *Kind::ALL.iter().find(|k| k.name() == kind)?;
        Some(Topic {
            ledger: LedgerId::parse(ledger).ok()?,
            kind,
        })
    }

    /// The ledger's imports topic, where import progress goes.
    pub(crate) fn imports(ledger: LedgerId) -> Topic {
        Topic {
            ledger,
            kind: Kind::Imports,
        }
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
        write!(f, "ledger:{}:{}", self.ledger, self.kind.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_through_their_names() {
        let ledger = LedgerId::new();
        for kind in Kind::ALL {
            let topic = Topic { ledger, kind };
            assert_eq!(Topic::parse(&topic.to_string()), Some(topic));
        }
        assert_eq!(Topic::parse(&format!("ledger:{ledger}:nope")), None);
        assert_eq!(Topic::parse("ledger:nope:expenses"), None);
    }
}
