//! Booking orders, refunds, reward redemptions and adjustments: the one path the admin API,
//! the desk, the ERP webhook and the CSV import share. It checks a request in the order
//! loyalty-rules.md fixes (a repeated key first, then the request's own fields, then look-ups,
//! then limits), resolves who and which programs it concerns, and hands the rest to the store,
//! which writes everything in one transaction.

mod caller;
mod requests;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use caller::Caller;
pub use requests::{NewAdjustment, NewOrder, NewRedemption, NewRefund};

use crate::domain::balance::Balance;
use crate::domain::codes::CardCode;
use crate::domain::ids::{AccountId, CardId, MemberId, ProgramId};
use crate::domain::ledger::LedgerError;
use crate::domain::model::{
    Account, BalanceScope, Card, CardStatus, Member, Program, ProgramStatus,
};
use crate::domain::money::{Bps, Currency, check_minor};
use crate::error::{ApiError, ApiResult};
use crate::store::{
    BookError, CardRequest, CardRequestKind, Holder, HolderChange, KeyedTable, MemberKey,
    OrderRecord, RefundRecord, Store, StoreError, Target, normalize_email, now,
};

/// How a booking went: created (201) or an identical replay of an earlier one (200).
#[derive(Debug)]
pub struct Booked {
    pub status: StatusCode,
    pub body: Value,
}

/// The most stamps one manual adjustment may add or take.
const MAX_STAMP_ADJUSTMENT: u64 = 1_000;

fn unprocessable(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).field(field)
}

fn rejected(e: LedgerError) -> ApiError {
    let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message).field(e.field);
    err.allowed_max = e.allowed_max;
    err
}

/// Replays the stored answer of a key, or refuses a different body under it.
fn replay(stored: crate::store::Keyed, fingerprint: &str, what: &str) -> ApiResult<Booked> {
    if stored.fingerprint != fingerprint {
        return Err(ApiError::conflict(
            "idempotency_conflict",
            format!("this external_id was already used for a different {what}"),
        )
        .field("external_id"));
    }
    let body = serde_json::from_str(&stored.response)
        .map_err(|e| ApiError::internal(&StoreError::Corrupt(format!("stored response: {e}"))))?;
    Ok(Booked {
        status: StatusCode::OK,
        body,
    })
}

/// Maps what the store says into the API's answer; a lost race for the key replays.
async fn finish(
    store: &Store,
    result: Result<Value, BookError>,
    (table, key, fingerprint, what): (KeyedTable, &[&str], &str, &str),
) -> ApiResult<Booked> {
    match result {
        Ok(body) => Ok(Booked {
            status: StatusCode::CREATED,
            body,
        }),
        Err(BookError::Rejected(e)) => Err(rejected(e)),
        Err(BookError::Duplicate) => match store.keyed(table, key).await? {
            Some(s) => replay(s, fingerprint, what),
            None => Err(ApiError::conflict(
                "retry",
                "a concurrent request with this external_id was rolled back; retry",
            )),
        },
        Err(BookError::Store(e)) => Err(e.into()),
    }
}

fn check_amount(field: &str, amount: i64) -> ApiResult<()> {
    if check_minor(field, amount)? <= 0 {
        return Err(unprocessable(
            "invalid_amount",
            field,
            "must be a positive amount in minor units",
        ));
    }
    Ok(())
}

fn check_external_id(id: &str) -> ApiResult<()> {
    if id.trim().is_empty() || id.len() > 200 {
        return Err(unprocessable(
            "invalid_field",
            "external_id",
            "must be 1–200 characters",
        ));
    }
    Ok(())
}

fn not_found(what: &str, field: &str) -> ApiError {
    ApiError::not_found(what).field(field)
}

/// A look-up's result, a missing row answered as 404 naming `what` and the request's `field`.
fn found<T>(result: Result<T, StoreError>, what: &str, field: &str) -> ApiResult<T> {
    match result {
        Err(StoreError::NotFound) => Err(not_found(what, field)),
        other => Ok(other?),
    }
}

