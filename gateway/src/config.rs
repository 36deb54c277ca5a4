//! What a server is started with.

use std::net::SocketAddr;

/// Settings for [`crate::startup::Application::build`].
#[derive(Clone, Debug)]
pub struct Config {
    /// `postgres://...` or `sqlite:PATH`.
    pub database_url: String,
    /// Where to listen; port 0 picks a free one (tests).
    pub bind: SocketAddr,
    /// The token that may do everything; no admin endpoints without it.
    pub admin_token: Option<String>,
    /// Frames a socket (or event stream) may have waiting before it is cut off the
    /// live feed and resynchronised with fresh snapshots; see `docs/adr/0006-fan-out.md`.
    pub socket_queue: usize,
}

/// 512 frames: several seconds of one busy ledger's changes for a client that
/// reads a little slowly, at 24 bytes a slot (the frames themselves are shared), and
/// allocated 32 slots at a time as it fills.
pub const DEFAULT_SOCKET_QUEUE: usize = 512;
