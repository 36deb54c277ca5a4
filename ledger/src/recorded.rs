//! Events as the log holds them: the payload plus everything the store added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::Hash;
use crate::error::DecodeError;
use crate::event::Event;
use crate::ids::{EventId, LedgerId, Position, StreamId, UserId};

/// The events table's columns, in table order, one per field of [`RecordedEvent`]:
/// what both backends select to read an event whole and insert to append one.
pub(crate) const EVENT_COLUMNS: &str = "position, ledger_id, stream_id, stream_version, \
                                        event_id, event_type, schema_version, payload, \
                                        metadata, recorded_at, prev_hash, hash";

/// Who and what caused an event. Stored beside the payload and covered by the hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// One event as stored: its place in the log, its stream, its payload and metadata
/// as the exact JSON text that was hashed, and its link in the ledger's hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub position: Position,
    pub ledger_id: LedgerId,
    pub stream_id: StreamId,
    pub stream_version: u64,
    pub event_id: EventId,
    pub event_type: String,
    pub schema_version: u16,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Hash,
    pub hash: Hash,
}

impl RecordedEvent {
    /// The typed event, upcast from whatever version it was written in.
    ///
    /// # Errors
    /// When this build cannot read the payload.
    pub fn event(&self) -> Result<Event, DecodeError> {
        Event::decode(&self.event_type, self.schema_version, &self.payload)
    }

    /// # Errors
    /// When the stored metadata is not valid metadata JSON.
    pub fn metadata(&self) -> Result<Metadata, DecodeError> {
        read_metadata(&self.event_type, self.schema_version, &self.metadata)
    }
}

/// An event as a fold reads it from the log: a [`RecordedEvent`] without the stream
/// id, event id and hashes, which only appends and audits need (see
/// [`Store::read_entries`](crate::Store::read_entries)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub position: Position,
    pub ledger_id: LedgerId,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u16,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
}

impl LogEntry {
    /// The typed event, upcast from whatever version it was written in.
    ///
    /// # Errors
    /// When this build cannot read the payload.
    pub fn event(&self) -> Result<Event, DecodeError> {
        Event::decode(&self.event_type, self.schema_version, &self.payload)
    }

    /// # Errors
    /// When the stored metadata is not valid metadata JSON.
    pub fn metadata(&self) -> Result<Metadata, DecodeError> {
        read_metadata(&self.event_type, self.schema_version, &self.metadata)
    }
}

impl From<RecordedEvent> for LogEntry {
    fn from(event: RecordedEvent) -> LogEntry {
        LogEntry {
            position: event.position,
            ledger_id: event.ledger_id,
            stream_version: event.stream_version,
            event_type: event.event_type,
            schema_version: event.schema_version,
            payload: event.payload,
            metadata: event.metadata,
            recorded_at: event.recorded_at,
        }
    }
}

fn read_metadata(
    event_type: &str,
    schema_version: u16,
    metadata: &str,
) -> Result<Metadata, DecodeError> {
    serde_json::from_str(metadata).map_err(|e| DecodeError {
        event_type: event_type.chars().take(64).collect(),
        schema_version,
        reason: format!("metadata: {e}"),
    })
}
