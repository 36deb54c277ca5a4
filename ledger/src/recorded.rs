//! Events as the log holds them: the payload plus everything the store added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chain::Hash;
use crate::error::DecodeError;
use crate::event::Event;
use crate::ids::{EventId, LedgerId, Position, StreamId, UserId};

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
        serde_json::from_str(&self.metadata).map_err(|e| DecodeError {
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            reason: format!("metadata: {e}"),
        })
    }
}
