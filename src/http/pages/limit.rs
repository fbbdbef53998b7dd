//! A per-address request limit on the public pages (enrollment, member pages): a token bucket
//! per client IP, `WALLETCARDS_PUBLIC_REQUESTS_PER_MINUTE` with bursts of as many. Past it
//! the answer is 429 with `Retry-After`. Invite tokens and card tokens are unguessable anyway;
//! this keeps a script from hammering the forms and the pass signing behind them. Behind load
//! balancers (`WALLETCARDS_TRUSTED_PROXIES`) the client is the nearest address in
//! `X-Forwarded-For` that is not one of them; a client cannot forge its way past that, since
//! only what trusted proxies appended is believed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::PageError;
use crate::state::AppState;

/// Buckets kept before idle ones are dropped.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
pub struct PublicLimit {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    trusted: Vec<ipnet::IpNet>,
}

impl PublicLimit {
    pub fn new(per_minute: u32, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        PublicLimit {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
            trusted: trusted_proxies,
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
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED {
            // Full buckets are the same as no bucket: forget them.
            let full = self.per_minute;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
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
}

/// The middleware: limits by the connection's peer address.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = state.public_limit.client(peer, request.headers());
    match state.public_limit.check(ip, Instant::now()) {
        None => next.run(request).await,
        Some(wait) => {
            let mut response = PageError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests from your network. Please wait a moment and try again.",
            )
            .into_response();
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
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
