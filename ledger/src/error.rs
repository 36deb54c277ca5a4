//! The errors this crate returns: one enum per boundary.

use crate::append::ExpectedVersion;
use crate::ids::{LedgerId, Position, StreamId};

/// A text that should have been an identifier was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}: {value:?}")]
pub struct ParseIdError {
    kind: &'static str,
    value: String,
}

impl ParseIdError {
    pub(crate) fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}: expected an ISO-4217 code such as EUR")]
    UnknownCurrency(String),
    #[error("{currency} allows at most {allowed} decimals")]
    TooManyDecimals { currency: &'static str, allowed: u8 },
    #[error("amount must not be zero")]
    Zero,
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("amount must be below 1000000000000 in absolute value")]
    TooLarge,
    #[error("not a decimal amount: {0:?} (write it as a string such as \"12.50\")")]
    NotANumber(String),
}

/// A stored event whose payload this version of the code cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event_type} v{schema_version}: {reason}")]
pub struct DecodeError {
    pub event_type: String,
    pub schema_version: u16,
    pub reason: String,
}

/// An append that was refused before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("version conflict on {stream}: expected {expected}, current version is {current}")]
    VersionConflict {
        stream: StreamId,
        expected: ExpectedVersion,
        current: u64,
    },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyKeyReused { key: String },
    #[error("ledger {0} does not exist")]
    LedgerNotFound(LedgerId),
    #[error("ledger {0} already exists")]
    LedgerExists(LedgerId),
    /// A write to a stream that another ledger's first event claimed: a stream
    /// belongs to one ledger for ever, so ids of one ledger are unknown to another.
    #[error("no {stream} in ledger {ledger}")]
    OtherLedger { stream: StreamId, ledger: LedgerId },
    #[error("invalid append: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The storage itself failed; nothing about the request was wrong.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: Position, reason: String },
    #[error("unsupported database url {0:?}: expected postgres://... or sqlite:...")]
    UnsupportedUrl(String),
    #[error("the append was not stored: {0}")]
    NotStored(String),
    #[error("a projection name has 1 to 64 bytes, not {0:?}")]
    BadProjectionName(String),
    #[error("the store is shut down")]
    Closed,
    #[error("the outcome of the commit is unknown (the connection failed while committing): {0}")]
    CommitUnknown(String),
}
