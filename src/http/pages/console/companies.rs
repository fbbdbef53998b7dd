//! `/console/companies`: client companies listed and searched (name, ERP number), a new
//! company's form, and a company's page: its totals, decision-makers with their cards and
//! balances, recent orders and invites. Forms go through `console.js` to the admin API.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::card_views::{CardView, cards_of};
use super::companies_texts::CompanyTexts;
use super::forms::{FormTexts, not_found, open_admin, store_failed};
use super::{Console, Section};
use crate::domain::i18n::{self, Lang};
use crate::domain::ids::AccountId;
use crate::domain::model::Account;
use crate::domain::money::{Currency, Money};
use crate::http::extract::{AppPath, AppQuery};
use crate::http::pages::{RequestParts, render};
use crate::state::AppState;
use crate::store::StoreResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/companies", get(list_companies))
        .route("/console/companies/new", get(new_company))
        .route("/console/companies/{id}", get(show_company))
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "console/companies.html")]
struct CompaniesPage {
    c: Console,
    t: &'static CompanyTexts,
    q: String,
    /// Each company with how many people it has and how many cards they hold.
    companies: Vec<(Account, i64, i64)>,
}

async fn list_companies(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppQuery(query): AppQuery<SearchQuery>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Companies).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let q = query.q.unwrap_or_default().trim().to_owned();
    let found = if q.is_empty() {
        state.store.list_accounts(None, 500).await.map(|p| p.items)
    } else {
        state.store.search_accounts(&q, 200).await
    };
    let (mut found, counts) = match (found, state.store.account_counts().await) {
        (Ok(found), Ok(counts)) => (found, counts),
        (Err(e), _) | (_, Err(e)) => return store_failed(e),
    };
    found.sort_by_key(|a| a.name.to_lowercase());
    let companies = found
        .into_iter()
        .map(|a| {
            let n = counts.iter().find(|n| n.account_id == a.id.as_str());
            let (people, cards) = n.map_or((0, 0), |n| (n.people, n.cards));
            (a, people, cards)
        })
        .collect();
    let t = CompanyTexts::of(lang);
    render(&CompaniesPage { c, t, q, companies })
}

#[derive(Template)]
#[template(path = "console/company_new.html")]
struct NewCompanyPage {
    c: Console,
    t: &'static CompanyTexts,
    f: &'static FormTexts,
    name_value: String,
    erp_value: String,
}

async fn new_company(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    match open_admin(&parts, &state, Section::Companies).await {
        Ok((c, lang)) => render(&NewCompanyPage {
            c,
            t: CompanyTexts::of(lang),
            f: FormTexts::of(lang),
            name_value: String::new(),
            erp_value: String::new(),
        }),
        Err(r) => r,
    }
}

pub struct PersonView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub email: String,
    pub erased: bool,
    pub cards: Vec<CardView>,
}

pub struct OrderView {
    pub date: String,
    pub external_id: String,
    pub person: String,
    pub amount: String,
    pub refunded: String,
}

pub struct InviteLink {
    pub id: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "console/company.html")]
struct CompanyPage {
    c: Console,
    t: &'static CompanyTexts,
    f: &'static FormTexts,
    account: Account,
    name_value: String,
    erp_value: String,
    /// Per currency: the net amount and how many orders.
    totals: Vec<(String, i64)>,
    people: Vec<PersonView>,
    orders: Vec<OrderView>,
    invites: Vec<InviteLink>,
}

fn money_text(lang: Lang, minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Some(c) => i18n::money(lang, Money::new(minor, c)),
        None => format!("{minor} {currency}"),
    }
}

async fn show_company(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Companies).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let Some(id) = AccountId::parse(&id) else {
        return not_found();
    };
    match company_page(&state, c, lang, &id).await {
        Ok(page) => render(&page),
        Err(e) => store_failed(e),
    }
}

/// The company's people, each with their cards.
async fn people_of(
    state: &AppState,
    lang: Lang,
    t: &CompanyTexts,
    id: &AccountId,
) -> StoreResult<Vec<PersonView>> {
    let mut people = Vec::new();
    for m in state.store.list_members(id, None, 500).await?.items {
        people.push(PersonView {
            cards: cards_of(state, lang, t, &m).await?,
            id: m.id.to_string(),
            erased: state.store.member_erased_at(&m.id).await?.is_some(),
            role: m.role.unwrap_or_default(),
            email: m.email.unwrap_or_default(),
            name: m.name,
        });
    }
    Ok(people)
}

/// The company's latest orders, as money.
async fn orders_of(state: &AppState, lang: Lang, id: &AccountId) -> StoreResult<Vec<OrderView>> {
    let orders = state.store.account_orders(id, 20).await?;
    Ok(orders
        .into_iter()
        .map(|o| OrderView {
            date: i18n::date(lang, o.placed_at, chrono_tz::UTC),
            person: o.member_name.unwrap_or_default(),
            amount: money_text(lang, o.amount_minor, &o.currency),
            refunded: match o.refunded_minor {
                0 => String::new(),
                r => money_text(lang, r, &o.currency),
            },
            external_id: o.external_id,
        })
        .collect())
}

async fn company_page(
    state: &AppState,
    c: Console,
    lang: Lang,
    id: &AccountId,
) -> StoreResult<CompanyPage> {
    let t = CompanyTexts::of(lang);
    let account = state.store.get_account(id).await?;
    let people = people_of(state, lang, t, id).await?;
    let totals = state
        .store
        .account_totals(id)
        .await?
        .into_iter()
        .map(|s| (money_text(lang, s.net_minor, &s.currency), s.orders))
        .collect();
    let orders = orders_of(state, lang, id).await?;
    let invites = state
        .store
        .list_invites(id, None, 100)
        .await?
        .items
        .into_iter()
        .rev()
        .map(|i| InviteLink {
            summary: super::invites::invite_summary(lang, &i),
            id: i.id.to_string(),
        })
        .collect();
    Ok(CompanyPage {
        c,
        t,
        f: FormTexts::of(lang),
        name_value: account.name.clone(),
        erp_value: account.external_id.clone().unwrap_or_default(),
        account,
        totals,
        people,
        orders,
        invites,
    })
}
