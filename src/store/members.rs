//! Members (decision-makers of an account): create, read, list per account, update. E-mail
//! addresses and ERP contact ids are unique within an account.

use super::cards::bump_cards;
use super::rows::{MemberRow, Page};
use super::tx::{Arg, On, args};
use super::{Store, StoreError, StoreResult, is_unique_violation, read, write};
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::model::Member;

const COLUMNS: &str =
    "id, account_id, name, role, email, phone, external_id, created_at, updated_at";

/// The unique keys a member is found by within its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKey {
    /// The ERP's contact id.
    ExternalId,
    /// The normalised e-mail address.
    Email,
}

/// The form of an e-mail address that uniqueness is checked on.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The statement that inserts a member, its parameters bound by [`member_values`].
pub(super) const INSERT: &str = "INSERT INTO members (id, account_id, name, role, email, email_norm, phone, external_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The parameters of [`INSERT`] for `m`.
pub(super) fn member_values(m: &Member) -> [Arg; 10] {
    args![
        m.id.as_str(),
        m.account_id.as_str(),
        m.name.as_str(),
        m.role.as_deref(),
        m.email.as_deref(),
        m.email.as_deref().map(normalize_email),
        m.phone.as_deref(),
        m.external_id.as_deref(),
        m.created_at,
        m.updated_at
    ]
}

pub(super) async fn member_by_id(on: On<'_>, id: &MemberId) -> StoreResult<Member> {
    let sql = format!("SELECT {COLUMNS} FROM members WHERE id = $1");
    let row: Option<MemberRow> = on.fetch_optional(&sql, &args![id.as_str()]).await?;
    Ok(row.ok_or(StoreError::NotFound)?.into())
}

/// The member of `account` whose `key` is `value` (see [`Store::find_member`]).
pub(super) async fn find_member(
    on: On<'_>,
    account: &AccountId,
    key: MemberKey,
    value: &str,
) -> StoreResult<Member> {
    let (column, value) = match key {
        MemberKey::ExternalId => ("external_id", value.to_owned()),
        MemberKey::Email => ("email_norm", normalize_email(value)),
    };
    let sql = format!("SELECT {COLUMNS} FROM members WHERE account_id = $1 AND {column} = $2");
    let row: Option<MemberRow> = on
        .fetch_optional(&sql, &args![account.as_str(), value])
        .await?;
    Ok(row.ok_or(StoreError::NotFound)?.into())
}

impl Store {
    pub async fn insert_member(&self, m: &Member) -> StoreResult<()> {
        match self.execute(INSERT, &member_values(m)).await {
            Ok(_) => Ok(()),
            Err(StoreError::Database(e)) if is_unique_violation(&e) => {
                Err(self.member_conflict(m).await)
            }
            Err(e) => Err(e),
        }
    }

    /// Finds which unique field of `m` collided, after the database refused it.
    async fn member_conflict(&self, m: &Member) -> StoreError {
        let sql =
            "SELECT COUNT(*) FROM members WHERE account_id = $1 AND id <> $2 AND email_norm = $3";
        let email = m.email.as_deref().map(normalize_email);
        let taken: Result<i64, sqlx::Error> = read!(self, pool => sqlx::query_scalar(sql)
            .bind(m.account_id.as_str())
            .bind(m.id.as_str())
            .bind(email)
            .fetch_one(pool)
            .await);
        match taken {
            Ok(n) if n > 0 => StoreError::Conflict { field: "email" },
            Ok(_) => StoreError::Conflict {
                field: "external_id",
            },
            Err(e) => e.into(),
        }
    }

    pub async fn get_member(&self, id: &MemberId) -> StoreResult<Member> {
        member_by_id(On::Pool(self), id).await
    }

    /// The member of `account` whose ERP contact id or e-mail address (compared normalised)
    /// is `value`.
    pub async fn find_member(
        &self,
        account: &crate::domain::ids::AccountId,
        column: MemberKey,
        value: &str,
    ) -> StoreResult<Member> {
        find_member(On::Pool(self), account, column, value).await
    }

    pub async fn list_members(
        &self,
        account: &AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Member>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM members WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows: Vec<MemberRow> = read!(self, pool => sqlx::query_as(&sql)
            .bind(account.as_str())
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        let items = rows.into_iter().map(Member::from).collect();
        Ok(Page::from_rows(items, limit, |m: &Member| m.id.to_string()))
    }

    /// Saves `m`; when `cards_change` (the name on them changed) their versions move on.
    pub async fn update_member(&self, m: &Member, cards_change: bool) -> StoreResult<()> {
        let sql = "UPDATE members SET name = $2, role = $3, email = $4, email_norm = $5, phone = $6, external_id = $7, updated_at = $8 WHERE id = $1";
        let result: Result<bool, sqlx::Error> = write!(self, pool => async {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(sql)
                .bind(m.id.as_str())
                .bind(&m.name)
                .bind(&m.role)
                .bind(&m.email)
                .bind(m.email.as_deref().map(normalize_email))
                .bind(&m.phone)
                .bind(&m.external_id)
                .bind(m.updated_at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            if cards_change {
                bump_cards!(tx, "member_id", m.id.as_str());
            }
            tx.commit().await?;
            Ok(true)
        }.await);
        self.wake_dispatchers();
        match result {
            Ok(false) => Err(StoreError::NotFound),
            Ok(true) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(self.member_conflict(m).await),
            Err(e) => Err(e.into()),
        }
    }
}
