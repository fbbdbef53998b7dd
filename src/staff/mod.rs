//! Named staff: admins and desk users who sign in with their e-mail address and a password.
//! An admin invites a person by mail (they choose their password through the mailed link); a
//! person who forgot theirs asks for a reset link; deactivation and "sign out everywhere" end
//! their sessions at once. On a fresh install the bootstrap key opens the console once, to
//! create the first admin. Every change is written with its audit entry.

pub mod mail;
pub mod password;

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{Action, Actor, AuditEntry};
use crate::domain::FieldError;
use crate::domain::contact;
use crate::domain::i18n::Lang;
use crate::domain::ids::StaffUserId;
use crate::state::AppState;
use crate::store::{
    NewStaffLink, Role, StaffChange, StaffChangeError, StaffLinkPurpose, StaffUser, StoreError,
    normalize_email, now,
};
use crate::tokens::{random_token, token_hash};

/// How long an invitation link works.
pub const INVITE_HOURS: i64 = 72;
/// How long a password reset link works.
pub const RESET_HOURS: i64 = 1;
/// Reset links one user may be sent per hour.
const RESETS_PER_HOUR: i64 = 3;

/// Why a staff request was refused.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    #[error("a staff user has this e-mail address")]
    EmailTaken,
    #[error("no such staff user")]
    NotFound,
    #[error("the last active admin must stay an active admin")]
    LastAdmin,
    #[error("staff users exist already")]
    AlreadySetUp,
    #[error("the mail could not be written: {0}")]
    Mail(#[from] askama::Error),
    #[error("a password could not be hashed")]
    Hash,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldError> for StaffError {
    fn from(e: FieldError) -> Self {
        StaffError::Invalid(e)
    }
}

impl From<StaffChangeError> for StaffError {
    fn from(e: StaffChangeError) -> Self {
        match e {
            StaffChangeError::NotFound => StaffError::NotFound,
            StaffChangeError::LastAdmin => StaffError::LastAdmin,
            StaffChangeError::Store(e) => StaffError::Store(e),
        }
    }
}

/// A person to add: `POST /api/v1/staff-users`, the users page, the first-admin form.
#[derive(Debug, Clone, Deserialize)]
pub struct NewStaffUser {
    pub name: String,
    pub email: String,
    /// `admin` or `desk`.
    pub role: String,
    #[serde(default)]
    pub desk: Option<String>,
}

/// A change of a person: `PATCH /api/v1/staff-users/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StaffUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    /// An empty string clears it.
    pub desk: Option<String>,
    pub active: Option<bool>,
}

fn parse_role(role: &str) -> Result<Role, FieldError> {
    match Role::parse(role) {
        Some(r @ (Role::Admin | Role::Desk)) => Ok(r),
        _ => Err(FieldError::new("role", "must be \"admin\" or \"desk\"")),
    }
}

/// The fields of a new user, checked.
fn checked(new: &NewStaffUser) -> Result<(String, String, Role, Option<String>), FieldError> {
    let name = contact::text("name", &new.name, 200)?;
    let email = contact::email("email", Some(&new.email))?
        .ok_or_else(|| FieldError::new("email", "required"))?;
    let role = parse_role(&new.role)?;
    let desk = contact::optional_text("desk", new.desk.as_deref(), 200)?;
    let desk = if role == Role::Desk { desk } else { None };
    Ok((name, normalize_email(&email), role, desk))
}

fn link_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/staff/link/{token}",
        state.public_url.trim_end_matches('/')
    )
}

/// The link and its mail for `user`.
fn mail_link(
    state: &AppState,
    user: &StaffUser,
    purpose: StaffLinkPurpose,
    (lang, inviter): (Lang, &str),
) -> Result<(String, String, chrono::DateTime<chrono::Utc>), StaffError> {
    let token = random_token();
    let hours = match purpose {
        StaffLinkPurpose::Invite => INVITE_HOURS,
        StaffLinkPurpose::Reset => RESET_HOURS,
    };
    let message = mail::compose(&mail::StaffMail {
        purpose,
        lang,
        to: &user.email,
        name: &user.name,
        inviter,
        admin: user.role == Role::Admin,
        url: &link_url(state, &token),
        valid_hours: hours,
    })?;
    let payload = serde_json::to_string(&message).map_err(|_| StaffError::Hash)?;
    Ok((token_hash(&token), payload, now() + TimeDelta::hours(hours)))
}

