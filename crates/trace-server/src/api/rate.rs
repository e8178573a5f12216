//! Per-client request rate: a token bucket per client address, so one client (a script gone
//! wrong, a scraper, a flood from one host) cannot take the whole in-flight budget from the
//! kiosks and tracers sharing the server. Kiosks sync every few seconds, far below the rate.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, buckets that have refilled are forgotten (a client with a
/// full bucket is indistinguishable from a new one), so spoofed or many addresses cannot grow
/// the table without bound.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
struct Table<K> {
    buckets: HashMap<K, Bucket>,
    last_prune: Option<Instant>,
}

/// A token bucket per key: a client address ([`client_key`]) or a credential.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    table: Mutex<Table<K>>,
}

/// The key a client address is counted under: its IPv4 address, or its IPv6 /64 (one host
/// holds a whole /64, so counting single IPv6 addresses would let it rotate freely).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

/// The client a request came from: the peer, unless the peer is one of the `trusted` reverse
/// proxies, then the address its `X-Forwarded-For` names. Read from the right (each proxy
/// appends the address it saw), skipping trusted proxies: the first address no trusted proxy
/// owns is the client. Entries left of it are the client's own word and ignored; an entry
/// that is not an address stops the walk at the hop that wrote it. A peer that is not a
/// trusted proxy is its own client whatever the header says, so nobody can pick their key.
pub fn client_address(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_minute` requests a minute per key on average, up to a burst of ten seconds' worth
    /// (at least 10).
    pub fn new(per_minute: u32) -> RateLimiter<K> {
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

    /// `Ok` to serve a request counted under `key` at `now`, else how long until one would be.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
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
        let bucket = match table.buckets.get_mut(key) {
            Some(b) => b,
            None => table.buckets.entry(key.clone()).or_insert(Bucket {
                tokens: self.burst,
                last: now,
            }),
        };
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
        let check = |ip: IpAddr, t| limiter.check(&client_key(ip), t);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(check(a, t0).is_ok());
        }
        let wait = check(a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
        assert!(check(b, t0).is_ok(), "another client is not affected");
        assert!(check(a, t0 + Duration::from_millis(1100)).is_ok(), "refilled");
        assert!(check(a, t0 + Duration::from_millis(1200)).is_err());
        // One IPv6 host rotating through its /64 is one client.
        for i in 0..10u16 {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().unwrap();
            assert!(check(ip, t0).is_ok());
        }
        assert!(check("2001:db8::ffff".parse().unwrap(), t0).is_err());
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_first_untrusted_hop_from_the_right() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let headers = |xff: &[&str]| {
            let mut h = axum::http::HeaderMap::new();
            for v in xff {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            h
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = ip("10.0.0.5");
        // One proxy: the address it appended.
        assert_eq!(
            client_address(proxy, &headers(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // The client's own (made-up) entries are left of the real one and ignored.
        let spoofed = headers(&["1.2.3.4, 5.6.7.8", "203.0.113.7"]);
        assert_eq!(client_address(proxy, &spoofed, &trusted), ip("203.0.113.7"));
        // Two trusted proxies in a row: skipped.
        let chain = headers(&["198.51.100.9, 10.1.1.1"]);
        assert_eq!(client_address(proxy, &chain, &trusted), ip("198.51.100.9"));
        // A peer that is no trusted proxy is its own client, whatever it claims.
        assert_eq!(client_address(ip("192.0.2.1"), &spoofed, &trusted), ip("192.0.2.1"));
        // No header, or garbage where the proxy's hop should be: the proxy itself.
        assert_eq!(client_address(proxy, &headers(&[]), &trusted), proxy);
        assert_eq!(client_address(proxy, &headers(&["1.2.3.4, junk"]), &trusted), proxy);
        // IPv4-mapped IPv6 peers match IPv4 ranges.
        assert_eq!(
            client_address(ip("::ffff:10.0.0.5"), &headers(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // Nothing trusted: the header means nothing.
        assert_eq!(client_address(proxy, &headers(&["203.0.113.7"]), &[]), proxy);
    }
}
