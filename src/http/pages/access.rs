//! The pages behind a mailed link: `GET /access/{token}` says the cards are ready and offers
//! one button; only `POST` opens the link (`crate::enroll::open_link`), so a mail scanner that
//! fetches every link of a mail cannot use it up. Opening starts a holder session (an
//! HttpOnly, SameSite=Strict cookie, two hours) and redirects to `GET /me`, every card of the
//! person, each with its own wallet buttons.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::join::{LangQuery, closed};
use super::member::{CardPanel, Device, card_panel};
use super::session::{cookie_header, form_token_matches, set_form_token};
use super::texts::{JoinTexts, LinkTexts, Texts};
use super::{PageError, lang_of, render};
use crate::domain::i18n::Lang;
use crate::domain::model::CardStatus;
use crate::enroll::{EnrollError, HOLDER_SESSION_TTL, holder_of, link_is_open, open_link};
use crate::http::auth::cookie;
use crate::http::extract::{AppForm, AppPath, AppQuery};
use crate::state::AppState;
use crate::tokens::random_token;

const ACCESS_CSRF_COOKIE: &str = "wc_access_csrf";
/// The holder session's cookie.
pub const HOLDER_COOKIE: &str = "wc_holder";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/access/{token}", get(access_page).post(open))
        .route("/me", get(my_cards))
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage<'a> {
    l: &'a LinkTexts,
    lang: &'a str,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "cards.html")]
struct CardsPage<'a> {
    t: &'a Texts,
    l: &'a LinkTexts,
    lang: &'a str,
    holder: &'a str,
    company: &'a str,
    cards: Vec<CardPanel>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
}

/// A link that will not open, said without telling which of unknown, used or expired.
fn link_error(lang: Lang, e: &EnrollError) -> PageError {
    let l = LinkTexts::of(lang);
    match e {
        EnrollError::LinkExpired => PageError::new(StatusCode::GONE, l.link_expired),
        EnrollError::NoMember => PageError::new(StatusCode::NOT_FOUND, l.no_member),
        other => closed(JoinTexts::of(lang), other),
    }
}

async fn access_page(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    let open = link_is_open(&state, &token)
        .await
        .map_err(|e| link_error(lang, &e))?;
    if !open {
        return Err(link_error(lang, &EnrollError::LinkExpired));
    }
    let csrf = random_token();
    let mut response = render(&AccessPage {
        l: LinkTexts::of(lang),
        lang: lang.tag(),
        csrf: &csrf,
    });
    set_form_token(&state, &mut response, ACCESS_CSRF_COOKIE, &csrf);
    Ok(response)
}

async fn open(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
    AppForm(form): AppForm<OpenForm>,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    if !form_token_matches(&headers, ACCESS_CSRF_COOKIE, &form.csrf) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            JoinTexts::of(lang).stale_form,
        ));
    }
    let opened = open_link(&state, &token)
        .await
        .map_err(|e| link_error(lang, &e))?;
    let mut response = Redirect::to(&format!("/me?lang={}", opened.lang.tag())).into_response();
    let max_age = HOLDER_SESSION_TTL.num_seconds();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, HOLDER_COOKIE, &opened.session_token, max_age),
    );
    Ok(response)
}

async fn my_cards(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    let l = LinkTexts::of(lang);
    let over = || PageError::new(StatusCode::UNAUTHORIZED, l.session_over);
    let token = cookie(&headers, HOLDER_COOKIE).ok_or_else(over)?;
    let member = holder_of(&state, token)
        .await
        .map_err(|e| link_error(lang, &e))?
        .ok_or_else(over)?;
    let account = state.store.get_account(&member.account_id).await?;
    let device = Device::of(&headers);
    let mut cards = Vec::new();
    let held = state.store.member_cards(&member.id).await?;
    let live = held.into_iter().filter(|c| c.status != CardStatus::Revoked);
    for (i, card) in live.enumerate() {
        let mut bundle = state.store.card_bundle(card).await?;
        cards.push(card_panel(&state, &mut bundle, lang, device, format!("-{}", i + 1)).await?);
    }
    Ok(render(&CardsPage {
        t: Texts::of(lang),
        l,
        lang: lang.tag(),
        holder: &member.name,
        company: &account.name,
        cards,
    }))
}
