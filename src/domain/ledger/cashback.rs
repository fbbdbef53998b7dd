//! Cashback: credits are lots that may expire; redemptions and debits consume live lots oldest
//! first; refunds reverse credits in proportion, and what no lot can cover makes the balance
//! negative (a debt that later credits pay off first).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Entry, EntryKind, LedgerError, OrderEvent, OrderFacts, Outcome, Source, days, mul_div_floor,
};
use crate::domain::balance::CashbackBalance;
use crate::domain::face::Notify;
use crate::domain::rules::CashbackRules;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashbackState {
    /// Live lots with something left, oldest first (by source time, then booking).
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// The negative part of the balance, ≥ 0.
    #[serde(default)]
    pub debt: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_credit: Option<Credit>,
    /// Lots kept apart from the state (the store's rows), summed up.
    #[serde(default, skip_serializing_if = "Cold::is_empty")]
    pub cold: Cold,
}

/// Lots the store keeps as rows of their own instead of in the state, so that a holder with
/// many live lots does not rewrite them all with every order. The engine works on `lots`
/// only; [`cold_need`] says before an event when it would need cold lots, and the store
/// moves them into `lots` first. While cold, a lot is untouched: it neither expires (the
/// store loads it by `min_expiry`) nor is consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cold {
    pub count: u64,
    /// Σ remaining.
    pub total: i64,
    /// The key (source time, booking) of the oldest cold lot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<(DateTime<Utc>, u64)>,
    /// The earliest expiry among cold lots, and what expires then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_expiry: Option<DateTime<Utc>>,
    #[serde(default)]
    pub min_expiry_minor: i64,
}

impl Cold {
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds lots moved out of the state.
    pub fn add(&mut self, lots: &[Lot]) {
        for lot in lots {
            self.count += 1;
            self.total += lot.remaining;
            self.first = Some(self.first.map_or(key(lot), |f| f.min(key(lot))));
            if let Some(e) = lot.expires_at {
                match self.min_expiry {
                    Some(m) if m < e => {}
                    Some(m) if m == e => self.min_expiry_minor += lot.remaining,
                    _ => {
                        self.min_expiry = Some(e);
                        self.min_expiry_minor = lot.remaining;
                    }
                }
            }
        }
    }
}

/// What of the cold lots an event needs in `lots` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdNeed {
    /// The oldest cold lots (by key), a batch at a time, then ask again.
    Oldest,
    /// Every cold lot.
    All,
}

/// The summary of lots kept cold.
pub fn summarize(lots: &[Lot]) -> Cold {
    let mut cold = Cold::default();
    cold.add(lots);
    cold
}

/// Moves cold lots back into the state; `rest` summarises the lots that stay cold.
pub fn warm(state: &mut CashbackState, lots: Vec<Lot>, rest: Cold) {
    state.lots.extend(lots);
    state.lots.sort_by_key(key);
    state.cold = rest;
}

/// Takes the newest lots out of the state when it holds more than `2 × keep`, leaving the
/// `keep` oldest (those that expire and are consumed first); returns them, for the store to
/// keep as rows.
pub fn spill(state: &mut CashbackState, keep: usize) -> Vec<Lot> {
    if state.lots.len() <= 2 * keep {
        return Vec::new();
    }
    let moved = state.lots.split_off(keep);
    state.cold.add(&moved);
    moved
}

/// The order lots are kept and consumed in: source time, then booking.
pub fn key(lot: &Lot) -> (DateTime<Utc>, u64) {
    (lot.source.at, lot.source.seq)
}

/// Whether expiring what is due by `now` and then taking `take` oldest first (a redemption or
/// a debit) can be done on `lots` alone.
pub fn cold_need(state: &CashbackState, now: DateTime<Utc>, take: i64) -> Option<ColdNeed> {
    let cold = &state.cold;
    if cold.is_empty() {
        return None;
    }
    if cold.min_expiry.is_some_and(|e| e <= now) {
        return Some(ColdNeed::Oldest);
    }
    if take <= 0 {
        return None;
    }
    let first = cold.first?;
    let mut covered = 0;
    for lot in state.lots.iter().filter(|l| live(l, now)) {
        if key(lot) > first {
            break;
        }
        covered += lot.remaining;
        if covered >= take {
            return None;
        }
    }
    Some(ColdNeed::Oldest)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub source: Source,
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The most recent order's earning that was > 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub minor: i64,
    pub at: DateTime<Utc>,
    pub seq: u64,
}

