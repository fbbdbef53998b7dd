//! `/analytics`: the dashboard's figures as JSON, and the orders behind them as CSV.
//!
//! Both take a range as `from`/`to`: an RFC 3339 instant, or a date (`2026-03-01`), which
//! means that whole local day — `to=2026-03-31` includes the 31st. The zone of dates and chart
//! periods is `time_zone`, else the program's, else the one all active programs share, else
//! UTC. Without a range: the last 30 local days, today included.

mod csv;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::ids::ProgramId;
use crate::domain::ledger::day_start;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppQuery};
use crate::state::AppState;
use crate::store::{Analytics, AnalyticsQuery, Bucket, Store, StoreError, now};

/// The longest range charted in days; weeks allow five years.
pub const MAX_DAYS: i64 = 400;
const MAX_WEEKS_DAYS: i64 = 5 * 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(get_analytics))
        .route("/analytics/orders.csv", get(csv::export_orders))
}

/// `?program_id=&from=&to=&bucket=day|week&time_zone=` of `GET /analytics`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsParams {
    pub program_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub bucket: Option<String>,
    pub time_zone: Option<String>,
}

async fn get_analytics(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(p): AppQuery<AnalyticsParams>,
) -> ApiResult<AppJson<Analytics>> {
    let q = analytics_query(&state.store, &p).await?;
    Ok(AppJson(state.store.analytics(&q).await?))
}

/// The store query `p` asks for (as the dashboard page reads its own query string too);
/// errors name the parameter.
pub async fn analytics_query(store: &Store, p: &AnalyticsParams) -> ApiResult<AnalyticsQuery> {
    let bucket = match p.bucket.as_deref() {
        None => Bucket::Day,
        Some(b) => Bucket::parse(b)
            .ok_or_else(|| ApiError::invalid("bucket", "must be `day` or `week`"))?,
    };
    let r = range(
        store,
        p.program_id.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        p.time_zone.as_deref(),
    )
    .await?;
    let max = match bucket {
        Bucket::Day => MAX_DAYS,
        Bucket::Week => MAX_WEEKS_DAYS,
    };
    if r.until - r.since > TimeDelta::days(max) {
        return Err(ApiError::invalid(
            "from",
            format!("the range may be at most {max} days with this bucket"),
        ));
    }
    Ok(AnalyticsQuery {
        program_id: r.program_id,
        since: r.since,
        until: r.until,
        bucket,
        time_zone: r.tz,
    })
}

/// A parsed range: `[since, until)` in zone `tz`.
struct Range {
    program_id: Option<ProgramId>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    tz: Tz,
}

async fn range(
    store: &Store,
    program_id: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    time_zone: Option<&str>,
) -> ApiResult<Range> {
    let unknown = || ApiError::not_found("program").field("program_id");
    let program = match program_id {
        None => None,
        Some(id) => {
            let id = ProgramId::parse(id).ok_or_else(unknown)?;
            match store.get_program(&id).await {
                Err(StoreError::NotFound) => return Err(unknown()),
                other => Some(other?),
            }
        }
    };
    let tz = match (time_zone, &program) {
        (Some(name), _) => name
            .parse::<Tz>()
            .map_err(|_| ApiError::invalid("time_zone", "must be an IANA time zone name"))?,
        (None, Some(p)) => p.time_zone,
        (None, None) => shared_zone(store).await?,
    };
    let until = match to {
        None => now(),
        Some(raw) => instant(raw, tz, 1).ok_or_else(|| bad_time("to"))?,
    };
    let since = match from {
        None => day_start(
            tz,
            local_date(until - TimeDelta::microseconds(1), tz) - Days::new(29),
        ),
        Some(raw) => instant(raw, tz, 0).ok_or_else(|| bad_time("from"))?,
    };
    if since >= until {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    let program_id = program.map(|p| p.id);
    Ok(Range {
        program_id,
        since,
        until,
        tz,
    })
}

/// The zone every active program keeps its calendar in, when they agree; else UTC.
async fn shared_zone(store: &Store) -> ApiResult<Tz> {
    let programs = store.active_programs().await?;
    let mut zones = programs.iter().map(|p| p.time_zone);
    let first = zones.next().unwrap_or(Tz::UTC);
    Ok(if zones.all(|z| z == first) {
        first
    } else {
        Tz::UTC
    })
}

/// An RFC 3339 instant, or the start of a local date plus `days_after` days.
fn instant(raw: &str, tz: Tz, days_after: u64) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let date: NaiveDate = raw.parse().ok()?;
    Some(day_start(tz, date.checked_add_days(Days::new(days_after))?))
}

fn local_date(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

fn bad_time(field: &str) -> ApiError {
    ApiError::invalid(field, "must be a date (2026-03-01) or an RFC 3339 time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_means_the_whole_local_day() {
        let berlin = chrono_tz::Europe::Berlin;
        let from = instant("2026-03-01", berlin, 0).expect("a date");
        let to = instant("2026-03-01", berlin, 1).expect("a date");
        assert_eq!(from.to_rfc3339(), "2026-02-28T23:00:00+00:00");
        assert_eq!(to - from, TimeDelta::hours(24));
        assert!(instant("yesterday", berlin, 0).is_none());
    }
}
