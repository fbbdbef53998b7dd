//! Spend in a window: the sum of net order amounts (and spend adjustments) whose time lies in
//! the program's window at `now`. Orders count from their `placed_at` on, so one placed a few
//! minutes ahead waits as an item until then.
//!
//! What the state keeps does not grow with the orders of a lifetime or calendar-year window:
//! a lifetime window folds what entered it into one sum, a calendar year into one sum per
//! local year (everything placed in a year leaves the window at once, when the next begins,
//! and a refund names its order's `placed_at`, hence its year). Rolling windows keep an item
//! per order, since each leaves at its own instant.

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
    /// Calendar-year windows only: the net spend placed (by the state's time) in each local
    /// year that may still count; only the current year's does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<YearSpend>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearSpend {
    pub year: i32,
    pub net: i64,
}

fn local_year(tz: Tz, at: DateTime<Utc>) -> i32 {
    at.with_timezone(&tz).year()
}

/// Adds `net` to the sum of `year`, dropping a sum that comes to nothing.
fn add_to_year(state: &mut SpendState, year: i32, net: i64) {
    match state.years.iter().position(|y| y.year == year) {
        Some(i) => {
            state.years[i].net += net;
            if state.years[i].net == 0 {
                state.years.remove(i);
            }
        }
        None if net != 0 => state.years.push(YearSpend { year, net }),
        None => {}
    }
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
    let year = local_year(tz, now);
    let years: i64 = state
        .years
        .iter()
        .filter(|y| y.year == year)
        .map(|y| y.net)
        .sum();
    state.settled + items + years
}

/// Drops what left the window by `now`; in a lifetime window, folds what entered it.
pub fn settle(state: &mut SpendState, window: Window, tz: Tz, now: DateTime<Utc>) {
    match window {
        Window::Lifetime => {
            let (due, later): (Vec<_>, Vec<_>) = state.items.drain(..).partition(|i| i.at <= now);
            state.settled += due.iter().map(|i| i.net).sum::<i64>();
            state.items = later;
        }
        Window::CalendarYear => {
            let (due, later): (Vec<_>, Vec<_>) = state.items.drain(..).partition(|i| i.at <= now);
            state.items = later;
            for item in due.into_iter().filter(|i| in_window(window, tz, i.at, now)) {
                add_to_year(state, local_year(tz, item.at), item.net);
            }
            let year = local_year(tz, now);
            state.years.retain(|y| y.year >= year);
        }
        Window::RollingDays(_) => state
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
    if window == Window::CalendarYear && source.at <= now {
        add_to_year(state, local_year(tz, source.at), net);
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
    (window, tz): (Window, Tz),
    order: &OrderFacts,
    amount: i64,
    now: DateTime<Utc>,
) {
    if let Some(i) = state.items.iter().position(|i| i.id == order.id) {
        state.items[i].net -= amount;
        if state.items[i].net == 0 {
            state.items.remove(i);
        }
    } else if order.placed_at <= now {
        // Not an item (an order placed ahead is one until its time): folded into a sum.
        match window {
            Window::Lifetime => state.settled -= amount,
            // In its year's sum while that year is the current one; gone with it after.
            Window::CalendarYear => {
                let year = local_year(tz, order.placed_at);
                if state.years.iter().any(|y| y.year == year) {
                    add_to_year(state, year, -amount);
                }
            }
            // An item until it leaves the window; gone after.
            Window::RollingDays(_) => {}
        }
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
    // A year's sum leaves the window when the next year begins.
    let years = state
        .years
        .iter()
        .map(|y| year_start(tz, y.year + 1))
        .filter(|at| *at > now);
    let leaving = state
        .items
        .iter()
        .filter(|i| i.at <= now)
        .map(|i| match window {
            Window::Lifetime => i.at,
            Window::CalendarYear => year_start(tz, now.with_timezone(&tz).year() + 1),
            Window::RollingDays(n) => i.at + days(n),
        });
    entering.chain(leaving).chain(years).min()
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

    fn facts(id: &str, placed_at: DateTime<Utc>, amount: i64) -> OrderFacts {
        OrderFacts {
            id: id.into(),
            placed_at,
            amount_minor: amount,
            ..OrderFacts::default()
        }
    }

    #[test]
    fn a_calendar_year_keeps_one_sum_per_year_whatever_the_number_of_orders() {
        let tz: Tz = "Europe/Berlin".parse().expect("zone");
        let w = (Window::CalendarYear, tz);
        let mut s = SpendState::default();
        let mut now = at("2026-01-01T00:00:00Z");
        for n in 0..1_000 {
            now += chrono::TimeDelta::hours(8);
            let source = Source {
                id: format!("o{n}"),
                at: now,
                seq: n,
            };
            add(&mut s, w, &source, 1_000, now);
        }
        assert!(s.items.is_empty(), "no item per order");
        assert_eq!(
            s.years,
            [YearSpend {
                year: 2026,
                net: 1_000_000
            }]
        );
        assert_eq!(spend_at(&s, w.0, tz, now), 1_000_000);

        refund(
            &mut s,
            w,
            &facts("o5", at("2026-01-03T00:00:00Z"), 1_000),
            400,
            now,
        );
        assert_eq!(
            spend_at(&s, w.0, tz, now),
            999_600,
            "a refund of this year's order"
        );

        // 2026-12-31T23:30Z is already 2027 in Berlin: the year's sum leaves the window.
        let next_year = at("2026-12-31T23:30:00Z");
        assert_eq!(
            next_change(&s, w.0, tz, now),
            Some(at("2026-12-31T23:00:00Z"))
        );
        settle(&mut s, w.0, tz, next_year);
        assert!(s.years.is_empty() && s.items.is_empty(), "{s:?}");
        refund(
            &mut s,
            w,
            &facts("o6", at("2026-01-03T08:00:00Z"), 1_000),
            1_000,
            next_year,
        );
        assert_eq!(
            spend_at(&s, w.0, tz, next_year),
            0,
            "last year's refund takes nothing"
        );
    }

    #[test]
    fn a_state_written_with_calendar_year_items_folds_them_into_its_year() {
        let tz = Tz::UTC;
        let now = at("2026-06-01T12:00:00Z");
        let mut s: SpendState = serde_json::from_value(serde_json::json!({
            "items": [
                {"id": "a", "at": "2025-12-30T10:00:00Z", "net": 7},
                {"id": "b", "at": "2026-02-01T10:00:00Z", "net": 500},
                {"id": "c", "at": "2026-06-01T12:04:00Z", "net": 30}
            ]
        }))
        .expect("an older state");
        settle(&mut s, Window::CalendarYear, tz, now);
        assert_eq!(
            s.years,
            [YearSpend {
                year: 2026,
                net: 500
            }]
        );
        assert_eq!(s.items.len(), 1, "the order placed ahead waits as an item");
        assert_eq!(spend_at(&s, Window::CalendarYear, tz, now), 500);
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
