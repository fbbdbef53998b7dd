//! The rules of the four program kinds as loyalty-rules.md defines them, parsed from JSON and
//! validated so that a program can never hold rules the balance functions cannot follow.

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::money::{Bps, check_minor};

/// The four kinds of loyalty program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Discount,
    CumulativeDiscount,
    Cashback,
    Stamp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Discount => "discount",
            Kind::CumulativeDiscount => "cumulative_discount",
            Kind::Cashback => "cashback",
            Kind::Stamp => "stamp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Kind::Discount,
            Kind::CumulativeDiscount,
            Kind::Cashback,
            Kind::Stamp,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The time window over which spend counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    #[default]
    Lifetime,
    CalendarYear,
    /// The half-open interval (now − N × 24 h, now].
    RollingDays(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountRules {
    pub percent_bps: Bps,
    #[serde(default)]
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    pub min_spend_minor: i64,
    pub percent_bps: Bps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CumulativeRules {
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashbackRules {
    pub percent_bps: Bps,
    #[serde(default)]
    pub min_order_minor: i64,
    #[serde(default = "full_share")]
    pub max_redeem_share_bps: Bps,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_days: Option<u32>,
}

impl CashbackRules {
    /// The most cashback an order of `amount_minor` may redeem from a balance of
    /// `balance_minor`: `max(0, min(balance, floor(amount × max_redeem_share_bps / 10 000)))`.
    pub fn redeemable(&self, balance_minor: i64, amount_minor: i64) -> i64 {
        balance_minor
            .min(self.max_redeem_share_bps.share_floor(amount_minor))
            .max(0)
    }
}

fn full_share() -> Bps {
    Bps::FULL
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampRules {
    pub stamps_required: u32,
    #[serde(default)]
    pub min_order_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp_every_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stamps_per_order: Option<u32>,
    /// What the holder gets for a full card, shown on the card ("Free delivery").
    pub reward: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_expiry_days: Option<u32>,
}

impl StampRules {
    /// 1 without `stamp_every_minor`, `stamps_required` with it (loyalty-rules.md).
    pub fn effective_max_stamps_per_order(&self) -> u32 {
        self.max_stamps_per_order
            .unwrap_or(match self.stamp_every_minor {
                Some(_) => self.stamps_required,
                None => 1,
            })
    }
}

/// Validated rules of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rules {
    Discount(DiscountRules),
    CumulativeDiscount(CumulativeRules),
    Cashback(CashbackRules),
    Stamp(StampRules),
}

const MAX_TEXT: usize = 200;
const MAX_DAYS: u32 = 36_600;

impl Rules {
    pub fn kind(&self) -> Kind {
        match self {
            Rules::Discount(_) => Kind::Discount,
            Rules::CumulativeDiscount(_) => Kind::CumulativeDiscount,
            Rules::Cashback(_) => Kind::Cashback,
            Rules::Stamp(_) => Kind::Stamp,
        }
    }

    /// Parses `rules` JSON for `kind`, then checks every constraint of loyalty-rules.md.
    /// Errors name the field relative to `rules`.
    pub fn parse(kind: Kind, value: &serde_json::Value) -> Result<Rules, FieldError> {
        let rules = match kind {
            Kind::Discount => Rules::Discount(from_value(value)?),
            Kind::CumulativeDiscount => Rules::CumulativeDiscount(from_value(value)?),
            Kind::Cashback => Rules::Cashback(from_value(value)?),
            Kind::Stamp => Rules::Stamp(from_value(value)?),
        };
        rules.validate()?;
        Ok(rules)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Rules::Discount(r) => serde_json::to_value(r),
            Rules::CumulativeDiscount(r) => serde_json::to_value(r),
            Rules::Cashback(r) => serde_json::to_value(r),
            Rules::Stamp(r) => serde_json::to_value(r),
        };
        // Plain structs of numbers and strings always serialize.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// The window spend counts over; cashback and stamp cards ignore windows.
    pub fn window(&self) -> Option<Window> {
        match self {
            Rules::Discount(r) => Some(r.window),
            Rules::CumulativeDiscount(r) => Some(r.window),
            Rules::Cashback(_) | Rules::Stamp(_) => None,
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        match self {
            Rules::Discount(r) => {
                check_percent("percent_bps", r.percent_bps)?;
                check_window(r.window)
            }
            Rules::CumulativeDiscount(r) => validate_tiers(&r.tiers).and(check_window(r.window)),
            Rules::Cashback(r) => validate_cashback(r),
            Rules::Stamp(r) => validate_stamp(r),
        }
    }
}

fn from_value<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| FieldError::from_serde(&e.path().to_string(), e.into_inner().to_string()))
}

/// serde reports a missing field at its parent; the name is in the message.
pub(crate) fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split('`')
        .next()
        .filter(|s| !s.is_empty())
}

fn check_percent(field: &str, bps: Bps) -> Result<(), FieldError> {
    if bps > Bps::FULL {
        return Err(FieldError::new(field, "must be at most 10000 (100 %)"));
    }
    Ok(())
}

/// A money threshold of the rules: within the bound of every money input, not negative.
fn check_non_negative(field: &str, v: i64) -> Result<(), FieldError> {
    check_minor(field, v)?;
    if v < 0 {
        return Err(FieldError::new(field, "must not be negative"));
    }
    Ok(())
}

fn check_days(field: &str, days: Option<u32>) -> Result<(), FieldError> {
    match days {
        Some(d) if d == 0 || d > MAX_DAYS => Err(FieldError::new(
            field,
            format!("must be between 1 and {MAX_DAYS} days"),
        )),
        _ => Ok(()),
    }
}

fn check_window(window: Window) -> Result<(), FieldError> {
    match window {
        Window::RollingDays(n) => check_days("window.rolling_days", Some(n)),
        _ => Ok(()),
    }
}

fn check_text(field: &str, text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

fn validate_tiers(tiers: &[Tier]) -> Result<(), FieldError> {
    if tiers.is_empty() {
        return Err(FieldError::new("tiers", "needs at least one tier"));
    }
    if tiers.len() > 20 {
        return Err(FieldError::new("tiers", "at most 20 tiers"));
    }
    for (i, tier) in tiers.iter().enumerate() {
        let at = |f: &str| format!("tiers[{i}].{f}");
        check_text(&at("name"), &tier.name)?;
        check_percent(&at("percent_bps"), tier.percent_bps)?;
        check_non_negative(&at("min_spend_minor"), tier.min_spend_minor)?;
        if i == 0 && tier.min_spend_minor != 0 {
            return Err(FieldError::new(
                at("min_spend_minor"),
                "the first tier must start at 0",
            ));
        }
        let Some(prev) = i.checked_sub(1).and_then(|p| tiers.get(p)) else {
            continue;
        };
        if tier.min_spend_minor <= prev.min_spend_minor {
            return Err(FieldError::new(
                at("min_spend_minor"),
                "tiers must be sorted by min_spend_minor, strictly ascending",
            ));
        }
        if tier.percent_bps < prev.percent_bps {
            return Err(FieldError::new(
                at("percent_bps"),
                "percentages must not decrease from one tier to the next",
            ));
        }
        if tiers[..i].iter().any(|t| t.name == tier.name) {
            return Err(FieldError::new(at("name"), "tier names must be unique"));
        }
    }
    Ok(())
}

fn validate_cashback(r: &CashbackRules) -> Result<(), FieldError> {
    check_percent("percent_bps", r.percent_bps)?;
    check_non_negative("min_order_minor", r.min_order_minor)?;
    check_percent("max_redeem_share_bps", r.max_redeem_share_bps)?;
    check_days("expiry_days", r.expiry_days)
}

fn validate_stamp(r: &StampRules) -> Result<(), FieldError> {
    if !(2..=50).contains(&r.stamps_required) {
        return Err(FieldError::new(
            "stamps_required",
            "must be between 2 and 50",
        ));
    }
    check_non_negative("min_order_minor", r.min_order_minor)?;
    if let Some(every) = r.stamp_every_minor {
        check_minor("stamp_every_minor", every)?;
        if every <= 0 {
            return Err(FieldError::new("stamp_every_minor", "must be positive"));
        }
    }
    if r.max_stamps_per_order == Some(0) {
        return Err(FieldError::new(
            "max_stamps_per_order",
            "must be at least 1",
        ));
    }
    check_text("reward", &r.reward)?;
    check_days("reward_expiry_days", r.reward_expiry_days)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(kind: Kind, v: serde_json::Value) -> FieldError {
        Rules::parse(kind, &v).expect_err("rules should be rejected")
    }

    #[test]
    fn the_worked_examples_of_the_rules_parse() {
        let tiers = json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 1_000_000, "percent_bps": 500},
            {"name": "Gold", "min_spend_minor": 5_000_000, "percent_bps": 700}]});
        assert!(Rules::parse(Kind::CumulativeDiscount, &tiers).is_ok());
        let cashback =
            json!({"percent_bps": 300, "min_order_minor": 10_000, "max_redeem_share_bps": 5_000});
        assert!(Rules::parse(Kind::Cashback, &cashback).is_ok());
        let stamp =
            json!({"stamps_required": 5, "min_order_minor": 50_000, "reward": "Free delivery"});
        assert!(Rules::parse(Kind::Stamp, &stamp).is_ok());
        let discount = json!({"percent_bps": 500, "window": {"rolling_days": 90}});
        assert!(Rules::parse(Kind::Discount, &discount).is_ok());
    }

    #[test]
    fn errors_name_the_offending_field() {
        let unsorted = json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Gold", "min_spend_minor": 0, "percent_bps": 700}]});
        assert_eq!(
            err(Kind::CumulativeDiscount, unsorted).field,
            "tiers[1].min_spend_minor"
        );
        let falling = json!({"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 10, "percent_bps": 200}]});
        assert_eq!(
            err(Kind::CumulativeDiscount, falling).field,
            "tiers[1].percent_bps"
        );
        let not_zero =
            json!({"tiers": [{"name": "Base", "min_spend_minor": 5, "percent_bps": 300}]});
        assert_eq!(
            err(Kind::CumulativeDiscount, not_zero).field,
            "tiers[0].min_spend_minor"
        );
        assert_eq!(
            err(Kind::Discount, json!({"percent_bps": 10_001})).field,
            "percent_bps"
        );
        assert_eq!(
            err(Kind::Discount, json!({"percent_bps": -1})).field,
            "percent_bps"
        );
        assert_eq!(
            err(Kind::Stamp, json!({"stamps_required": 1, "reward": "x"})).field,
            "stamps_required"
        );
        assert_eq!(
            err(Kind::Stamp, json!({"stamps_required": 5})).field,
            "reward"
        );
        assert_eq!(
            err(Kind::Cashback, json!({"percent_bps": 100, "bonus": 1})).field,
            "bonus"
        );
        assert_eq!(
            err(
                Kind::Cashback,
                json!({"percent_bps": 100, "expiry_days": 0})
            )
            .field,
            "expiry_days"
        );
        assert_eq!(
            err(
                Kind::Discount,
                json!({"percent_bps": 1, "window": {"rolling_days": 0}})
            )
            .field,
            "window.rolling_days"
        );
        assert_eq!(
            err(
                Kind::Discount,
                json!({"percent_bps": 1, "window": "weekly"})
            )
            .field,
            "window"
        );
    }

    #[test]
    fn stamp_defaults_follow_the_rules() {
        let plain = Rules::parse(Kind::Stamp, &json!({"stamps_required": 8, "reward": "x"}));
        let Ok(Rules::Stamp(plain)) = plain else {
            panic!("valid")
        };
        assert_eq!(plain.effective_max_stamps_per_order(), 1);
        let every = Rules::parse(
            Kind::Stamp,
            &json!({"stamps_required": 8, "stamp_every_minor": 100, "reward": "x"}),
        );
        let Ok(Rules::Stamp(every)) = every else {
            panic!("valid")
        };
        assert_eq!(every.effective_max_stamps_per_order(), 8);
    }
}
