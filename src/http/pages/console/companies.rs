//! `/console/companies`: client companies listed and searched (name, ERP number), a new
//! company's form, and a company's page: its totals, decision-makers with their cards and
//! balances, recent orders and invites. Forms go through `console.js` to the admin API.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::companies_texts::CompanyTexts;
use super::forms::{FormTexts, not_found, open_admin, store_failed};
use super::{Console, Section};
use crate::domain::balance::Balance;
use crate::domain::card::CardBundle;
use crate::domain::i18n::{self, Lang};
use crate::domain::ids::AccountId;
use crate::domain::model::{Account, CardStatus, Member};
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

/// A card as the console shows it: its program, status and balance in words.
pub struct CardView {
    pub id: String,
    pub program: String,
    pub code: String,
    pub status: &'static str,
    pub status_text: &'static str,
    pub balance: String,
    /// `stamps` for a stamp card (adjusted in stamps), else `money`.
    pub unit: &'static str,
    pub currency: String,
    /// Its latest manual adjustments: (date, amount, author, reason); filled on the person's page.
    pub adjustments: Vec<(String, String, String, String)>,
}

/// What a balance amounts to, in one line: "Silver 5% · spend 11,000.00 EUR", "30.00 EUR".
pub fn balance_text(lang: Lang, t: &CompanyTexts, b: &CardBundle) -> String {
    let money = |minor: i64| i18n::money(lang, Money::new(minor, b.program.currency));
    match &b.balance {
        Balance::Discount(d) => format!(
            "{} · {} {}",
            i18n::percent(d.percent_bps),
            t.spend,
            money(d.spend_minor)
        ),
        Balance::CumulativeDiscount(d) => format!(
            "{} {} · {} {}",
            d.tier,
            i18n::percent(d.percent_bps),
            t.spend,
            money(d.spend_minor)
        ),
        Balance::Cashback(d) => money(d.cashback_minor),
        Balance::Stamp(d) => format!(
            "{}/{} {} · {} {}",
            d.stamps, d.stamps_required, t.stamps, d.rewards_available, t.rewards
        ),
    }
}

pub fn status_text(t: &CompanyTexts, s: CardStatus) -> &'static str {
    match s {
        CardStatus::Active => t.active,
        CardStatus::Suspended => t.suspended,
        CardStatus::Revoked => t.revoked,
    }
}

pub fn card_view(lang: Lang, t: &CompanyTexts, b: &CardBundle) -> CardView {
    CardView {
        id: b.card.id.to_string(),
        program: b.program.name.clone(),
        code: b.card.code.display(),
        status: b.card.status.as_str(),
        status_text: status_text(t, b.card.status),
        balance: balance_text(lang, t, b),
        unit: match b.balance {
            Balance::Stamp(_) => "stamps",
            _ => "money",
        },
        currency: b.program.currency.code().to_owned(),
        adjustments: Vec::new(),
    }
}

/// An adjustment's amount in the card's unit: "+5.00 EUR", "-2 stamps".
pub fn adjustment_amount(lang: Lang, t: &CompanyTexts, b: &CardBundle, amount: i64) -> String {
    let sign = if amount > 0 { "+" } else { "" };
    match b.balance {
        Balance::Stamp(_) => format!("{sign}{amount} {}", t.stamps),
        _ => format!(
            "{sign}{}",
            i18n::money(lang, Money::new(amount, b.program.currency))
        ),
    }
}

/// The cards of `member`, each with its balance.
pub async fn cards_of(
    state: &AppState,
    lang: Lang,
    t: &CompanyTexts,
    member: &Member,
) -> StoreResult<Vec<CardView>> {
    let mut views = Vec::new();
    for card in state.store.member_cards(&member.id).await? {
        let bundle = state.store.card_bundle(card).await?;
        views.push(card_view(lang, t, &bundle));
    }
    Ok(views)
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
    companies: Vec<Account>,
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
    let mut companies = match found {
        Ok(found) => found,
        Err(e) => return store_failed(e),
    };
    companies.sort_by_key(|a| a.name.to_lowercase());
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

async fn company_page(
    state: &AppState,
    c: Console,
    lang: Lang,
    id: &AccountId,
) -> StoreResult<CompanyPage> {
    let t = CompanyTexts::of(lang);
    let account = state.store.get_account(id).await?;
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
    let totals = state
        .store
        .account_totals(id)
        .await?
        .into_iter()
        .map(|s| (money_text(lang, s.net_minor, &s.currency), s.orders))
        .collect();
    let orders = state
        .store
        .account_orders(id, 20)
        .await?
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
        .collect();
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
