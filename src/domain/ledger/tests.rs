//! The worked examples of loyalty-rules.md on the pure engine, and property tests: after
//! every step of a random history the incremental state shows what the full recompute of the
//! ledger shows.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::domain::rules::Kind;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn rules(kind: Kind, v: serde_json::Value) -> Rules {
    Rules::parse(kind, &v).unwrap_or_else(|e| panic!("{e}"))
}

/// How many lots the split twin keeps in its state (it spills above twice as many).
const KEEP: usize = 2;

/// A holder with its ledger, driven like the service drives it.
struct Holder {
    rules: Rules,
    state: HolderState,
    /// The same holder as the store keeps it: most cashback lots cold, in `cold`.
    split: HolderState,
    cold: Vec<cashback::Lot>,
    /// Each entry with the order it belongs to (orders and their refunds).
    ledger: Vec<(Option<String>, Entry)>,
    orders: Vec<(OrderFacts, i64)>,
    now: DateTime<Utc>,
}

impl Holder {
    fn new(rules: Rules) -> Holder {
        Holder {
            rules,
            state: HolderState::default(),
            split: HolderState::default(),
            cold: Vec::new(),
            ledger: Vec::new(),
            orders: Vec::new(),
            now: t0(),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            rules: &self.rules,
            tz: Tz::Europe__Berlin,
        }
    }

    /// The split twin applies `event` as the store does (warming the cold lots the event
    /// needs, spilling after) and must come to the same outcome.
    fn run_split(&mut self, event: &Event, full: &Result<(HolderState, Outcome), LedgerError>) {
        let mut split = self.split.clone();
        let mut cold = self.cold.clone();
        while let Some(need) = cold_need(self.ctx(), &split, event, self.now) {
            let n = match need {
                cashback::ColdNeed::Oldest => KEEP.min(cold.len()),
                cashback::ColdNeed::All => cold.len(),
            };
            assert!(n > 0, "a need with nothing cold: {need:?}");
            let rest = cold.split_off(n);
            let moved = std::mem::replace(&mut cold, rest);
            let summary = cashback::summarize(&cold);
            cashback::warm(&mut split.cashback, moved, summary);
        }
        let twin = apply(self.ctx(), &split, event, self.now);
        assert_eq!(
            twin.as_ref().map(|(_, o)| o),
            full.as_ref().map(|(_, o)| o),
            "the split state decides as the whole one"
        );
        if let Ok((mut next, _)) = twin {
            cold.extend(cashback::spill(&mut next.cashback, KEEP));
            cold.sort_by_key(cashback::key);
            self.split = next;
            self.cold = cold;
        }
    }

    fn run(&mut self, event: &Event, order: Option<&str>) -> Result<Outcome, LedgerError> {
        let full = apply(self.ctx(), &self.state, event, self.now);
        self.run_split(event, &full);
        let (state, out) = full?;
        self.state = state;
        let owner = order.map(str::to_owned);
        self.ledger
            .extend(out.entries.iter().cloned().map(|e| (owner.clone(), e)));
        Ok(out)
    }

    fn order(&mut self, amount: i64, redeem: i64, placed_at: DateTime<Utc>) -> Outcome {
        let id = format!("o{}", self.orders.len());
        let event = Event::Order(OrderEvent {
            id: id.clone(),
            placed_at,
            amount_minor: amount,
            cashback_redeemed_minor: redeem,
        });
        let out = self
            .run(&event, Some(&id))
            .unwrap_or_else(|e| panic!("{e}"));
        let facts = OrderFacts {
            id,
            placed_at,
            amount_minor: amount,
            ..OrderFacts::default()
        };
        self.orders.push((facts, 0));
        out
    }

    fn facts(&self, index: usize) -> OrderFacts {
        let (base, refunded) = &self.orders[index];
        let base = OrderFacts {
            refunded_minor: *refunded,
            ..base.clone()
        };
        let own = |owner: &Option<String>| owner.as_deref() == Some(base.id.as_str());
        let related = self
            .ledger
            .iter()
            .filter(|(owner, e)| own(owner) || e.lot.as_deref() == Some(base.id.as_str()))
            .map(|(owner, e)| (own(owner), e));
        order_facts(base.clone(), related)
    }

