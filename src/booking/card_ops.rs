//! What the desk and the admin do on one card: redeem a stamp reward, adjust a balance by
//! hand, and quote an order for a scanned card.

use serde_json::{Value, json};

use super::checks::{check_amount, check_external_id, usable};
use super::keyed::Key;
use super::lookups::{card_by_code, card_by_id};
use super::{Booked, BookingError, Caller, NewAdjustment, NewRedemption, changes_json};
use crate::audit::{Action, Actor, AuditEntry};
use crate::domain::balance::Balance;
use crate::domain::ids::{AdjustmentId, RedemptionId};
use crate::domain::model::{Card, CardStatus};
use crate::domain::money::check_minor;
use crate::domain::rules::Rules;
use crate::store::{CardRequest, CardRequestKind, Holder, HolderChange, KeyedTable, Store, Target};

/// The most stamps one manual adjustment may add or take.
const MAX_STAMP_ADJUSTMENT: u64 = 1_000;

/// The program and holder of a card.
async fn card_target(store: &Store, card: &Card) -> Result<Target, BookingError> {
    let program = store.get_program(&card.program_id).await?;
    let holder = Holder::of(&program, &card.account_id, Some(&card.member_id));
    Ok(Target { program, holder })
}

/// Redeems one stamp reward on a card; in account scope any member's card of the company may.
/// Keyed in `caller`'s space (an operator's default is `desk`, where the desk redeems).
pub async fn redeem_reward(
    store: &Store,
    card_id: &str,
    r: NewRedemption,
    by: &Actor,
) -> Result<Booked, BookingError> {
    let caller = Caller::of_role(by.role);
    let source = caller.source(r.source.as_deref(), "desk")?;
    let card = card_by_id(store, card_id).await?;
    check_external_id(&r.external_id)?;
    let program_id = card.program_id.to_string();
    let key = Key::new(
        (KeyedTable::Redemptions, "redemption"),
        &[program_id.as_str(), source.as_str(), r.external_id.as_str()],
        &json!({"kind": r.kind, "member_id": card.member_id.as_str()}),
    );
    if let Some(replayed) = key.stored(store).await? {
        return Ok(replayed);
    }
    if r.kind != "reward" {
        return Err(BookingError::invalid(
            "invalid_field",
            "kind",
            "only \"reward\" can be redeemed",
        ));
    }
    usable(&card, "card_id")?;
    let request = CardRequest {
        id: RedemptionId::generate().to_string(),
        card_id: card.id.to_string(),
        source: source.clone(),
        external_id: r.external_id.clone(),
        fingerprint: key.print().to_owned(),
        kind: CardRequestKind::Reward {
            member_id: card.member_id.to_string(),
        },
    };
    let summary = json!({"id": request.id, "external_id": request.external_id,
                         "kind": "reward", "card_id": request.card_id});
    let target = card_target(store, &card).await?;
    let audit = card_audit(by, Action::RewardRedeemed, &card)
        .details(json!({"external_id": request.external_id, "desk": by.desk}));
    let booking = ("redemption", summary, &audit);
    book_on_card(store, target, &request, &key, booking).await
}

/// A line of the trail about `card`.
fn card_audit(by: &Actor, action: Action, card: &Card) -> AuditEntry {
    by.did(action, format!("card:{}", card.id))
        .account(&card.account_id)
        .card(&card.id)
}

