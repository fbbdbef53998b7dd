//! How the console shows a card: its program, status and balance in words, and its manual
//! adjustments in the card's unit (money of the program's currency, or stamps).

use super::companies_texts::CompanyTexts;
use crate::domain::balance::Balance;
use crate::domain::card::CardBundle;
use crate::domain::i18n::{self, Lang};
use crate::domain::model::{CardStatus, Member};
use crate::domain::money::Money;
use crate::state::AppState;
use crate::store::StoreResult;

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
