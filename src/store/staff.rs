//! Staff users and the one-time links mailed to them. Every change that touches access is one
//! transaction with its audit entry (and its mail, through the outbox); deactivating a user or
//! "sign out everywhere" deletes their sessions in that transaction, so they end at once.

use chrono::{DateTime, Utc};

use super::audit::insert_audit;
use super::outbox::enqueue_mail;
use super::tx::{Tx, args};
use super::{Role, Store, StoreError, StoreResult, is_unique_violation};
use crate::audit::AuditEntry;
use crate::domain::ids::StaffUserId;

/// A named staff user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: StaffUserId,
    /// Lower-case, trimmed.
    pub email: String,
    pub name: String,
    /// `Admin` or `Desk`.
    pub role: Role,
    /// The desk or location a desk user works at.
    pub desk: Option<String>,
    /// The argon2id PHC string; `None` until an invited user chose a password.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl StaffUser {
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// What a mailed staff link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffLinkPurpose {
    /// An invited user chooses their first password.
    Invite,
    /// A user who forgot theirs chooses a new one.
    Reset,
}

impl StaffLinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffLinkPurpose::Invite => "invite",
            StaffLinkPurpose::Reset => "reset",
        }
    }
}

/// A link to write with its mail: the token's hash, what for, until when, and the composed
/// mail (JSON of `MailMessage`) to the user's address.
pub struct NewStaffLink<'a> {
    pub token_hash: &'a str,
    pub purpose: StaffLinkPurpose,
    pub expires_at: DateTime<Utc>,
    pub mail: &'a str,
}

/// Why a change of a user was refused.
#[derive(Debug, thiserror::Error)]
pub enum StaffChangeError {
    #[error("no such staff user")]
    NotFound,
    /// It would leave no active admin user while admin users exist.
    #[error("the last active admin")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StaffChangeError {
    fn from(e: sqlx::Error) -> Self {
        StaffChangeError::Store(e.into())
    }
}

