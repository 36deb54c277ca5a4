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

use super::hub::QueueGauge;

/// One socket as an operator sees it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ConnectionInfo {
    pub(crate) id: u64,
    /// `None` for the admin.
    pub(crate) user: Option<UserId>,
    pub(crate) topics: Vec<String>,
    pub(crate) connected_at: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
    /// Frames waiting in this socket's queue now.
    pub(crate) queued: usize,
    /// Frames not queued for this socket because its queue was full.
    pub(crate) dropped: u64,
    /// Times this socket fell behind and was sent fresh snapshots.
    pub(crate) resyncs: u64,
}

/// A socket's row, and where its queue's figures are read when it is listed.
struct Row {
    info: ConnectionInfo,
    gauge: Option<QueueGauge>,
}

/// Every socket of this process, and the counters `/metrics` shows.
pub(crate) struct Connections {
    sockets: Mutex<HashMap<u64, Row>>,
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
    fn sockets(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Row>> {
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
            Row {
                info: ConnectionInfo {
                    id,
                    user,
                    topics: Vec::new(),
                    connected_at: now,
                    last_seen: now,
                    queued: 0,
                    dropped: 0,
                    resyncs: 0,
                },
                gauge: None,
            },
        );
        Registration {
            connections: self,
            id,
        }
    }

    /// Every socket, with its queue as it is now.
    pub(crate) fn list(&self) -> Vec<ConnectionInfo> {
        // The gauges are read after this lock is released: they take the hub's lock,
        // and the hub must never wait for this one.
        let rows: Vec<(ConnectionInfo, Option<QueueGauge>)> = self
            .sockets()
            .values()
            .map(|row| (row.info.clone(), row.gauge.clone()))
            .collect();
        let mut all: Vec<ConnectionInfo> = rows
            .into_iter()
            .map(|(mut info, gauge)| {
                if let Some(gauge) = gauge {
                    (info.queued, info.dropped) = gauge.read();
                }
                info
            })
            .collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// Subscriptions per topic across all sockets.
    pub(crate) fn topics(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for topic in self.sockets().values().flat_map(|r| r.info.topics.iter()) {
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
    /// Where the socket's queue figures come from.
    pub(crate) fn watch(&self, gauge: QueueGauge) {
        if let Some(row) = self.connections.sockets().get_mut(&self.id) {
            row.gauge = Some(gauge);
        }
    }

    pub(crate) fn update(&self, topics: impl Iterator<Item = String>) {
        if let Some(row) = self.connections.sockets().get_mut(&self.id) {
            row.info.topics = topics.collect();
            row.info.last_seen = Utc::now();
        }
    }

    /// Counts resyncs (rare: only after the queue overflowed).
    pub(crate) fn resynced(&self, resyncs: u64) {
        if let Some(row) = self.connections.sockets().get_mut(&self.id) {
            row.info.resyncs += resyncs;
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.connections.sockets().remove(&self.id);
    }
}
