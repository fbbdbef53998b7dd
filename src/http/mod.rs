//! The HTTP surface: `app()` merges each feature's router and adds the layers every request
//! gets (request id, tracing span, body limit, timeout, panic guard).

pub mod api;
pub mod auth;
pub mod errors;
pub mod extract;
pub mod google;
pub mod health;
pub mod images;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod passkit;
pub mod serve;
pub mod webhook;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::from_fn;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    let api = api::router()
        .merge(openapi::router())
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(from_fn(errors::json_errors));
    Router::new()
        .merge(health::router())
        .merge(images::router())
        .merge(google::router().layer(from_fn(errors::json_errors)))
        .merge(metrics::router())
        .merge(webhook::router().layer(from_fn(errors::json_errors)))
        .merge(pages::router())
        .merge(pages::public_router(&state))
        .nest(
            "/passes",
            passkit::router().layer(from_fn(errors::bare_errors)),
        )
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map_or(req.uri().path(), MatchedPath::as_str);
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", http.method = %req.method(), http.route = %route, request.id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /api/v1/openapi.json",
    )
}
