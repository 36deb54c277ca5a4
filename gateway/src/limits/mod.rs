//! Timeouts and limits that keep one client, or a database outage, from holding the
//! server's connections and tasks (settings: [`crate::config::Limits`]; the table of
//! defaults is in `docs/RELIABILITY.md`).
//!
//! - `accept`: the accept loop: connections per address, the header read and idle
//!   timeouts, TCP_NODELAY and graceful shutdown (what `axum::serve` did before, with
//!   none of these limits).
//! - `body`: the body read timeout, answered with 408.
//! - `rate`: requests per token and per address, answered with 429, `Retry-After` and
//!   the `RateLimit-*` headers.

mod accept;
mod body;
mod rate;

pub(crate) use accept::serve;
pub(crate) use body::body_deadline;
pub(crate) use rate::{rate_limit, RateLimits};
