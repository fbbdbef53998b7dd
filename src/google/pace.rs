//! Google's two limits on how the service talks to a holder's pass (spec google-wallet.md):
//!
//! - **Notifications**: at most 3 notifying updates per object in 24 hours (a 4th is refused
//!   with 403 `quotaExceeded`). [`notify_or_silent`] spends them most important first: a stamp
//!   may use only the first of the day's three, a cashback credit the first two, a tier change
//!   or an unlocked reward any; the rest become silent updates. The count comes from the
//!   database (persisted per object, so every instance and a restart see it).
//! - **Requests**: 20 per second for the whole service. [`RequestPace`] is a token bucket that
//!   every call to the Wallet API waits on.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::domain::face::Notify;

/// Notifying updates Google allows per object in 24 hours.
pub const NOTIFICATIONS_PER_DAY: u32 = 3;

/// Google's documented request rate for the whole Wallet API.
pub const REQUESTS_PER_SECOND: u32 = 20;

/// Whether an update notifies the holder or goes silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Notify,
    Silent,
}

/// How many of the day's notifications a reason may reach into: a lower reason leaves the
/// last ones to higher reasons.
fn reach(reason: Notify) -> u32 {
    match reason {
        Notify::RewardUnlocked | Notify::TierChange => NOTIFICATIONS_PER_DAY,
        Notify::CashbackCredit => NOTIFICATIONS_PER_DAY - 1,
        Notify::Stamp => 1,
    }
}

/// The reason among `reasons` that may reach furthest into the day's notifications (the
/// most important one), for several changes delivered as one update.
pub fn most_important(reasons: impl IntoIterator<Item = Notify>) -> Option<Notify> {
    reasons.into_iter().max_by_key(|r| reach(*r))
}

/// Whether a change with `reason` notifies, given the notifying updates the object got in
/// the last 24 hours.
pub fn notify_or_silent(reason: Option<Notify>, sent_last_day: u32) -> Delivery {
    match reason {
        Some(r) if sent_last_day < reach(r) => Delivery::Notify,
        _ => Delivery::Silent,
    }
}

/// A token bucket: `rate` requests per second, bursts of up to `rate`.
#[derive(Debug)]
pub struct RequestPace {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RequestPace {
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        RequestPace {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Waits until a request may go.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().await;
            let (tokens, last) = &mut *state;
            let now = Instant::now();
            *tokens =
                (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.rate);
            *last = now;
            *tokens -= 1.0;
            // A negative balance is this request's wait; later callers queue behind it.
            (*tokens < 0.0).then(|| Duration::from_secs_f64(-*tokens / self.rate))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_go_to_the_most_important_changes_first() {
        use Delivery::{Notify as N, Silent as S};
        let day = |reason| {
            (0..5)
                .map(|sent| notify_or_silent(reason, sent))
                .collect::<Vec<_>>()
        };
        assert_eq!(day(Some(Notify::RewardUnlocked)), [N, N, N, S, S]);
        assert_eq!(day(Some(Notify::TierChange)), [N, N, N, S, S]);
        assert_eq!(day(Some(Notify::CashbackCredit)), [N, N, S, S, S]);
        assert_eq!(day(Some(Notify::Stamp)), [N, S, S, S, S]);
        assert_eq!(day(None), [S, S, S, S, S]);
        assert_eq!(
            most_important([Notify::Stamp, Notify::TierChange, Notify::CashbackCredit]),
            Some(Notify::TierChange)
        );
        assert_eq!(most_important([]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_pace_lets_a_burst_through_then_spaces_requests() {
        let pace = RequestPace::new(20);
        let start = tokio::time::Instant::now();
        for _ in 0..20 {
            pace.acquire().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(5),
            "a burst of 20 goes at once"
        );
        for _ in 0..20 {
            pace.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(950) && elapsed <= Duration::from_millis(1_100),
            "the next 20 take a second: {elapsed:?}"
        );
    }
}
