//! Stamps: orders earn stamps; every `stamps_required` stamps unlock a reward. Rewards are
//! kept one by one (oldest redeemed first, newest removed first by a refund, each expiring on
//! its own); a refund that finds no reward to remove leaves a deficit later stamps cover.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Entry, EntryKind, LedgerError, OrderEvent, OrderFacts, Outcome, Source, days};
use crate::domain::balance::StampBalance;
use crate::domain::face::Notify;
use crate::domain::rules::StampRules;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampState {
    /// Σ stamps of the holder's orders and adjustments; below 0 only when a refund takes back
    /// stamps that a manual debit had already removed.
    #[serde(default)]
    pub total: i64,
    /// Live rewards, oldest first.
    #[serde(default)]
    pub rewards: Vec<Reward>,
    /// Rewards taken back that had already been used; later unlocks cover them first.
    #[serde(default)]
    pub deficit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

fn live(reward: &Reward, now: DateTime<Utc>) -> bool {
    reward.expires_at.is_none_or(|e| e > now)
}

/// Stamps an order of `amount` earns under `rules`.
pub fn earned_by(rules: &StampRules, amount: i64) -> i64 {
    if amount <= 0 || amount < rules.min_order_minor {
        return 0;
    }
    let stamps = rules.stamp_every_minor.map_or(1, |every| amount / every);
    stamps.min(i64::from(rules.effective_max_stamps_per_order()))
}

pub fn view(state: &StampState, required: u32, now: DateTime<Utc>) -> StampBalance {
    let live = state.rewards.iter().filter(|r| live(r, now)).count();
    StampBalance {
        stamps: stamps_on_card(state.total, required),
        stamps_required: required,
        rewards_available: u32::try_from(live).unwrap_or(u32::MAX),
    }
}

/// `total mod N`; none while the total is negative (a refund took back stamps that an
/// adjustment had already removed: later stamps pay that back first).
pub fn stamps_on_card(total: i64, required: u32) -> u32 {
    if total < 0 {
        return 0;
    }
    u32::try_from(total % i64::from(required.max(1))).unwrap_or(0)
}

pub fn next_change(state: &StampState) -> Option<DateTime<Utc>> {
    state.rewards.iter().filter_map(|r| r.expires_at).min()
}

pub fn expire(state: &mut StampState, now: DateTime<Utc>, out: &mut Outcome) {
    state.rewards.retain(|reward| {
        if live(reward, now) {
            return true;
        }
        out.push(Entry {
            kind: EntryKind::RewardExpired,
            amount: -1,
            lot: Some(reward.source.id.clone()),
            effective_at: reward.expires_at.unwrap_or(now),
            seq: reward.source.seq,
            expires_at: None,
        });
        false
    });
}

pub fn book(
    state: &mut StampState,
    rules: &StampRules,
    source: &Source,
    order: &OrderEvent,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    let stamps = earned_by(rules, order.amount_minor);
    out.stamps_earned = stamps;
    add(
        state,
        rules,
        source,
        EntryKind::StampsEarned,
        stamps,
        now,
        out,
    );
}

pub fn refund(
    state: &mut StampState,
    rules: &StampRules,
    order: &OrderFacts,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    let left = order.amount_minor - order.refunded_minor - amount;
    let keep = earned_by(rules, left).min(order.stamps);
    let removed = order.stamps - keep;
    if removed <= 0 {
        return;
    }
    let before = state.total;
    state.total -= removed;
    out.push(Entry {
        kind: EntryKind::StampsRemoved,
        amount: -removed,
        lot: Some(order.id.clone()),
        effective_at: order.placed_at,
        seq: order.seq,
        expires_at: None,
    });
    let source = Source {
        id: order.id.clone(),
        at: order.placed_at,
        seq: order.seq,
    };
    relevel(state, rules, &source, before, now, out);
}

pub fn adjust(
    state: &mut StampState,
    rules: &StampRules,
    source: &Source,
    amount: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    add(
        state,
        rules,
        source,
        EntryKind::StampsAdjusted,
        amount,
        now,
        out,
    );
}

fn add(
    state: &mut StampState,
    rules: &StampRules,
    source: &Source,
    kind: EntryKind,
    stamps: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    if stamps == 0 {
        return;
    }
    let before = state.total;
    state.total += stamps;
    out.push(Entry {
        kind,
        amount: stamps,
        lot: Some(source.id.clone()),
        effective_at: source.at,
        seq: source.seq,
        expires_at: None,
    });
    if stamps > 0 {
        out.note(Notify::Stamp);
    }
    relevel(state, rules, source, before, now, out);
}

/// Unlocks or takes back rewards after the total moved from `before`.
fn relevel(
    state: &mut StampState,
    rules: &StampRules,
    source: &Source,
    before: i64,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    let n = i64::from(rules.stamps_required);
    let (old, new) = (before.div_euclid(n), state.total.div_euclid(n));
    for _ in new..old {
        take_back(state, now, out);
    }
    for _ in old..new {
        unlock(state, rules, source, now, out);
    }
}

fn unlock(
    state: &mut StampState,
    rules: &StampRules,
    source: &Source,
    now: DateTime<Utc>,
    out: &mut Outcome,
) {
    if state.deficit > 0 {
        state.deficit -= 1;
        out.push(deficit_entry(EntryKind::RewardUnlocked, 1, now, source.seq));
        return;
    }
    let reward = Reward {
        source: source.clone(),
        expires_at: rules.reward_expiry_days.map(|d| source.at + days(d)),
    };
    out.push(Entry {
        kind: EntryKind::RewardUnlocked,
        amount: 1,
        lot: Some(source.id.clone()),
        effective_at: source.at,
        seq: source.seq,
        expires_at: reward.expires_at,
    });
    if live(&reward, now) {
        let key = |r: &Reward| (r.source.at, r.source.seq);
        let at = state.rewards.partition_point(|r| key(r) <= key(&reward));
        state.rewards.insert(at, reward);
        out.note(Notify::RewardUnlocked);
    } else {
        let mut expired = StampState {
            rewards: vec![reward],
            ..StampState::default()
        };
        expire(&mut expired, now, out);
    }
}

/// Removes the newest live reward, or records a deficit when none is left.
fn take_back(state: &mut StampState, now: DateTime<Utc>, out: &mut Outcome) {
    match state.rewards.pop() {
        Some(reward) => out.push(Entry {
            kind: EntryKind::RewardRemoved,
            amount: -1,
            lot: Some(reward.source.id.clone()),
            effective_at: reward.source.at,
            seq: reward.source.seq,
            expires_at: None,
        }),
        None => {
            state.deficit += 1;
            out.push(deficit_entry(EntryKind::RewardRemoved, -1, now, 0));
        }
    }
}

fn deficit_entry(kind: EntryKind, amount: i64, now: DateTime<Utc>, seq: u64) -> Entry {
    Entry {
        kind,
        amount,
        lot: None,
        effective_at: now,
        seq,
        expires_at: None,
    }
}

/// Redeems the oldest live reward.
pub fn redeem(
    state: &mut StampState,
    now: DateTime<Utc>,
    out: &mut Outcome,
) -> Result<(), LedgerError> {
    if state.rewards.is_empty() {
        return Err(LedgerError {
            code: "no_reward_available",
            field: "kind",
            message: "the card has no reward to redeem".into(),
            allowed_max: Some(0),
        });
    }
    let reward = state.rewards.remove(0);
    out.push(Entry {
        kind: EntryKind::RewardRedeemed,
        amount: -1,
        lot: Some(reward.source.id.clone()),
        effective_at: now,
        seq: reward.source.seq,
        expires_at: None,
    });
    Ok(())
}
