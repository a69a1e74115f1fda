//! Rate limits for the endpoints anyone may call: token buckets kept in
//! memory, one per client address and one per form. A bucket holds up to
//! `burst` requests and refills at `per_minute`; an empty one answers 429
//! with `Retry-After`. Each server keeps its own buckets, so with several
//! servers a client gets each server's allowance.

use crate::auth::network::client_key;
use crate::config::Rate;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, RawPathParams, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kith_core::ErrorCode;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept at most, so memory stays bounded however many addresses
/// call. At the cap, buckets that are full again are forgotten (a full
/// bucket is the same as none); if none is, a new key draws from one shared
/// overflow bucket until some are: a caller with more addresses than the
/// cap is limited as one.
const MAX_BUCKETS: usize = 50_000;

/// The key of the shared bucket of keys that found the map full.
const OVERFLOW: &str = "\u{0}overflow";

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Buckets {
    map: HashMap<String, Bucket>,
    /// Not before this is the full map scanned again for full buckets: a
    /// scan is O(n) under the lock, so it may not run for every new key.
    next_sweep: Option<Instant>,
}

/// Token buckets under one rate, by key.
pub struct Limiter {
    rate: Rate,
    cap: usize,
    buckets: Mutex<Buckets>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        Self::with_cap(rate, MAX_BUCKETS)
    }

    fn with_cap(rate: Rate, cap: usize) -> Self {
        Self { rate, cap, buckets: Mutex::new(Buckets { map: HashMap::new(), next_sweep: None }) }
    }

    /// How many keys have a bucket now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.map.len())
    }

    /// Takes one request from `key`'s bucket, or says how long until one is there.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.rate.burst);
        let refill = |b: &Bucket| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.rate.per_second()).min(burst)
        };
        let mut guard = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Buckets { map, next_sweep } = &mut *guard;
        let mut key = key;
        if map.len() >= self.cap && !map.contains_key(key) {
            if next_sweep.is_none_or(|at| now >= at) {
                map.retain(|k, b| k == OVERFLOW || refill(b) < burst);
                // A drained bucket is full again after burst / rate: no sooner
                // can a sweep find more, however many new keys come.
                *next_sweep = Some(now + Duration::from_secs_f64((burst / self.rate.per_second()).min(60.0)));
            }
            if map.len() >= self.cap {
                key = OVERFLOW;
            }
        }
        let bucket = map.entry(key.to_string()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = refill(bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate.per_second()))
        }
    }
}

/// The limits of the public capture endpoints.
pub struct PublicLimits {
    pub(crate) client: Limiter,
    form: Limiter,
}

impl PublicLimits {
    pub fn new(client: Rate, form: Rate) -> Self {
        Self { client: Limiter::new(client), form: Limiter::new(form) }
    }
}

/// 429 `rate_limited` with `Retry-After`.
pub fn limited(wait: Duration, detail: &str) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(ErrorCode::RateLimited, detail).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

const CAPTURE_LIMITED: &str = "too many requests from here or to this form; try later";

/// Middleware for the public capture routes: the client's bucket, then the
/// form's (when the path names one). Refusals are not audited: the log
/// would otherwise be the flood's target.
pub async fn limit(State(state): State<AppState>, params: RawPathParams, req: Request, next: Next) -> Response {
    let now = Instant::now();
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Err(wait) = state.limits.client.take(&client_key(ip), now) {
        return limited(wait, CAPTURE_LIMITED);
    }
    // A form's bucket only for a form that exists: a key is the caller's
    // text until the catalogue knows it (an unknown form answers 404 anyway).
    if let Some((_, raw)) = params.iter().find(|(name, _)| *name == "form_key") {
        if let Ok(Some(form)) = state.store.form(raw).await {
            if let Err(wait) = state.limits.form.take(&form.key, now) {
                return limited(wait, CAPTURE_LIMITED);
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills() {
        let limiter = Limiter::new(Rate { per_minute: 60, burst: 2 });
        let t0 = Instant::now();
        assert!(limiter.take("a", t0).is_ok());
        assert!(limiter.take("a", t0).is_ok());
        let wait = limiter.take("a", t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
        assert!(limiter.take("b", t0).is_ok(), "buckets are per key");
        assert!(limiter.take("a", t0 + Duration::from_millis(1100)).is_ok(), "one a second comes back");
    }

    #[test]
    fn the_cap_holds_against_many_partly_drained_keys() {
        let limiter = Limiter::with_cap(Rate { per_minute: 1, burst: 2 }, 100);
        let t0 = Instant::now();
        for i in 0..10_000 {
            // Each new address takes one of its two: no bucket is full again.
            let _ = limiter.take(&format!("10.0.{}.{}", i / 256, i % 256), t0);
        }
        assert!(limiter.len() <= 101, "{} buckets", limiter.len());
        // Beyond the cap, new keys share one bucket: two requests, then 429.
        let fresh = (0..3).map(|i| limiter.take(&format!("192.0.2.{i}"), t0)).collect::<Vec<_>>();
        assert!(fresh.iter().any(Result::is_err), "the overflow bucket runs dry");
        // Once the old buckets are full again, a sweep makes room.
        let later = t0 + Duration::from_secs(3600);
        assert!(limiter.take("198.51.100.1", later).is_ok());
        assert!(limiter.len() <= 2, "{} buckets", limiter.len());
    }
}