/// A manual adjustment with author and reason, shown in the history. A signed-in person is
/// the author, whatever the request says; a key's request names one (else the key is).
pub async fn adjust(
    store: &Store,
    card_id: &str,
    mut a: NewAdjustment,
    by: &Actor,
) -> Result<Booked, BookingError> {
    if by.user.is_some() || a.author.trim().is_empty() {
        a.author.clone_from(&by.name);
    }
    let card = card_by_id(store, card_id).await?;
    check_external_id(&a.external_id)?;
    let program_id = card.program_id.to_string();
    let key = Key::new(
        (KeyedTable::Adjustments, "adjustment"),
        &[program_id.as_str(), a.external_id.as_str()],
        &json!({"card": card.id.as_str(), "amount": a.amount, "author": a.author,
                "reason": a.reason}),
    );
    if let Some(replayed) = key.stored(store).await? {
        return Ok(replayed);
    }
    check_adjustment(&a, &card)?;
    let target = card_target(store, &card).await?;
    // Each reward a stamp adjustment unlocks or takes back is a ledger entry of its own.
    let stamps = matches!(target.program.rules, Rules::Stamp(_));
    if stamps && a.amount.unsigned_abs() > MAX_STAMP_ADJUSTMENT {
        return Err(BookingError::invalid(
            "invalid_amount",
            "amount",
            format!("a stamp card is adjusted by at most {MAX_STAMP_ADJUSTMENT} stamps either way"),
        ));
    }
    let (author, reason) = (a.author.trim(), a.reason.trim());
    let request = CardRequest {
        id: AdjustmentId::generate().to_string(),
        card_id: card.id.to_string(),
        source: "admin".into(),
        external_id: a.external_id.clone(),
        fingerprint: key.print().to_owned(),
        kind: CardRequestKind::Adjustment {
            amount: a.amount,
            author: author.to_owned(),
            reason: reason.to_owned(),
        },
    };
    let summary = json!({"id": request.id, "external_id": request.external_id,
                         "amount": a.amount, "author": author, "reason": reason,
                         "card_id": request.card_id});
    let audit = card_audit(by, Action::BalanceAdjusted, &card)
        .details(json!({"amount": a.amount, "reason": reason, "author": author}));
    book_on_card(
        store,
        target,
        &request,
        &key,
        ("adjustment", summary, &audit),
    )
    .await
}

/// An adjustment's own fields, and a card it may still change (a suspended one may be).
fn check_adjustment(a: &NewAdjustment, card: &Card) -> Result<(), BookingError> {
    for (field, text) in [("author", &a.author), ("reason", &a.reason)] {
        if text.trim().is_empty() || text.chars().count() > 500 {
            return Err(BookingError::invalid(
                "invalid_field",
                field,
                "required, at most 500 characters",
            ));
        }
    }
    if check_minor("amount", a.amount)? == 0 {
        return Err(BookingError::invalid(
            "invalid_amount",
            "amount",
            "must not be zero",
        ));
    }
    if card.status == CardStatus::Revoked {
        usable(card, "card_id")?;
    }
    Ok(())
}

/// Books a keyed request on the holder of one card (`target`); the answer carries `summary` under
/// `what` beside the card's new version and balance.
async fn book_on_card(
    store: &Store,
    target: Target,
    request: &CardRequest,
    key: &Key<'_>,
    (what, summary, audit): (&str, Value, &AuditEntry),
) -> Result<Booked, BookingError> {
    let respond = |c: &HolderChange| {
        let mut body = json!({"cards": changes_json(std::slice::from_ref(c))});
        body[what] = summary.clone();
        body
    };
    let result = store.book_on_card(request, &target, respond, audit).await;
    key.finish(store, result).await
}

/// The desk's quote for a scanned card: the discount on a gross amount (rounded half up) and
/// how much cashback may pay for it.
pub async fn quote(
    store: &Store,
    card_code: &str,
    gross_minor: i64,
) -> Result<Value, BookingError> {
    check_amount("gross_minor", gross_minor)?;
    let card = card_by_code(store, card_code).await?;
    usable(&card, "card_code")?;
    let target = card_target(store, &card).await?;
    let balance = store
        .shown_balance(&target.program, target.holder.key())
        .await?;
    let bps = match &balance {
        Balance::Discount(d) => d.percent_bps.0,
        Balance::CumulativeDiscount(c) => c.percent_bps.0,
        _ => 0,
    };
    let discount =
        i64::try_from((i128::from(gross_minor) * i128::from(bps) + 5_000) / 10_000).unwrap_or(0);
    let net = gross_minor - discount;
    let mut body = json!({"card_id": card.id.as_str(), "program_id": card.program_id.as_str(),
        "discount_bps": bps, "discount_minor": discount, "net_minor": net, "balance": balance});
    if let (Balance::Cashback(b), Rules::Cashback(r)) = (&balance, &target.program.rules) {
        body["cashback_allowed_max_minor"] = json!(r.redeemable(b.cashback_minor, net));
    }
    Ok(body)
}
