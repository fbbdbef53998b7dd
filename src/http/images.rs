//! `GET /images/{file}`: the images Google Wallet (and the pages) fetch, at URLs named by
//! their content (see `render`), so a changed image gets a new URL and an old one can be
//! cached for ever:
//!
//! - `{sha1}.png`: a design image (logo, strip) of a folder or the built-in design, by the
//!   SHA-1 of its bytes;
//! - `{sha256}.png`: an image made from an upload in the designer, from the database;
//! - `stamps-v1-{on}-{required}-{bg}-{fg}.png`: a stamp grid, drawn on request.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::extract::AppPath;
use crate::render::stamps::Grid;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/images/{file}", get(get_image))
}

async fn get_image(State(state): State<AppState>, AppPath(file): AppPath<String>) -> Response {
    let bytes = if let Some(grid) = Grid::parse(&file) {
        match tokio::task::spawn_blocking(move || grid.draw()).await {
            Ok(bytes) => Some(bytes),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    } else {
        let hash = file.strip_suffix(".png").unwrap_or_default();
        let hex = hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match (hex, hash.len()) {
            (true, 40) => state.designs.image(hash),
            (true, 64) => match state.store.images(&[hash]).await {
                Ok(mut found) => found.pop().map(|i| i.bytes),
                Err(e) => return crate::error::ApiError::from(e).into_response(),
            },
            _ => None,
        }
    };
    match bytes {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
