//! The live sockets of this server process, for `/v1/status`, `/v1/connections`,
//! `/v1/broadcast` and `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ledger::UserId;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

/// One socket as an operator sees it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ConnectionInfo {
    pub(crate) id: u64,
    /// `None` for the admin.
    pub(crate) user: Option<UserId>,
    pub(crate) topics: Vec<String>,
    pub(crate) connected_at: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
    /// Messages waiting to be written to this socket.
    pub(crate) queued: usize,
}

/// Every socket of this process, and the counters `/metrics` shows.
pub(crate) struct Connections {
    sockets: Mutex<HashMap<u64, ConnectionInfo>>,
    next_id: AtomicU64,
    pub(crate) deltas_sent: AtomicU64,
    pub(crate) resyncs: AtomicU64,
    /// Admin notifications, to every socket.
    notifications: broadcast::Sender<Value>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            sockets: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            deltas_sent: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            notifications: broadcast::channel(256).0,
        }
    }
}

impl Connections {
    fn sockets(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ConnectionInfo>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a socket; it is forgotten when the returned guard drops.
    pub(crate) fn open(&self, user: Option<UserId>) -> Registration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now();
        self.sockets().insert(
            id,
            ConnectionInfo {
                id,
                user,
                topics: Vec::new(),
                connected_at: now,
                last_seen: now,
                queued: 0,
            },
        );
        Registration {
            connections: self,
            id,
        }
    }

    pub(crate) fn list(&self) -> Vec<ConnectionInfo> {
        let mut all: Vec<_> = self.sockets().values().cloned().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// Subscriptions per topic across all sockets.
    pub(crate) fn topics(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for topic in self.sockets().values().flat_map(|c| c.topics.iter()) {
            *counts.entry(topic.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub(crate) fn count(&self) -> usize {
        self.sockets().len()
    }

    pub(crate) fn notifications(&self) -> broadcast::Receiver<Value> {
        self.notifications.subscribe()
    }

    /// Sends a notification to every socket; returns how many were open.
    pub(crate) fn broadcast(&self, message: Value) -> usize {
        let _ = self.notifications.send(message);
        self.count()
    }
}

/// A registered socket; updates its row and removes it when dropped.
pub(crate) struct Registration<'a> {
    connections: &'a Connections,
    id: u64,
}

impl Registration<'_> {
    pub(crate) fn update(&self, topics: impl Iterator<Item = String>, queued: usize) {
        if let Some(info) = self.connections.sockets().get_mut(&self.id) {
            info.topics = topics.collect();
            info.last_seen = Utc::now();
            info.queued = queued;
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.connections.sockets().remove(&self.id);
    }
}
