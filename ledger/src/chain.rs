//! The per-ledger hash chain that makes the log tamper-evident.
//!
//! `hash = SHA-256(prev_hash || canonical)`, where `prev_hash` is the previous event of
//! the same ledger (32 zero bytes for its first) and `canonical` is this JSON text, keys
//! sorted, no white space, `data` and `metadata` embedded as their stored text:
//!
//! ```text
//! {"data":{..},"event_id":"..","ledger_id":"..","metadata":{..},"position":7,
//!  "recorded_at":"2026-11-01T09:30:00.123456Z","schema_version":1,
//!  "stream":"expense-..","type":"ExpenseRecorded","version":1}
//! ```
//!
//! An outside auditor can recompute every hash from what `GET /events` returns.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{EventId, LedgerId, Position, StreamId};
use crate::recorded::RecordedEvent;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The `prev_hash` of a ledger's first event.
    pub const GENESIS: Hash = Hash([0; 32]);

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok().map(Hash)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(&s).map_err(serde::de::Error::custom)?;
        Hash::from_slice(&bytes).ok_or_else(|| serde::de::Error::custom("a hash has 32 bytes"))
    }
}

/// The fields of an event that its hash covers.
pub(crate) struct Hashed<'a> {
    pub(crate) position: Position,
    pub(crate) ledger_id: LedgerId,
    pub(crate) stream_id: &'a StreamId,
    pub(crate) stream_version: u64,
    pub(crate) event_id: EventId,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u16,
    pub(crate) payload: &'a str,
    pub(crate) metadata: &'a str,
    pub(crate) recorded_at: DateTime<Utc>,
}

impl Hashed<'_> {
    pub(crate) fn hash(&self, prev: &Hash) -> Hash {
        let quoted = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let canonical = format!(
            concat!(
                r#"{{"data":{},"event_id":"{}","ledger_id":"{}","metadata":{},"position":{},"#,
                r#""recorded_at":"{}","schema_version":{},"stream":"{}","type":{},"version":{}}}"#
            ),
            self.payload,
            self.event_id,
            self.ledger_id,
            self.metadata,
            self.position,
            self.recorded_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            self.schema_version,
            self.stream_id,
            quoted(self.event_type),
            self.stream_version,
        );
        let mut digest = Sha256::new();
        digest.update(prev.0);
        digest.update(canonical.as_bytes());
        Hash(digest.finalize().into())
    }
}

impl<'a> From<&'a RecordedEvent> for Hashed<'a> {
    fn from(e: &'a RecordedEvent) -> Self {
        Hashed {
            position: e.position,
            ledger_id: e.ledger_id,
            stream_id: &e.stream_id,
            stream_version: e.stream_version,
            event_id: e.event_id,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            payload: &e.payload,
            metadata: &e.metadata,
            recorded_at: e.recorded_at,
        }
    }
}

/// What walking a ledger's chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_position: Option<Position>,
}

/// Walks one ledger's events in position order and stops at the first broken link.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    prev: Hash,
    checked: u64,
    first_bad: Option<Position>,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next event; returns false once the chain is broken.
    pub fn check(&mut self, event: &RecordedEvent) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        self.checked += 1;
        let recomputed = Hashed::from(event).hash(&self.prev);
        if event.prev_hash != self.prev || event.hash != recomputed {
            self.first_bad = Some(event.position);
            return false;
        }
        self.prev = event.hash;
        true
    }

    pub fn finish(self) -> Verification {
        Verification {
            ok: self.first_bad.is_none(),
            checked: self.checked,
            first_bad_position: self.first_bad,
        }
    }
}
