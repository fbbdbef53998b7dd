//! Staff sign-in: a staff user's e-mail and password, or an API key of the desk role (desk
//! terminals) or the admin role (only while no staff user exists, to create the first admin:
//! the key printed at first start or `WALLETCARDS_ADMIN_KEY`), opens a session (12 hours) held in an HttpOnly, SameSite=Strict cookie (`Secure`
//! when the public URL is https). The sign-in form itself is protected by a double-submit CSRF
//! cookie; signed-in pages carry the session's own CSRF token.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::TimeDelta;
use serde::Deserialize;

use super::console::staff_texts::PeopleTexts;
use super::staff_texts::StaffTexts;
use super::{PageError, lang_of, render};
use crate::domain::i18n::Lang;
use crate::http::auth::{SESSION_COOKIE, bootstrap_fingerprint, cookie, key_of, session_of};
use crate::http::extract::{AppForm, AppQuery};
use crate::staff::{self, StaffError};
use crate::state::AppState;
use crate::store::StaffUser;
use crate::store::{Role, WebSession, now};
use crate::tokens::{random_token, same_secret, token_hash};

/// The double-submit cookie of the sign-in form.
const SIGNIN_CSRF_COOKIE: &str = "wc_signin_csrf";
/// How long a staff session lasts.
const SESSION_HOURS: i64 = 12;
/// Where a session of the bootstrap key goes while no staff user exists.
pub const FIRST_ADMIN_PAGE: &str = "/console/first-admin";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_form).post(sign_in))
        .route("/signout", post(sign_out))
}

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    lang: &'static str,
    t: &'static StaffTexts,
    p: &'static PeopleTexts,
}

