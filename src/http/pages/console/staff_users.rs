//! Staff users in the console: `GET/POST /console/first-admin` (a fresh install's admin-key
//! session creates the first admin and becomes that admin's session), `GET /console/users`
//! (who may sign in), `POST /console/users` (invite by mail) and
//! `POST /console/users/{id}/{action}` (deactivate, reactivate, resend the invitation, sign
//! out everywhere). Forms post here with the session's CSRF token and redirect back.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::staff_texts::PeopleTexts;
use super::{Console, Section};
use crate::domain::ids::StaffUserId;
use crate::http::auth::SESSION_COOKIE;
use crate::http::extract::{AppForm, AppPath, AppQuery};
use crate::http::pages::session::{start_session, user_session};
use crate::http::pages::staff_links::page_error;
use crate::http::pages::{PageError, RequestParts, render};
use crate::staff::{self, NewStaffUser, StaffError, StaffUpdate};
use crate::state::AppState;
use crate::store::{Role, StaffUser};
use crate::tokens::token_hash;

/// Who may use these pages, and where they are.
const ADMINS: (&[Role], Section) = (&[Role::Admin], Section::Users);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/first-admin", get(first_form).post(first_admin))
        .route("/console/users", get(users_page).post(invite))
        .route("/console/users/{id}/{action}", post(act))
}

#[derive(Template)]
#[template(path = "console/first_admin.html")]
struct FirstPage<'a> {
    c: Console,
    p: &'static PeopleTexts,
    name: &'a str,
    email: &'a str,
    error: Option<(&'a str, &'a str)>,
}

/// A user as the list shows them.
struct Row {
    user: StaffUser,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage<'a> {
    c: Console,
    p: &'static PeopleTexts,
    rows: Vec<Row>,
    notice: Option<String>,
    error: Option<(&'a str, &'a str)>,
    form: NewStaffUser,
}

#[derive(Debug, Deserialize)]
pub struct FirstForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    notice: Option<String>,
    name: Option<String>,
}

async fn first_form(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    let c = match Console::open(&parts, &state, &[Role::Admin], Section::Users).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match state.store.has_staff_users().await {
        Ok(true) => return Redirect::to("/console/users").into_response(),
        Ok(false) => {}
        Err(e) => return PageError::from(e).into_response(),
    }
    let p = PeopleTexts::of(c.language);
    render(&FirstPage {
        c,
        p,
        name: "",
        email: "",
        error: None,
    })
}

