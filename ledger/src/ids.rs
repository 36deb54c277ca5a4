//! Identifiers: typed UUIDs, stream names and log positions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ParseIdError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id: random, but time-ordered (UUIDv7), so the indexes
            /// that hold ids grow at one end instead of being written all over.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// # Errors
            /// When `s` is not a UUID.
            pub fn parse(s: &str) -> Result<Self, ParseIdError> {
                Uuid::try_parse(s).map(Self).map_err(|_| ParseIdError::new(stringify!($name), s))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A ledger: one currency, its members, its expenses and budgets.
    LedgerId
);
uuid_id!(
    /// A person (or device owner) who acts on ledgers.
    UserId
);
uuid_id!(ExpenseId);
uuid_id!(BudgetId);
uuid_id!(ImportId);
uuid_id!(
    /// The identity of one stored event, unique across the whole log.
    EventId
);

/// A place in the global log. Positions start at 1 and strictly increase;
/// `Position::ZERO` means "before the first event".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(i64);

impl Position {
    pub const ZERO: Position = Position(0);

    /// # Errors
    /// When `n` is negative.
    pub fn new(n: i64) -> Result<Self, ParseIdError> {
        if n < 0 {
            return Err(ParseIdError::new("Position", &n.to_string()));
        }
        Ok(Self(n))
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub(crate) const fn next(self) -> Position {
        Position(self.0 + 1)
    }

    pub(crate) const fn from_db(n: i64) -> Position {
        Position(n)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Position {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: i64 = s.parse().map_err(|_| ParseIdError::new("Position", s))?;
        Self::new(n)
    }
}

/// The kinds of aggregate whose events form a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Ledger,
    Expense,
    Budget,
    Import,
}

impl StreamKind {
    const fn prefix(self) -> &'static str {
        match self {
            StreamKind::Ledger => "ledger",
            StreamKind::Expense => "expense",
            StreamKind::Budget => "budget",
            StreamKind::Import => "import",
        }
    }
}

/// The events of one aggregate: `ledger-<uuid>`, `expense-<uuid>`, `budget-<uuid>`,
/// `import-<uuid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    kind: StreamKind,
    id: Uuid,
}

impl StreamId {
    pub const fn new(kind: StreamKind, id: Uuid) -> Self {
        Self { kind, id }
    }

    pub const fn ledger(id: LedgerId) -> Self {
        Self::new(StreamKind::Ledger, id.as_uuid())
    }

    pub const fn expense(id: ExpenseId) -> Self {
        Self::new(StreamKind::Expense, id.as_uuid())
    }

    pub const fn budget(id: BudgetId) -> Self {
        Self::new(StreamKind::Budget, id.as_uuid())
    }

    pub const fn import(id: ImportId) -> Self {
        Self::new(StreamKind::Import, id.as_uuid())
    }

    pub const fn kind(&self) -> StreamKind {
        self.kind
    }

    pub const fn id(&self) -> Uuid {
        self.id
    }

    /// # Errors
    /// When `s` is not `<kind>-<uuid>` with a known kind.
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        let bad = || ParseIdError::new("StreamId", s);
        let (prefix, rest) = s.split_once('-').ok_or_else(bad)?;
        let kind = [
            StreamKind::Ledger,
            StreamKind::Expense,
            StreamKind::Budget,
            StreamKind::Import,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
        .ok_or_else(bad)?;
        let id = Uuid::try_parse(rest).map_err(|_| bad())?;
        Ok(Self { kind, id })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind.prefix(), self.id.hyphenated())
    }
}

impl FromStr for StreamId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for StreamId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_round_trip() {
        let id = ExpenseId::new();
        let s = StreamId::expense(id);
        assert_eq!(StreamId::parse(&s.to_string()).unwrap(), s);
        assert!(s.to_string().starts_with("expense-"));
    }

    #[test]
    fn bad_stream_ids_are_rejected() {
        for bad in [
            "",
            "expense",
            "expense-",
            "cat-4a0c1f3e-6b4f-4d1e-9a43-0f0e8f1f2b3c",
            "expense-xyz",
        ] {
            assert!(StreamId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn negative_positions_are_rejected() {
        assert!(Position::new(-1).is_err());
        assert_eq!("42".parse::<Position>().unwrap().get(), 42);
    }
}
