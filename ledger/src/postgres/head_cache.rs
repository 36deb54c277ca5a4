//! What this process remembers of the log's heads after its last commit, so the
//! next batch can usually be decided without reading them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::append::{ExpectedVersion, Prepared};
use crate::batch::Heads;
use crate::chain::Hash;
use crate::ids::{LedgerId, Position, StreamId};

/// Streams remembered at most; past that the cache starts over (it is only a cache).
const CACHED_STREAMS: usize = 100_000;

/// The heads of the log as this process last committed them.
pub(super) struct HeadCache {
    position: Position,
    recorded_at: Option<DateTime<Utc>>,
    streams: HashMap<StreamId, u64>,
    /// The ledger of each remembered stream; fixed for ever, so never stale.
    owners: HashMap<StreamId, LedgerId>,
    ledgers: HashMap<LedgerId, Hash>,
}

/// Heads assumed for one batch, and the assumptions the guarded insert must check.
pub(super) struct Guess {
    pub(super) heads: Heads,
    pub(super) expected_head: Position,
    pub(super) new_streams: Vec<String>,
    pub(super) new_ledgers: Vec<Uuid>,
    pub(super) new_key_ledgers: Vec<Uuid>,
    pub(super) new_keys: Vec<String>,
}

impl From<Heads> for HeadCache {
    fn from(heads: Heads) -> Self {
        HeadCache {
            position: heads.position,
            recorded_at: heads.recorded_at,
            streams: heads.streams,
            owners: heads.owners,
            ledgers: heads.ledgers,
        }
    }
}

impl HeadCache {
    /// The heads a batch needs, if the cache can vouch for all of them: a stream it
    /// does not know must be expected not to exist, a ledger it does not know must be
    /// opened by the batch.
    pub(super) fn guess(&self, batch: &[Prepared]) -> Option<Guess> {
        let mut guess = Guess {
            heads: Heads {
                position: self.position,
                recorded_at: self.recorded_at,
                ..Heads::default()
            },
            expected_head: self.position,
            new_streams: Vec::new(),
            new_ledgers: Vec::new(),
            new_key_ledgers: Vec::new(),
            new_keys: Vec::new(),
        };
        for p in batch {
            match self.ledgers.get(&p.ledger) {
                Some(hash) => {
                    guess.heads.ledgers.insert(p.ledger, *hash);
                }
                None if p.opens_ledger => guess.new_ledgers.push(p.ledger.as_uuid()),
                None => return None,
            }
            for w in &p.writes {
                match self.streams.get(&w.stream) {
                    Some(v) => {
                        guess.heads.streams.insert(w.stream, *v);
                        if let Some(owner) = self.owners.get(&w.stream) {
                            guess.heads.owners.insert(w.stream, *owner);
                        }
                    }
                    None if w.expected == ExpectedVersion::NoStream => {
                        guess.new_streams.push(w.stream.to_string())
                    }
                    None => return None,
                }
            }
            if let Some(key) = &p.idempotency_key {
                guess.new_key_ledgers.push(p.ledger.as_uuid());
                guess.new_keys.push(key.clone());
            }
        }
        Some(guess)
    }

    pub(super) fn absorb(&mut self, heads: Heads) {
        if self.streams.len() + heads.streams.len() > CACHED_STREAMS {
            self.streams.clear();
            self.owners.clear();
        }
        self.position = heads.position;
        self.recorded_at = heads.recorded_at;
        self.streams.extend(heads.streams);
        self.owners.extend(heads.owners);
        self.ledgers.extend(heads.ledgers);
    }
}
