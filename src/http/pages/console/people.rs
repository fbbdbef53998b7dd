//! `/console/companies/{id}/members/{member_id}`: one decision-maker: their details, their
//! cards with balances and the actions on them (suspend, reactivate, revoke, a manual
//! adjustment with a reason), a new card, their cards by e-mail, and erasure.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::card_views::{CardView, adjustment_amount, card_view};
use super::companies_texts::CompanyTexts;
use super::forms::{FormTexts, not_found, open_admin, store_failed};
use super::{Console, Section};
use crate::domain::i18n::{self, Lang};
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::model::{Account, Member, ProgramStatus};
use crate::http::extract::AppPath;
use crate::http::pages::{RequestParts, render};
use crate::state::AppState;
use crate::store::StoreResult;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/console/companies/{id}/members/{member_id}",
        get(show_member),
    )
}

#[derive(Template)]
#[template(path = "console/member.html")]
struct MemberPage {
    c: Console,
    t: &'static CompanyTexts,
    f: &'static FormTexts,
    lang: &'static str,
    account: Account,
    member: Member,
    role: String,
    email: String,
    phone: String,
    erp: String,
    erased: bool,
    cards: Vec<CardView>,
    /// Active programs the person holds no card of: (id, name).
    programs: Vec<(String, String)>,
}

async fn show_member(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath((account, member)): AppPath<(String, String)>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Companies).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let (Some(account), Some(member)) = (AccountId::parse(&account), MemberId::parse(&member))
    else {
        return not_found();
    };
    match member_page(&state, c, lang, &account, &member).await {
        Ok(Some(page)) => render(&page),
        Ok(None) => not_found(),
        Err(e) => store_failed(e),
    }
}

/// The person's cards, each with its latest manual adjustments.
async fn cards_with_adjustments(
    state: &AppState,
    lang: Lang,
    t: &CompanyTexts,
    member: &Member,
) -> StoreResult<Vec<CardView>> {
    let mut cards = Vec::new();
    for card in state.store.member_cards(&member.id).await? {
        let adjustments = state.store.card_adjustments(&card.id, 10).await?;
        let bundle = state.store.card_bundle(card).await?;
        let mut view = card_view(lang, t, &bundle);
        view.adjustments = adjustments
            .into_iter()
            .map(|a| {
                (
                    i18n::date(lang, a.created_at, bundle.program.time_zone),
                    adjustment_amount(lang, t, &bundle, a.amount),
                    a.author,
                    a.reason,
                )
            })
            .collect();
        cards.push(view);
    }
    Ok(cards)
}

async fn member_page(
    state: &AppState,
    c: Console,
    lang: Lang,
    account: &AccountId,
    member: &MemberId,
) -> StoreResult<Option<MemberPage>> {
    let t = CompanyTexts::of(lang);
    let member = state.store.get_member(member).await?;
    if member.account_id != *account {
        return Ok(None);
    }
    let account = state.store.get_account(account).await?;
    let cards = cards_with_adjustments(state, lang, t, &member).await?;
    let held: Vec<String> = state
        .store
        .member_cards(&member.id)
        .await?
        .into_iter()
        .map(|c| c.program_id.to_string())
        .collect();
    let programs = state
        .store
        .list_programs(None, 500)
        .await?
        .items
        .into_iter()
        .filter(|p| p.status == ProgramStatus::Active && !held.contains(&p.id.to_string()))
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    Ok(Some(MemberPage {
        erased: state.store.member_erased_at(&member.id).await?.is_some(),
        c,
        t,
        f: FormTexts::of(lang),
        lang: lang.tag(),
        role: member.role.clone().unwrap_or_default(),
        email: member.email.clone().unwrap_or_default(),
        phone: member.phone.clone().unwrap_or_default(),
        erp: member.external_id.clone().unwrap_or_default(),
        account,
        member,
        cards,
        programs,
    }))
}