async fn program(store: &Store, id: &str, field: &str) -> ApiResult<Program> {
    let id = ProgramId::parse(id).ok_or_else(|| not_found("program", field))?;
    found(store.get_program(&id).await, "program", field)
}

async fn card_by_code(store: &Store, code: &str) -> ApiResult<Card> {
    let code = CardCode::parse(code).ok_or_else(|| not_found("card", "card_code"))?;
    found(store.get_card_by_code(&code).await, "card", "card_code")
}

pub async fn card_by_id(store: &Store, id: &str) -> ApiResult<Card> {
    let id = CardId::parse(id).ok_or_else(|| ApiError::not_found("card"))?;
    match store.get_card(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::not_found("card")),
        other => Ok(other?),
    }
}

fn usable(card: &Card, field: &str) -> ApiResult<()> {
    match card.status {
        CardStatus::Active => Ok(()),
        other => Err(unprocessable(
            "card_not_active",
            field,
            format!("the card is {}", other.as_str()),
        )),
    }
}

/// The account and member an order names.
async fn resolve_people(
    store: &Store,
    o: &NewOrder,
) -> ApiResult<(AccountId, Option<Member>, Option<Card>)> {
    // The common ERP case names both ids: the member proves its account exists. Anything
    // else (unknown ids, a member of another account) goes through the checks below, which
    // name the error in the order the rules fix.
    if let (Some(a), Some(m), None) = (&o.account_id, &o.member_id, &o.card_code) {
        if let (Some(account_id), Some(member_id)) = (AccountId::parse(a), MemberId::parse(m)) {
            match store.get_member(&member_id).await {
                Ok(m) if m.account_id == account_id => return Ok((account_id, Some(m), None)),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let account = match (&o.account_id, &o.account_external_id) {
        (Some(id), _) => {
            let id = AccountId::parse(id).ok_or_else(|| not_found("account", "account_id"))?;
            found(store.get_account(&id).await, "account", "account_id")?
        }
        (None, Some(ext)) => found(
            store.find_account_by_external_id(ext).await,
            "account",
            "account_external_id",
        )?,
        (None, None) => account_required()?,
    };
    let mut card = None;
    let member = if let Some(code) = &o.card_code {
        let c = card_by_code(store, code).await?;
        usable(&c, "card_code")?;
        let m = store.get_member(&c.member_id).await?;
        card = Some(c);
        Some((m, "card_code"))
    } else if let Some(id) = &o.member_id {
        let id = MemberId::parse(id).ok_or_else(|| not_found("member", "member_id"))?;
        let field = "member_id";
        Some((found(store.get_member(&id).await, "member", field)?, field))
    } else if let Some(ext) = &o.member_external_id {
        let m = store.find_member(&account.id, MemberKey::ExternalId, ext);
        let field = "member_external_id";
        Some((found(m.await, "member", field)?, field))
    } else if let Some(email) = &o.member_email {
        let m = store.find_member(&account.id, MemberKey::Email, email);
        let field = "member_email";
        Some((found(m.await, "member", field)?, field))
    } else {
        None
    };
    if let Some((m, field)) = &member {
        if m.account_id != account.id {
            return Err(unprocessable(
                "member_not_in_account",
                field,
                "the member belongs to another account",
            ));
        }
    }
    Ok((account.id, member.map(|(m, _)| m), card))
}

fn account_required() -> ApiResult<Account> {
    Err(unprocessable(
        "missing_field",
        "account_id",
        "give account_id or account_external_id",
    ))
}

/// The programs an order applies to: the one it names, else every active program.
async fn order_programs(
    store: &Store,
    o: &NewOrder,
    currency: Currency,
) -> ApiResult<Vec<Program>> {
    let programs = match &o.program_id {
        Some(id) => {
            let p = program(store, id, "program_id").await?;
            if p.status != ProgramStatus::Active {
                return Err(unprocessable(
                    "program_ended",
                    "program_id",
                    "the program has ended",
                ));
            }
            vec![p]
        }
        None => store.active_programs().await?,
    };
    if programs.is_empty() {
        return Err(unprocessable(
            "no_active_program",
            "program_id",
            "no active loyalty program takes orders",
        ));
    }
    if let Some(p) = programs.iter().find(|p| p.currency != currency) {
        return Err(unprocessable(
            "currency_mismatch",
            "currency",
            format!(
                "program {} runs in {}; orders in other currencies are not converted",
                p.id,
                p.currency.code()
            ),
        ));
    }
    Ok(programs)
}

/// Normalised request: what "the same body" means for a replay.
fn fingerprint(v: Value) -> String {
    v.to_string()
}

/// Books an order of `caller`, in its key space (an operator's default is `erp`).
pub async fn book_order(store: &Store, o: NewOrder, caller: Caller) -> ApiResult<Booked> {
    let source = caller.source(o.source.as_deref(), "erp")?;
    check_external_id(&o.external_id)?;
    let placed_at = caller.placed_at(o.placed_at.as_deref(), now());
    let print = fingerprint(json!({
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
    }));
    let key = [source.as_str(), o.external_id.as_str()];
    // A repeated key comes first. Its look-up is needed only when this request would fail:
    // one that would succeed claims the key by the unique constraint at commit, and a replay
    // is recognised there (`finish`), so the happy path does not pay for it.
    match book_new_order(store, &o, source.clone(), &print, placed_at).await {
        Err(e) if e.status.is_client_error() => {
            match store.keyed(KeyedTable::Orders, &key).await? {
                Some(stored) => replay(stored, &print, "order"),
                None => Err(e),
            }
        }
        booked => booked,
    }
}

/// Books an order whose key is not known to be taken, checking in the order the rules fix.
async fn book_new_order(
    store: &Store,
    o: &NewOrder,
    source: String,
    print: &str,
    placed_at: ApiResult<DateTime<Utc>>,
) -> ApiResult<Booked> {
    let key = [source.as_str(), o.external_id.as_str()];
    // The request's own fields.
    check_amount("amount_minor", o.amount_minor)?;
    let currency = Currency::parse(&o.currency)
        .ok_or_else(|| unprocessable("invalid_currency", "currency", "must be an ISO 4217 code"))?;
    let placed_at = placed_at?;
    let redeemed = check_minor(
        "cashback_redeemed_minor",
        o.cashback_redeemed_minor.unwrap_or(0),
    )?;
    if redeemed < 0 {
        return Err(unprocessable(
            "invalid_amount",
            "cashback_redeemed_minor",
            "must not be negative",
        ));
    }
    if o.account_id.is_none() && o.account_external_id.is_none() {
        account_required()?;
    }
    // Look-ups.
    let (account_id, member, card) = resolve_people(store, o).await?;
    let mut programs = order_programs(store, o, currency).await?;
    if let (Some(card), None) = (&card, &o.program_id) {
        // A scanned card's redemption belongs to the card's program.
        if redeemed > 0 {
            programs.retain(|p| p.id == card.program_id);
        }
    }
    if redeemed > 0 {
        let cashback: Vec<_> = programs
            .iter()
            .filter(|p| matches!(p.rules, crate::domain::rules::Rules::Cashback(_)))
            .collect();
        if cashback.len() != 1 {
            return Err(unprocessable(
                "redemption_not_allowed",
                "cashback_redeemed_minor",
                if cashback.is_empty() {
                    "no cashback program takes this order"
                } else {
                    "several cashback programs take this order; name one with program_id"
                },
            ));
        }
    }
    let mut targets = Vec::with_capacity(programs.len());
    for p in programs {
        if p.balance_scope == BalanceScope::Member && member.is_none() {
            return Err(unprocessable(
                "member_required",
                "member_id",
                format!(
                    "program {} keeps balances per member: name the member or scan the card",
                    p.id
                ),
            ));
        }
        let holder = Holder::of(&p, &account_id, member.as_ref().map(|m| &m.id));
        targets.push(Target { program: p, holder });
    }
    let record = OrderRecord {
        id: crate::domain::ids::OrderId::generate().to_string(),
        source: source.clone(),
        external_id: o.external_id.clone(),
        account_id: account_id.to_string(),
        member_id: member.as_ref().map(|m| m.id.to_string()),
        card_id: card.as_ref().map(|c| c.id.to_string()),
        program_id: o.program_id.clone(),
        amount_minor: o.amount_minor,
        currency: currency.code().to_owned(),
        placed_at,
        cashback_redeemed_minor: redeemed,
        fingerprint: print.to_owned(),
    };
    let respond = |changes: &[HolderChange]| order_response(&record, changes);
    let result = store.book_order(&record, &targets, respond).await;
    finish(store, result, (KeyedTable::Orders, &key, print, "order")).await
}

fn changes_json(changes: &[HolderChange]) -> Vec<Value> {
    changes
        .iter()
        .flat_map(|c| {
            c.cards.iter().map(move |card| {
                json!({"id": card.id, "version": card.version, "program_id": c.program_id,
                       "balance": c.balance})
            })
        })
        .collect()
}

fn order_response(o: &OrderRecord, changes: &[HolderChange]) -> Value {
    let applied = changes
        .iter()
        .filter_map(|c| c.outcome.applied_percent_bps)
        .max()
        .map(|b: Bps| b.0);
    let programs: Vec<Value> = changes
        .iter()
        .map(|c| {
            let mut v =
                json!({"program_id": c.program_id, "holder": c.holder, "balance": c.balance});
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
        })
        .collect();
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

/// Books a refund of the order `order_external_id` in `caller`'s key space: a desk refunds
/// desk orders only (another source's order is not found there, 404).
pub async fn book_refund(
    store: &Store,
    order_external_id: &str,
    r: NewRefund,
    caller: Caller,
) -> ApiResult<Booked> {
    let source = caller.source(r.source.as_deref(), "erp")?;
    check_external_id(&r.external_id)?;
    let print = fingerprint(json!({"order": order_external_id, "amount_minor": r.amount_minor}));
    let key = [source.as_str(), r.external_id.as_str()];
    if let Some(s) = store.keyed(KeyedTable::Refunds, &key).await? {
        return replay(s, &print, "refund");
    }
    check_amount("amount_minor", r.amount_minor)?;
    let order = store
        .keyed(KeyedTable::Orders, &[source.as_str(), order_external_id])
        .await?
        .ok_or_else(|| not_found("order", "order_external_id"))?;
    let mut targets = Vec::new();
    for (program_id, holder) in store.order_targets(&order.id).await? {
        let p = store.get_program(&ProgramId::from_db(program_id)).await?;
        targets.push(Target { program: p, holder });
    }
    let record = RefundRecord {
        id: crate::domain::ids::RefundId::generate().to_string(),
        source: source.clone(),
        external_id: r.external_id.clone(),
        order_id: order.id.clone(),
        amount_minor: r.amount_minor,
        fingerprint: print.clone(),
    };
    let respond = |changes: &[HolderChange]| {
        json!({
            "refund": {"id": record.id, "external_id": record.external_id, "source": record.source,
                       "order_id": record.order_id, "order_external_id": order_external_id,
                       "amount_minor": record.amount_minor},
            "cards": changes_json(changes),
        })
    };
    let result = store.book_refund(&record, &targets, respond).await;
    finish(store, result, (KeyedTable::Refunds, &key, &print, "refund")).await
}

/// The program and holder of a card.
async fn card_target(store: &Store, card: &Card) -> ApiResult<Target> {
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
    caller: Caller,
) -> ApiResult<Booked> {
    let source = caller.source(r.source.as_deref(), "desk")?;
    let card = card_by_id(store, card_id).await?;
    check_external_id(&r.external_id)?;
    let print = fingerprint(json!({"kind": r.kind, "member_id": card.member_id.as_str()}));
    let program_id = card.program_id.to_string();
    let key = [program_id.as_str(), source.as_str(), r.external_id.as_str()];
    if let Some(s) = store.keyed(KeyedTable::Redemptions, &key).await? {
        return replay(s, &print, "redemption");
    }
    if r.kind != "reward" {
        return Err(unprocessable(
            "invalid_field",
            "kind",
            "only \"reward\" can be redeemed",
        ));
    }
    usable(&card, "card_id")?;
    let request = CardRequest {
        id: crate::domain::ids::RedemptionId::generate().to_string(),
        card_id: card.id.to_string(),
        source: source.clone(),
        external_id: r.external_id.clone(),
        fingerprint: print.clone(),
        kind: CardRequestKind::Reward {
            member_id: card.member_id.to_string(),
        },
    };
    let summary = json!({"id": request.id, "external_id": request.external_id,
                         "kind": "reward", "card_id": request.card_id});
    let keyed = (KeyedTable::Redemptions, &key[..], print.as_str());
    let target = card_target(store, &card).await?;
    book_on_card(store, target, &request, keyed, ("redemption", summary)).await
}

/// A manual adjustment with author and reason, shown in the history.
pub async fn adjust(store: &Store, card_id: &str, a: NewAdjustment) -> ApiResult<Booked> {
    let card = card_by_id(store, card_id).await?;
    check_external_id(&a.external_id)?;
    let print = fingerprint(json!({"card": card.id.as_str(), "amount": a.amount,
        "author": a.author, "reason": a.reason}));
    let program_id = card.program_id.to_string();
    let key = [program_id.as_str(), a.external_id.as_str()];
    if let Some(s) = store.keyed(KeyedTable::Adjustments, &key).await? {
        return replay(s, &print, "adjustment");
    }
    for (field, text) in [("author", &a.author), ("reason", &a.reason)] {
        if text.trim().is_empty() || text.chars().count() > 500 {
            return Err(unprocessable(
                "invalid_field",
                field,
                "required, at most 500 characters",
            ));
        }
    }
    if check_minor("amount", a.amount)? == 0 {
        return Err(unprocessable(
            "invalid_amount",
            "amount",
            "must not be zero",
        ));
    }
    if card.status == CardStatus::Revoked {
        usable(&card, "card_id")?;
    }
    let target = card_target(store, &card).await?;
    // Each reward a stamp adjustment unlocks or takes back is a ledger entry of its own.
    let stamps = matches!(target.program.rules, crate::domain::rules::Rules::Stamp(_));
    if stamps && a.amount.unsigned_abs() > MAX_STAMP_ADJUSTMENT {
        return Err(unprocessable(
            "invalid_amount",
            "amount",
            format!("a stamp card is adjusted by at most {MAX_STAMP_ADJUSTMENT} stamps either way"),
        ));
    }
    let request = CardRequest {
        id: crate::domain::ids::AdjustmentId::generate().to_string(),
        card_id: card.id.to_string(),
        source: "admin".into(),
        external_id: a.external_id.clone(),
        fingerprint: print.clone(),
        kind: CardRequestKind::Adjustment {
            amount: a.amount,
            author: a.author.trim().to_owned(),
            reason: a.reason.trim().to_owned(),
        },
    };
    let summary = json!({"id": request.id, "external_id": request.external_id,
                         "amount": a.amount, "author": a.author.trim(), "reason": a.reason.trim(),
                         "card_id": request.card_id});
    let keyed = (KeyedTable::Adjustments, &key[..], print.as_str());
    book_on_card(store, target, &request, keyed, ("adjustment", summary)).await
}

/// Books a keyed request on the holder of one card (`target`); the answer carries `summary` under
/// `what` beside the card's new version and balance.
async fn book_on_card(
    store: &Store,
    target: Target,
    request: &CardRequest,
    (table, key, print): (KeyedTable, &[&str], &str),
    (what, summary): (&str, Value),
) -> ApiResult<Booked> {
    let respond = |c: &HolderChange| {
        let mut body = json!({"cards": changes_json(std::slice::from_ref(c))});
        body[what] = summary.clone();
        body
    };
    let result = store.book_on_card(request, &target, respond).await;
    finish(store, result, (table, key, print, what)).await
}

/// The desk's quote for a scanned card: the discount on a gross amount (rounded half up) and
/// how much cashback may pay for it.
pub async fn quote(store: &Store, card_code: &str, gross_minor: i64) -> ApiResult<Value> {
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
    if let (Balance::Cashback(b), crate::domain::rules::Rules::Cashback(r)) =
        (&balance, &target.program.rules)
    {
        body["cashback_allowed_max_minor"] = json!(r.redeemable(b.cashback_minor, net));
    }
    Ok(body)
}
