//! Spend in a window: the sum of net order amounts (and spend adjustments) whose time lies in
//! the program's window at `now`. Orders count from their `placed_at` on, so one placed a few
//! minutes ahead waits as an item until then.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{OrderFacts, Source, days};
use crate::domain::rules::Window;

/// Spend still counted order by order; the rest of a lifetime window is folded into `settled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendState {
    /// Lifetime windows only: net spend of everything placed up to the state's time.
    #[serde(default)]
    pub settled: i64,
    /// Sources inside the current window or not yet in it, oldest first.
    #[serde(default)]
    pub items: Vec<SpendItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendItem {
    pub id: String,
    pub at: DateTime<Utc>,
    pub net: i64,
}

/// Where the window that ends at `now` starts; `None` for lifetime. Calendar years start at
/// midnight on 1 January in the program's time zone and include that instant; rolling windows
/// are the half-open interval (now − N days, now], so their start is excluded.
pub fn window_start(window: Window, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match window {
        Window::Lifetime => None,
        Window::CalendarYear => Some(year_start(tz, now.with_timezone(&tz).year())),
        Window::RollingDays(n) => Some(now - days(n)),
    }
}

/// Whether an instant counts in the window ending at `now`.
pub fn in_window(window: Window, tz: Tz, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    if at > now {
        return false;
    }
    match (window, window_start(window, tz, now)) {
        (Window::CalendarYear, Some(start)) => at >= start,
        (_, Some(start)) => at > start,
        (_, None) => true,
    }
}

fn year_start(tz: Tz, year: i32) -> DateTime<Utc> {
    day_start(tz, NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default())
}

/// The first instant of `date` in `tz`: local midnight, or, in a zone that skips midnight
/// that day, its first instant after.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + chrono::TimeDelta::hours(h)))
                .earliest()
        })
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

pub fn spend_at(state: &SpendState, window: Window, tz: Tz, now: DateTime<Utc>) -> i64 {
    let items: i64 = state
        .items
        .iter()
        .filter(|i| in_window(window, tz, i.at, now))
        .map(|i| i.net)
        .sum();
    state.settled + items
}

/// Drops what left the window by `now`; in a lifetime window, folds what entered it.
pub fn settle(state: &mut SpendState, window: Window, tz: Tz, now: DateTime<Utc>) {
    match window {
        Window::Lifetime => {
            let (due, later): (Vec<_>, Vec<_>) = state.items.drain(..).partition(|i| i.at <= now);
            state.settled += due.iter().map(|i| i.net).sum::<i64>();
            state.items = later;
        }
        _ => state
            .items
            .retain(|i| i.at > now || in_window(window, tz, i.at, now)),
    }
}

pub fn add(
    state: &mut SpendState,
    (window, tz): (Window, Tz),
    source: &Source,
    net: i64,
    now: DateTime<Utc>,
) {
    if window == Window::Lifetime && source.at <= now {
        state.settled += net;
        return;
    }
    if source.at <= now && !in_window(window, tz, source.at, now) {
        // A late order that already left the window never counts in it.
        return;
    }
    let item = SpendItem {
        id: source.id.clone(),
        at: source.at,
        net,
    };
    let at = state.items.partition_point(|i| i.at <= item.at);
    state.items.insert(at, item);
}

/// Takes `amount` off the order's spend where it still counts.
pub fn refund(
    state: &mut SpendState,
    window: Window,
    order: &OrderFacts,
    amount: i64,
    now: DateTime<Utc>,
) {
    if let Some(i) = state.items.iter().position(|i| i.id == order.id) {
        state.items[i].net -= amount;
        if state.items[i].net == 0 {
            state.items.remove(i);
        }
    } else if window == Window::Lifetime && order.placed_at <= now {
        state.settled -= amount;
    }
}

/// The next instant at which the spend in window changes by time alone.
pub fn next_change(
    state: &SpendState,
    window: Window,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let entering = state.items.iter().map(|i| i.at).filter(|at| *at > now);
    let leaving = state
        .items
        .iter()
        .filter(|i| i.at <= now)
        .map(|i| match window {
            Window::Lifetime => i.at,
            Window::CalendarYear => year_start(tz, now.with_timezone(&tz).year() + 1),
            Window::RollingDays(n) => i.at + days(n),
        });
    entering.chain(leaving).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    #[test]
    fn calendar_years_start_at_local_midnight() {
        let tz: Tz = "Europe/Moscow".parse().expect("zone");
        let now = at("2026-06-01T12:00:00Z");
        assert_eq!(
            window_start(Window::CalendarYear, tz, now),
            Some(at("2025-12-31T21:00:00Z"))
        );
        assert!(in_window(
            Window::CalendarYear,
            tz,
            at("2025-12-31T21:00:00Z"),
            now
        ));
        assert!(!in_window(
            Window::CalendarYear,
            tz,
            at("2025-12-31T20:59:59Z"),
            now
        ));
    }

    #[test]
    fn rolling_windows_are_half_open() {
        let now = at("2026-06-01T12:00:00Z");
        let w = Window::RollingDays(30);
        assert!(!in_window(w, Tz::UTC, at("2026-05-02T12:00:00Z"), now));
        assert!(in_window(w, Tz::UTC, at("2026-05-02T12:00:01Z"), now));
        assert!(in_window(w, Tz::UTC, now, now));
        assert!(!in_window(w, Tz::UTC, at("2026-06-01T12:00:01Z"), now));
    }

    #[test]
    fn an_order_placed_ahead_counts_from_its_time_on() {
        let mut s = SpendState::default();
        let now = at("2026-06-01T12:00:00Z");
        let ahead = Source {
            id: "o1".into(),
            at: at("2026-06-01T12:03:00Z"),
            seq: 1,
        };
        add(&mut s, (Window::Lifetime, Tz::UTC), &ahead, 500, now);
        assert_eq!(spend_at(&s, Window::Lifetime, Tz::UTC, now), 0);
        assert_eq!(
            next_change(&s, Window::Lifetime, Tz::UTC, now),
            Some(ahead.at)
        );
        let later = at("2026-06-01T12:03:00Z");
        assert_eq!(spend_at(&s, Window::Lifetime, Tz::UTC, later), 500);
        settle(&mut s, Window::Lifetime, Tz::UTC, later);
        assert_eq!((s.settled, s.items.len()), (500, 0));
    }
}
