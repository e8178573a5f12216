//! Per-client request rate: a token bucket per client address, so one client (a script gone
//! wrong, a scraper, a flood from one host) cannot take the whole in-flight budget from the
//! kiosks and tracers sharing the server. Kiosks sync every few seconds, far below the rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked clients, buckets that have refilled are forgotten (a client with a
/// full bucket is indistinguishable from a new one), so spoofed or many addresses cannot grow
/// the table without bound.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per client on average, up to a burst of ten seconds'
    /// worth (at least 10).
    pub fn new(per_minute: u32) -> RateLimiter {
        let per_second = f64::from(per_minute) / 60.0;
        RateLimiter {
            per_second,
            burst: (per_second * 10.0).max(10.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to serve a request from `client` at `now`, else how long until one would be.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned lock must not take the server down with it
        };
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate_per_client() {
        let limiter = RateLimiter::new(60); // one a second, bursts of 10
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.check(a, t0).is_ok());
        }
        let wait = limiter.check(a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
        assert!(limiter.check(b, t0).is_ok(), "another client is not affected");
        assert!(limiter.check(a, t0 + Duration::from_millis(1100)).is_ok(), "refilled");
        assert!(limiter.check(a, t0 + Duration::from_millis(1200)).is_err());
    }
}
