//! A per-address request limit on the public pages (enrollment, member pages): a token bucket
//! per client (an IPv4 address, an IPv6 /64 network), `WALLETCARDS_PUBLIC_REQUESTS_PER_MINUTE`
//! with bursts of as many. Past it the pages answer 429 with `Retry-After` (the middleware is
//! `http::pages::limit`). Invite tokens and card tokens are unguessable anyway; this keeps a
//! script from hammering the forms and the pass signing behind them. Behind load balancers
//! (`WALLETCARDS_TRUSTED_PROXIES`) the client is the nearest address in `X-Forwarded-For` that
//! is not one of them; a client cannot forge its way past that, since only what trusted proxies
//! appended is believed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets tracked at most. Reaching it trims the map to [`KEEP_AFTER_TRIM`] of it, so a
/// flood from many addresses costs one pass over the map per quarter of it, not one per request.
const MAX_TRACKED: usize = 50_000;

#[derive(Debug)]
pub struct PublicLimit {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    trusted: Vec<ipnet::IpNet>,
    max_tracked: usize,
}

impl PublicLimit {
    pub fn new(per_minute: u32, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        Self::tracking(per_minute, trusted_proxies, MAX_TRACKED)
    }

    fn tracking(per_minute: u32, trusted: Vec<ipnet::IpNet>, max_tracked: usize) -> Self {
        PublicLimit {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
            trusted,
            max_tracked: max_tracked.max(4),
        }
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the
    /// right-most address of `X-Forwarded-For` that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !trusted(ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }

    /// Takes a request of `ip` from its bucket; `Some(wait)` when it is empty.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let rate = self.per_minute / 60.0;
        let ip = bucket_key(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= self.max_tracked && !buckets.contains_key(&ip) {
            self.trim(&mut buckets, now);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }

    /// Buckets tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Drops the buckets that have refilled (the same as none), then, if still more than
    /// three quarters of the cap are left, the fullest ones: forgetting a bucket gives its
    /// address a full one again, so the addresses that gain least from it go first, and those
    /// the limit is holding back stay held.
    fn trim(&self, buckets: &mut HashMap<IpAddr, (f64, Instant)>, now: Instant) {
        let rate = self.per_minute / 60.0;
        let level = |(tokens, at): &(f64, Instant)| {
            (tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute)
        };
        buckets.retain(|_, bucket| level(bucket) < self.per_minute);
        let keep = self.max_tracked * 3 / 4;
        if buckets.len() <= keep {
            return;
        }
        let mut levels: Vec<(f64, IpAddr)> =
            buckets.iter().map(|(ip, b)| (level(b), *ip)).collect();
        let drop = levels.len() - keep;
        levels.select_nth_unstable_by(drop - 1, |a, b| b.0.total_cmp(&a.0));
        for (_, ip) in &levels[..drop] {
            buckets.remove(ip);
        }
    }
}

/// What a bucket is kept for: an IPv4 address, or the /64 network of an IPv6 one (a single
/// host commonly holds a whole /64, so per-address IPv6 buckets would not limit it at all).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !u128::from(u64::MAX),
            )),
        },
    }
}

/// `Retry-After` in whole seconds for a `wait`, rounded up: a client that waits exactly that
/// long finds a token in its bucket.
pub fn retry_after(wait: Duration) -> u64 {
    let whole = wait.as_secs();
    let rounded = if wait.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    rounded.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_per_address() {
        let limit = PublicLimit::new(60, Vec::new());
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let start = Instant::now();
        for _ in 0..60 {
            assert_eq!(limit.check(a, start), None);
        }
        let wait = limit.check(a, start).expect("the 61st waits");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(
            limit.check(b, start),
            None,
            "another address has its own bucket"
        );
        assert_eq!(
            limit.check(a, start + Duration::from_secs(1)),
            None,
            "one per second"
        );
    }

    #[test]
    fn waiting_the_retry_after_seconds_is_enough() {
        let limit = PublicLimit::new(7, Vec::new());
        let ip = IpAddr::from([10, 0, 0, 1]);
        let start = Instant::now();
        while limit.check(ip, start).is_none() {}
        let wait = limit.check(ip, start).expect("empty");
        let seconds = retry_after(wait);
        assert_eq!(seconds, 9, "60/7 s is 8.57 s, rounded up");
        assert_eq!(limit.check(ip, start + Duration::from_secs(seconds)), None);
        assert_eq!(retry_after(Duration::from_secs(3)), 3);
        assert_eq!(retry_after(Duration::ZERO), 1);
    }

    #[test]
    fn an_ipv6_host_is_limited_by_its_64_network() {
        let limit = PublicLimit::new(2, Vec::new());
        let at = Instant::now();
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        assert_eq!(limit.check(host(1), at), None);
        assert_eq!(limit.check(host(2), at), None);
        assert!(
            limit.check(host(3), at).is_some(),
            "another address of the same /64 shares the bucket"
        );
        let next_net = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert_eq!(limit.check(next_net, at), None);
        let v4 = IpAddr::from([192, 0, 2, 1]);
        let mapped = IpAddr::from(std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(limit.check(v4, at), None);
        assert_eq!(limit.check(v4, at), None);
        assert!(
            limit.check(mapped, at).is_some(),
            "an IPv4-mapped address is its IPv4 one"
        );
    }

    #[test]
    fn a_flood_from_many_addresses_stays_bounded_and_keeps_holding_the_abuser() {
        let limit = PublicLimit::tracking(60, Vec::new(), 100);
        let at = Instant::now();
        let abuser = IpAddr::from([203, 0, 113, 66]);
        while limit.check(abuser, at).is_none() {}
        for i in 0..10_000u32 {
            let ip = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            assert_eq!(limit.check(ip, at), None, "a first request passes");
            assert!(limit.tracked() <= 100, "at most the cap is tracked");
        }
        assert!(
            limit.check(abuser, at).is_some(),
            "the drained bucket was not the one forgotten"
        );
        let later = at + Duration::from_secs(120);
        limit.check(IpAddr::from([198, 51, 100, 1]), later);
        assert!(limit.tracked() <= 100);
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_hop() {
        let proxies = vec![
            "10.0.0.0/8".parse().expect("net"),
            "192.0.2.7/32".parse().expect("net"),
        ];
        let limit = PublicLimit::new(60, proxies);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.5, 10.1.2.3"
                .parse()
                .expect("header"),
        );
        let lb = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(
            limit.client(lb, &headers),
            IpAddr::from([203, 0, 113, 5]),
            "the left part is the client's to forge"
        );
        let direct = IpAddr::from([198, 51, 100, 1]);
        assert_eq!(
            limit.client(direct, &headers),
            direct,
            "an untrusted peer is the client, whatever it says"
        );
        assert_eq!(limit.client(lb, &axum::http::HeaderMap::new()), lb);
    }
}
