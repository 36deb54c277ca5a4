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
}
