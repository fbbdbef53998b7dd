//! The loyalty engine: how orders, refunds, redemptions, adjustments and the passing of time
//! move a holder's balance, as loyalty-rules.md defines it.
//!
//! Two pure functions give the same balance by different roads:
//!
//! - [`apply`] is the incremental step `(rules, state, event, now) → (state, entries)`: it
//!   keeps a compact [`HolderState`] (live cashback lots, live rewards, the spend still inside
//!   a window) and returns the immutable ledger [`Entry`]s the event causes;
//! - [`recompute`] is the full fold `(rules, entries, now) → balance` over those entries alone.
//!
//! The service stores the state next to the balance and the entries in the ledger; the property
//! tests check after every step that [`view`] of the state equals the full recompute.

pub mod cashback;
mod orders;
mod recompute;
mod spend;
mod stamp;
#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use orders::{check_redemption, check_refund, redemption_in};
pub use recompute::recompute;
pub use spend::{day_start, window_start};

use super::balance::{Balance, DiscountBalance, cumulative_at};
use super::face::Notify;
use super::money::Bps;
use super::rules::{Rules, Window};

/// What a ledger entry records. Money kinds carry minor units, stamp and reward kinds a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Net spend of an order (negative for a refund), counted in windows at `effective_at`.
    Spend,
    SpendAdjusted,
    CashbackEarned,
    CashbackRedeemed,
    CashbackReversed,
    CashbackExpired,
    CashbackAdjusted,
    StampsEarned,
    StampsRemoved,
    StampsAdjusted,
    /// +n rewards; without a lot it covers an earlier deficit instead of creating a reward.
    RewardUnlocked,
    /// −n rewards taken back by a refund; without a lot it records a deficit.
    RewardRemoved,
    RewardRedeemed,
    RewardExpired,
}

impl EntryKind {
    pub const ALL: [EntryKind; 14] = [
        EntryKind::Spend,
        EntryKind::SpendAdjusted,
        EntryKind::CashbackEarned,
        EntryKind::CashbackRedeemed,
        EntryKind::CashbackReversed,
        EntryKind::CashbackExpired,
        EntryKind::CashbackAdjusted,
        EntryKind::StampsEarned,
        EntryKind::StampsRemoved,
        EntryKind::StampsAdjusted,
        EntryKind::RewardUnlocked,
        EntryKind::RewardRemoved,
        EntryKind::RewardRedeemed,
        EntryKind::RewardExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Spend => "spend",
            EntryKind::SpendAdjusted => "spend_adjusted",
            EntryKind::CashbackEarned => "cashback_earned",
            EntryKind::CashbackRedeemed => "cashback_redeemed",
            EntryKind::CashbackReversed => "cashback_reversed",
            EntryKind::CashbackExpired => "cashback_expired",
            EntryKind::CashbackAdjusted => "cashback_adjusted",
            EntryKind::StampsEarned => "stamps_earned",
            EntryKind::StampsRemoved => "stamps_removed",
            EntryKind::StampsAdjusted => "stamps_adjusted",
            EntryKind::RewardUnlocked => "reward_unlocked",
            EntryKind::RewardRemoved => "reward_removed",
            EntryKind::RewardRedeemed => "reward_redeemed",
            EntryKind::RewardExpired => "reward_expired",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn is_spend(self) -> bool {
        matches!(self, EntryKind::Spend | EntryKind::SpendAdjusted)
    }

    /// Whether the entry's amount is money (minor units) rather than a count.
    pub fn is_money(self) -> bool {
        self.is_spend() || self.is_cashback()
    }

    fn is_cashback(self) -> bool {
        matches!(
            self,
            EntryKind::CashbackEarned
                | EntryKind::CashbackRedeemed
                | EntryKind::CashbackReversed
                | EntryKind::CashbackExpired
                | EntryKind::CashbackAdjusted
        )
    }

    fn is_stamps(self) -> bool {
        matches!(
            self,
            EntryKind::StampsEarned | EntryKind::StampsRemoved | EntryKind::StampsAdjusted
        )
    }

    fn is_reward(self) -> bool {
        matches!(
            self,
            EntryKind::RewardUnlocked
                | EntryKind::RewardRemoved
                | EntryKind::RewardRedeemed
                | EntryKind::RewardExpired
        )
    }
}

/// One immutable line of a holder's ledger. The service adds who caused it (order, refund,
/// redemption, adjustment or the scheduled job) when it stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    /// Signed: minor units for spend and cashback, a count for stamps and rewards.
    pub amount: i64,
    /// The cashback lot or reward this entry changes, named by the order or adjustment that
    /// created it; `None` for the negative part of a cashback balance or a reward deficit.
    pub lot: Option<String>,
    /// When the entry counts: an order's `placed_at` for its spend and credits, the expiry
    /// instant for expiries, the booking time otherwise.
    pub effective_at: DateTime<Utc>,
    /// Booking sequence of the source within the holder: breaks ties of `effective_at`.
    pub seq: u64,
    /// When the lot or reward this entry creates expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The source of a lot, a reward or a spend item: an order or an adjustment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub at: DateTime<Utc>,
    pub seq: u64,
}

