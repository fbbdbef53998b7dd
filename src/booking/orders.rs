//! Booking an order into every program that takes it, for the holder each program's scope
//! names, with the answer that lists what the order did to each.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::caller::{self, Caller};
use super::checks::{check_amount, check_external_id};
use super::keyed::Key;
use super::lookups::{account_required, order_people, order_programs};
use super::{Booked, BookingError, NewOrder, changes_json};
use crate::audit::{Action, Actor, AuditEntry};
use crate::domain::codes::CardCode;
use crate::domain::ids::{AccountId, OrderId};
use crate::domain::ledger;
use crate::domain::model::{BalanceScope, Member, Program};
use crate::domain::money::{Bps, Currency, check_minor};
use crate::store::{
    Holder, HolderChange, KeyedTable, OrderRecord, Store, Target, normalize_email, now,
};

/// Books an order of `by`, in its key space (an operator's default is `erp`).
pub async fn book_order(store: &Store, o: NewOrder, by: &Actor) -> Result<Booked, BookingError> {
    let caller = Caller::of_role(by.role);
    let source = caller.source(o.source.as_deref(), "erp")?;
    check_external_id(&o.external_id)?;
    let placed_at = caller.placed_at(o.placed_at.as_deref(), now());
    let key = Key::new(
        (KeyedTable::Orders, "order"),
        &[source.as_str(), o.external_id.as_str()],
        &normalized(&o),
    );
    // A repeated key comes first. Its look-up is needed only when this request would fail:
    // one that would succeed claims the key by the unique constraint at commit, and a replay
    // is recognised there (`Key::finish`), so the happy path does not pay for it.
    match book_new_order(store, &o, (&source, &key), placed_at, by).await {
        Err(e) if e.is_refusal() => match key.stored(store).await? {
            Some(replayed) => Ok(replayed),
            None => Err(e),
        },
        booked => booked,
    }
}

/// The order as "the same body" compares it: ids as sent, the card code and e-mail address
/// normalised, `placed_at` as an instant.
fn normalized(o: &NewOrder) -> Value {
    json!({
        "account_id": o.account_id, "account_external_id": o.account_external_id,
        "member_id": o.member_id, "member_external_id": o.member_external_id,
        "member_email": o.member_email.as_deref().map(normalize_email),
        "card_code": o.card_code.as_deref().map(|c| {
            CardCode::parse(c).map_or_else(|| c.to_owned(), |code| code.as_str().to_owned())
        }),
        "program_id": o.program_id, "amount_minor": o.amount_minor, "currency": o.currency,
        // A desk's order without `placed_at` is dated on arrival; its replay is the same body,
        // as is a replay after the desk's window has passed.
        "placed_at": match o.placed_at.as_deref().map(|raw| (raw, caller::parse_instant(raw))) {
            None => Value::Null,
            Some((_, Some(t))) => json!(t.timestamp_micros()),
            Some((raw, None)) => json!(raw),
        },
        "cashback_redeemed_minor": o.cashback_redeemed_minor.unwrap_or(0),
    })
}

/// The order's own fields, checked: its currency, when it was placed and the cashback it
/// redeems.
fn check_fields(
    o: &NewOrder,
    placed_at: Result<DateTime<Utc>, BookingError>,
) -> Result<(Currency, DateTime<Utc>, i64), BookingError> {
    check_amount("amount_minor", o.amount_minor)?;
    let currency = Currency::parse(&o.currency).ok_or_else(|| {
        BookingError::invalid("invalid_currency", "currency", "must be an ISO 4217 code")
    })?;
    let placed_at = placed_at?;
    let redeemed = check_minor(
        "cashback_redeemed_minor",
        o.cashback_redeemed_minor.unwrap_or(0),
    )?;
    if redeemed < 0 {
        return Err(BookingError::invalid(
            "invalid_amount",
            "cashback_redeemed_minor",
            "must not be negative",
        ));
    }
    if o.account_id.is_none() && o.account_external_id.is_none() {
        return Err(account_required());
    }
    Ok((currency, placed_at, redeemed))
}

