//! Enrollment, `GET /join/{invite token}`: the page a decision-maker lands on from the invite's
//! QR code, in their language, with a short form (name, role, e-mail, phone, consent). A good
//! form enrolls them (`crate::enroll`) and redirects to their member page, which has the "Add
//! to Apple Wallet" and "Add to Google Wallet" buttons (POST-redirect-GET). An expired, used-up
//! or withdrawn invite says so plainly. The form is protected by a double-submit CSRF cookie.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::session::{form_token_matches, set_form_token};
use super::texts::JoinTexts;
use super::{PageError, lang_of, render};
use crate::enroll::{EnrollError, EnrollForm, enroll, invite_status};
use crate::http::auth::random_token;
use crate::http::extract::AppPath;
use crate::state::AppState;

const JOIN_CSRF_COOKIE: &str = "wc_join_csrf";

pub fn router() -> Router<AppState> {
    Router::new().route("/join/{token}", get(join_form).post(join))
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
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
    lang: &'a str,
    company: &'a str,
    programs: Vec<String>,
    csrf: &'a str,
    form: &'a JoinForm,
    error: Option<String>,
}

/// An invite that cannot be used, as a page that says why.
fn closed(t: &JoinTexts, e: &EnrollError) -> PageError {
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
    lang: crate::domain::i18n::Lang,
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
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    show_form(&state, &token, lang, &JoinForm::default(), None).await
}

async fn join(
    State(state): State<AppState>,
    AppPath(token): AppPath<String>,
    headers: HeaderMap,
    Form(form): Form<JoinForm>,
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
    match enroll(&state, &token, input).await {
        Ok(enrolled) => {
            let Some(card) = enrolled.cards.first() else {
                return Err(closed(t, &EnrollError::ProgramsEnded));
            };
            let to = format!(
                "/m/{}?t={}&lang={}",
                card.serial,
                card.auth_token.expose(),
                lang.tag()
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(EnrollError::Invalid { field, message }) => {
            let error = format!("{}: {message}", t.field(&field));
            let mut response = show_form(&state, &token, lang, &form, Some(error)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(closed(t, &e)),
    }
}
