//! Enrollment, `GET /join/{invite token}`: the page a decision-maker lands on from the invite's
//! QR code, in their language, with a short form (name, role, e-mail, phone, consent).
//! Submitting it shows no card: it mails a one-time link to the address (`crate::enroll`) and
//! redirects to `/join/{token}/sent`, "check your inbox", the same page for every address, so
//! the form tells nobody who is a member. `/join/{token}/resend` is "I already have a card:
//! send me my link", answered the same way. An expired, used-up or withdrawn invite says so
//! plainly. The forms are protected by a double-submit CSRF cookie.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::session::{form_token_matches, set_form_token};
use super::texts::{JoinTexts, LinkTexts};
use super::{PageError, lang_of, render};
use crate::domain::i18n::Lang;
use crate::enroll::{
    EnrollError, EnrollForm, invite_status, request_cards_link, request_join_link,
};
use crate::http::extract::{AppForm, AppPath, AppQuery};
use crate::state::AppState;
use crate::tokens::random_token;

const JOIN_CSRF_COOKIE: &str = "wc_join_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/join/{token}", get(join_form).post(join))
        .route("/join/{token}/resend", get(resend_form).post(resend))
        .route("/join/{token}/sent", get(sent))
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub(super) lang: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    /// A checked checkbox sends "on"; an unchecked one sends nothing.
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    lang: String,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage<'a> {
    t: &'a JoinTexts,
    l: &'a LinkTexts,
    lang: &'a str,
    company: &'a str,
    programs: Vec<String>,
    csrf: &'a str,
    form: &'a JoinForm,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "join_resend.html")]
struct ResendPage<'a> {
    t: &'a JoinTexts,
    l: &'a LinkTexts,
    lang: &'a str,
    company: &'a str,
    csrf: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "join_sent.html")]
struct SentPage<'a> {
    l: &'a LinkTexts,
    lang: &'a str,
    again_url: String,
}

/// An invite that cannot be used, as a page that says why.
pub(super) fn closed(t: &JoinTexts, e: &EnrollError) -> PageError {
    let (status, message) = match e {
        EnrollError::NotFound => (StatusCode::NOT_FOUND, t.not_found),
        EnrollError::Expired => (StatusCode::GONE, t.expired),
        EnrollError::UsedUp => (StatusCode::GONE, t.used_up),
        EnrollError::Revoked => (StatusCode::GONE, t.revoked),
        EnrollError::ProgramsEnded => (StatusCode::GONE, t.ended),
        other => {
            tracing::error!(error = %other, "enrollment failed");
            (StatusCode::SERVICE_UNAVAILABLE, t.unavailable)
        }
    };
    PageError::new(status, message)
}

async fn show_form(
    state: &AppState,
    token: &str,
    lang: Lang,
    form: &JoinForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let t = JoinTexts::of(lang);
    let invite = invite_status(state, token)
        .await
        .map_err(|e| closed(t, &e))?;
    let csrf = random_token();
    let page = JoinPage {
        t,
        l: LinkTexts::of(lang),
        lang: lang.tag(),
        company: &invite.account_name,
        programs: invite.programs.iter().map(|p| p.name.clone()).collect(),
        csrf: &csrf,
        form,
        error,
    };
    let mut response = render(&page);
    set_form_token(state, &mut response, JOIN_CSRF_COOKIE, &csrf);
    Ok(response)
}

async fn join_form(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    show_form(&state, &token, lang, &JoinForm::default(), None).await
}

/// "Check your inbox", for every address alike.
fn to_sent_page(token: &str, lang: Lang) -> Response {
    Redirect::to(&format!("/join/{token}/sent?lang={}", lang.tag())).into_response()
}

async fn join(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    headers: HeaderMap,
    AppForm(form): AppForm<JoinForm>,
) -> Result<Response, PageError> {
    let lang = lang_of(Some(&form.lang), &headers);
    let t = JoinTexts::of(lang);
    if !form_token_matches(&headers, JOIN_CSRF_COOKIE, &form.csrf) {
        return Err(PageError::new(StatusCode::FORBIDDEN, t.stale_form));
    }
    let input = EnrollForm {
        name: form.name.clone(),
        role: form.role.clone(),
        email: form.email.clone(),
        phone: Some(form.phone.trim().to_owned()).filter(|p| !p.is_empty()),
        consent: form.consent.is_some(),
    };
    match request_join_link(&state, &token, input, lang).await {
        Ok(_) => Ok(to_sent_page(&token, lang)),
        Err(EnrollError::Invalid { field, message }) => {
            let error = format!("{}: {message}", t.field(&field));
            let mut response = show_form(&state, &token, lang, &form, Some(error)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(closed(t, &e)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    lang: String,
}

async fn show_resend(
    state: &AppState,
    token: &str,
    lang: Lang,
    email: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let t = JoinTexts::of(lang);
    // A used-up invite still serves the people it enrolled.
    let company = match invite_status(state, token).await {
        Ok(invite) => invite.account_name,
        Err(EnrollError::UsedUp) => String::new(),
        Err(e) => return Err(closed(t, &e)),
    };
    let csrf = random_token();
    let page = ResendPage {
        t,
        l: LinkTexts::of(lang),
        lang: lang.tag(),
        company: &company,
        csrf: &csrf,
        email,
        error,
    };
    let mut response = render(&page);
    set_form_token(state, &mut response, JOIN_CSRF_COOKIE, &csrf);
    Ok(response)
}

async fn resend_form(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    show_resend(&state, &token, lang, "", None).await
}

async fn resend(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    headers: HeaderMap,
    AppForm(form): AppForm<ResendForm>,
) -> Result<Response, PageError> {
    let lang = lang_of(Some(&form.lang), &headers);
    let t = JoinTexts::of(lang);
    if !form_token_matches(&headers, JOIN_CSRF_COOKIE, &form.csrf) {
        return Err(PageError::new(StatusCode::FORBIDDEN, t.stale_form));
    }
    match request_cards_link(&state, &token, &form.email, lang).await {
        Ok(_) => Ok(to_sent_page(&token, lang)),
        Err(EnrollError::Invalid { field, message }) => {
            let error = format!("{}: {message}", t.field(&field));
            let mut response = show_resend(&state, &token, lang, &form.email, Some(error)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(closed(t, &e)),
    }
}

/// "Check your inbox": says nothing of the address, so it is the same for every token too.
async fn sent(
    AppPath(token): AppPath<String>,
    AppQuery(q): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(q.lang.as_deref(), &headers);
    let again_url = match crate::domain::codes::InviteToken::parse(&token) {
        Some(token) => format!("/join/{}?lang={}", token.expose(), lang.tag()),
        None => String::new(),
    };
    render(&SentPage {
        l: LinkTexts::of(lang),
        lang: lang.tag(),
        again_url,
    })
}