/// An order as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub id: String,
    pub placed_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub cashback_redeemed_minor: i64,
}

/// What the ledger says of an earlier order, for refunding it. Built by [`order_facts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFacts {
    pub id: String,
    pub placed_at: DateTime<Utc>,
    pub seq: u64,
    pub amount_minor: i64,
    /// Refunded before this refund.
    pub refunded_minor: i64,
    /// Cashback the order earned (with the part that paid off a negative balance).
    pub earned_minor: i64,
    /// Reversed by earlier refunds from the order's own lot.
    pub own_reversed_minor: i64,
    /// Reversed by earlier refunds from other lots or into a negative balance.
    pub used_reversed_minor: i64,
    /// What expired of the order's own lot.
    pub expired_minor: i64,
    /// Stamps the order holds now.
    pub stamps: i64,
}

/// Everything that moves a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Order(OrderEvent),
    Refund {
        order: OrderFacts,
        amount_minor: i64,
    },
    /// Redeems exactly one stamp reward.
    RedeemReward,
    /// A manual correction: minor units for cashback and spend, stamps for stamp cards.
    Adjust {
        id: String,
        amount: i64,
    },
    /// Only the passing of time (the scheduled job).
    Tick,
}

/// Why an event is refused; `allowed_max` is set for limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LedgerError {
    pub code: &'static str,
    pub field: &'static str,
    pub message: String,
    pub allowed_max: Option<i64>,
}

impl LedgerError {
    fn limit(code: &'static str, field: &'static str, message: &str, max: i64) -> Self {
        LedgerError {
            code,
            field,
            message: format!("{message}; the allowed maximum is {max}"),
            allowed_max: Some(max),
        }
    }
}

/// The compact state of one holder in one program, stored beside its balance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderState {
    /// The time of the last applied event; time never runs backwards for a holder.
    pub as_of: Option<DateTime<Utc>>,
    /// Bookings so far; the next source gets `seq + 1`.
    pub seq: u64,
    #[serde(default)]
    pub spend: spend::SpendState,
    #[serde(default)]
    pub cashback: cashback::CashbackState,
    #[serde(default)]
    pub stamps: stamp::StampState,
    /// The tier name last shown, so that a change of tier notifies whatever caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_tier: Option<String>,
}

/// What an event did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub entries: Vec<Entry>,
    /// The highest reason this change is worth a lock-screen message for.
    pub notify: Option<Notify>,
    /// For orders on discount cards: the percentage the order is priced at.
    pub applied_percent_bps: Option<Bps>,
    /// Cashback an order earned.
    pub earned_minor: i64,
    /// Stamps an order earned.
    pub stamps_earned: i64,
}