fn live(lot: &Lot, now: DateTime<Utc>) -> bool {
    lot.expires_at.is_none_or(|e| e > now)
}

/// The balance at `now`; cold lots count as live (the store loads them before they expire).
pub fn balance(state: &CashbackState, now: DateTime<Utc>) -> i64 {
    let lots: i64 = state
        .lots
        .iter()
        .filter(|l| live(l, now))
        .map(|l| l.remaining)
        .sum();
    lots + state.cold.total - state.debt
}

/// What the card shows at `now`; cold lots count as live, so this is exact up to the state's
/// next change (the service views a state at its own time).
pub fn view(state: &CashbackState, now: DateTime<Utc>) -> CashbackBalance {
    let cold = &state.cold;
    let next_expiry_at = state
        .lots
        .iter()
        .filter(|l| live(l, now) && l.remaining > 0)
        .filter_map(|l| l.expires_at)
        .chain(cold.min_expiry)
        .min();
    let next_expiry_minor = next_expiry_at.map(|at| {
        let hot: i64 = state
            .lots
            .iter()
            .filter(|l| l.expires_at == Some(at))
            .map(|l| l.remaining)
            .sum();
        hot + if cold.min_expiry == Some(at) {
            cold.min_expiry_minor
        } else {
            0
        }
    });
    CashbackBalance {
        cashback_minor: balance(state, now),
        last_credit_minor: state.last_credit.as_ref().map(|c| c.minor),
        last_credit_at: state.last_credit.as_ref().map(|c| c.at),
        next_expiry_at,
        next_expiry_minor,
    }
}

pub fn next_change(state: &CashbackState) -> Option<DateTime<Utc>> {
    state
        .lots
        .iter()
        .filter_map(|l| l.expires_at)
        .chain(state.cold.min_expiry)
        .min()
}

/// Writes the expiry of every lot due by `now`.
pub fn expire(state: &mut CashbackState, now: DateTime<Utc>, out: &mut Outcome) {
    state.lots.retain(|lot| {
        if live(lot, now) {
            return true;
        }
        out.push(Entry {
            kind: EntryKind::CashbackExpired,
            amount: -lot.remaining,
            lot: Some(lot.source.id.clone()),
            effective_at: lot.expires_at.unwrap_or(now),
            seq: lot.source.seq,
            expires_at: None,
        });
        false
    });
}

/// Takes `amount` from live lots oldest first; returns what they could not cover.
fn consume(state: &mut CashbackState, kind: EntryKind, amount: i64, out: &mut Outcome) -> i64 {
    let mut left = amount;
    for lot in state.lots.iter_mut() {
        if left == 0 {
            break;
        }
        let take = left.min(lot.remaining);
        lot.remaining -= take;
        left -= take;
        out.push(Entry {
            kind,
            amount: -take,
            lot: Some(lot.source.id.clone()),
            effective_at: lot.source.at,
            seq: lot.source.seq,
            expires_at: None,
        });
    }
    state.lots.retain(|l| l.remaining > 0);
    left
}

/// A credit first pays off a negative balance; only the remainder becomes a lot.
fn credit(
    state: &mut CashbackState,
    (kind, rules): (EntryKind, &CashbackRules),
    source: &Source,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    let expires_at = rules.expiry_days.map(|d| source.at + days(d));
    let pays = amount.min(state.debt);
    state.debt -= pays;
    out.push(Entry {
        kind,
        amount: pays,
        lot: None,
        effective_at: source.at,
        seq: source.seq,
        expires_at: None,
    });
    let rest = amount - pays;
    if rest == 0 {
        return;
    }
    out.push(Entry {
        kind,
        amount: rest,
        lot: Some(source.id.clone()),
        effective_at: source.at,
        seq: source.seq,
        expires_at,
    });
    let lot = Lot {
        source: source.clone(),
        remaining: rest,
        expires_at,
    };
    if live(&lot, now) {
        let key = |l: &Lot| (l.source.at, l.source.seq);
        let at = state.lots.partition_point(|l| key(l) <= key(&lot));
        state.lots.insert(at, lot);
    } else {
        // An old order (an import, a late delivery) whose credit expired before it arrived.
        let mut expired = CashbackState {
            lots: vec![lot],
            ..CashbackState::default()
        };
        expire(&mut expired, now, out);
    }
}