/// Only an absolute path on this site: `/desk`, never `//evil.example`, `/\evil.example` or
/// `https://…`. Browsers drop tabs and newlines from a `Location` (`/\t/evil.example` becomes
/// `//evil.example`) and read `\` as `/`, so a path with a control character or a backslash
/// anywhere is refused as well; the caller then goes to its home page.
fn safe_next(next: Option<&str>) -> &str {
    let Some(n) = next else { return "" };
    let second = n.chars().nth(1);
    let safe = n.starts_with('/')
        && !matches!(second, Some('/' | '\\'))
        && !n.chars().any(|c| c.is_control() || c == '\\');
    if safe { n } else { "" }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, `Secure` on an https site.
pub(super) fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A form's double-submit CSRF token: set as cookie `name` on `response` (the page that
/// carries the same token in a hidden field), for an hour.
pub(super) fn set_form_token(state: &AppState, response: &mut Response, name: &str, token: &str) {
    let set = cookie_header(state, name, token, 3600);
    response.headers_mut().append(header::SET_COOKIE, set);
}

/// Whether a posted form's token is the one its cookie `name` holds.
pub(super) fn form_token_matches(headers: &HeaderMap, name: &str, posted: &str) -> bool {
    let expected = cookie(headers, name).unwrap_or_default();
    !expected.is_empty() && same_secret(posted, expected)
}

async fn signin_form(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<Next>,
    headers: HeaderMap,
) -> Response {
    let csrf = random_token();
    let lang = lang_of(None, &headers);
    let page = SigninPage {
        csrf: &csrf,
        next: safe_next(q.next.as_deref()),
        email: "",
        error: None,
        lang: lang.tag(),
        t: StaffTexts::of(lang),
        p: PeopleTexts::of(lang),
    };
    let mut response = render(&page);
    set_form_token(&state, &mut response, SIGNIN_CSRF_COOKIE, &csrf);
    response
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    key: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

/// The sign-in page again, with what went wrong (401 unless `status` says otherwise).
fn refused(form: &SignIn, lang: Lang, message: &str, status: StatusCode) -> Response {
    let page = SigninPage {
        csrf: &form.csrf,
        next: safe_next(Some(&form.next)),
        email: &form.email,
        error: Some(message),
        lang: lang.tag(),
        t: StaffTexts::of(lang),
        p: PeopleTexts::of(lang),
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    response
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppForm(form): AppForm<SignIn>,
) -> Result<Response, PageError> {
    let lang = lang_of(None, &headers);
    let t = StaffTexts::of(lang);
    if !form_token_matches(&headers, SIGNIN_CSRF_COOKIE, &form.csrf) {
        return Err(PageError::new(StatusCode::FORBIDDEN, t.form_expired));
    }
    if form.key.trim().is_empty() {
        return sign_in_user(&state, &form, lang).await;
    }
    let key = match key_of(&state, form.key.trim()).await {
        Ok(key) => key,
        Err(_) => return Ok(refused(&form, lang, t.bad_key, StatusCode::UNAUTHORIZED)),
    };
    let role = key.role;
    if !matches!(role, Role::Admin | Role::Desk) {
        return Ok(refused(&form, lang, t.wrong_role, StatusCode::FORBIDDEN));
    }
    // Admin keys are for machines: on the pages they open only a fresh install, to create
    // the first staff user. Desk keys keep signing desk terminals in.
    let first_start = role == Role::Admin && !state.store.has_staff_users().await?;
    if role == Role::Admin && !first_start {
        let message = PeopleTexts::of(lang).bootstrap_used;
        return Ok(refused(&form, lang, message, StatusCode::FORBIDDEN));
    }
    // Where to go is settled before the session exists: nothing after the write may fail.
    let next = match (first_start, role, safe_next(Some(&form.next))) {
        (true, _, "") => FIRST_ADMIN_PAGE,
        (_, Role::Desk, "") => "/desk",
        (_, _, "") => "/console",
        (_, _, next) => next,
    };
    let session = WebSession {
        role,
        csrf: random_token(),
        expires_at: now() + TimeDelta::hours(SESSION_HOURS),
        bootstrap_key: match key.id {
            None => bootstrap_fingerprint(&state),
            Some(_) => None,
        },
        api_key_id: key.id,
        user_id: None,
        name: None,
        desk: None,
    };
    start_session(&state, &session, next).await
}

/// Signs a staff user in by e-mail and password.
async fn sign_in_user(state: &AppState, form: &SignIn, lang: Lang) -> Result<Response, PageError> {
    let p = PeopleTexts::of(lang);
    let user = match staff::sign_in(state, &form.email, &form.password).await {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(refused(form, lang, p.bad_login, StatusCode::UNAUTHORIZED)),
        Err(StaffError::Store(e)) => return Err(e.into()),
        Err(e) => {
            tracing::error!(error = %e, "signing a staff user in failed");
            return Err(PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                p.bad_login,
            ));
        }
    };
    let next = match (user.role, safe_next(Some(&form.next))) {
        (Role::Desk, "") => "/desk",
        (_, "") => "/console",
        (_, next) => next,
    };
    start_session(state, &user_session(&user), next).await
}

/// A new session of `user`.
pub fn user_session(user: &StaffUser) -> WebSession {
    WebSession {
        role: user.role,
        csrf: random_token(),
        expires_at: now() + TimeDelta::hours(SESSION_HOURS),
        api_key_id: None,
        bootstrap_key: None,
        user_id: Some(user.id.clone()),
        name: None,
        desk: None,
    }
}

/// Stores `session` and answers with its cookie and a redirect to `next`.
pub async fn start_session(
    state: &AppState,
    session: &WebSession,
    next: &str,
) -> Result<Response, PageError> {
    let token = random_token();
    state
        .store
        .insert_web_session(&token_hash(&token), session, now())
        .await?;
    let mut response = Redirect::to(next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, SESSION_COOKIE, &token, SESSION_HOURS * 3600),
    );
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, SIGNIN_CSRF_COOKIE, "", 0),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct SignOut {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppForm(form): AppForm<SignOut>,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = token_hash(token);
        let bootstrap = bootstrap_fingerprint(&state);
        let session = state
            .store
            .find_web_session(&hash, now(), bootstrap.as_deref())
            .await?;
        if session.is_some_and(|s| !same_secret(&form.csrf, &s.csrf)) {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form was not sent from this site.",
            ));
        }
        state.store.delete_web_session(&hash).await?;
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, SESSION_COOKIE, "", 0),
    );
    Ok(response)
}

/// The signed-in staff member a page needs: one of `roles`, or a redirect to the sign-in
/// page (no session) or a 403 page (another role).
pub async fn require(
    parts: &Parts,
    state: &AppState,
    roles: &[Role],
) -> Result<WebSession, Response> {
    match session_of(parts, state).await {
        Ok(Some(session)) if roles.contains(&session.role) => Ok(session),
        Ok(Some(_)) => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Your sign-in does not give access to this page.",
        )
        .into_response()),
        Ok(None) => {
            let next = parts.uri.path();
            Err(Redirect::to(&format!("/signin?next={next}")).into_response())
        }
        Err(e) => Err(e.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_only_ever_a_path_on_this_site() {
        for ok in ["/desk", "/dashboard?x=1", "/", "/m/abc%0a"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/desk\r\nSet-Cookie: x=1",
            "/a\\b",
            "/\u{7f}",
            "https://evil.example",
            "desk",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "", "{bad:?}");
        }
        assert_eq!(safe_next(None), "");
    }
}