impl Outcome {
    fn note(&mut self, reason: Notify) {
        self.notify = self.notify.max(Some(reason));
    }

    /// Appends an entry, merging it into the last one when only the amount differs.
    fn push(&mut self, entry: Entry) {
        if entry.amount == 0 {
            return;
        }
        if let Some(last) = self.entries.last_mut() {
            let same = last.kind == entry.kind
                && last.lot == entry.lot
                && last.effective_at == entry.effective_at
                && last.seq == entry.seq
                && last.expires_at == entry.expires_at;
            if same {
                last.amount += entry.amount;
                return;
            }
        }
        self.entries.push(entry);
    }
}

/// The program facts the engine needs.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub rules: &'a Rules,
    pub tz: Tz,
}

impl Ctx<'_> {
    fn window(&self) -> Window {
        self.rules.window().unwrap_or_default()
    }
}

/// Applies `event` at `now` to `state`: first the time effects due by `now` (expiries, moved
/// windows), then the event. On error the state is untouched and nothing is written.
pub fn apply(
    ctx: Ctx<'_>,
    state: &HolderState,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<(HolderState, Outcome), LedgerError> {
    let now = state.as_of.map_or(now, |t| t.max(now));
    let mut next = state.clone();
    next.as_of = Some(now);
    let mut out = Outcome::default();
    time_effects(ctx, &mut next, now, &mut out);
    match event {
        Event::Order(order) => book_order(ctx, &mut next, order, now, &mut out)?,
        Event::Refund {
            order,
            amount_minor,
        } => refund(ctx, &mut next, order, *amount_minor, now, &mut out)?,
        Event::RedeemReward => match ctx.rules {
            Rules::Stamp(_) => stamp::redeem(&mut next.stamps, now, &mut out)?,
            _ => {
                return Err(LedgerError {
                    code: "not_a_stamp_program",
                    field: "kind",
                    message: "only stamp programs have rewards to redeem".into(),
                    allowed_max: None,
                });
            }
        },
        Event::Adjust { id, amount } => adjust(ctx, &mut next, id, *amount, now, &mut out)?,
        Event::Tick => {}
    }
    if let (Rules::CumulativeDiscount(r), Balance::CumulativeDiscount(c)) =
        (ctx.rules, view(ctx, &next, now))
    {
        // A new holder shows the zero state: the first tier.
        let shown = state
            .shown_tier
            .clone()
            .unwrap_or_else(|| cumulative_at(r, 0).tier);
        if shown != c.tier {
            out.note(Notify::TierChange);
        }
        next.shown_tier = Some(c.tier);
    }
    Ok((next, out))
}

/// Whether `event` at `now` needs cold cashback lots moved into the state first (see
/// [`cashback::Cold`]): due expiries reach them, a redemption or debit needs more than the
/// lots older than all cold ones, or a refund (which may reverse any lot).
pub fn cold_need(
    ctx: Ctx<'_>,
    state: &HolderState,
    event: &Event,
    now: DateTime<Utc>,
) -> Option<cashback::ColdNeed> {
    if !matches!(ctx.rules, Rules::Cashback(_)) || state.cashback.cold.is_empty() {
        return None;
    }
    let now = state.as_of.map_or(now, |t| t.max(now));
    let take = match event {
        Event::Refund { .. } => return Some(cashback::ColdNeed::All),
        Event::Order(o) => o.cashback_redeemed_minor,
        Event::Adjust { amount, .. } => -(*amount).min(0),
        Event::RedeemReward | Event::Tick => 0,
    };
    cashback::cold_need(&state.cashback, now, take)
}

fn time_effects(ctx: Ctx<'_>, state: &mut HolderState, now: DateTime<Utc>, out: &mut Outcome) {
    spend::settle(&mut state.spend, ctx.window(), ctx.tz, now);
    cashback::expire(&mut state.cashback, now, out);
    stamp::expire(&mut state.stamps, now, out);
}

fn next_source(state: &mut HolderState, id: &str, at: DateTime<Utc>) -> Source {
    state.seq += 1;
    Source {
        id: id.to_owned(),
        at,
        seq: state.seq,
    }
}

fn book_order(
    ctx: Ctx<'_>,
    state: &mut HolderState,
    order: &OrderEvent,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), LedgerError> {
    if order.cashback_redeemed_minor != 0 && !matches!(ctx.rules, Rules::Cashback(_)) {
        return Err(LedgerError {
            code: "redemption_not_allowed",
            field: "cashback_redeemed_minor",
            message: "only cashback programs take cashback redemptions".into(),
            allowed_max: Some(0),
        });
    }
    match view(ctx, state, now) {
        Balance::Discount(d) => out.applied_percent_bps = Some(d.percent_bps),
        Balance::CumulativeDiscount(c) => out.applied_percent_bps = Some(c.percent_bps),
        _ => {}
    }
    let source = next_source(state, &order.id, order.placed_at);
    match ctx.rules {
        Rules::Cashback(rules) => {
            cashback::book(&mut state.cashback, rules, &source, order, now, out)?;
        }
        Rules::Stamp(rules) => stamp::book(&mut state.stamps, rules, &source, order, now, out),
        Rules::Discount(_) | Rules::CumulativeDiscount(_) => {}
    }
    spend::add(
        &mut state.spend,
        (ctx.window(), ctx.tz),
        &source,
        order.amount_minor,
        now,
    );
    out.push(Entry {
        kind: EntryKind::Spend,
        amount: order.amount_minor,
        lot: Some(source.id.clone()),
        effective_at: source.at,
        seq: source.seq,
        expires_at: None,
    });
    Ok(())
}

fn refund(
    ctx: Ctx<'_>,
    state: &mut HolderState,
    order: &OrderFacts,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), LedgerError> {
    check_refund(order.amount_minor, order.refunded_minor, amount)?;
    state.seq += 1;
    let event_seq = state.seq;
    match ctx.rules {
        Rules::Cashback(_) => {
            cashback::refund(&mut state.cashback, order, amount, now, event_seq, out);
        }
        Rules::Stamp(rules) => stamp::refund(&mut state.stamps, rules, order, amount, now, out),
        Rules::Discount(_) | Rules::CumulativeDiscount(_) => {}
    }
    spend::refund(&mut state.spend, (ctx.window(), ctx.tz), order, amount, now);
    out.push(Entry {
        kind: EntryKind::Spend,
        amount: -amount,
        lot: Some(order.id.clone()),
        effective_at: order.placed_at,
        seq: order.seq,
        expires_at: None,
    });
    Ok(())
}

fn adjust(
    ctx: Ctx<'_>,
    state: &mut HolderState,
    id: &str,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), LedgerError> {
    if amount == 0 {
        return Err(LedgerError {
            code: "invalid_amount",
            field: "amount",
            message: "an adjustment must not be zero".into(),
            allowed_max: None,
        });
    }
    let before = view(ctx, state, now);
    let source = next_source(state, id, now);
    match ctx.rules {
        Rules::Cashback(rules) => {
            if let Balance::Cashback(b) = &before {
                if amount < 0 && -amount > b.cashback_minor.max(0) {
                    return Err(LedgerError::limit(
                        "adjustment_exceeds_balance",
                        "amount",
                        "a debit cannot exceed the cashback balance",
                        b.cashback_minor.max(0),
                    ));
                }
            }
            cashback::adjust(&mut state.cashback, rules, &source, amount, now, out);
        }
        Rules::Stamp(rules) => {
            if amount < 0 && -amount > state.stamps.total {
                return Err(LedgerError::limit(
                    "adjustment_exceeds_balance",
                    "amount",
                    "cannot remove more stamps than the holder has",
                    state.stamps.total.max(0),
                ));
            }
            stamp::adjust(&mut state.stamps, rules, &source, amount, now, out);
        }
        Rules::Discount(_) | Rules::CumulativeDiscount(_) => {
            let spend = spend::spend_at(&state.spend, ctx.window(), ctx.tz, now);
            if amount < 0 && -amount > spend {
                return Err(LedgerError::limit(
                    "adjustment_exceeds_balance",
                    "amount",
                    "cannot remove more spend than the window holds",
                    spend,
                ));
            }
            spend::add(
                &mut state.spend,
                (ctx.window(), ctx.tz),
                &source,
                amount,
                now,
            );
            out.push(Entry {
                kind: EntryKind::SpendAdjusted,
                amount,
                lot: Some(source.id.clone()),
                effective_at: now,
                seq: source.seq,
                expires_at: None,
            });
        }
    }
    Ok(())
}

/// The balance the state shows at `now` (at least the state's own time).
pub fn view(ctx: Ctx<'_>, state: &HolderState, now: DateTime<Utc>) -> Balance {
    let now = state.as_of.map_or(now, |t| t.max(now));
    let spend = || spend::spend_at(&state.spend, ctx.window(), ctx.tz, now);
    match ctx.rules {
        Rules::Discount(r) => Balance::Discount(DiscountBalance {
            spend_minor: spend(),
            percent_bps: r.percent_bps,
        }),
        Rules::CumulativeDiscount(r) => Balance::CumulativeDiscount(cumulative_at(r, spend())),
        Rules::Cashback(_) => Balance::Cashback(cashback::view(&state.cashback, now)),
        Rules::Stamp(r) => Balance::Stamp(stamp::view(&state.stamps, r.stamps_required, now)),
    }
}

/// The next instant at which time alone changes this holder's balance (a window moves, a lot
/// or reward expires), if any: what the scheduled recompute indexes.
pub fn next_change_at(ctx: Ctx<'_>, state: &HolderState) -> Option<DateTime<Utc>> {
    let now = state.as_of?;
    let spend = match ctx.rules {
        Rules::Discount(_) | Rules::CumulativeDiscount(_) => {
            spend::next_change(&state.spend, ctx.window(), ctx.tz, now)
        }
        Rules::Cashback(_) | Rules::Stamp(_) => None,
    };
    [
        spend,
        cashback::next_change(&state.cashback),
        stamp::next_change(&state.stamps),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Builds what a refund needs to know of `order` from the ledger entries of the order (those it
/// caused) and of its lot (those others caused on it). `own` tells the two apart.
pub fn order_facts<'a>(
    order: OrderFacts,
    entries: impl IntoIterator<Item = (bool, &'a Entry)>,
) -> OrderFacts {
    let mut facts = order;
    let id = facts.id.clone();
    let on_own_lot = |e: &Entry| e.lot.as_deref() == Some(id.as_str());
    for (caused_by_order, e) in entries {
        match (caused_by_order, e.kind) {
            (true, EntryKind::CashbackEarned) => facts.earned_minor += e.amount,
            (true, EntryKind::CashbackReversed) if on_own_lot(e) => {
                facts.own_reversed_minor -= e.amount;
            }
            (true, EntryKind::CashbackReversed) => facts.used_reversed_minor -= e.amount,
            (_, EntryKind::CashbackExpired) if on_own_lot(e) => facts.expired_minor -= e.amount,
            (true, EntryKind::StampsEarned | EntryKind::StampsRemoved) => facts.stamps += e.amount,
            (true, EntryKind::Spend) if e.amount > 0 => {
                facts.seq = e.seq;
                facts.placed_at = e.effective_at;
            }
            _ => {}
        }
    }
    facts
}

/// `floor(a × b / c)` without overflow, for `c > 0` and non-negative `a`, `b`.
fn mul_div_floor(a: i64, b: i64, c: i64) -> i64 {
    if c <= 0 {
        return 0;
    }
    let v = i128::from(a) * i128::from(b) / i128::from(c);
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn days(n: u32) -> TimeDelta {
    TimeDelta::days(i64::from(n))
}
