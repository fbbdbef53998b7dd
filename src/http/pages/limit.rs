//! The per-address limit of the public pages as a middleware: past its client's bucket
//! ([`crate::limit::PublicLimit`]) a request gets the 429 error page with `Retry-After`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::PageError;
use crate::limit::retry_after;
use crate::state::AppState;

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
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after(wait)));
            response
        }
    }
}
