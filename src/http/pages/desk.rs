//! The order desk, `GET /desk` (desk or admin session): a page with one always-focused input a
//! USB barcode scanner types into (code + Enter). Its script (`/static/desk.js`) calls the
//! admin API with the session cookie and CSRF token: the card by code, a quote for the amount
//! typed, the order, a refund, a reward redemption.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::session::require;
use super::staff_texts::{StaffLang, StaffTexts};
use super::{RequestParts, lang_of, render};
use crate::state::AppState;
use crate::store::Role;

pub fn router() -> Router<AppState> {
    Router::new().route("/desk", get(desk_page))
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage<'a> {
    csrf: &'a str,
    role: &'a str,
    lang: &'static str,
    t: &'static StaffTexts,
    statuses: [&'static str; 3],
}

async fn desk_page(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    let session = match require(&parts, &state, &[Role::Desk, Role::Admin]).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let words = StaffLang::of(lang_of(None, &parts.headers));
    render(&DeskPage {
        csrf: &session.csrf,
        role: &crate::http::auth::session_actor(&session).name,
        lang: words.lang,
        t: words.t,
        statuses: words.statuses,
    })
}
