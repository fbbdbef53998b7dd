//! The pages of mailed staff links: `GET/POST /signin/forgot` asks for a reset link (the answer
//! is the same whether the address is known or not), `GET/POST /staff/link/{token}` chooses
//! the password of an invitation or a reset and signs the person in. Only `POST` uses a link,
//! so a mail scanner fetching it changes nothing.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::console::staff_texts::PeopleTexts;
use super::session::{form_token_matches, set_form_token, start_session, user_session};
use super::staff_texts::StaffTexts;
use super::{PageError, lang_of, render};
use crate::domain::i18n::Lang;
use crate::http::extract::{AppForm, AppPath};
use crate::staff::{self, StaffError};
use crate::state::AppState;
use crate::tokens::random_token;

const LINK_CSRF_COOKIE: &str = "wc_staff_link_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin/forgot", get(forgot_form).post(forgot))
        .route("/staff/link/{token}", get(link_form).post(use_link))
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    lang: &'static str,
    p: &'static PeopleTexts,
    csrf: &'a str,
    sent: bool,
}

#[derive(Template)]
#[template(path = "choose_password.html")]
struct ChoosePage<'a> {
    lang: &'static str,
    p: &'static PeopleTexts,
    csrf: &'a str,
    name: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct Forgot {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct Choose {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn with_token(state: &AppState, page: &impl Template, csrf: &str) -> Response {
    let mut response = render(page);
    set_form_token(state, &mut response, LINK_CSRF_COOKIE, csrf);
    response
}

fn stale(lang: Lang) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, StaffTexts::of(lang).form_expired)
}

async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang_of(None, &headers);
    let csrf = random_token();
    let page = ForgotPage {
        lang: lang.tag(),
        p: PeopleTexts::of(lang),
        csrf: &csrf,
        sent: false,
    };
    with_token(&state, &page, &csrf)
}

async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppForm(form): AppForm<Forgot>,
) -> Result<Response, PageError> {
    let lang = lang_of(None, &headers);
    if !form_token_matches(&headers, LINK_CSRF_COOKIE, &form.csrf) {
        return Err(stale(lang));
    }
    match staff::request_reset(&state, &form.email, lang).await {
        Ok(()) => {}
        Err(StaffError::Store(e)) => return Err(e.into()),
        // An address that is not one tells nothing either.
        Err(e) => tracing::warn!(error = %e, "a password reset link was not sent"),
    }
    Ok(render(&ForgotPage {
        lang: lang.tag(),
        p: PeopleTexts::of(lang),
        csrf: &form.csrf,
        sent: true,
    }))
}

async fn link_form(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(None, &headers);
    let p = PeopleTexts::of(lang);
    let Some((user, _)) = staff::link_user(&state, &token).await.map_err(page_error)? else {
        return Err(PageError::new(StatusCode::GONE, p.link_dead));
    };
    let csrf = random_token();
    let page = ChoosePage {
        lang: lang.tag(),
        p,
        csrf: &csrf,
        name: &user.name,
        email: &user.email,
        error: None,
    };
    Ok(with_token(&state, &page, &csrf))
}

async fn use_link(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    headers: HeaderMap,
    AppForm(form): AppForm<Choose>,
) -> Result<Response, PageError> {
    let lang = lang_of(None, &headers);
    let p = PeopleTexts::of(lang);
    if !form_token_matches(&headers, LINK_CSRF_COOKIE, &form.csrf) {
        return Err(stale(lang));
    }
    match staff::set_password(&state, &token, &form.password).await {
        Ok(Some(user)) => {
            let home = match user.role {
                crate::store::Role::Desk => "/desk",
                _ => "/console",
            };
            start_session(&state, &user_session(&user), home).await
        }
        Ok(None) => Err(PageError::new(StatusCode::GONE, p.link_dead)),
        Err(StaffError::Invalid(_)) => {
            let Some((user, _)) = staff::link_user(&state, &token).await.map_err(page_error)?
            else {
                return Err(PageError::new(StatusCode::GONE, p.link_dead));
            };
            let page = ChoosePage {
                lang: lang.tag(),
                p,
                csrf: &form.csrf,
                name: &user.name,
                email: &user.email,
                error: Some(p.password_hint),
            };
            let mut response = render(&page);
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(page_error(e)),
    }
}

/// A staff error on a page: the store's as the database's, anything else as ours.
pub fn page_error(e: StaffError) -> PageError {
    match e {
        StaffError::Store(e) => e.into(),
        other => {
            tracing::error!(error = %other, "a staff page failed");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            )
        }
    }
}
