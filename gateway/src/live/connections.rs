//! The live sockets of this server process, for `/v1/status`, `/v1/connections`,
//! `/v1/broadcast` and `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ledger::UserId;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use super::hub::QueueGauge;

/// How a live client is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// `GET /v1/ws`.
    WebSocket,
    /// `GET /v1/ledgers/{lid}/stream` (Server-Sent Events).
    Sse,
}

/// One socket as an operator sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConnectionInfo {
    pub(crate) id: u64,
    pub(crate) transport: Transport,
    /// `null` for the admin.
    #[schema(value_type = Option<uuid::Uuid>, required = true)]
    pub(crate) user: Option<UserId>,
    pub(crate) topics: Vec<String>,
    pub(crate) connected_at: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
    /// Frames waiting in this socket's queue now.
    #[schema(value_type = u64)]
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

/// The rows, and how many of them each user holds (for the per-user cap).
#[derive(Default)]
struct Sockets {
    rows: HashMap<u64, Row>,
    per_user: HashMap<UserId, u32>,
}

/// A user already holds as many sockets as one may.
#[derive(Debug)]
pub(crate) struct TooManySockets {
    pub(crate) max: u32,
}

/// Every socket of this process, and the counters `/metrics` shows.
pub(crate) struct Connections {
    sockets: Mutex<Sockets>,
    /// WebSockets and event streams one user may hold open in this process at once
    /// (0: no cap). The admin has none.
    per_user_cap: u32,
    next_id: AtomicU64,
    pub(crate) deltas_sent: AtomicU64,
    pub(crate) resyncs: AtomicU64,
    /// Admin notifications, to every WebSocket.
    notifications: broadcast::Sender<Value>,
}

impl Default for Connections {
    fn default() -> Self {
        Connections::new(0)
    }
}

impl Connections {
    pub(crate) fn new(per_user_cap: u32) -> Self {
        Self {
            sockets: Mutex::new(Sockets::default()),
            per_user_cap,
            next_id: AtomicU64::new(1),
            deltas_sent: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            notifications: broadcast::channel(256).0,
        }
    }

    fn sockets(&self) -> std::sync::MutexGuard<'_, Sockets> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a socket, unless its user already holds as many as one may; it is
    /// forgotten (and its place freed) when the returned guard drops.
    pub(crate) fn open(
        self: &Arc<Self>,
        user: Option<UserId>,
        transport: Transport,
    ) -> Result<Registration, TooManySockets> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now();
        let mut sockets = self.sockets();
        if let Some(user) = user {
            let held = sockets.per_user.entry(user).or_insert(0);
            if self.per_user_cap != 0 && *held >= self.per_user_cap {
                return Err(TooManySockets {
                    max: self.per_user_cap,
                });
            }
            *held += 1;
        }
        sockets.rows.insert(
            id,
            Row {
                info: ConnectionInfo {
                    id,
                    transport,
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
        Ok(Registration {
            connections: Arc::clone(self),
            id,
        })
    }

    /// Every socket, with its queue as it is now.
    pub(crate) fn list(&self) -> Vec<ConnectionInfo> {
        // The gauges are read after this lock is released: they take the hub's lock,
        // and the hub must never wait for this one.
        let rows: Vec<(ConnectionInfo, Option<QueueGauge>)> = self
            .sockets()
            .rows
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
        for topic in self
            .sockets()
            .rows
            .values()
            .flat_map(|r| r.info.topics.iter())
        {
            *counts.entry(topic.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub(crate) fn count(&self) -> usize {
        self.sockets().rows.len()
    }

    pub(crate) fn notifications(&self) -> broadcast::Receiver<Value> {
        self.notifications.subscribe()
    }

    /// Sends a notification to every WebSocket; returns how many were open.
    pub(crate) fn broadcast(&self, message: Value) -> usize {
        let _ = self.notifications.send(message);
        self.sockets()
            .rows
            .values()
            .filter(|r| r.info.transport == Transport::WebSocket)
            .count()
    }

    fn with_row(&self, id: u64, change: impl FnOnce(&mut Row)) {
        if let Some(row) = self.sockets().rows.get_mut(&id) {
            change(row);
        }
    }
}

/// A registered socket; updates its row and removes it when dropped.
pub(crate) struct Registration {
    connections: Arc<Connections>,
    id: u64,
}

impl Registration {
    /// Where the socket's queue figures come from.
    pub(crate) fn watch(&self, gauge: QueueGauge) {
        self.connections
            .with_row(self.id, |row| row.gauge = Some(gauge));
    }

    pub(crate) fn update(&self, topics: impl Iterator<Item = String>) {
        self.connections.with_row(self.id, |row| {
            row.info.topics = topics.collect();
            row.info.last_seen = Utc::now();
        });
    }

    /// Counts resyncs (rare: only after the queue overflowed), here and in total.
    pub(crate) fn resynced(&self, resyncs: u64) {
        if resyncs == 0 {
            return;
        }
        self.connections
            .with_row(self.id, |row| row.info.resyncs += resyncs);
        self.connections
            .resyncs
            .fetch_add(resyncs, Ordering::Relaxed);
    }

    /// Counts delta frames written.
    pub(crate) fn sent(&self, deltas: u64) {
        self.connections
            .deltas_sent
            .fetch_add(deltas, Ordering::Relaxed);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sockets = self.connections.sockets();
        let Some(row) = sockets.rows.remove(&self.id) else {
            return;
        };
        if let Some(user) = row.info.user {
            if let Some(held) = sockets.per_user.get_mut(&user) {
                *held -= 1;
                if *held == 0 {
                    sockets.per_user.remove(&user);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_cap_and_a_closed_socket_frees_its_place() {
        let connections = Arc::new(Connections::new(2));
        let (alice, bob) = (UserId::new(), UserId::new());
        let first = connections.open(Some(alice), Transport::WebSocket).unwrap();
        let _second = connections.open(Some(alice), Transport::Sse).unwrap();
        let refused = connections.open(Some(alice), Transport::WebSocket);
        assert!(matches!(refused, Err(TooManySockets { max: 2 })));
        // Another user and the admin are not counted against her.
        let _bob = connections.open(Some(bob), Transport::WebSocket).unwrap();
        let _admin: Vec<_> = (0..5)
            .map(|_| connections.open(None, Transport::WebSocket).unwrap())
            .collect();
        drop(first);
        let _again = connections.open(Some(alice), Transport::WebSocket).unwrap();
        assert_eq!(connections.count(), 8);
        assert_eq!(connections.sockets().per_user[&alice], 2);
    }
}