    fn refund(&mut self, index: usize, amount: i64) -> Result<Outcome, LedgerError> {
        let order = self.facts(index);
        let id = order.id.clone();
        let event = Event::Refund {
            order,
            amount_minor: amount,
        };
        let out = self.run(&event, Some(&id))?;
        self.orders[index].1 += amount;
        Ok(out)
    }

    fn entries(&self) -> Vec<Entry> {
        self.ledger.iter().map(|(_, e)| e.clone()).collect()
    }

    fn balance(&self) -> Balance {
        view(self.ctx(), &self.state, self.now)
    }

    fn check(&self) {
        let mut merged = self.split.clone();
        let cold = std::mem::take(&mut merged.cashback.cold);
        assert_eq!(
            cold,
            cashback::summarize(&self.cold),
            "the cold summary is exact"
        );
        cashback::warm(
            &mut merged.cashback,
            self.cold.clone(),
            cashback::Cold::default(),
        );
        assert_eq!(
            merged.cashback.lots, self.state.cashback.lots,
            "split and whole lots"
        );
        assert_eq!(merged, self.state, "split and whole states hold the same");
        // The service views a state at its own time (cold lots count as live until the
        // event that expires them warms them).
        let at = self.state.as_of.unwrap_or(self.now);
        assert_eq!(
            view(self.ctx(), &self.split, at),
            view(self.ctx(), &self.state, at)
        );
        assert_eq!(
            next_change_at(self.ctx(), &self.split),
            next_change_at(self.ctx(), &self.state)
        );
        let entries = self.entries();
        for later in [TimeDelta::zero(), TimeDelta::days(3), TimeDelta::days(400)] {
            let at = self.now + later;
            assert_eq!(
                view(self.ctx(), &self.state, at),
                recompute(self.ctx(), &entries, at),
                "incremental and full recompute differ {later} after step"
            );
        }
        let s = &self.state;
        assert!(s.stamps.deficit >= 0);
        assert!(s.stamps.deficit == 0 || s.stamps.rewards.is_empty());
        assert!(s.cashback.debt >= 0);
        assert!(s.cashback.lots.iter().all(|l| l.remaining > 0));
        if let (Some(next), Some(as_of)) = (next_change_at(self.ctx(), s), s.as_of) {
            assert!(
                next > as_of,
                "a change due by the last event was left unapplied"
            );
        }
    }
}

fn cumulative() -> Rules {
    rules(
        Kind::CumulativeDiscount,
        json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 1_000_000, "percent_bps": 500},
            {"name": "Gold", "min_spend_minor": 5_000_000, "percent_bps": 700}]}),
    )
}

#[test]
fn cumulative_discount_follows_the_worked_example() {
    let mut h = Holder::new(cumulative());
    let first = h.order(400_000, 0, t0());
    assert_eq!(first.applied_percent_bps, Some(Bps(300)));
    assert_eq!(first.notify, None, "spend changes are silent");
    let second = h.order(700_000, 0, t0());
    assert_eq!(
        second.applied_percent_bps,
        Some(Bps(300)),
        "the crossing order keeps the old percentage"
    );
    assert_eq!(second.notify, Some(Notify::TierChange));
    let Balance::CumulativeDiscount(b) = h.balance() else {
        panic!("cumulative")
    };
    assert_eq!((b.spend_minor, b.tier.as_str()), (1_100_000, "Silver"));
    assert_eq!(b.percent_bps, Bps(500));
    assert_eq!(b.next_tier_remaining_minor, Some(3_900_000));
    let refund = h.refund(1, 200_000).expect("refundable");
    assert_eq!(
        refund.notify,
        Some(Notify::TierChange),
        "the drop notifies too"
    );
    let Balance::CumulativeDiscount(b) = h.balance() else {
        panic!("cumulative")
    };
    assert_eq!((b.spend_minor, b.tier.as_str()), (900_000, "Base"));
    h.check();
}

