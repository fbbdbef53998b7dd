//! Rows as the database returns them, and their conversion into domain types. A row that does
//! not convert is reported as corrupt rather than guessed at.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::StoreError;
use crate::domain::codes::{AuthToken, CardCode, SerialNumber};
use crate::domain::ids::{AccountId, CardId, MemberId, ProgramId};
use crate::domain::model::{
    Account, BalanceScope, Branding, Card, CardStatus, Member, Program, ProgramStatus,
};
use crate::domain::money::Currency;
use crate::domain::rules::{Kind, Rules};

/// One page of a list, oldest first; `next_after` continues it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_after = if more { items.last().map(id_of) } else { None };
        Page { items, next_after }
    }
}

fn corrupt(what: &str, id: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} of {id}"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProgramRow {
    id: String,
    name: String,
    kind: String,
    rules: Json<serde_json::Value>,
    currency: String,
    time_zone: String,
    balance_scope: String,
    design: String,
    branding: Json<Branding>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ProgramRow> for Program {
    type Error = StoreError;

    fn try_from(r: ProgramRow) -> Result<Self, StoreError> {
        let kind = Kind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.id))?;
        Ok(Program {
            rules: Rules::parse(kind, &r.rules.0).map_err(|_| corrupt("rules", &r.id))?,
            currency: Currency::parse(&r.currency).ok_or_else(|| corrupt("currency", &r.id))?,
            time_zone: r
                .time_zone
                .parse()
                .map_err(|_| corrupt("time_zone", &r.id))?,
            balance_scope: BalanceScope::parse(&r.balance_scope)
                .ok_or_else(|| corrupt("balance_scope", &r.id))?,
            status: ProgramStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.id))?,
            id: ProgramId::from_db(r.id),
            name: r.name,
            design: r.design,
            branding: r.branding.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    name: String,
    external_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account {
            id: AccountId::from_db(r.id),
            name: r.name,
            external_id: r.external_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    id: String,
    account_id: String,
    name: String,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            id: MemberId::from_db(r.id),
            account_id: AccountId::from_db(r.account_id),
            name: r.name,
            role: r.role,
            email: r.email,
            phone: r.phone,
            external_id: r.external_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    id: String,
    program_id: String,
    member_id: String,
    account_id: String,
    serial: String,
    auth_token: String,
    code: String,
    status: String,
    version: i64,
    updated_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    notify: Option<String>,
    google_object_id: Option<String>,
}

impl TryFrom<CardRow> for Card {
    type Error = StoreError;

    fn try_from(r: CardRow) -> Result<Self, StoreError> {
        Ok(Card {
            status: CardStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.id))?,
            id: CardId::from_db(r.id),
            program_id: ProgramId::from_db(r.program_id),
            member_id: MemberId::from_db(r.member_id),
            account_id: AccountId::from_db(r.account_id),
            serial: SerialNumber::from_db(r.serial),
            auth_token: AuthToken::from_db(r.auth_token),
            code: CardCode::from_db(r.code),
            version: r.version,
            updated_at: r.updated_at,
            created_at: r.created_at,
            notify: r
                .notify
                .as_deref()
                .and_then(crate::domain::face::Notify::parse),
            google_object_id: r.google_object_id,
        })
    }
}
