//! Live updates: the hub, the subscriptions it feeds, and the two transports that
//! carry them (WebSocket and Server-Sent Events). See `docs/adr/0010-live-layer.md`.
//!
//! ## Layout
//!
//! The data path runs hub -> subscription -> transport; each module only uses the
//! ones before it in this list, so there are no cycles.
//!
//! - `topic`: `ledger:{lid}:{kind}`, what a client follows.
//! - `message`: the server's messages, serialized, with their type and position:
//!   what every transport writes (a text frame, or an SSE event).
//! - `snapshot`: a topic's current state, from the read models and the imports.
//! - `hub`: one task per process that serializes each delta (and each import's
//!   progress) once and queues it, bounded, for the followers of its topic; a full
//!   queue gets a `Lagged` marker. No transport types.
//! - `subscription`: one follower's logic, shared by both transports: follow,
//!   replay since a position, snapshot, skip what a snapshot covered, resync,
//!   revoked access, the heartbeat's position.
//! - `since`: a client's `since` checked against the log's head.
//! - `ws/`: `GET /v1/ws`: what clients send (`messages`) apart from the socket loop
//!   (`connection`), which is generic over `Sink`/`Stream`.
//! - `sse`: `GET /v1/ledgers/{lid}/stream`, resumable with `Last-Event-ID`.
//! - `connections`: this process's sockets, for admin endpoints and metrics.

pub(crate) mod connections;
mod hub;
mod message;
mod since;
mod snapshot;
pub(crate) mod sse;
mod subscription;
mod topic;
pub(crate) mod ws;

pub(crate) use connections::Connections;
pub(crate) use hub::Hub;
pub(crate) use snapshot::Sources;
pub use ws::read_client_frame;