#[test]
fn cashback_follows_the_worked_example() {
    let mut h = Holder::new(rules(
        Kind::Cashback,
        json!({"percent_bps": 300, "min_order_minor": 10_000, "max_redeem_share_bps": 5_000}),
    ));
    assert_eq!(h.order(100_000, 0, t0()).earned_minor, 3_000);
    assert_eq!(h.order(9_999, 0, t0()).earned_minor, 0);
    let third = h.order(50_000, 3_000, t0());
    assert_eq!(third.earned_minor, 1_410);
    assert_eq!(third.notify, Some(Notify::CashbackCredit));
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.cashback_minor, 1_410);
    let refund = h.refund(2, 25_000).expect("refundable");
    assert_eq!(refund.notify, None, "a reversal is silent");
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.cashback_minor, 705);
    assert_eq!(
        b.last_credit_minor,
        Some(1_410),
        "reversals leave the last credit"
    );
    h.check();
}

#[test]
fn a_redemption_beyond_the_allowed_maximum_names_it() {
    let mut h = Holder::new(rules(
        Kind::Cashback,
        json!({"percent_bps": 1_000, "max_redeem_share_bps": 5_000}),
    ));
    h.order(100_000, 0, t0());
    let event = Event::Order(OrderEvent {
        id: "big".into(),
        placed_at: t0(),
        amount_minor: 12_000,
        cashback_redeemed_minor: 6_001,
    });
    let err = h.run(&event, Some("big")).expect_err("over the share");
    assert_eq!(err.code, "redemption_exceeds_allowed");
    assert_eq!(err.allowed_max, Some(6_000));
    assert_eq!(h.state.seq, 1, "a refused order leaves no trace");
}

#[test]
fn stamps_follow_the_worked_example() {
    let mut h = Holder::new(rules(
        Kind::Stamp,
        json!({"stamps_required": 5, "min_order_minor": 50_000, "reward": "Free delivery"}),
    ));
    let mut notes = Vec::new();
    for _ in 0..6 {
        notes.push(h.order(50_000, 0, t0()).notify);
    }
    assert_eq!(notes[4], Some(Notify::RewardUnlocked));
    assert_eq!(notes[5], Some(Notify::Stamp));
    let stamps = |h: &Holder| match h.balance() {
        Balance::Stamp(s) => (s.stamps, s.rewards_available),
        other => panic!("{other:?}"),
    };
    assert_eq!(stamps(&h), (1, 1));
    h.run(&Event::RedeemReward, None).expect("one reward");
    assert_eq!(stamps(&h), (1, 0));
    h.refund(0, 50_000).expect("refundable");
    assert_eq!(stamps(&h), (0, 0));
    let err = h.run(&Event::RedeemReward, None).expect_err("none left");
    assert_eq!(err.code, "no_reward_available");
    h.check();
}

#[test]
fn a_refund_of_a_redeemed_reward_leaves_a_deficit_later_stamps_cover() {
    let mut h = Holder::new(rules(
        Kind::Stamp,
        json!({"stamps_required": 2, "reward": "Coffee"}),
    ));
    h.order(1_000, 0, t0());
    h.order(1_000, 0, t0());
    h.run(&Event::RedeemReward, None).expect("one reward");
    h.refund(1, 1_000).expect("refundable");
    assert_eq!(h.state.stamps.deficit, 1);
    let covering = h.order(1_000, 0, t0());
    assert_eq!(
        covering.notify,
        Some(Notify::Stamp),
        "it only covers the deficit"
    );
    assert_eq!(h.state.stamps.deficit, 0);
    h.order(1_000, 0, t0());
    let fresh = h.order(1_000, 0, t0());
    assert_eq!(fresh.notify, Some(Notify::RewardUnlocked));
    h.check();
}

/// Found by the property test: a manual debit, then a refund of an order whose stamps the
/// debit had already taken.
#[test]
fn a_refund_after_a_manual_debit_leaves_a_stamp_debt_the_card_shows_as_zero() {
    let mut h = Holder::new(rules(
        Kind::Stamp,
        json!({"stamps_required": 3, "stamp_every_minor": 10_000, "reward": "R"}),
    ));
    h.order(30_000, 0, t0());
    let adjust = Event::Adjust {
        id: "adj".into(),
        amount: -2,
    };
    h.run(&adjust, None).expect("two of three stamps");
    h.refund(0, 30_000).expect("refundable");
    assert_eq!(h.state.stamps.total, -2);
    let card = |h: &Holder| match h.balance() {
        Balance::Stamp(b) => (b.stamps, b.rewards_available),
        other => panic!("{other:?}"),
    };
    assert_eq!(card(&h), (0, 0), "a debt shows as no stamps");
    h.check();
    h.order(30_000, 0, t0());
    assert_eq!(card(&h), (1, 0), "the next stamps pay the debt first");
    h.check();
}

