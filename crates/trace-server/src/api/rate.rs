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
struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    last_prune: Option<Instant>,
}

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    table: Mutex<Table>,
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64 (one host holds a
/// whole /64, so counting single IPv6 addresses would let it rotate freely).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

impl RateLimiter {
    /// `per_minute` requests a minute per client on average, up to a burst of ten seconds'
    /// worth (at least 10).
    pub fn new(per_minute: u32) -> RateLimiter {
        let per_second = f64::from(per_minute) / 60.0;
        RateLimiter {
            per_second,
            burst: (per_second * 10.0).max(10.0),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                last_prune: None,
            }),
        }
    }

    /// `Ok` to serve a request from `client` at `now`, else how long until one would be.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(mut table) = self.table.lock() else {
            return Ok(()); // a poisoned lock must not take the server down with it
        };
        // At most once a second, so a flood from many addresses does not make every request
        // walk the table.
        let due = table
            .last_prune
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1));
        if table.buckets.len() > PRUNE_ABOVE && due {
            let (rate, burst) = (self.per_second, self.burst);
            table
                .buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
            table.last_prune = Some(now);
        }
        let bucket = table.buckets.entry(client_key(client)).or_insert(Bucket {
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
        // One IPv6 host rotating through its /64 is one client.
        for i in 0..10u16 {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().unwrap();
            assert!(limiter.check(ip, t0).is_ok());
        }
        assert!(limiter.check("2001:db8::ffff".parse().unwrap(), t0).is_err());
    }
}