/// A change of a user's name, role, desk or activity.
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` clears the desk.
    pub desk: Option<Option<String>>,
    /// `Some(false)` deactivates (and ends every session), `Some(true)` reactivates.
    pub active: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email_norm: String,
    name: String,
    role: String,
    desk: Option<String>,
    password_hash: Option<String>,
    created_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
}

impl UserRow {
    fn into_user(self) -> StoreResult<StaffUser> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("role of {}", self.id)))?;
        Ok(StaffUser {
            id: StaffUserId::from_db(self.id),
            email: self.email_norm,
            name: self.name,
            role,
            desk: self.desk,
            password_hash: self.password_hash,
            created_at: self.created_at,
            deactivated_at: self.deactivated_at,
        })
    }
}

const COLUMNS: &str = "id, email_norm, name, role, desk, password_hash, created_at, deactivated_at";

async fn insert_link(tx: &mut Tx, user: &StaffUser, link: &NewStaffLink<'_>) -> StoreResult<()> {
    let sql = "INSERT INTO staff_links (token_hash, user_id, purpose, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)";
    let now = super::now();
    let values = args![
        link.token_hash,
        user.id.as_str(),
        link.purpose.as_str(),
        now,
        link.expires_at
    ];
    tx.execute(sql, &values).await?;
    enqueue_mail(tx, &user.email, link.mail, now).await?;
    Ok(())
}

/// Refuses a change that leaves no active admin (the active admins are locked while counted).
async fn keep_an_admin(tx: &mut Tx, user: &StaffUser) -> Result<(), StaffChangeError> {
    let sql = format!(
        "SELECT id FROM staff_users WHERE role = 'admin' AND deactivated_at IS NULL{}",
        tx.lock_suffix()
    );
    let admins: Vec<(String,)> = tx.fetch_all(&sql, &[]).await?;
    if admins.iter().all(|(id,)| id == user.id.as_str()) {
        return Err(StaffChangeError::LastAdmin);
    }
    Ok(())
}

impl Store {
    /// Adds a user, with the link (and mail) that lets them choose a password when `link` is
    /// given. A taken address is `Conflict { field: "email" }`.
    pub async fn insert_staff_user(
        &self,
        user: &StaffUser,
        link: Option<&NewStaffLink<'_>>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let sql =
            format!("INSERT INTO staff_users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let values = args![
            user.id.as_str(),
            user.email.as_str(),
            user.name.as_str(),
            user.role.as_str(),
            user.desk.as_deref(),
            user.password_hash.as_deref(),
            user.created_at,
            user.deactivated_at
        ];
        match tx.execute(&sql, &values).await {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict { field: "email" });
            }
            other => other?,
        };
        if let Some(link) = link {
            insert_link(&mut tx, user, link).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        if link.is_some() {
            self.wake_dispatchers();
        }
        Ok(())
    }

    /// Mails a user a new link (an invitation again, or a password reset).
    pub async fn add_staff_link(
        &self,
        user: &StaffUser,
        link: &NewStaffLink<'_>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_link(&mut tx, user, link).await?;
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        self.wake_dispatchers();
        Ok(())
    }

    /// Links mailed to `user` since `since` (the mail limit counts them).
    pub async fn staff_links_since(
        &self,
        user: &StaffUserId,
        since: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let sql = "SELECT token_hash FROM staff_links WHERE user_id = $1 AND created_at >= $2";
        let rows: Vec<(String,)> = self.select(sql, &args![user.as_str(), since]).await?;
        Ok(i64::try_from(rows.len()).unwrap_or(i64::MAX))
    }

    /// The user a link names, if it is unused, unexpired and the user is active; without
    /// using it.
    pub async fn staff_link_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(StaffUser, StaffLinkPurpose)>> {
        let sql = format!(
            "SELECT l.purpose, {} FROM staff_links l JOIN staff_users u ON u.id = l.user_id \
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 \
             AND u.deactivated_at IS NULL",
            COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            purpose: String,
            #[sqlx(flatten)]
            user: UserRow,
        }
        let rows: Vec<Row> = self.select(&sql, &args![token_hash, now]).await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let purpose = match row.purpose.as_str() {
            "invite" => StaffLinkPurpose::Invite,
            _ => StaffLinkPurpose::Reset,
        };
        Ok(Some((row.user.into_user()?, purpose)))
    }

    /// Uses a link once and sets the user's password: the other sessions of the user end (a
    /// reset is often because someone else knows the old one), and the user's other unused
    /// links are spent. `None` when the link is used, expired or its user deactivated.
    pub async fn redeem_staff_link(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
        audit: impl FnOnce(&StaffUser) -> AuditEntry,
    ) -> StoreResult<Option<StaffUser>> {
        let Some((mut user, _)) = self.staff_link_user(token_hash, now).await? else {
            return Ok(None);
        };
        let mut tx = self.begin().await?;
        let taken = tx
            .execute(
                "UPDATE staff_links SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                &args![token_hash, now],
            )
            .await?;
        if taken != 1 {
            return Ok(None);
        }
        tx.execute(
            "UPDATE staff_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            &args![user.id.as_str(), now],
        )
        .await?;
        let set = tx
            .execute(
                "UPDATE staff_users SET password_hash = $2 \
                 WHERE id = $1 AND deactivated_at IS NULL",
                &args![user.id.as_str(), password_hash],
            )
            .await?;
        if set != 1 {
            return Ok(None);
        }
        tx.execute(
            "DELETE FROM web_sessions WHERE user_id = $1",
            &args![user.id.as_str()],
        )
        .await?;
        insert_audit(&mut tx, &audit(&user)).await?;
        tx.commit().await?;
        user.password_hash = Some(password_hash.to_owned());
        Ok(Some(user))
    }

    /// The user with this (normalised) address.
    pub async fn staff_user_by_email(&self, email: &str) -> StoreResult<Option<StaffUser>> {
        let sql = format!("SELECT {COLUMNS} FROM staff_users WHERE email_norm = $1");
        let rows: Vec<UserRow> = self.select(&sql, &args![email]).await?;
        rows.into_iter().next().map(UserRow::into_user).transpose()
    }

    pub async fn get_staff_user(&self, id: &StaffUserId) -> StoreResult<StaffUser> {
        let sql = format!("SELECT {COLUMNS} FROM staff_users WHERE id = $1");
        let rows: Vec<UserRow> = self.select(&sql, &args![id.as_str()]).await?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::NotFound)?
            .into_user()
    }

    /// Every user, active ones first, then by name.
    pub async fn list_staff_users(&self) -> StoreResult<Vec<StaffUser>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM staff_users \
             ORDER BY (deactivated_at IS NOT NULL), name, id"
        );
        let rows: Vec<UserRow> = self.select(&sql, &[]).await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// Whether any staff user exists (none: the bootstrap key may still open the console).
    pub async fn has_staff_users(&self) -> StoreResult<bool> {
        let rows: Vec<(String,)> = self
            .select("SELECT id FROM staff_users LIMIT 1", &[])
            .await?;
        Ok(!rows.is_empty())
    }

    /// Changes a user; deactivating ends their sessions in the same transaction. The last
    /// active admin can be neither deactivated nor made a desk user.
    pub async fn change_staff_user(
        &self,
        id: &StaffUserId,
        change: &StaffChange,
        audit: impl FnOnce(&StaffUser, &StaffUser) -> AuditEntry,
    ) -> Result<StaffUser, StaffChangeError> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM staff_users WHERE id = $1{}",
            tx.lock_suffix()
        );
        let before = tx
            .fetch_optional::<UserRow>(&sql, &args![id.as_str()])
            .await?
            .ok_or(StaffChangeError::NotFound)?
            .into_user()?;
        let mut after = before.clone();
        if let Some(name) = &change.name {
            after.name.clone_from(name);
        }
        if let Some(role) = change.role {
            after.role = role;
        }
        if let Some(desk) = &change.desk {
            after.desk.clone_from(desk);
        }
        match change.active {
            Some(false) if before.is_active() => after.deactivated_at = Some(super::now()),
            Some(true) => after.deactivated_at = None,
            _ => {}
        }
        let loses_admin = before.role == Role::Admin
            && before.is_active()
            && (after.role != Role::Admin || !after.is_active());
        if loses_admin {
            keep_an_admin(&mut tx, &before).await?;
        }
        let sql = "UPDATE staff_users SET name = $2, role = $3, desk = $4, deactivated_at = $5 \
                   WHERE id = $1";
        let values = args![
            id.as_str(),
            after.name.as_str(),
            after.role.as_str(),
            after.desk.as_deref(),
            after.deactivated_at
        ];
        tx.execute(sql, &values).await?;
        if !after.is_active() || after.role != before.role {
            // A role change takes effect at the next sign-in; a deactivation at once.
            tx.execute(
                "DELETE FROM web_sessions WHERE user_id = $1",
                &args![id.as_str()],
            )
            .await?;
        }
        insert_audit(&mut tx, &audit(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Ends every session of a user ("sign out everywhere").
    pub async fn end_staff_sessions(
        &self,
        id: &StaffUserId,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let ended = tx
            .execute(
                "DELETE FROM web_sessions WHERE user_id = $1",
                &args![id.as_str()],
            )
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(ended)
    }
}