/// Books an order whose key is not known to be taken, checking in the order the rules fix.
async fn book_new_order(
    store: &Store,
    o: &NewOrder,
    (source, key): (&str, &Key<'_>),
    placed_at: Result<DateTime<Utc>, BookingError>,
    by: &Actor,
) -> Result<Booked, BookingError> {
    let fields = check_fields(o, placed_at)?;
    let result = store
        .retrying(|| book_in_one_transaction(store, o, (source, key), fields, by))
        .await;
    key.finish(store, result).await
}

/// The order's look-ups and its booking, in one transaction; run again whole when it loses a
/// race the database resolved by aborting it.
async fn book_in_one_transaction(
    store: &Store,
    o: &NewOrder,
    (source, key): (&str, &Key<'_>),
    (currency, placed_at, redeemed): (Currency, DateTime<Utc>, i64),
    by: &Actor,
) -> Result<Value, BookingError> {
    let mut tx = store.begin_booking().await?;
    let (account_id, member, card) = order_people(&mut tx, o).await?;
    let mut programs = order_programs(&mut tx, o, currency).await?;
    if let (Some(card), None, true) = (&card, &o.program_id, redeemed > 0) {
        // A scanned card's redemption belongs to the card's program.
        programs.retain(|p| p.id == card.program_id);
    }
    ledger::check_redemption(redeemed, programs.iter().map(|p| &p.rules))?;
    let targets = targets(programs, &account_id, member.as_ref())?;
    let record = OrderRecord {
        id: OrderId::generate().to_string(),
        source: source.to_owned(),
        external_id: o.external_id.clone(),
        account_id: account_id.to_string(),
        member_id: member.as_ref().map(|m| m.id.to_string()),
        card_id: card.as_ref().map(|c| c.id.to_string()),
        program_id: o.program_id.clone(),
        amount_minor: o.amount_minor,
        currency: currency.code().to_owned(),
        placed_at,
        cashback_redeemed_minor: redeemed,
        fingerprint: key.print().to_owned(),
    };
    let respond = |changes: &[HolderChange]| order_response(&record, changes);
    let audit = order_audit(&record, by);
    Ok(tx.book_order(&record, &targets, respond, &audit).await?)
}

/// The trail's line of a booked order.
fn order_audit(o: &OrderRecord, by: &Actor) -> AuditEntry {
    let mut entry = by
        .did(
            Action::OrderBooked,
            format!("order:{}/{}", o.source, o.external_id),
        )
        .account(&o.account_id)
        .details(
            json!({"amount_minor": o.amount_minor, "currency": o.currency,
                        "cashback_redeemed_minor": o.cashback_redeemed_minor,
                        "member_id": o.member_id, "desk": by.desk}),
        );
    entry.card_id.clone_from(&o.card_id);
    entry
}

/// The program and holder each program books the order for; a program that keeps balances
/// per member needs the member.
fn targets(
    programs: Vec<Program>,
    account_id: &AccountId,
    member: Option<&Member>,
) -> Result<Vec<Target>, BookingError> {
    let mut targets = Vec::with_capacity(programs.len());
    for p in programs {
        if p.balance_scope == BalanceScope::Member && member.is_none() {
            return Err(BookingError::invalid(
                "member_required",
                "member_id",
                format!(
                    "program {} keeps balances per member: name the member or scan the card",
                    p.id
                ),
            ));
        }
        let holder = Holder::of(&p, account_id, member.map(|m| &m.id));
        targets.push(Target { program: p, holder });
    }
    Ok(targets)
}

fn order_response(o: &OrderRecord, changes: &[HolderChange]) -> Value {
    let applied = changes
        .iter()
        .filter_map(|c| c.outcome.applied_percent_bps)
        .max()
        .map(|b: Bps| b.0);
    let programs: Vec<Value> = changes.iter().map(program_response).collect();
    let mut body = json!({
        "order": {
            "id": o.id, "external_id": o.external_id, "source": o.source,
            "account_id": o.account_id, "member_id": o.member_id, "card_id": o.card_id,
            "amount_minor": o.amount_minor, "currency": o.currency, "placed_at": o.placed_at,
            "cashback_redeemed_minor": o.cashback_redeemed_minor,
        },
        "programs": programs,
        "cards": changes_json(changes),
    });
    if let Some(a) = applied {
        body["applied_percent_bps"] = json!(a);
    }
    body
}

/// What the order did in one program.
fn program_response(c: &HolderChange) -> Value {
    let mut v = json!({"program_id": c.program_id, "holder": c.holder, "balance": c.balance});
    if let Some(b) = c.outcome.applied_percent_bps {
        v["applied_percent_bps"] = json!(b.0);
    }
    if c.outcome.earned_minor > 0 {
        v["cashback_earned_minor"] = json!(c.outcome.earned_minor);
    }
    if c.outcome.stamps_earned > 0 {
        v["stamps_earned"] = json!(c.outcome.stamps_earned);
    }
    v
}
