//! What an append asks for, how it is checked before it reaches the committer, and
//! what it answers.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::Hash;
use crate::error::AppendError;
use crate::event::Event;
use crate::ids::{EventId, LedgerId, Position, StreamId};
use crate::recorded::Metadata;

/// Most events one append may carry (a large statement import is one append).
pub const MAX_EVENTS_PER_APPEND: usize = 500_000;
/// Largest payload of one event, in bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
/// Largest metadata (actor, device, causation, correlation, key) of an append, as JSON.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;

/// The stream version an append expects to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    pub(crate) fn admits(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// Events for one stream within an append.
#[derive(Clone, Debug)]
pub struct StreamWrite {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<Event>,
}

/// One atomic append: every event of every write is stored, in order, or none is.
#[derive(Clone, Debug)]
pub struct AppendRequest {
    pub ledger: LedgerId,
    pub writes: Vec<StreamWrite>,
    pub metadata: Metadata,
}

impl AppendRequest {
    pub fn new(
        ledger: LedgerId,
        stream: StreamId,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Self {
        Self {
            ledger,
            writes: vec![StreamWrite {
                stream,
                expected,
                events,
            }],
            metadata: Metadata::default(),
        }
    }

    /// Adds events for another stream to the same atomic append.
    #[must_use]
    pub fn and(mut self, stream: StreamId, expected: ExpectedVersion, events: Vec<Event>) -> Self {
        self.writes.push(StreamWrite {
            stream,
            expected,
            events,
        });
        self
    }

    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// A retry with the same key (in the same ledger) returns the first answer and
    /// appends nothing.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.metadata.idempotency_key = Some(key.into());
        self
    }
}

/// Where an append was stored. Its events occupy `first_position..=last_position`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub first_position: Position,
    pub last_position: Position,
    /// Each written stream with its version after the append.
    pub versions: Vec<(StreamId, u64)>,
    /// True when this answer was replayed for a repeated idempotency key.
    #[serde(skip)]
    pub deduplicated: bool,
}

impl Appended {
    /// The version of the first written stream after the append.
    pub fn version(&self) -> u64 {
        self.versions.first().map_or(0, |(_, v)| *v)
    }

    pub fn positions(&self) -> impl Iterator<Item = Position> {
        (self.first_position.get()..=self.last_position.get()).map(Position::from_db)
    }
}

/// An event encoded once, outside the committer, so the committer only assigns
/// positions and hashes.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    pub(crate) event_id: EventId,
    pub(crate) event_type: &'static str,
    pub(crate) schema_version: u16,
    pub(crate) payload: String,
}

#[derive(Debug)]
pub(crate) struct PreparedWrite {
    pub(crate) stream: StreamId,
    pub(crate) expected: ExpectedVersion,
    pub(crate) events: Vec<PreparedEvent>,
}

/// A validated, encoded append waiting for the committer.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) ledger: LedgerId,
    pub(crate) writes: Vec<PreparedWrite>,
    pub(crate) metadata: String,
    pub(crate) idempotency_key: Option<String>,
    /// Identifies the request's content, so a key reused for something else is caught.
    pub(crate) fingerprint: Hash,
    pub(crate) opens_ledger: bool,
    pub(crate) event_count: usize,
}

impl Prepared {
    /// Checks everything that does not need the database and encodes the events.
    pub(crate) fn new(request: AppendRequest) -> Result<Prepared, AppendError> {
        let AppendRequest {
            ledger,
            writes,
            metadata,
        } = request;
        let invalid = |m: String| Err(AppendError::Invalid(m));
        if writes.is_empty() || writes.iter().any(|w| w.events.is_empty()) {
            return invalid("an append needs at least one event".into());
        }
        let event_count: usize = writes.iter().map(|w| w.events.len()).sum();
        if event_count > MAX_EVENTS_PER_APPEND {
            return invalid(format!("at most {MAX_EVENTS_PER_APPEND} events per append"));
        }
        if let Some(key) = &metadata.idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
                return invalid(format!(
                    "an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes"
                ));
            }
        }
        let mut seen = HashSet::new();
        let mut opens_ledger = false;
        let mut fingerprint = Sha256::new();
        fingerprint.update(ledger.as_uuid().as_bytes());
        let mut prepared_writes = Vec::with_capacity(writes.len());
        for (w, write) in writes.into_iter().enumerate() {
            // A stream may come back in a later write that expects any version (an
            // import's stream opens and closes the append around its expenses);
            // an expectation there would be checked against the version before the
            // append, which is not what a caller writing it could mean.
            if !seen.insert(write.stream) && write.expected != ExpectedVersion::Any {
                return invalid(format!(
                    "stream {} is written twice in one append; a later write of it must expect any version",
                    write.stream
                ));
            }
            fingerprint.update(format!("|{}|{}", write.stream, write.expected).as_bytes());
            let mut events = Vec::with_capacity(write.events.len());
            for (i, event) in write.events.into_iter().enumerate() {
                if event.stream(ledger) != write.stream {
                    return invalid(format!(
                        "{} belongs to stream {}, not {}",
                        event.event_type(),
                        event.stream(ledger),
                        write.stream
                    ));
                }
                if let Event::LedgerOpened(opened) = &event {
                    let first = w == 0 && i == 0 && write.expected == ExpectedVersion::NoStream;
                    if !first || opened.ledger_id != ledger {
                        return invalid(
                            "LedgerOpened must be the first event of its own ledger's stream"
                                .into(),
                        );
                    }
                    opens_ledger = true;
                }
                let payload = event.encode();
                if payload.len() > MAX_PAYLOAD_BYTES {
                    return invalid(format!(
                        "an event payload has at most {MAX_PAYLOAD_BYTES} bytes"
                    ));
                }
                fingerprint.update(event.event_type().as_bytes());
                fingerprint.update(payload.as_bytes());
                events.push(PreparedEvent {
                    event_id: EventId::new(),
                    event_type: event.event_type(),
                    schema_version: event.schema_version(),
                    payload,
                });
            }
            prepared_writes.push(PreparedWrite {
                stream: write.stream,
                expected: write.expected,
                events,
            });
        }
        let metadata_json = serde_json::to_string(&metadata).expect("metadata serializes");
        if metadata_json.len() > MAX_METADATA_BYTES {
            return invalid(format!("metadata has at most {MAX_METADATA_BYTES} bytes"));
        }
        Ok(Prepared {
            ledger,
            writes: prepared_writes,
            metadata: metadata_json,
            idempotency_key: metadata.idempotency_key,
            fingerprint: Hash(fingerprint.finalize().into()),
            opens_ledger,
            event_count,
        })
    }
}
