//! Rate limits for the endpoints anyone may call: token buckets kept in
//! memory, one per client address and one per form. A bucket holds up to
//! `burst` requests and refills at `per_minute`; an empty one answers 429
//! with `Retry-After`. Each server keeps its own buckets, so with several
//! servers a client gets each server's allowance.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, RawPathParams, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kith_core::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before full ones are forgotten (a full bucket is the same
/// as none), so memory stays bounded however many addresses call.
const MAX_BUCKETS: usize = 50_000;

/// How fast requests may come: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub fn check(&self, name: &str) -> Result<(), String> {
        if self.per_minute == 0 || self.burst == 0 {
            return Err(format!("{name}: per_minute and burst are at least 1"));
        }
        Ok(())
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets under one rate, by key.
pub struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key`'s bucket, or says how long until one is there.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.rate.burst);
        let refill = |b: &Bucket| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.rate.per_second()).min(burst)
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| refill(b) < burst);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: burst, at: now });
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
    client: Limiter,
    form: Limiter,
}

impl PublicLimits {
    pub fn new(client: Rate, form: Rate) -> Self {
        Self { client: Limiter::new(client), form: Limiter::new(form) }
    }
}

/// The bucket of a client address. An IPv6 client usually holds a whole
/// /64, so that is what is counted; IPv4 counts per address.
pub fn client_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".into(),
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
    if let Some((_, form)) = params.iter().find(|(name, _)| *name == "form_key") {
        if let Err(wait) = state.limits.form.take(form, now) {
            return limited(wait, CAPTURE_LIMITED);
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
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        assert_eq!(client_key(Some("::ffff:192.0.2.1".parse().unwrap())), "192.0.2.1");
    }
}
