//! The HTML pages people use: staff sign-in, the order desk, the member page. Server-rendered
//! from askama templates (auto-escaping; one struct per page), with a small stylesheet and
//! scripts served from the binary (no CDN: the service works offline). Forms follow
//! POST-redirect-GET and carry a CSRF token; pages that act for staff use the admin API with
//! the session cookie and the session's CSRF token (see `http::auth`).

pub mod access;
pub mod console;
pub mod dashboard;
pub mod desk;
pub mod join;
pub mod limit;
pub mod member;
pub mod session;
pub mod staff_links;
pub mod staff_texts;
pub mod texts;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::domain::i18n::Lang;
use crate::http::errors::page_errors;
use crate::http::extract::AppPath;
use crate::state::AppState;

/// The staff pages and the assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(session::router())
        .merge(staff_links::router())
        .merge(desk::router())
        .merge(dashboard::router())
        .merge(console::router())
        .route("/static/{file}", get(get_asset))
        .layer(axum::middleware::from_fn(page_errors))
        .layer(axum::middleware::from_fn(page_headers))
}

/// The pages anyone with a link may open (enrollment, member pages), limited per address.
pub fn public_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(member::router())
        .merge(join::router())
        .merge(access::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::limit,
        ))
        .layer(axum::middleware::from_fn(page_errors))
        .layer(axum::middleware::from_fn(page_headers))
}

/// What every page answer carries: scripts, styles and images from this site only, no framing,
/// forms posting only here, and no `Referer` (a member page's address holds its card token,
/// which must not travel to Google when the holder taps "Add to Google Wallet").
const PAGE_HEADERS: [(&str, &str); 3] = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

async fn page_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in PAGE_HEADERS {
        response
            .headers_mut()
            .insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
}

/// The request's parts, for handlers that check the session themselves.
pub struct RequestParts(pub axum::http::request::Parts);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestParts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestParts(parts.clone()))
    }
}

/// A page, rendered; a template error (a bug, not input) is a 500 page.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
            .into_response()
        }
    }
}

/// The page's language: `?lang=` when given, else the best of `Accept-Language`, else English.
pub fn lang_of(query: Option<&str>, headers: &axum::http::HeaderMap) -> Lang {
    if let Some(lang) = query.and_then(Lang::from_tag) {
        return lang;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut best: Option<(f32, Lang)> = None;
    for item in accept.split(',') {
        let mut parts = item.trim().split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = if tag.starts_with("ru") {
            Some(Lang::Ru)
        } else if tag.starts_with("zh") {
            Some(Lang::ZhHans)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        };
        if let Some(lang) = lang.filter(|_| best.is_none_or(|(b, _)| q > b)) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// An error shown as a page: the status and one plain sentence.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            title,
            message: &self.message,
        };
        let html = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Html(html),
        )
            .into_response()
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "a page's store call failed");
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service cannot reach its database right now. Please try again in a moment.",
        )
    }
}

/// The stylesheet and scripts, compiled into the binary.
const ASSETS: [(&str, &str, &str); 5] = [
    (
        "designer.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/designer.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/desk.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/dashboard.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
];

async fn get_asset(AppPath(file): AppPath<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stylesheet_and_script_a_template_names_is_served() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/pages/templates");
        let mut folders = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = folders.pop() {
            for entry in std::fs::read_dir(&dir).expect("templates") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let html = std::fs::read_to_string(&path).expect("template");
                for (i, _) in html.match_indices("/static/") {
                    let rest = &html[i + "/static/".len()..];
                    let name = &rest[..rest.find('"').expect("a quoted path")];
                    assert!(
                        ASSETS.iter().any(|(served, _, _)| *served == name),
                        "{} names /static/{name}, which is not served",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_language_comes_from_the_query_then_the_best_accepted_one() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(lang_of(None, &headers), Lang::En);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,de;q=0.9,ru;q=0.8,zh-CN;q=0.5"
                .parse()
                .expect("header"),
        );
        assert_eq!(lang_of(None, &headers), Lang::Ru);
        assert_eq!(lang_of(Some("zh-Hans"), &headers), Lang::ZhHans);
        assert_eq!(lang_of(Some("xx"), &headers), Lang::Ru);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "zh-Hans-CN".parse().expect("header"),
        );
        assert_eq!(lang_of(None, &headers), Lang::ZhHans);
    }
}
