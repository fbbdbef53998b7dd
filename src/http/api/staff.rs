//! `/staff-users`: the people who sign in to the console and the desk. An admin invites a
//! person (a mail with a link to choose their password), changes their name, role or desk,
//! deactivates them (every session ends at once) or signs them out everywhere. Passwords never
//! pass through this API.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::ids::StaffUserId;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath};
use crate::http::pages::lang_of;
use crate::staff::{self, NewStaffUser, StaffError, StaffUpdate};
use crate::state::AppState;
use crate::store::{Role, StaffUser};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff-users", get(list_users).post(invite_user))
        .route("/staff-users/{id}", get(get_user).patch(update_user))
        .route("/staff-users/{id}/invite", post(resend_invite))
        .route(
            "/staff-users/{id}/sign-out-everywhere",
            post(sign_out_everywhere),
        )
}

#[derive(Debug, Serialize)]
pub struct UserBody {
    id: String,
    name: String,
    email: String,
    role: Role,
    desk: Option<String>,
    /// `invited` (no password chosen yet), `active` or `deactivated`.
    status: &'static str,
    created_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
}

impl From<StaffUser> for UserBody {
    fn from(u: StaffUser) -> Self {
        let status = match (u.is_active(), u.password_hash.is_some()) {
            (false, _) => "deactivated",
            (true, false) => "invited",
            (true, true) => "active",
        };
        UserBody {
            id: u.id.to_string(),
            name: u.name,
            email: u.email,
            role: u.role,
            desk: u.desk,
            status,
            created_at: u.created_at,
            deactivated_at: u.deactivated_at,
        }
    }
}

impl From<StaffError> for ApiError {
    fn from(e: StaffError) -> Self {
        match e {
            StaffError::Invalid(f) => f.into(),
            StaffError::EmailTaken => ApiError::conflict(
                "email_taken",
                "a staff user has this e-mail address already",
            )
            .field("email"),
            StaffError::NotFound => ApiError::not_found("staff user"),
            StaffError::LastAdmin => ApiError::conflict(
                "last_admin",
                "this is the last active admin: make another user admin first",
            ),
            StaffError::AlreadySetUp => {
                ApiError::conflict("already_set_up", "staff users exist already")
            }
            StaffError::Store(e) => e.into(),
            other @ (StaffError::Mail(_) | StaffError::Hash) => ApiError::internal(&other),
        }
    }
}

fn user_id(id: &str) -> ApiResult<StaffUserId> {
    StaffUserId::parse(id).ok_or_else(|| ApiError::not_found("staff user"))
}

async fn list_users(State(state): State<AppState>, _: Admin) -> ApiResult<AppJson<Value>> {
    let users = state.store.list_staff_users().await?;
    let items: Vec<UserBody> = users.into_iter().map(UserBody::from).collect();
    Ok(AppJson(json!({ "items": items })))
}

async fn invite_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    headers: HeaderMap,
    AppJson(body): AppJson<NewStaffUser>,
) -> ApiResult<(StatusCode, AppJson<UserBody>)> {
    let lang = lang_of(None, &headers);
    let user = staff::invite(&state, &by, &body, lang).await?;
    Ok((StatusCode::CREATED, AppJson(user.into())))
}

async fn get_user(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<UserBody>> {
    Ok(AppJson(staff::get(&state, &user_id(&id)?).await?.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    name: Option<String>,
    role: Option<String>,
    desk: Option<String>,
    active: Option<bool>,
}

async fn update_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UserChange>,
) -> ApiResult<AppJson<UserBody>> {
    let update = StaffUpdate {
        name: body.name,
        role: body.role,
        desk: body.desk,
        active: body.active,
    };
    let user = staff::update(&state, &by, &user_id(&id)?, &update).await?;
    Ok(AppJson(user.into()))
}

async fn resend_invite(
    State(state): State<AppState>,
    Admin(by): Admin,
    headers: HeaderMap,
    AppPath(id): AppPath<String>,
) -> ApiResult<(StatusCode, AppJson<UserBody>)> {
    let lang = lang_of(None, &headers);
    let user = staff::resend_invite(&state, &by, &user_id(&id)?, lang).await?;
    Ok((StatusCode::ACCEPTED, AppJson(user.into())))
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let ended = staff::sign_out_everywhere(&state, &by, &user_id(&id)?).await?;
    Ok(AppJson(json!({ "sessions_ended": ended })))
}
