//! Invites and the enrollments through them. An invite's use is taken by one conditional
//! `UPDATE` (open, not expired, uses left), in the transaction that creates the new member, so
//! concurrent enrollments can neither pass `max_uses` nor spend a use on a member that was not
//! created.

use chrono::{DateTime, Utc};

use super::rows::Page;
use super::tx::{args, placeholders, value_rows};
use super::{Store, StoreError, StoreResult, is_unique_violation, read};
use crate::domain::codes::InviteToken;
use crate::domain::ids::{AccountId, InviteId, MemberId, ProgramId};
use crate::domain::invites::Invite;
use crate::domain::model::Member;

const COLUMNS: &str = "id, token, account_id, max_uses, uses, expires_at, created_at, revoked_at";

/// Takes one use of invite `$1` at time `$2`, only while it is open.
const TAKE_USE: &str = "UPDATE invites SET uses = uses + 1 \
    WHERE id = $1 AND uses < max_uses AND expires_at > $2 AND revoked_at IS NULL";

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: String,
    token: String,
    account_id: String,
    max_uses: i64,
    uses: i64,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl InviteRow {
    fn into_invite(self, program_ids: Vec<ProgramId>) -> Invite {
        Invite {
            id: InviteId::from_db(self.id),
            token: InviteToken::from_db(self.token),
            account_id: AccountId::from_db(self.account_id),
            program_ids,
            max_uses: self.max_uses,
            uses: self.uses,
            expires_at: self.expires_at,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        }
    }
}

/// How an attempt to enroll a new member through an invite ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewEnrollment {
    /// The member was created and one use taken.
    Created,
    /// The account already has a member with this e-mail address; nothing was written.
    EmailTaken,
    /// The invite was revoked, expired or used up; nothing was written.
    InviteClosed,
}

impl Store {
    /// Inserts an invite with its programs. A token collision (160 random bits: never in
    /// practice) is `Conflict { field: "token" }`.
    pub async fn insert_invite(&self, i: &Invite) -> StoreResult<()> {
        let sql =
            format!("INSERT INTO invites ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        let values = args![
            i.id.as_str(),
            i.token.expose(),
            i.account_id.as_str(),
            i.max_uses,
            i.uses,
            i.expires_at,
            i.created_at,
            i.revoked_at
        ];
        let programs = format!(
            "INSERT INTO invite_programs (invite_id, position, program_id) VALUES {}",
            value_rows(i.program_ids.len(), 3)
        );
        let mut program_values = Vec::with_capacity(i.program_ids.len() * 3);
        for (position, program) in (0i64..).zip(&i.program_ids) {
            program_values.extend(args![i.id.as_str(), position, program.as_str()]);
        }
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(&sql, &values).await?;
            tx.execute(&programs, &program_values).await?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict { field: "token" }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_invite(&self, id: &InviteId) -> StoreResult<Invite> {
        self.invite_where("id", id.as_str()).await
    }

    /// The invite whose link carries `token`.
    pub async fn find_invite_by_token(&self, token: &InviteToken) -> StoreResult<Invite> {
        self.invite_where("token", token.expose()).await
    }

    async fn invite_where(&self, column: &str, value: &str) -> StoreResult<Invite> {
        let sql = format!("SELECT {COLUMNS} FROM invites WHERE {column} = $1");
        let row: Option<InviteRow> =
            read!(self, pool => sqlx::query_as(&sql).bind(value).fetch_optional(pool).await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        let mut programs = self.invite_programs(&[row.id.as_str()]).await?;
        let ids = programs.pop().map(|(_, ids)| ids).unwrap_or_default();
        Ok(row.into_invite(ids))
    }

    /// The invites of `account`, oldest first.
    pub async fn list_invites(
        &self,
        account: &AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Invite>> {
        self.invites_page(Some(account), after, limit).await
    }

    /// The invites of `account` (of every account with `None`), oldest first.
    pub(super) async fn invites_page(
        &self,
        account: Option<&AccountId>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Invite>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM invites WHERE ($1 = '' OR account_id = $1) AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows: Vec<InviteRow> = read!(self, pool => sqlx::query_as(&sql)
            .bind(account.map_or("", AccountId::as_str))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut programs = self.invite_programs(&ids).await?.into_iter().peekable();
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let ids = match programs.next_if(|(invite, _)| *invite == row.id) {
                Some((_, ids)) => ids,
                None => Vec::new(),
            };
            items.push(row.into_invite(ids));
        }
        Ok(Page::from_rows(items, limit, |i: &Invite| i.id.to_string()))
    }

    /// The program ids of each of `invites` that has any, ordered by invite id, each list in
    /// the admin's order.
    async fn invite_programs(
        &self,
        invites: &[&str],
    ) -> StoreResult<Vec<(String, Vec<ProgramId>)>> {
        if invites.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT invite_id, program_id FROM invite_programs WHERE invite_id IN ({}) \
             ORDER BY invite_id, position",
            placeholders(1, invites.len())
        );
        let rows: Vec<(String, String)> = read!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for id in invites {
                q = q.bind(*id);
            }
            q.fetch_all(pool).await
        })?;
        let mut grouped: Vec<(String, Vec<ProgramId>)> = Vec::new();
        for (invite, program) in rows {
            match grouped.last_mut() {
                Some((last, ids)) if *last == invite => ids.push(ProgramId::from_db(program)),
                _ => grouped.push((invite, vec![ProgramId::from_db(program)])),
            }
        }
        Ok(grouped)
    }

    /// Revokes the invite (from `at`); revoking it again changes nothing.
    pub async fn revoke_invite(&self, id: &InviteId, at: DateTime<Utc>) -> StoreResult<Invite> {
        let sql = "UPDATE invites SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        self.execute(sql, &args![id.as_str(), at]).await?;
        self.get_invite(id).await
    }

    /// Creates `member` through invite `invite` at `at`, taking one of its uses, and records
    /// the member's consent — all or nothing. The member is inserted first, so an e-mail
    /// address the account already has ends it before a use is taken; on PostgreSQL a second
    /// concurrent enrollment with the same address waits for the first and then finds it.
    pub async fn enroll_new_member(
        &self,
        invite: &InviteId,
        member: &Member,
        at: DateTime<Utc>,
    ) -> StoreResult<NewEnrollment> {
        let insert = format!("{} ON CONFLICT DO NOTHING", super::members::INSERT);
        let values = super::members::member_values(member);
        let mut tx = self.begin().await?;
        if tx.execute(&insert, &values).await? == 0 {
            return Ok(NewEnrollment::EmailTaken);
        }
        if tx.execute(TAKE_USE, &args![invite.as_str(), at]).await? == 0 {
            return Ok(NewEnrollment::InviteClosed);
        }
        tx.execute(CONSENT, &args![invite.as_str(), member.id.as_str(), at])
            .await?;
        tx.commit().await?;
        Ok(NewEnrollment::Created)
    }

    /// Records that an existing member consented through `invite` at `at`; the first consent
    /// through an invite is the one kept.
    pub async fn record_consent(
        &self,
        invite: &InviteId,
        member: &MemberId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(CONSENT, &args![invite.as_str(), member.as_str(), at])
            .await?;
        Ok(())
    }
}

const CONSENT: &str = "INSERT INTO enrollments (invite_id, member_id, consented_at) \
    VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