#[test]
fn cashback_expires_at_its_instant_and_the_next_expiry_is_shown() {
    let mut h = Holder::new(rules(
        Kind::Cashback,
        json!({"percent_bps": 1_000, "expiry_days": 30}),
    ));
    h.order(10_000, 0, t0());
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.next_expiry_at, Some(t0() + TimeDelta::days(30)));
    assert_eq!(b.next_expiry_minor, Some(1_000));
    assert_eq!(next_change_at(h.ctx(), &h.state), b.next_expiry_at);
    h.now = t0() + TimeDelta::days(30);
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.cashback_minor, 0, "unusable from that instant");
    let out = h.run(&Event::Tick, None).expect("tick");
    assert_eq!(out.entries.len(), 1);
    assert_eq!(out.entries[0].kind, EntryKind::CashbackExpired);
    assert_eq!(out.notify, None, "expiry is silent");
    h.check();
}

#[test]
fn a_refund_reverses_the_used_part_from_other_lots_then_into_debt() {
    let mut h = Holder::new(rules(Kind::Cashback, json!({"percent_bps": 1_000})));
    h.order(10_000, 0, t0()); // +1 000
    h.order(20_000, 1_000, t0()); // redeems lot 0, earns 1 900
    h.refund(0, 10_000).expect("refundable");
    // Lot 0 was redeemed: its 1 000 come from lot 1.
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.cashback_minor, 900);
    h.refund(1, 20_000).expect("refundable");
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(
        b.cashback_minor, -1_000,
        "what no lot covers makes the balance negative"
    );
    let credit = h.order(5_000, 0, t0());
    assert_eq!(credit.notify, Some(Notify::CashbackCredit));
    let Balance::Cashback(b) = h.balance() else {
        panic!("cashback")
    };
    assert_eq!(b.cashback_minor, -500);
    h.check();
}

#[test]
fn rolling_windows_move_with_time_alone() {
    let mut h = Holder::new(rules(
        Kind::CumulativeDiscount,
        json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 100},
            {"name": "Silver", "min_spend_minor": 1_000, "percent_bps": 200}],
            "window": {"rolling_days": 10}}),
    ));
    h.order(1_000, 0, t0());
    assert_eq!(
        next_change_at(h.ctx(), &h.state),
        Some(t0() + TimeDelta::days(10))
    );
    h.now = t0() + TimeDelta::days(10);
    let out = h.run(&Event::Tick, None).expect("tick");
    assert_eq!(out.notify, Some(Notify::TierChange));
    assert_eq!(next_change_at(h.ctx(), &h.state), None);
    h.check();
}

#[derive(Debug, Clone)]
enum Op {
    Order {
        amount: i64,
        hours_ago: i64,
        redeem_pct: i64,
    },
    Refund {
        pick: usize,
        pct: i64,
    },
    Redeem,
    Adjust(i64),
    Clock(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1i64..300_000, prop_oneof![Just(0i64), 0i64..2_000, -1i64..0], 0i64..=100)
            .prop_map(|(amount, hours_ago, redeem_pct)| Op::Order { amount, hours_ago, redeem_pct }),
        3 => (any::<usize>(), 1i64..=100).prop_map(|(pick, pct)| Op::Refund { pick, pct }),
        1 => Just(Op::Redeem),
        1 => (-5_000i64..5_000).prop_map(Op::Adjust),
        2 => (1i64..1_500).prop_map(Op::Clock),
    ]
}

