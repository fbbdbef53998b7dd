//! A holder's balance in a program: the projection of the ledger that a card shows. This file
//! holds the shape of a balance per kind and its zero state; the ledger functions that move it
//! build on these types.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::money::Bps;
use super::rules::{CumulativeRules, Rules, Tier};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscountBalance {
    /// Spend in the current window (informational on a plain discount card).
    pub spend_minor: i64,
    pub percent_bps: Bps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CumulativeBalance {
    pub spend_minor: i64,
    pub percent_bps: Bps,
    /// Name of the current tier.
    pub tier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_tier_percent_bps: Option<Bps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_tier_remaining_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashbackBalance {
    pub cashback_minor: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_credit_minor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_credit_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_expiry_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_expiry_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampBalance {
    /// Stamps on the card: total mod N.
    pub stamps: u32,
    pub stamps_required: u32,
    pub rewards_available: u32,
}

/// The balance of one holder in one program, with the field names of the public API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Balance {
    Discount(DiscountBalance),
    CumulativeDiscount(CumulativeBalance),
    Cashback(CashbackBalance),
    Stamp(StampBalance),
}

impl Balance {
    /// What a card shows from the moment it is issued: spend 0, balance 0, 0 stamps.
    pub fn zero(rules: &Rules) -> Balance {
        match rules {
            Rules::Discount(r) => Balance::Discount(DiscountBalance {
                spend_minor: 0,
                percent_bps: r.percent_bps,
            }),
            Rules::CumulativeDiscount(r) => Balance::CumulativeDiscount(cumulative_at(r, 0)),
            Rules::Cashback(_) => Balance::Cashback(CashbackBalance {
                cashback_minor: 0,
                last_credit_minor: None,
                last_credit_at: None,
                next_expiry_at: None,
                next_expiry_minor: None,
            }),
            Rules::Stamp(r) => Balance::Stamp(StampBalance {
                stamps: 0,
                stamps_required: r.stamps_required,
                rewards_available: 0,
            }),
        }
    }
}

/// The tier state for a given spend in window: the highest tier whose threshold is reached,
/// and what is missing to the next one.
pub fn cumulative_at(rules: &CumulativeRules, spend_minor: i64) -> CumulativeBalance {
    let index = rules
        .tiers
        .iter()
        .rposition(|t| t.min_spend_minor <= spend_minor)
        .unwrap_or(0);
    let current: Option<&Tier> = rules.tiers.get(index);
    let next = rules.tiers.get(index + 1);
    CumulativeBalance {
        spend_minor,
        percent_bps: current.map_or(Bps(0), |t| t.percent_bps),
        tier: current.map(|t| t.name.clone()).unwrap_or_default(),
        next_tier_percent_bps: next.map(|t| t.percent_bps),
        next_tier_remaining_minor: next.map(|t| t.min_spend_minor - spend_minor),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::rules::Kind;

    fn tiers() -> CumulativeRules {
        let v = json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 1_000_000, "percent_bps": 500},
            {"name": "Gold", "min_spend_minor": 5_000_000, "percent_bps": 700}]});
        match Rules::parse(Kind::CumulativeDiscount, &v) {
            Ok(Rules::CumulativeDiscount(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tier_follows_the_worked_example() {
        let silver = cumulative_at(&tiers(), 1_100_000);
        assert_eq!(
            (silver.tier.as_str(), silver.percent_bps),
            ("Silver", Bps(500))
        );
        assert_eq!(silver.next_tier_percent_bps, Some(Bps(700)));
        assert_eq!(silver.next_tier_remaining_minor, Some(3_900_000));
        let base = cumulative_at(&tiers(), 900_000);
        assert_eq!((base.tier.as_str(), base.percent_bps), ("Base", Bps(300)));
        let gold = cumulative_at(&tiers(), 5_000_000);
        assert_eq!(gold.next_tier_remaining_minor, None);
    }

    #[test]
    fn zero_balance_serializes_with_the_public_names() {
        let v = serde_json::to_value(Balance::CumulativeDiscount(cumulative_at(&tiers(), 0)));
        let v = v.expect("serializable");
        assert_eq!(v["spend_minor"], 0);
        assert_eq!(v["percent_bps"], 300);
        assert_eq!(v["tier"], "Base");
        assert_eq!(v["next_tier_remaining_minor"], 1_000_000);
    }
}
