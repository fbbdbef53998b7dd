//! What an order and its refunds may ask of the programs they book into: which program takes
//! an order's cashback redemption, and how much of an order is left to refund. The engine's
//! steps ([`super::apply`]) check each program on its own; these rules span the programs of one
//! order, so the booking asks them before (or while) it applies the order to each.

use super::LedgerError;
use crate::domain::rules::Rules;

/// The part of an order's cashback redemption a program with `rules` takes: all of it in a
/// cashback program, none elsewhere (the other programs book the order alone).
pub fn redemption_in(rules: &Rules, redeemed_minor: i64) -> i64 {
    match rules {
        Rules::Cashback(_) => redeemed_minor,
        _ => 0,
    }
}

/// An order that redeems cashback needs exactly one cashback program among those it books
/// into (`rules`); without a redemption any programs will do.
pub fn check_redemption<'a>(
    redeemed_minor: i64,
    rules: impl IntoIterator<Item = &'a Rules>,
) -> Result<(), LedgerError> {
    if redeemed_minor <= 0 {
        return Ok(());
    }
    let cashback = rules
        .into_iter()
        .filter(|r| matches!(r, Rules::Cashback(_)))
        .count();
    let message = match cashback {
        1 => return Ok(()),
        0 => "no cashback program takes this order",
        _ => "several cashback programs take this order; name one with program_id",
    };
    Err(LedgerError {
        code: "redemption_not_allowed",
        field: "cashback_redeemed_minor",
        message: message.into(),
        allowed_max: None,
    })
}

/// A refund of `amount_minor` from an order of `order_minor` of which `refunded_minor` is
/// refunded already: at most what remains.
pub fn check_refund(
    order_minor: i64,
    refunded_minor: i64,
    amount_minor: i64,
) -> Result<(), LedgerError> {
    let remaining = order_minor - refunded_minor;
    if amount_minor > remaining {
        return Err(LedgerError::limit(
            "refund_exceeds_remaining",
            "amount_minor",
            "the refund is more than what remains of the order",
            remaining,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::Kind;

    fn rules(kind: Kind, v: serde_json::Value) -> Rules {
        Rules::parse(kind, &v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cashback() -> Rules {
        rules(Kind::Cashback, serde_json::json!({"percent_bps": 300}))
    }

    fn stamp() -> Rules {
        let v = serde_json::json!({"stamps_required": 5, "reward": "a coffee"});
        rules(Kind::Stamp, v)
    }

    #[test]
    fn only_a_cashback_program_takes_a_redemption_and_only_one_may() {
        assert_eq!(redemption_in(&cashback(), 500), 500);
        assert_eq!(redemption_in(&stamp(), 500), 0);
        assert!(check_redemption(0, &[stamp()]).is_ok());
        assert!(check_redemption(500, &[stamp(), cashback()]).is_ok());
        let none = check_redemption(500, &[stamp()]).expect_err("no cashback program");
        assert_eq!(
            (none.code, none.field, none.allowed_max),
            ("redemption_not_allowed", "cashback_redeemed_minor", None)
        );
        assert!(check_redemption(1, &[cashback(), cashback()]).is_err());
    }

    #[test]
    fn a_refund_takes_at_most_what_remains_of_the_order() {
        assert!(check_refund(10_000, 4_000, 6_000).is_ok());
        let e = check_refund(10_000, 4_000, 6_001).expect_err("more than remains");
        assert_eq!(
            (e.code, e.allowed_max),
            ("refund_exceeds_remaining", Some(6_000))
        );
        assert_eq!(
            e.message,
            "the refund is more than what remains of the order; the allowed maximum is 6000"
        );
    }
}
