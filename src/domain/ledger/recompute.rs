//! The full recompute: a holder's balance at `now` from its ledger entries alone, without the
//! incremental state. Lots and rewards are the sums of the entries that name them; what is due
//! to expire by `now` no longer counts even when the scheduled job has not written it yet.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::spend::in_window;
use super::{Ctx, Entry, EntryKind};
use crate::domain::balance::{
    Balance, CashbackBalance, DiscountBalance, StampBalance, cumulative_at,
};
use crate::domain::rules::Rules;

pub fn recompute(ctx: Ctx<'_>, entries: &[Entry], now: DateTime<Utc>) -> Balance {
    let window = ctx.window();
    let spend = || -> i64 {
        entries
            .iter()
            .filter(|e| e.kind.is_spend() && in_window(window, ctx.tz, e.effective_at, now))
            .map(|e| e.amount)
            .sum()
    };
    match ctx.rules {
        Rules::Discount(r) => Balance::Discount(DiscountBalance {
            spend_minor: spend(),
            percent_bps: r.percent_bps,
        }),
        Rules::CumulativeDiscount(r) => Balance::CumulativeDiscount(cumulative_at(r, spend())),
        Rules::Cashback(_) => Balance::Cashback(cashback(entries, now)),
        Rules::Stamp(r) => {
            let total: i64 = entries
                .iter()
                .filter(|e| e.kind.is_stamps())
                .map(|e| e.amount)
                .sum();
            let rewards = Lots::of(entries.iter().filter(|e| e.kind.is_reward()));
            Balance::Stamp(StampBalance {
                stamps: super::stamp::stamps_on_card(total, r.stamps_required),
                stamps_required: r.stamps_required,
                rewards_available: u32::try_from(rewards.live_sum(now).max(0)).unwrap_or(0),
            })
        }
    }
}

/// Entries grouped by the lot (or reward source) they name.
#[derive(Default)]
struct Lots {
    named: HashMap<String, (i64, Option<DateTime<Utc>>)>,
    /// The sum of entries naming no lot: a debt or a reward deficit (≤ 0).
    unnamed: i64,
}

impl Lots {
    fn of<'a>(entries: impl Iterator<Item = &'a Entry>) -> Lots {
        let mut lots = Lots::default();
        for e in entries {
            match &e.lot {
                Some(id) => {
                    let lot = lots.named.entry(id.clone()).or_default();
                    lot.0 += e.amount;
                    lot.1 = lot.1.or(e.expires_at);
                }
                None => lots.unnamed += e.amount,
            }
        }
        lots
    }

    fn live(&self, now: DateTime<Utc>) -> impl Iterator<Item = (i64, Option<DateTime<Utc>>)> {
        self.named
            .values()
            .copied()
            .filter(move |(_, expires)| expires.is_none_or(|e| e > now))
    }

    fn live_sum(&self, now: DateTime<Utc>) -> i64 {
        self.live(now).map(|(sum, _)| sum).sum::<i64>() + self.unnamed
    }
}

fn cashback(entries: &[Entry], now: DateTime<Utc>) -> CashbackBalance {
    let lots = Lots::of(entries.iter().filter(|e| e.kind.is_cashback()));
    let next_expiry_at = lots
        .live(now)
        .filter(|(sum, _)| *sum > 0)
        .filter_map(|(_, e)| e)
        .min();
    let next_expiry_minor = next_expiry_at.map(|at| {
        lots.live(now)
            .filter(|(_, e)| *e == Some(at))
            .map(|(sum, _)| sum)
            .sum()
    });
    // The most recent order's earning: every credit entry of one order shares its time and
    // booking sequence.
    let mut earnings: HashMap<(DateTime<Utc>, u64), i64> = HashMap::new();
    for e in entries
        .iter()
        .filter(|e| e.kind == EntryKind::CashbackEarned)
    {
        *earnings.entry((e.effective_at, e.seq)).or_default() += e.amount;
    }
    let last = earnings
        .into_iter()
        .filter(|(_, minor)| *minor > 0)
        .max_by_key(|(key, _)| *key);
    CashbackBalance {
        cashback_minor: lots.live_sum(now),
        last_credit_minor: last.map(|(_, minor)| minor),
        last_credit_at: last.map(|((at, _), _)| at),
        next_expiry_at,
        next_expiry_minor,
    }
}