fn programs() -> impl Strategy<Value = Rules> {
    let window = prop_oneof![
        Just(json!("lifetime")),
        Just(json!("calendar_year")),
        (1u32..60).prop_map(|n| json!({"rolling_days": n})),
    ];
    prop_oneof![
        window
            .clone()
            .prop_map(|w| rules(Kind::Discount, json!({"percent_bps": 500, "window": w}))),
        window.prop_map(|w| rules(
            Kind::CumulativeDiscount,
            json!({"window": w, "tiers": [
                {"name": "Base", "min_spend_minor": 0, "percent_bps": 100},
                {"name": "Silver", "min_spend_minor": 200_000, "percent_bps": 300},
                {"name": "Gold", "min_spend_minor": 600_000, "percent_bps": 300}]})
        )),
        (
            1u32..2_000,
            0i64..50_000,
            1u32..=10_000,
            prop::option::of(1u32..90)
        )
            .prop_map(|(p, min, share, expiry)| {
                let mut v = json!({"percent_bps": p, "min_order_minor": min,
                    "max_redeem_share_bps": share});
                if let Some(d) = expiry {
                    v["expiry_days"] = json!(d);
                }
                rules(Kind::Cashback, v)
            }),
        (
            2u32..6,
            0i64..50_000,
            prop::option::of(10_000i64..80_000),
            prop::option::of(1u32..4),
            prop::option::of(1u32..60)
        )
            .prop_map(|(n, min, every, max, expiry)| {
                let mut v = json!({"stamps_required": n, "min_order_minor": min, "reward": "R"});
                if let Some(e) = every {
                    v["stamp_every_minor"] = json!(e);
                }
                if let Some(m) = max {
                    v["max_stamps_per_order"] = json!(m);
                }
                if let Some(d) = expiry {
                    v["reward_expiry_days"] = json!(d);
                }
                rules(Kind::Stamp, v)
            }),
    ]
}

fn step(h: &mut Holder, op: &Op, adjustments: &mut usize) {
    match op {
        Op::Order {
            amount,
            hours_ago,
            redeem_pct,
        } => {
            // -1 hour ago stands for "a few minutes ahead".
            let placed_at = if *hours_ago < 0 {
                h.now + TimeDelta::minutes(4)
            } else {
                h.now - TimeDelta::hours(*hours_ago)
            };
            let redeem = match (&h.rules, h.balance()) {
                (Rules::Cashback(r), Balance::Cashback(b)) => {
                    r.redeemable(b.cashback_minor, *amount) * redeem_pct / 100
                }
                _ => 0,
            };
            h.order(*amount, redeem, placed_at);
        }
        Op::Refund { pick, pct } => {
            if h.orders.is_empty() {
                return;
            }
            let index = pick % h.orders.len();
            let (facts, refunded) = &h.orders[index];
            let left = facts.amount_minor - refunded;
            let amount = (left * pct / 100).max(1);
            let full = *pct == 100;
            let before_reversed = reversed_by(h, &facts.id.clone());
            if left > 0 {
                h.refund(index, amount).unwrap_or_else(|e| panic!("{e}"));
            }
            let facts = h.facts(index);
            if full && left > 0 && matches!(h.rules, Rules::Cashback(_)) {
                let reversed = reversed_by(h, &facts.id);
                assert!(reversed >= before_reversed);
                assert!(
                    facts.earned_minor - reversed <= facts.expired_minor,
                    "a full refund reverses all that was earned but expired"
                );
            }
            if left > 0 {
                assert!(h.refund(index, left - amount + 1).is_err(), "over-refund");
            }
        }
        Op::Redeem => {
            let _ = h.run(&Event::RedeemReward, None);
        }
        Op::Adjust(amount) => {
            *adjustments += 1;
            let event = Event::Adjust {
                id: format!("a{adjustments}"),
                amount: *amount,
            };
            let _ = h.run(&event, None);
        }
        Op::Clock(hours) => {
            h.now += TimeDelta::hours(*hours);
            if *hours % 2 == 0 {
                h.run(&Event::Tick, None).expect("ticks never fail");
            }
        }
    }
}

fn reversed_by(h: &Holder, order: &str) -> i64 {
    h.ledger
        .iter()
        .filter(|(owner, e)| {
            owner.as_deref() == Some(order) && e.kind == EntryKind::CashbackReversed
        })
        .map(|(_, e)| -e.amount)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn incremental_balances_equal_the_full_recompute(
        rules in programs(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let mut h = Holder::new(rules);
        let mut adjustments = 0;
        for op in &ops {
            step(&mut h, op, &mut adjustments);
            h.check();
        }
    }
}
