//! `/accounts` (client companies) and their members (decision-makers).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ListPage, ListQuery, optional_text, text};
use crate::domain::contact;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::model::{Account, Member};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;
use crate::store::{StoreError, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list_accounts).post(create_account))
        .route("/accounts/{id}", get(get_account).patch(update_account))
        .route("/accounts/{id}/orders", get(list_account_orders))
        .route(
            "/accounts/{id}/members",
            get(list_members).post(create_member),
        )
        .route(
            "/members/{id}",
            get(get_member)
                .patch(update_member)
                .delete(super::privacy::erase_member),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    name: String,
    /// The ERP's customer number.
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    name: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AccountBody {
    id: String,
    name: String,
    external_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Account> for AccountBody {
    fn from(a: Account) -> Self {
        AccountBody {
            id: a.id.to_string(),
            name: a.name,
            external_id: a.external_id,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    name: String,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// The ERP's contact id.
    external_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    name: Option<String>,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MemberBody {
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

impl From<Member> for MemberBody {
    fn from(m: Member) -> Self {
        MemberBody {
            id: m.id.to_string(),
            account_id: m.account_id.to_string(),
            name: m.name,
            role: m.role,
            email: m.email,
            phone: m.phone,
            external_id: m.external_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { field } => ApiError::conflict(
            "conflict",
            format!("another record already uses this `{field}`"),
        )
        .field(field),
        other => other.into(),
    }
}

fn email(value: Option<&str>) -> ApiResult<Option<String>> {
    Ok(contact::email("email", value)?)
}

fn phone(value: Option<&str>) -> ApiResult<Option<String>> {
    Ok(contact::phone("phone", value)?)
}

pub(super) async fn load_account(state: &AppState, id: &str) -> ApiResult<Account> {
    let id = AccountId::parse(id).ok_or_else(|| ApiError::not_found("account"))?;
    match state.store.get_account(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::not_found("account")),
        other => Ok(other?),
    }
}

pub(super) async fn load_member(state: &AppState, id: &str) -> ApiResult<Member> {
    let id = MemberId::parse(id).ok_or_else(|| ApiError::not_found("member"))?;
    match state.store.get_member(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::not_found("member")),
        other => Ok(other?),
    }
}

async fn create_account(
    State(state): State<AppState>,
    _: Admin,
    AppJson(body): AppJson<NewAccount>,
) -> ApiResult<(StatusCode, AppJson<AccountBody>)> {
    let at = now();
    let account = Account {
        id: AccountId::generate(),
        name: text("name", &body.name, 200)?,
        external_id: optional_text("external_id", body.external_id.as_deref(), 100)?,
        created_at: at,
        updated_at: at,
    };
    state
        .store
        .insert_account(&account)
        .await
        .map_err(conflict)?;
    Ok((StatusCode::CREATED, AppJson(account.into())))
}

/// `?q=` finds companies by name or ERP number (one page, by name); without it, every
/// company a page at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsQuery {
    q: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

async fn list_accounts(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<AccountsQuery>,
) -> ApiResult<AppJson<ListPage<AccountBody>>> {
    let list = ListQuery {
        limit: q.limit,
        after: q.after,
    };
    let limit = list.limit()?;
    let page = match q.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(text) => crate::store::Page {
            items: state.store.search_accounts(text, limit).await?,
            next_after: None,
        },
        None => {
            state
                .store
                .list_accounts(list.after.as_deref(), limit)
                .await?
        }
    };
    Ok(AppJson(ListPage::map(page, AccountBody::from)))
}

#[derive(Debug, Serialize)]
pub struct AccountOrdersBody {
    /// The latest orders, newest first.
    items: Vec<OrderLine>,
    /// Per currency: how many orders and their amount net of refunds.
    totals: Vec<crate::store::CurrencyTotal>,
}

#[derive(Debug, Serialize)]
pub struct OrderLine {
    external_id: String,
    source: String,
    member_id: Option<String>,
    member_name: Option<String>,
    amount_minor: i64,
    refunded_minor: i64,
    currency: String,
    placed_at: DateTime<Utc>,
}

/// A company's latest orders (`?limit=`, default 50) and its totals.
async fn list_account_orders(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<AccountOrdersBody>> {
    let account = load_account(&state, &id).await?;
    let orders = state.store.account_orders(&account.id, q.limit()?).await?;
    let totals = state.store.account_totals(&account.id).await?;
    let items = orders
        .into_iter()
        .map(|o| OrderLine {
            external_id: o.external_id,
            source: o.source,
            member_id: o.member_id,
            member_name: o.member_name,
            amount_minor: o.amount_minor,
            refunded_minor: o.refunded_minor,
            currency: o.currency,
            placed_at: o.placed_at,
        })
        .collect();
    Ok(AppJson(AccountOrdersBody { items, totals }))
}

async fn get_account(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<AccountBody>> {
    Ok(AppJson(load_account(&state, &id).await?.into()))
}

async fn update_account(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UpdateAccount>,
) -> ApiResult<AppJson<AccountBody>> {
    let mut a = load_account(&state, &id).await?;
    let old_name = a.name.clone();
    if let Some(name) = &body.name {
        a.name = text("name", name, 200)?;
    }
    if body.external_id.is_some() {
        a.external_id = optional_text("external_id", body.external_id.as_deref(), 100)?;
    }
    a.updated_at = now();
    state
        .store
        .update_account(&a, a.name != old_name)
        .await
        .map_err(conflict)?;
    Ok(AppJson(a.into()))
}

async fn create_member(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<NewMember>,
) -> ApiResult<(StatusCode, AppJson<MemberBody>)> {
    let account = load_account(&state, &id).await?;
    let at = now();
    let member = Member {
        id: MemberId::generate(),
        account_id: account.id,
        name: text("name", &body.name, 200)?,
        role: optional_text("role", body.role.as_deref(), 100)?,
        email: email(body.email.as_deref())?,
        phone: phone(body.phone.as_deref())?,
        external_id: optional_text("external_id", body.external_id.as_deref(), 100)?,
        created_at: at,
        updated_at: at,
    };
    state.store.insert_member(&member).await.map_err(conflict)?;
    Ok((StatusCode::CREATED, AppJson(member.into())))
}

async fn list_members(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<MemberBody>>> {
    let account = load_account(&state, &id).await?;
    let page = state
        .store
        .list_members(&account.id, q.after.as_deref(), q.limit()?)
        .await?;
    Ok(AppJson(ListPage::map(page, MemberBody::from)))
}

async fn get_member(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<MemberBody>> {
    Ok(AppJson(load_member(&state, &id).await?.into()))
}

async fn update_member(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UpdateMember>,
) -> ApiResult<AppJson<MemberBody>> {
    let mut m = load_member(&state, &id).await?;
    let old_name = m.name.clone();
    if let Some(name) = &body.name {
        m.name = text("name", name, 200)?;
    }
    if body.role.is_some() {
        m.role = optional_text("role", body.role.as_deref(), 100)?;
    }
    if body.email.is_some() {
        m.email = email(body.email.as_deref())?;
    }
    if body.phone.is_some() {
        m.phone = phone(body.phone.as_deref())?;
    }
    if body.external_id.is_some() {
        m.external_id = optional_text("external_id", body.external_id.as_deref(), 100)?;
    }
    m.updated_at = now();
    state
        .store
        .update_member(&m, m.name != old_name)
        .await
        .map_err(conflict)?;
    Ok(AppJson(m.into()))
}
