//! What a server is started with.

use std::net::SocketAddr;
use std::time::Duration;

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
    /// Timeouts and limits; [`Limits::default`] for a server as `ledger serve` starts it.
    pub limits: Limits,
}

/// 512 frames: several seconds of one busy ledger's changes for a client that
/// reads a little slowly, at 24 bytes a slot (the frames themselves are shared), and
/// allocated 32 slots at a time as it fills.
pub const DEFAULT_SOCKET_QUEUE: usize = 512;

/// Timeouts and limits that keep one client (or a database outage) from holding the
/// server's connections and tasks; every one is a `ledger serve` flag and an
/// environment variable, listed with its default in `docs/RELIABILITY.md`. A count or
/// rate of 0 turns that limit off (the benchmarks drive thousands of sockets and
/// 20,000 requests a second from one address and turn the per-address ones off).
#[derive(Clone, Debug)]
pub struct Limits {
    /// From the moment a connection waits for a request until its headers are in:
    /// a slowloris connection is closed after this.
    pub header_read_timeout: Duration,
    /// From the headers until the whole body is in; then 408 and the connection closes.
    pub body_read_timeout: Duration,
    /// A kept-alive connection with no traffic in either direction for this long is
    /// closed (after the request in flight, if any).
    pub idle_timeout: Duration,
    /// Open TCP connections per client IP address; more are closed on accept.
    pub connections_per_address: u32,
    /// WebSockets and event streams one user may hold open at once on one server
    /// process; one more is refused with 429 `too_many_sockets`.
    pub sockets_per_user: u32,
    /// Requests a second per token, with bursts of twice that; then 429.
    pub requests_per_token: u32,
    /// Requests a second per client IP address, with bursts of twice that; then 429.
    pub requests_per_address: u32,
    /// The longest a write waits for the database before answering 503 with
    /// `Retry-After` (it may still commit: a client retries with its Idempotency-Key).
    pub write_timeout: Duration,
}

impl Default for Limits {
    /// Generous enough that no well-behaved client (or the benchmarks' 64 writers,
    /// about 300 requests a second per token) meets them.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            connections_per_address: 1024,
            sockets_per_user: 64,
            requests_per_token: 1000,
            requests_per_address: 5000,
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// The `ledger serve` flags (and environment variables) of [`Limits`]. Durations are
/// `500ms`, `30s`, `2m` or a bare number of seconds; 0 turns a count or rate off.
#[derive(Clone, Debug, clap::Args)]
pub struct LimitArgs {
    /// Longest wait for a request's headers, idle keep-alive time included.
    #[arg(long, env = "LEDGER_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_read_timeout: Duration,
    /// Longest wait for a request's body once its headers are in (then 408).
    #[arg(long, env = "LEDGER_BODY_READ_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub body_read_timeout: Duration,
    /// A connection moving no byte for this long is closed.
    #[arg(long, env = "LEDGER_IDLE_TIMEOUT", default_value = "75s", value_parser = duration)]
    pub idle_timeout: Duration,
    /// Open connections per client IP address (0: no cap).
    #[arg(long, env = "LEDGER_CONNECTIONS_PER_ADDRESS", default_value_t = 1024)]
    pub connections_per_address: u32,
    /// Open WebSockets and event streams per user (0: no cap).
    #[arg(long, env = "LEDGER_SOCKETS_PER_USER", default_value_t = 64)]
    pub sockets_per_user: u32,
    /// Requests a second per token, bursts of twice that (0: no limit).
    #[arg(long, env = "LEDGER_REQUESTS_PER_TOKEN", default_value_t = 1000)]
    pub requests_per_token: u32,
    /// Requests a second per client IP address, bursts of twice that (0: no limit).
    #[arg(long, env = "LEDGER_REQUESTS_PER_ADDRESS", default_value_t = 5000)]
    pub requests_per_address: u32,
    /// Longest wait for the database on a write before answering 503.
    #[arg(long, env = "LEDGER_WRITE_TIMEOUT", default_value = "5s", value_parser = duration)]
    pub write_timeout: Duration,
}

impl LimitArgs {
    /// The limits the environment sets, or their defaults (`ledger` without a
    /// subcommand, which has no flags).
    ///
    /// # Errors
    /// When an environment variable holds no valid value.
    pub fn from_env() -> Result<LimitArgs, clap::Error> {
        use clap::{Args, FromArgMatches};
        let command = LimitArgs::augment_args(clap::Command::new("ledger"));
        let matches = command.try_get_matches_from(["ledger"])?;
        LimitArgs::from_arg_matches(&matches)
    }
}

impl From<LimitArgs> for Limits {
    fn from(a: LimitArgs) -> Self {
        Limits {
            header_read_timeout: a.header_read_timeout,
            body_read_timeout: a.body_read_timeout,
            idle_timeout: a.idle_timeout,
            connections_per_address: a.connections_per_address,
            sockets_per_user: a.sockets_per_user,
            requests_per_token: a.requests_per_token,
            requests_per_address: a.requests_per_address,
            write_timeout: a.write_timeout,
        }
    }
}

/// `500ms`, `30s`, `2m` or a bare number of seconds; never zero (a zero timeout
/// would refuse everything).
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 500ms, 30s or 2m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{text:?}: the unit is ms, s or m")),
    };
    if d.is_zero() {
        return Err(format!("{text:?}: a timeout must be longer than 0"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit_or_as_seconds() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("7"), Ok(Duration::from_secs(7)));
        assert!(duration("0s").is_err());
        assert!(duration("1h").is_err());
        assert!(duration("fast").is_err());
    }

    #[test]
    fn the_flags_defaults_are_the_documented_ones() {
        let flags = Limits::from(LimitArgs::from_env().unwrap());
        let defaults = Limits::default();
        assert_eq!(flags.header_read_timeout, defaults.header_read_timeout);
        assert_eq!(flags.body_read_timeout, defaults.body_read_timeout);
        assert_eq!(flags.idle_timeout, defaults.idle_timeout);
        assert_eq!(
            flags.connections_per_address,
            defaults.connections_per_address
        );
        assert_eq!(flags.sockets_per_user, defaults.sockets_per_user);
        assert_eq!(flags.requests_per_token, defaults.requests_per_token);
        assert_eq!(flags.requests_per_address, defaults.requests_per_address);
        assert_eq!(flags.write_timeout, defaults.write_timeout);
    }
}