fn new_link<'a>(
    purpose: StaffLinkPurpose,
    token_hash: &'a str,
    mail: &'a str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> NewStaffLink<'a> {
    NewStaffLink {
        token_hash,
        purpose,
        expires_at,
        mail,
    }
}

fn user_details(u: &StaffUser) -> serde_json::Value {
    json!({"name": u.name, "email": u.email, "role": u.role.as_str(), "desk": u.desk,
           "active": u.is_active()})
}

/// Adds a person and mails them the link to choose their password.
pub async fn invite(
    state: &AppState,
    by: &Actor,
    new: &NewStaffUser,
    lang: Lang,
) -> Result<StaffUser, StaffError> {
    let (name, email, role, desk) = checked(new)?;
    let user = StaffUser {
        id: StaffUserId::generate(),
        email,
        name,
        role,
        desk,
        password_hash: None,
        created_at: now(),
        deactivated_at: None,
    };
    let (hash, mail, expires_at) =
        mail_link(state, &user, StaffLinkPurpose::Invite, (lang, &by.name))?;
    let link = NewStaffLink {
        token_hash: &hash,
        purpose: StaffLinkPurpose::Invite,
        expires_at,
        mail: &mail,
    };
    let audit = by
        .did(Action::StaffInvited, format!("staff:{}", user.id))
        .details(json!({"after": user_details(&user)}));
    match state
        .store
        .insert_staff_user(&user, Some(&link), &audit)
        .await
    {
        Err(StoreError::Conflict { .. }) => Err(StaffError::EmailTaken),
        other => Ok(other.map(|()| user)?),
    }
}

/// Mails an invited person a new link (the first expired or got lost).
pub async fn resend_invite(
    state: &AppState,
    by: &Actor,
    id: &StaffUserId,
    lang: Lang,
) -> Result<StaffUser, StaffError> {
    let user = get(state, id).await?;
    let (hash, mail, expires_at) =
        mail_link(state, &user, StaffLinkPurpose::Invite, (lang, &by.name))?;
    let link = new_link(StaffLinkPurpose::Invite, &hash, &mail, expires_at);
    let audit = by.did(Action::StaffInvited, format!("staff:{}", user.id));
    state
        .store
        .add_staff_link(&user, &link, Some(&audit))
        .await?;
    Ok(user)
}

/// The first admin of a fresh install, made by the bootstrap key's session with a password
/// of their own; refused once any staff user exists.
pub async fn create_first_admin(
    state: &AppState,
    by: &Actor,
    new: &NewStaffUser,
    password: &str,
) -> Result<StaffUser, StaffError> {
    if state.store.has_staff_users().await? {
        return Err(StaffError::AlreadySetUp);
    }
    let (name, email, _, _) = checked(new)?;
    password::check("password", password)?;
    let hash = password::hash(password.to_owned())
        .await
        .ok_or(StaffError::Hash)?;
    let user = StaffUser {
        id: StaffUserId::generate(),
        email,
        name,
        role: Role::Admin,
        desk: None,
        password_hash: Some(hash),
        created_at: now(),
        deactivated_at: None,
    };
    let audit = by
        .did(Action::StaffInvited, format!("staff:{}", user.id))
        .details(json!({"after": user_details(&user), "first_admin": true}));
    match state.store.insert_staff_user(&user, None, &audit).await {
        Err(StoreError::Conflict { .. }) => Err(StaffError::EmailTaken),
        other => Ok(other.map(|()| user)?),
    }
}

