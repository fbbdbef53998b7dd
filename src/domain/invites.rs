//! Invites: QR enrollment links of a client company into one or more programs, with a number
//! of uses and an expiry; when one is still open, and the limits an admin may set.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::Serialize;

use super::FieldError;
use super::codes::InviteToken;
use super::ids::{AccountId, InviteId, ProgramId};

/// Uses of an invite when the admin names none: a team of decision-makers with room to spare.
pub const DEFAULT_MAX_USES: i64 = 50;
/// The most uses an invite may allow: more is a public link, which is not what invites are.
pub const MAX_USES: i64 = 10_000;
/// Programs one invite may enroll into.
pub const MAX_PROGRAMS: usize = 10;
/// How long an invite lasts when the admin names no expiry.
pub const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(30);

#[derive(Debug, Clone)]
pub struct Invite {
    pub id: InviteId,
    /// The secret in the link; stored as is so the QR code can be drawn again at any time.
    pub token: InviteToken,
    pub account_id: AccountId,
    /// The programs a person enrolling gets a card of, in the order the admin gave them.
    pub program_ids: Vec<ProgramId>,
    pub max_uses: i64,
    /// New members enrolled so far; someone who was already a member uses none.
    pub uses: i64,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether an invite still enrolls new people, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Active,
    Revoked,
    Expired,
    UsedUp,
}

impl Invite {
    /// The status at `at`. A revoked invite says so even when it has also expired: revocation
    /// is what the admin did on purpose.
    pub fn status(&self, at: DateTime<Utc>) -> InviteStatus {
        if self.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.expires_at <= at {
            InviteStatus::Expired
        } else if self.uses >= self.max_uses {
            InviteStatus::UsedUp
        } else {
            InviteStatus::Active
        }
    }

    pub fn uses_left(&self) -> i64 {
        (self.max_uses - self.uses).max(0)
    }
}

/// The uses an admin asked for, or the default; `max_uses` outside 1..=[`MAX_USES`] is refused.
pub fn check_max_uses(asked: Option<i64>) -> Result<i64, FieldError> {
    match asked.unwrap_or(DEFAULT_MAX_USES) {
        n @ 1..=MAX_USES => Ok(n),
        _ => Err(FieldError::new(
            "max_uses",
            format!("must be between 1 and {MAX_USES}"),
        )),
    }
}

/// The expiry an admin asked for, or [`DEFAULT_LIFETIME`] from `now`: it must lie after `now`
/// and at most a year ahead (a forgotten invite should not stay open for ever).
pub fn check_expires_at(
    asked: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldError> {
    let Some(at) = asked else {
        return Ok(now + DEFAULT_LIFETIME);
    };
    let latest = now.checked_add_months(Months::new(12)).unwrap_or(now);
    if at <= now {
        Err(FieldError::new("expires_at", "must be in the future"))
    } else if at > latest {
        Err(FieldError::new(
            "expires_at",
            "must be at most one year ahead",
        ))
    } else {
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(uses: i64, max_uses: i64, expires_in: TimeDelta) -> Invite {
        let now = Utc::now();
        Invite {
            id: InviteId::generate(),
            token: InviteToken::generate(),
            account_id: AccountId::generate(),
            program_ids: vec![ProgramId::generate()],
            max_uses,
            uses,
            expires_at: now + expires_in,
            created_at: now,
            revoked_at: None,
        }
    }

    #[test]
    fn an_invite_closes_when_revoked_expired_or_used_up_in_that_order_of_reasons() {
        let now = Utc::now();
        let open = invite(1, 2, TimeDelta::hours(1));
        assert_eq!(open.status(now), InviteStatus::Active);
        assert_eq!(open.uses_left(), 1);
        let used_up = invite(2, 2, TimeDelta::hours(1));
        assert_eq!(used_up.status(now), InviteStatus::UsedUp);
        assert_eq!(used_up.uses_left(), 0);
        let mut expired = invite(2, 2, TimeDelta::hours(-1));
        assert_eq!(expired.status(now), InviteStatus::Expired);
        expired.revoked_at = Some(now);
        assert_eq!(expired.status(now), InviteStatus::Revoked);
        // The moment of expiry already counts as expired.
        let edge = invite(0, 2, TimeDelta::zero());
        assert_eq!(edge.status(edge.expires_at), InviteStatus::Expired);
    }

    #[test]
    fn max_uses_default_to_fifty_and_stay_within_bounds() {
        assert_eq!(check_max_uses(None), Ok(DEFAULT_MAX_USES));
        assert_eq!(check_max_uses(Some(1)), Ok(1));
        assert_eq!(check_max_uses(Some(MAX_USES)), Ok(MAX_USES));
        for bad in [0, -1, MAX_USES + 1] {
            let e = check_max_uses(Some(bad)).expect_err("out of range");
            assert_eq!(e.field, "max_uses");
        }
    }

    #[test]
    fn expiry_defaults_to_thirty_days_and_must_be_future_within_a_year() {
        let now = Utc::now();
        assert_eq!(check_expires_at(None, now), Ok(now + TimeDelta::days(30)));
        let soon = now + TimeDelta::minutes(1);
        assert_eq!(check_expires_at(Some(soon), now), Ok(soon));
        for bad in [now, now - TimeDelta::days(1), now + TimeDelta::days(367)] {
            let e = check_expires_at(Some(bad), now).expect_err("refused");
            assert_eq!(e.field, "expires_at");
        }
    }
}
