//! The admin pages: `GET /dashboard`, live analytics (its script polls
//! `GET /api/v1/analytics` every few seconds with the session cookie, so a booked order shows
//! without a reload; charts are drawn as SVG in the page; the orders export as CSV), and
//! `GET /invites/{id}/print`, a printable invite with its QR code.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::session::require;
use super::staff_texts::{StaffLang, StaffTexts};
use super::{PageError, RequestParts, lang_of, render};
use crate::domain::ids::InviteId;
use crate::http::extract::AppPath;
use crate::state::AppState;
use crate::store::{Role, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard_page))
        .route("/invites/{id}/print", get(print_invite))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    csrf: &'a str,
    lang: &'static str,
    t: &'static StaffTexts,
    statuses: [&'static str; 3],
}

async fn dashboard_page(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
) -> Response {
    match require(&parts, &state, &[Role::Admin]).await {
        Ok(session) => {
            let words = StaffLang::of(lang_of(None, &parts.headers));
            render(&DashboardPage {
                csrf: &session.csrf,
                lang: words.lang,
                t: words.t,
                statuses: words.statuses,
            })
        }
        Err(response) => response,
    }
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    company: String,
    programs: Vec<String>,
    url: String,
    qr_url: String,
    expires: String,
}

async fn print_invite(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
) -> Response {
    if let Err(response) = require(&parts, &state, &[Role::Admin]).await {
        return response;
    }
    let missing = || PageError::new(StatusCode::NOT_FOUND, "There is no such invite.");
    let Some(id) = InviteId::parse(&id) else {
        return missing().into_response();
    };
    let invite = match state.store.get_invite(&id).await {
        Ok(invite) => invite,
        Err(StoreError::NotFound) => return missing().into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let company = match state.store.get_account(&invite.account_id).await {
        Ok(account) => account.name,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut programs = Vec::new();
    for program_id in &invite.program_ids {
        match state.store.get_program(program_id).await {
            Ok(p) => programs.push(p.name),
            Err(e) => return PageError::from(e).into_response(),
        }
    }
    render(&InvitePage {
        company,
        programs,
        url: crate::enroll::join_url(&state.public_url, &invite.token),
        qr_url: format!("/api/v1/invites/{}/qr.svg", invite.id),
        expires: invite.expires_at.format("%Y-%m-%d").to_string(),
    })
}