async fn first_admin(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppForm(form): AppForm<FirstForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, ADMINS, &form.csrf).await?;
    let p = PeopleTexts::of(c.language);
    let new = NewStaffUser {
        name: form.name.clone(),
        email: form.email.clone(),
        role: "admin".into(),
        desk: None,
    };
    let user = match staff::create_first_admin(&state, &c.actor, &new, &form.password).await {
        Ok(user) => user,
        Err(StaffError::AlreadySetUp) => return Ok(Redirect::to("/console/users").into_response()),
        Err(e) => {
            let error = match &e {
                StaffError::Invalid(f) if f.field == "password" => ("password", p.password_hint),
                StaffError::Invalid(f) => (field_name(&f.field), f.message.as_str()),
                StaffError::EmailTaken => ("email", p.email_taken),
                _ => return Err(page_error(e).into_response()),
            };
            let error = (error.0, error.1.to_owned());
            let mut response = render(&FirstPage {
                c,
                p,
                name: &form.name,
                email: &form.email,
                error: Some((error.0, &error.1)),
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    // The bootstrap session ends; the new admin's begins.
    if let Some(token) = crate::http::auth::cookie(&parts.headers, SESSION_COOKIE) {
        let _ = state.store.delete_web_session(&token_hash(token)).await;
    }
    start_session(&state, &user_session(&user), "/console")
        .await
        .map_err(IntoResponse::into_response)
}

fn field_name(field: &str) -> &'static str {
    match field {
        "name" => "name",
        "email" => "email",
        "role" => "role",
        "desk" => "desk",
        _ => "password",
    }
}

async fn users_page(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppQuery(q): AppQuery<Notice>,
) -> Result<Response, Response> {
    let c = Console::open(&parts, &state, &[Role::Admin], Section::Users).await?;
    let p = PeopleTexts::of(c.language);
    let notice = q.notice.as_deref().map(|n| {
        let name = q.name.as_deref().unwrap_or_default();
        match n {
            "invited" => p.invited.replace("{email}", name),
            "signed-out" => p.signed_out.replace("{name}", name),
            _ => p.saved.to_owned(),
        }
    });
    list(&state, c, notice, None, blank()).await
}

fn blank() -> NewStaffUser {
    NewStaffUser {
        name: String::new(),
        email: String::new(),
        role: "desk".into(),
        desk: None,
    }
}

async fn list(
    state: &AppState,
    c: Console,
    notice: Option<String>,
    error: Option<(&str, &str)>,
    form: NewStaffUser,
) -> Result<Response, Response> {
    let users = state
        .store
        .list_staff_users()
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    let me = c.session.user_id.clone();
    let rows = users
        .into_iter()
        .map(|user| Row {
            is_me: me.as_ref() == Some(&user.id),
            user,
        })
        .collect();
    let p = PeopleTexts::of(c.language);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&UsersPage {
        c,
        p,
        rows,
        notice,
        error,
        form,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn invite(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppForm(form): AppForm<InviteForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, ADMINS, &form.csrf).await?;
    let p = PeopleTexts::of(c.language);
    let new = NewStaffUser {
        name: form.name,
        email: form.email,
        role: form.role,
        desk: Some(form.desk).filter(|d| !d.trim().is_empty()),
    };
    match staff::invite(&state, &c.actor, &new, c.language).await {
        Ok(user) => Ok(back("invited", &user.email)),
        Err(StaffError::EmailTaken) => {
            list(&state, c, None, Some(("email", p.email_taken)), new).await
        }
        Err(StaffError::Invalid(f)) => {
            let field = field_name(&f.field);
            let message = f.message.clone();
            list(&state, c, None, Some((field, &message)), new).await
        }
        Err(e) => Err(page_error(e).into_response()),
    }
}

/// The users page again, with a notice.
fn back(notice: &str, name: &str) -> Response {
    let query =
        serde_urlencoded::to_string([("notice", notice), ("name", name)]).unwrap_or_default();
    let mut response = Redirect::to(&format!("/console/users?{query}")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    response
}

async fn act(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath((id, action)): AppPath<(String, String)>,
    AppForm(form): AppForm<ActForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, ADMINS, &form.csrf).await?;
    let p = PeopleTexts::of(c.language);
    let not_found = || PageError::new(StatusCode::NOT_FOUND, "No such staff member.");
    let id = StaffUserId::parse(&id).ok_or_else(|| not_found().into_response())?;
    let update = |active| StaffUpdate {
        active: Some(active),
        ..StaffUpdate::default()
    };
    let done = match action.as_str() {
        "deactivate" => staff::update(&state, &c.actor, &id, &update(false))
            .await
            .map(|u| ("saved", u.name)),
        "reactivate" => staff::update(&state, &c.actor, &id, &update(true))
            .await
            .map(|u| ("saved", u.name)),
        "resend" => staff::resend_invite(&state, &c.actor, &id, c.language)
            .await
            .map(|u| ("invited", u.email)),
        "sign-out-everywhere" => match staff::sign_out_everywhere(&state, &c.actor, &id).await {
            Ok(_) => staff::get(&state, &id)
                .await
                .map(|u| ("signed-out", u.name)),
            Err(e) => Err(e),
        },
        _ => return Err(not_found().into_response()),
    };
    match done {
        Ok((notice, name)) => Ok(back(notice, &name)),
        Err(StaffError::NotFound) => Err(not_found().into_response()),
        Err(StaffError::LastAdmin) => {
            list(&state, c, None, Some(("", p.last_admin)), blank()).await
        }
        Err(e) => Err(page_error(e).into_response()),
    }
}
