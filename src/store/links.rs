//! One-time links mailed to a person, and the holder sessions opening one starts.
//!
//! A link is inserted together with the mail that carries it (one transaction: the outbox),
//! found by the SHA-256 of its token, and taken by one conditional `UPDATE` (unused, not
//! expired), so it opens once even when opened twice at the same moment.

use chrono::{DateTime, Utc};

use super::outbox::enqueue_mail;
use super::tx::args;
use super::{Store, StoreResult};
use crate::domain::ids::{AccountId, EmailLinkId, InviteId, MemberId};

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Enrollment through an invite: the member with the address, or a new one.
    Join,
    /// The cards of the account's member with the address (or of a named member).
    Cards,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Join => "join",
            LinkPurpose::Cards => "cards",
        }
    }
}

/// A mailed link, as stored (without its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLink {
    pub id: EmailLinkId,
    pub purpose: LinkPurpose,
    pub account_id: AccountId,
    pub invite_id: Option<InviteId>,
    /// The member an admin sent the link to.
    pub member_id: Option<MemberId>,
    /// Normalised: the address the link was mailed to.
    pub email: String,
    /// What the enrollment form said, used only if the address is unknown when the link opens.
    pub name: Option<String>,
    pub role: Option<String>,
    pub phone: Option<String>,
    /// The language the person used (the mail's and the pages').
    pub lang: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: String,
    purpose: String,
    account_id: String,
    invite_id: Option<String>,
    member_id: Option<String>,
    email_norm: String,
    name: Option<String>,
    role: Option<String>,
    phone: Option<String>,
    lang: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<LinkRow> for EmailLink {
    fn from(r: LinkRow) -> Self {
        EmailLink {
            id: EmailLinkId::from_db(r.id),
            purpose: match r.purpose.as_str() {
                "join" => LinkPurpose::Join,
                _ => LinkPurpose::Cards,
            },
            account_id: AccountId::from_db(r.account_id),
            invite_id: r.invite_id.map(InviteId::from_db),
            member_id: r.member_id.map(MemberId::from_db),
            email: r.email_norm,
            name: r.name,
            role: r.role,
            phone: r.phone,
            lang: r.lang,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

const COLUMNS: &str = "id, purpose, account_id, invite_id, member_id, email_norm, name, role, \
                       phone, lang, created_at, expires_at";

/// Links mailed recently, for the mail limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentLinks {
    pub to_address: i64,
    pub through_invite: i64,
}

impl Store {
    /// Stores `link` (its token as `token_hash`) and queues `mail` (the composed message that
    /// carries it, JSON) to its address, in one transaction.
    pub async fn insert_email_link(
        &self,
        link: &EmailLink,
        token_hash: &str,
        mail: &str,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO email_links ({COLUMNS}, token_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        let values = args![
            link.id.as_str(),
            link.purpose.as_str(),
            link.account_id.as_str(),
            link.invite_id.as_ref().map(InviteId::as_str),
            link.member_id.as_ref().map(MemberId::as_str),
            link.email.as_str(),
            link.name.as_deref(),
            link.role.as_deref(),
            link.phone.as_deref(),
            link.lang.as_str(),
            link.created_at,
            link.expires_at,
            token_hash
        ];
        let mut tx = self.begin().await?;
        tx.execute(&sql, &values).await?;
        enqueue_mail(&mut tx, &link.email, mail, link.created_at).await?;
        tx.commit().await?;
        self.wake_dispatchers();
        Ok(())
    }

    /// Links mailed since `since` to `email` and through `invite`.
    pub async fn recent_links(
        &self,
        email: &str,
        invite: Option<&InviteId>,
        since: DateTime<Utc>,
    ) -> StoreResult<RecentLinks> {
        let sql = "SELECT \
                   (SELECT COUNT(*) FROM email_links WHERE email_norm = $1 AND created_at > $3), \
                   (SELECT COUNT(*) FROM email_links WHERE invite_id = $2 AND created_at > $3)";
        let (to_address, through_invite): (i64, i64) = self
            .select::<(i64, i64)>(
                sql,
                &args![email, invite.map(InviteId::as_str).unwrap_or(""), since],
            )
            .await?
            .pop()
            .unwrap_or((0, 0));
        Ok(RecentLinks {
            to_address,
            through_invite,
        })
    }

    /// Takes the link whose token hashes to `token_hash`, if it is unused and not expired at
    /// `now`: it never opens again.
    pub async fn take_email_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<EmailLink>> {
        let sql = format!(
            "UPDATE email_links SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING {COLUMNS}"
        );
        let mut rows: Vec<LinkRow> = self
            .execute_returning(&sql, &args![token_hash, now])
            .await?;
        Ok(rows.pop().map(EmailLink::from))
    }

    /// Whether the link whose token hashes to `token_hash` would open at `now`.
    pub async fn email_link_is_open(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql = "SELECT COUNT(*) FROM email_links \
                   WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        let rows: Vec<(i64,)> = self.select(sql, &args![token_hash, now]).await?;
        Ok(rows.first().is_some_and(|(n,)| *n > 0))
    }

    /// Starts a holder session for `member` until `expires_at`.
    pub async fn insert_holder_session(
        &self,
        token_hash: &str,
        member: &MemberId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO holder_sessions (token_hash, member_id, created_at, expires_at) \
                   VALUES ($1, $2, $3, $4)";
        self.execute(sql, &args![token_hash, member.as_str(), now, expires_at])
            .await?;
        Ok(())
    }

    /// The member of the holder session with this token hash, unless it expired.
    pub async fn find_holder_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<MemberId>> {
        let sql = "SELECT member_id FROM holder_sessions WHERE token_hash = $1 AND expires_at > $2";
        let rows: Vec<(String,)> = self.select(sql, &args![token_hash, now]).await?;
        Ok(rows.into_iter().next().map(|(id,)| MemberId::from_db(id)))
    }

    /// Deletes links and holder sessions that expired before `before`; returns how many.
    pub async fn prune_email_links(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let links = self
            .execute(
                "DELETE FROM email_links WHERE expires_at < $1",
                &args![before],
            )
            .await?;
        let sessions = self
            .execute(
                "DELETE FROM holder_sessions WHERE expires_at < $1",
                &args![before],
            )
            .await?;
        Ok(links + sessions)
    }
}
