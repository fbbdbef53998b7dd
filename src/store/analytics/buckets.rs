//! The periods a dashboard chart shows: local calendar days or ISO weeks (from Monday) in the
//! viewer's time zone, clipped to the requested range. Pure, so the time-zone edges are
//! unit-tested without a database.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::ledger::day_start;

/// How long one period of a chart is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    Week,
}

impl Bucket {
    pub fn parse(s: &str) -> Option<Bucket> {
        match s {
            "day" => Some(Bucket::Day),
            "week" => Some(Bucket::Week),
            _ => None,
        }
    }

    /// The period containing local date `d`: its first day.
    fn first_day(self, d: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => d,
            Bucket::Week => d - Days::new(u64::from(d.weekday().num_days_from_monday())),
        }
    }

    fn days(self) -> Days {
        match self {
            Bucket::Day => Days::new(1),
            Bucket::Week => Days::new(7),
        }
    }
}

/// One period: labelled by its first local day, counting instants in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The periods of `bucket` in `tz` that meet `[since, until)`, oldest first; the first and
/// last are clipped to the range, so together they cover it exactly. Empty when
/// `since >= until`.
pub fn spans(since: DateTime<Utc>, until: DateTime<Utc>, bucket: Bucket, tz: Tz) -> Vec<Span> {
    let mut out = Vec::new();
    let mut day = bucket.first_day(since.with_timezone(&tz).date_naive());
    let mut from = since;
    while from < until {
        let Some(next) = day.checked_add_days(bucket.days()) else {
            break;
        };
        // Never before `from`: a zone's clock change cannot make a period run backwards.
        let to = day_start(tz, next).clamp(from, until);
        if to > from {
            out.push(Span {
                start: day,
                from,
                to,
            });
        }
        (day, from) = (next, to);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("a time")
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// The label of the period holding `at`.
    fn period_of(spans: &[Span], at: DateTime<Utc>) -> Option<NaiveDate> {
        spans
            .iter()
            .find(|s| s.from <= at && at < s.to)
            .map(|s| s.start)
    }

    #[test]
    fn an_order_at_23_30_utc_falls_on_the_next_day_in_berlin() {
        let days = spans(
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-04T00:00:00Z"),
            Bucket::Day,
            chrono_tz::Europe::Berlin,
        );
        let late = utc("2026-03-01T23:30:00Z");
        assert_eq!(period_of(&days, late), Some(date("2026-03-02")));
        let utc_days = spans(late, utc("2026-03-03T00:00:00Z"), Bucket::Day, Tz::UTC);
        assert_eq!(period_of(&utc_days, late), Some(date("2026-03-01")));
    }

    #[test]
    fn days_are_clipped_to_the_range_and_cover_it_without_gaps() {
        let (since, until) = (utc("2026-03-01T10:00:00Z"), utc("2026-03-03T05:00:00Z"));
        let days = spans(since, until, Bucket::Day, chrono_tz::Europe::Berlin);
        let starts: Vec<String> = days.iter().map(|s| s.start.to_string()).collect();
        assert_eq!(starts, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        assert_eq!(days[0].from, since);
        assert_eq!(days[0].to, utc("2026-03-01T23:00:00Z"));
        assert_eq!(days[2].to, until);
        assert!(days.windows(2).all(|w| w[0].to == w[1].from));
    }

    #[test]
    fn the_day_clocks_go_forward_is_23_hours_long() {
        let berlin = chrono_tz::Europe::Berlin;
        let since = berlin
            .with_ymd_and_hms(2026, 3, 29, 0, 0, 0)
            .single()
            .expect("a local time")
            .with_timezone(&Utc);
        let days = spans(
            since,
            since + chrono::TimeDelta::days(2),
            Bucket::Day,
            berlin,
        );
        assert_eq!(days[0].to - days[0].from, chrono::TimeDelta::hours(23));
        assert_eq!(days[1].start, date("2026-03-30"));
    }

    #[test]
    fn weeks_start_on_monday_in_the_zone() {
        // Sunday 2026-03-08 23:30 UTC is Monday 00:30 in Berlin: a new week there.
        let weeks = spans(
            utc("2026-03-04T00:00:00Z"),
            utc("2026-03-20T00:00:00Z"),
            Bucket::Week,
            chrono_tz::Europe::Berlin,
        );
        let starts: Vec<String> = weeks.iter().map(|s| s.start.to_string()).collect();
        assert_eq!(starts, ["2026-03-02", "2026-03-09", "2026-03-16"]);
        let sunday_night = utc("2026-03-08T23:30:00Z");
        assert_eq!(period_of(&weeks, sunday_night), Some(date("2026-03-09")));
    }

    #[test]
    fn an_empty_or_reversed_range_has_no_periods() {
        let t = utc("2026-03-01T00:00:00Z");
        assert!(spans(t, t, Bucket::Day, Tz::UTC).is_empty());
        assert!(spans(t, t - chrono::TimeDelta::days(1), Bucket::Week, Tz::UTC).is_empty());
    }
}
