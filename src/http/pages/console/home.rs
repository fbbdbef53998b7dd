//! `GET /`: the console home when signed in, else the sign-in page; `GET /console`: the home
//! itself, a page of the console's parts.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::{Console, Section};
use crate::http::auth::session_of;
use crate::http::pages::session::FIRST_ADMIN_PAGE;
use crate::http::pages::{RequestParts, render};
use crate::state::AppState;
use crate::store::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/console", get(home))
}

async fn root(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    match session_of(&parts, &state).await {
        Ok(Some(session)) if session.role == Role::Desk => Redirect::to("/desk").into_response(),
        Ok(Some(_)) => Redirect::to("/console").into_response(),
        Ok(None) => Redirect::to("/signin").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    c: Console,
}

async fn home(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    let roles = [Role::Admin, Role::Desk];
    let c = match Console::open(&parts, &state, &roles, Section::Home).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    // A fresh install's session of an admin key first creates the first admin.
    let bootstrap = c.session.user_id.is_none() && c.role == Role::Admin;
    if bootstrap && matches!(state.store.has_staff_users().await, Ok(false)) {
        return Redirect::to(FIRST_ADMIN_PAGE).into_response();
    }
    render(&HomePage { c })
}
