//! `GET /images/{sha1}.png`: the design images that Google Wallet fetches (logos, hero images)
//! at URLs named by their content, so a changed image gets a new URL and an old one can be
//! cached for ever.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::extract::AppPath;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/images/{file}", get(get_image))
}

/// The public URL of the image with SHA-1 `hash`.
pub fn image_url(public_url: &str, hash: &str) -> String {
    format!("{public_url}/images/{hash}.png")
}

/// The public URL of a design's largest logo (what a Google class shows: Google draws it as a
/// circle of 660 px), if the design has one.
pub fn logo_url(public_url: &str, design: &crate::apple::template::Design) -> Option<String> {
    ["logo@3x.png", "logo@2x.png", "logo.png"]
        .iter()
        .find_map(|path| design.image_hash(path))
        .map(|hash| image_url(public_url, hash))
}

async fn get_image(State(state): State<AppState>, AppPath(file): AppPath<String>) -> Response {
    let hash = file.strip_suffix(".png").unwrap_or_default();
    let well_formed =
        hash.len() == 40 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match well_formed.then(|| state.designs.image(hash)).flatten() {
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

#[cfg(test)]
mod tests {
    use super::{image_url, logo_url};
    use crate::apple::template::Design;

    #[test]
    fn the_logo_url_names_the_largest_logo_by_its_content() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates/default");
        let design = Design::load(std::path::Path::new(dir), "default".into()).expect("design");
        let hash = design.image_hash("logo@3x.png").expect("a logo@3x");
        assert_eq!(
            logo_url("https://cards.example", &design),
            Some(format!("https://cards.example/images/{hash}.png"))
        );
        let served = design.image(hash).expect("served by its hash");
        assert!(served.starts_with(b"\x89PNG"));
    }

    #[test]
    fn an_image_url_names_its_content() {
        assert_eq!(
            image_url("https://cards.example", "ab12"),
            "https://cards.example/images/ab12.png"
        );
    }
}
