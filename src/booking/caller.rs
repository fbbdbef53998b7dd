//! Who books decides where a booking lands: the `source` is the idempotency key space of
//! orders, refunds and redemptions, so a desk that could name `erp` would take the ERP's keys
//! (its real delivery then answers 409 and is lost) and reach the ERP's orders. The source
//! therefore follows from the caller; only an operator (an admin key, the CSV import run with
//! database access) may name one. A desk also dates its orders itself, close to now.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::BookingError;
use crate::domain::FieldError;
use crate::store::Role;

/// How far ahead of the server clock an order may be placed.
const MAX_AHEAD: TimeDelta = TimeDelta::minutes(5);
/// How far back a desk may date an order (a late booking of today's sale, not a backdating).
const DESK_MAX_BACK: TimeDelta = TimeDelta::hours(24);

/// Who sends a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Order-desk staff, by a desk key or session: books as `desk`.
    Desk,
    /// The ERP, by the signed webhook or an `erp-webhook` key: books as `erp`.
    Erp,
    /// An admin key or the CSV import: may name any source.
    Operator,
}

impl Caller {
    /// The caller an API key or staff session of `role` is.
    pub fn of_role(role: Role) -> Caller {
        match role {
            Role::Admin => Caller::Operator,
            Role::Desk => Caller::Desk,
            Role::ErpWebhook => Caller::Erp,
        }
    }

    /// The source a booking of this caller is keyed under: the caller's own, or for an
    /// operator the `named` one, else `default`. A desk or the ERP naming another source is
    /// refused rather than rewritten, so a misconfigured client learns of it.
    pub fn source(self, named: Option<&str>, default: &str) -> Result<String, BookingError> {
        let own = match self {
            Caller::Desk => "desk",
            Caller::Erp => "erp",
            Caller::Operator => {
                let source = named.unwrap_or(default);
                check_source(source)?;
                return Ok(source.to_owned());
            }
        };
        match named {
            None => Ok(own.to_owned()),
            Some(n) if n == own => Ok(own.to_owned()),
            Some(_) => Err(BookingError::SourceNotAllowed { own }),
        }
    }

    /// The instant an order was placed: `raw` (RFC 3339 with an offset), at most 5 minutes
    /// ahead of `now`; from a desk, absent means `now` and at most 24 hours back.
    pub fn placed_at(
        self,
        raw: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, BookingError> {
        let at = match (raw, self) {
            (Some(raw), _) => parse_placed_at(raw)?,
            (None, Caller::Desk) => return Ok(now),
            (None, _) => {
                return Err(unprocessable("missing_field", "missing field `placed_at`"));
            }
        };
        if now
            .checked_add_signed(MAX_AHEAD)
            .is_some_and(|latest| at > latest)
        {
            return Err(unprocessable(
                "placed_in_future",
                "must not be more than 5 minutes ahead of the server clock",
            ));
        }
        let earliest = now.checked_sub_signed(DESK_MAX_BACK);
        if self == Caller::Desk && earliest.is_none_or(|earliest| at < earliest) {
            return Err(unprocessable(
                "placed_too_early",
                "a desk order is placed now or at most 24 hours ago; leave placed_at out for now",
            ));
        }
        Ok(at)
    }
}

fn unprocessable(code: &'static str, message: &str) -> BookingError {
    BookingError::invalid(code, "placed_at", message)
}

fn parse_placed_at(raw: &str) -> Result<DateTime<Utc>, BookingError> {
    parse_instant(raw).ok_or_else(|| {
        unprocessable(
            "invalid_placed_at",
            "must be an RFC 3339 time with an offset, e.g. 2026-11-23T10:15:00+01:00",
        )
    })
}

/// An RFC 3339 instant at the precision the store keeps (microseconds), whether or not the
/// caller may book it: what "the same `placed_at`" means for a replay.
pub(super) fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc);
    Some(at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at))
}

fn check_source(source: &str) -> Result<(), FieldError> {
    let ok = !source.is_empty()
        && source.len() <= 32
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "source",
            "must be 1–32 characters of a-z, 0-9, '_' or '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_follows_the_caller_and_only_an_operator_names_one() {
        assert_eq!(
            Caller::Desk.source(None, "erp").ok().as_deref(),
            Some("desk")
        );
        assert_eq!(
            Caller::Desk.source(Some("desk"), "erp").ok().as_deref(),
            Some("desk")
        );
        let refused = Caller::Desk
            .source(Some("erp"), "erp")
            .expect_err("not the desk's");
        assert!(matches!(
            refused,
            BookingError::SourceNotAllowed { own: "desk" }
        ));
        assert!(Caller::Erp.source(Some("desk"), "erp").is_err());
        assert_eq!(
            Caller::Erp.source(None, "desk").ok().as_deref(),
            Some("erp")
        );
        assert_eq!(
            Caller::Operator.source(None, "erp").ok().as_deref(),
            Some("erp")
        );
        assert_eq!(
            Caller::Operator.source(Some("shop"), "erp").ok().as_deref(),
            Some("shop")
        );
        assert!(Caller::Operator.source(Some("Not Valid"), "erp").is_err());
    }

    #[test]
    fn a_desk_dates_orders_near_now_and_others_may_be_late() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(Caller::Desk.placed_at(None, now).ok(), Some(now));
        assert!(Caller::Erp.placed_at(None, now).is_err());
        let year_one = Some("0001-01-01T00:00:00Z");
        let e = Caller::Desk
            .placed_at(year_one, now)
            .expect_err("backdated");
        let BookingError::Invalid(e) = e else {
            panic!("not a field error: {e:?}");
        };
        assert_eq!(
            (e.code, e.field.as_str()),
            ("placed_too_early", "placed_at")
        );
        assert!(Caller::Operator.placed_at(year_one, now).is_ok());
        assert!(
            Caller::Desk
                .placed_at(Some("2026-12-06T12:00:00Z"), now)
                .is_ok()
        );
        assert!(
            Caller::Desk
                .placed_at(Some("2026-12-06T11:59:59Z"), now)
                .is_err()
        );
        assert!(
            Caller::Desk
                .placed_at(Some("2026-12-07T12:06:00Z"), now)
                .is_err()
        );
    }
}
