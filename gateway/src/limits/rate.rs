//! Requests per token and per client address (GCRA from `governor`): over the rate,
//! 429 with `Retry-After`; every limited answer carries the `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` headers of the IETF draft
//! (draft-ietf-httpapi-ratelimit-headers), for the tighter of the two limits.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::{DefaultKeyedRateLimiter, Quota};
use ledger::TokenHash;

use crate::config::Limits;
use crate::error::ApiError;

/// How often quiet keys are forgotten.
const SWEEP: Duration = Duration::from_secs(60);

type Keyed<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

/// The two limiters; either may be off (a rate of 0).
pub(crate) struct RateLimits {
    /// Keyed by the token's hash, so no token is kept in memory.
    per_token: Option<Keyed<TokenHash>>,
    per_address: Option<Keyed<IpAddr>>,
    clock: DefaultClock,
}

/// What one limiter said about one request.
enum Outcome {
    Allowed(StateSnapshot),
    Refused { quota: Quota, wait: Duration },
}

impl RateLimits {
    /// The limiters, and a task that sweeps their quiet keys while they live.
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        let limits = Arc::new(RateLimits {
            per_token: limiter(limits.requests_per_token),
            per_address: limiter(limits.requests_per_address),
            clock: DefaultClock::default(),
        });
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP);
            every.tick().await;
            loop {
                every.tick().await;
                match weak.upgrade() {
                    Some(limits) => limits.forget_quiet(),
                    None => return,
                }
            }
        });
        limits
    }

    /// Forgets keys that have been quiet long enough to be back at a full burst, so
    /// the maps do not grow with every address and token ever seen.
    fn forget_quiet(&self) {
        if let Some(l) = &self.per_token {
            l.retain_recent();
        }
        if let Some(l) = &self.per_address {
            l.retain_recent();
        }
    }

    fn check<K: Clone + std::hash::Hash + Eq>(
        &self,
        limiter: &Option<Keyed<K>>,
        key: Option<K>,
    ) -> Option<Outcome> {
        let (limiter, key) = (limiter.as_ref()?, key?);
        Some(match limiter.check_key(&key) {
            Ok(snapshot) => Outcome::Allowed(snapshot),
            Err(not_until) => Outcome::Refused {
                quota: not_until.quota(),
                wait: not_until.wait_time_from(self.clock.now()),
            },
        })
    }
}

/// `per_second` requests a second with bursts of twice that; none for 0.
fn limiter<K: Clone + std::hash::Hash + Eq>(per_second: u32) -> Option<Keyed<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
    let quota = Quota::per_second(rate).allow_burst(burst);
    Some(DefaultKeyedRateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>())
}

/// Checks the caller's address, then their token; answers 429 when either is over.
pub(crate) async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    // Probes from load balancers and orchestrators are never refused.
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let token = token(&request).map(TokenHash::of);
    let by_address = limits.check(&limits.per_address, address);
    if let Some(Outcome::Refused { quota, wait }) = by_address {
        return refused(quota, wait);
    }
    let by_token = limits.check(&limits.per_token, token);
    if let Some(Outcome::Refused { quota, wait }) = by_token {
        return refused(quota, wait);
    }
    let tighter = [by_address, by_token]
        .into_iter()
        .flatten()
        .filter_map(|o| match o {
            Outcome::Allowed(snapshot) => Some(snapshot),
            Outcome::Refused { .. } => None,
        })
        .min_by_key(StateSnapshot::remaining_burst_capacity);
    let mut response = next.run(request).await;
    if let Some(snapshot) = tighter {
        let quota = snapshot.quota();
        let remaining = snapshot.remaining_burst_capacity();
        let used = quota.burst_size().get().saturating_sub(remaining);
        // Back to a full burst after one replenish interval per request used.
        let reset = quota.replenish_interval() * used;
        headers(response.headers_mut(), quota, remaining, reset);
    }
    response
}

/// The bearer token, from the header or, for sockets, `?token=`.
fn token(request: &Request) -> Option<&str> {
    if let Some(value) = request.headers().get(axum::http::header::AUTHORIZATION) {
        return value.to_str().ok()?.strip_prefix("Bearer ");
    }
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

fn refused(quota: Quota, wait: Duration) -> Response {
    let retry_after = whole_seconds(wait);
    let mut response = ApiError::RateLimited { retry_after }.into_response();
    headers(response.headers_mut(), quota, 0, wait);
    response
}

fn headers(headers: &mut HeaderMap, quota: Quota, remaining: u32, reset: Duration) {
    headers.insert("ratelimit-limit", quota.burst_size().get().into());
    headers.insert("ratelimit-remaining", remaining.into());
    headers.insert(
        "ratelimit-reset",
        HeaderValue::from(whole_seconds(reset).max(u64::from(remaining == 0))),
    );
}

/// Rounded up, so a client that waits that long is let through.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}