/// The active user with this address and password; `None` for any mismatch (which one is
/// not told, and takes as long).
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
) -> Result<Option<StaffUser>, StaffError> {
    let user = state
        .store
        .staff_user_by_email(&normalize_email(email))
        .await?
        .filter(StaffUser::is_active);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = password::verify(password.to_owned(), stored).await;
    Ok(user.filter(|_| ok))
}

/// Mails a reset link to the active user with this address, at most a few an hour; an
/// unknown address gets nothing, and the caller answers alike either way.
pub async fn request_reset(state: &AppState, email: &str, lang: Lang) -> Result<(), StaffError> {
    let Some(user) = state
        .store
        .staff_user_by_email(&normalize_email(email))
        .await?
        .filter(StaffUser::is_active)
    else {
        return Ok(());
    };
    let recent = state
        .store
        .staff_links_since(&user.id, now() - TimeDelta::hours(1))
        .await?;
    if recent >= RESETS_PER_HOUR {
        tracing::info!(user.id = %user.id, "a password reset was asked for too often");
        return Ok(());
    }
    let (hash, mail, expires_at) = mail_link(state, &user, StaffLinkPurpose::Reset, (lang, ""))?;
    let link = new_link(StaffLinkPurpose::Reset, &hash, &mail, expires_at);
    state.store.add_staff_link(&user, &link, None).await?;
    Ok(())
}

/// The user a mailed link is for, if it still works (the page that asks for the password).
pub async fn link_user(
    state: &AppState,
    token: &str,
) -> Result<Option<(StaffUser, StaffLinkPurpose)>, StaffError> {
    Ok(state
        .store
        .staff_link_user(&token_hash(token), now())
        .await?)
}

/// Sets the password of a mailed link's user and uses the link up; their other sessions end.
pub async fn set_password(
    state: &AppState,
    token: &str,
    password: &str,
) -> Result<Option<StaffUser>, StaffError> {
    password::check("password", password)?;
    let hash = password::hash(password.to_owned())
        .await
        .ok_or(StaffError::Hash)?;
    let audit = |u: &StaffUser| -> AuditEntry {
        Actor::user(&u.id, &u.name, u.role, u.desk.clone())
            .did(Action::StaffPasswordSet, format!("staff:{}", u.id))
    };
    Ok(state
        .store
        .redeem_staff_link(&token_hash(token), &hash, now(), audit)
        .await?)
}

pub async fn get(state: &AppState, id: &StaffUserId) -> Result<StaffUser, StaffError> {
    match state.store.get_staff_user(id).await {
        Err(StoreError::NotFound) => Err(StaffError::NotFound),
        other => Ok(other?),
    }
}

/// Changes a person's name, role, desk or activity.
pub async fn update(
    state: &AppState,
    by: &Actor,
    id: &StaffUserId,
    u: &StaffUpdate,
) -> Result<StaffUser, StaffError> {
    let change = StaffChange {
        name: u
            .name
            .as_deref()
            .map(|n| contact::text("name", n, 200))
            .transpose()?,
        role: u.role.as_deref().map(parse_role).transpose()?,
        desk: u
            .desk
            .as_deref()
            .map(|d| contact::optional_text("desk", Some(d), 200))
            .transpose()?,
        active: u.active,
    };
    let audit = |before: &StaffUser, after: &StaffUser| {
        let action = match (before.is_active(), after.is_active()) {
            (true, false) => Action::StaffDeactivated,
            (false, true) => Action::StaffReactivated,
            _ => Action::StaffChanged,
        };
        by.did(action, format!("staff:{}", after.id))
            .details(json!({"before": user_details(before), "after": user_details(after)}))
    };
    Ok(state.store.change_staff_user(id, &change, audit).await?)
}

/// Ends every session of a person, on every device.
pub async fn sign_out_everywhere(
    state: &AppState,
    by: &Actor,
    id: &StaffUserId,
) -> Result<u64, StaffError> {
    let user = get(state, id).await?;
    let audit = by.did(
        Action::StaffSignedOutEverywhere,
        format!("staff:{}", user.id),
    );
    Ok(state.store.end_staff_sessions(&user.id, &audit).await?)
}