pub fn book(
    state: &mut CashbackState,
    rules: &CashbackRules,
    source: &Source,
    order: &OrderEvent,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), LedgerError> {
    let redeem = order.cashback_redeemed_minor;
    if redeem > 0 {
        let allowed = rules.redeemable(balance(state, now), order.amount_minor);
        if redeem > allowed {
            return Err(LedgerError::limit(
                "redemption_exceeds_allowed",
                "cashback_redeemed_minor",
                "the redemption is more than the balance and the rules allow",
                allowed,
            ));
        }
        consume(state, EntryKind::CashbackRedeemed, redeem, out);
    }
    let earned = if order.amount_minor >= rules.min_order_minor {
        rules.percent_bps.share_floor(order.amount_minor - redeem)
    } else {
        0
    };
    out.earned_minor = earned;
    if earned > 0 {
        credit(
            state,
            (EntryKind::CashbackEarned, rules),
            source,
            earned,
            now,
            out,
        );
        let newer = state
            .last_credit
            .as_ref()
            .is_none_or(|c| (c.at, c.seq) < (source.at, source.seq));
        if newer {
            state.last_credit = Some(Credit {
                minor: earned,
                at: source.at,
                seq: source.seq,
            });
        }
        out.note(Notify::CashbackCredit);
    }
    Ok(())
}

/// Reverses `floor(earned × refunded / amount)` cumulatively: first from the order's live lot,
/// then the used part of it from other live lots oldest first and into a debt, and the part
/// that expired not at all.
pub fn refund(
    state: &mut CashbackState,
    order: &OrderFacts,
    amount: i64,
    now: DateTime<Utc>,
    event_seq: u64,
    out: &mut Outcome,
) {
    let earned = order.earned_minor;
    let total = order.amount_minor;
    let reversal = mul_div_floor(earned, order.refunded_minor + amount, total)
        - mul_div_floor(earned, order.refunded_minor, total);
    if reversal <= 0 {
        return;
    }
    let own = state.lots.iter_mut().find(|l| l.source.id == order.id);
    let live_part = own.as_ref().map_or(0, |l| l.remaining);
    let from_own = reversal.min(live_part);
    if let Some(lot) = own {
        lot.remaining -= from_own;
        out.push(Entry {
            kind: EntryKind::CashbackReversed,
            amount: -from_own,
            lot: Some(order.id.clone()),
            effective_at: lot.source.at,
            seq: lot.source.seq,
            expires_at: None,
        });
    }
    state.lots.retain(|l| l.remaining > 0);
    let used = earned - live_part - order.own_reversed_minor - order.expired_minor;
    let from_used = (reversal - from_own)
        .min(used - order.used_reversed_minor)
        .max(0);
    let uncovered = consume(state, EntryKind::CashbackReversed, from_used, out);
    state.debt += uncovered;
    out.push(Entry {
        kind: EntryKind::CashbackReversed,
        amount: -uncovered,
        lot: None,
        effective_at: now,
        seq: event_seq,
        expires_at: None,
    });
}

/// A manual credit (a new lot; it notifies like every credit) or debit (from live lots oldest
/// first).
pub fn adjust(
    state: &mut CashbackState,
    rules: &CashbackRules,
    source: &Source,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    if amount > 0 {
        credit(
            state,
            (EntryKind::CashbackAdjusted, rules),
            source,
            amount,
            now,
            out,
        );
        out.note(Notify::CashbackCredit);
    } else {
        let uncovered = consume(state, EntryKind::CashbackAdjusted, -amount, out);
        state.debt += uncovered;
    }
}
