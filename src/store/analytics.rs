//! What the admin dashboard shows, per program: cards issued and installed, active holders,
//! orders and revenue per day or week, the tier distribution, rewards redeemed and push
//! deliveries. Aggregated in the database (see `queries`), assembled here; the CSV export of
//! the orders behind the figures pages through them in `export`.
//!
//! Money is per program, in the program's currency; nothing here adds up programs, so no
//! figure mixes currencies or counts an order booked in two programs twice.
//!
//! Cost: six aggregate statements run side by side (the orders one once per 200 periods),
//! plus one per cumulative-discount program for its tiers. Orders are found by the
//! `orders_placed` index (migration 0012). Measured on a debug build, two busy shared cores,
//! 100k orders over a year each booked in two programs, 300 companies, 100k deliveries:
//! 30 days by day ≈ 100 ms on SQLite, ≈ 130 ms on PostgreSQL; the whole year by week
//! ≈ 350 / 300 ms, by day ≈ 650 / 450 ms. (Before the index and the `CROSS JOIN`s of
//! `queries`, a year by day took over 50 s on SQLite.)

mod assemble;
mod buckets;
mod export;
mod queries;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

pub use buckets::Bucket;
use buckets::spans;
pub use export::{ExportCursor, ExportedOrder, OrderExport};

use super::ledger::shown_stored;
use super::{Store, StoreResult};
use crate::domain::balance::Balance;
use crate::domain::ids::ProgramId;
use crate::domain::model::{BalanceScope, Program};
use crate::domain::money::Currency;
use crate::domain::rules::{Kind, Rules};
use assemble::{Figures, group};
use queries::Filter;

/// Holders count as active with an order placed in this long before `until`.
pub const ACTIVE_DAYS: i64 = 30;

/// What to aggregate: one program or all, orders placed in `[since, until)`, charted in
/// periods of `bucket` in `time_zone`.
#[derive(Debug, Clone)]
pub struct AnalyticsQuery {
    pub program_id: Option<ProgramId>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub bucket: Bucket,
    pub time_zone: Tz,
}

/// The dashboard's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub bucket: Bucket,
    /// IANA name of the zone the periods are local days or weeks of.
    pub time_zone: String,
    /// Start of the window `active_holders` counts orders in (`until` − 30 days).
    pub active_since: DateTime<Utc>,
    /// Programs by name.
    pub programs: Vec<ProgramAnalytics>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgramAnalytics {
    pub id: ProgramId,
    pub name: String,
    pub kind: Kind,
    pub currency: Currency,
    pub cards: CardCounts,
    pub installs: Installs,
    /// Google callbacks received in the range.
    pub google_events: GoogleEvents,
    /// Distinct holders (members or accounts, by the program's scope) with an order in the
    /// last 30 days before `until`.
    pub active_holders: i64,
    /// Orders placed in the range, in the program's currency.
    pub orders: OrderTotals,
    /// The same per period, oldest first, every period present (zero when it had no order).
    pub series: Vec<Point>,
    /// Cumulative-discount programs: holders of live cards per tier, as their cards show it,
    /// in the rules' order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<TierCount>>,
    pub rewards: Rewards,
    /// Deliveries queued in the range, per kind (`apple_push`, `google_object`).
    pub push: Vec<PushCounts>,
}

/// Cards as they stand now; `issued_in_range` were created in the range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CardCounts {
    pub issued: i64,
    pub active: i64,
    pub suspended: i64,
    pub revoked: i64,
    pub issued_in_range: i64,
}

/// Cards in a wallet now: Apple, registered on at least one device; Google, whose object's
/// latest callback is a save.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Installs {
    pub apple: i64,
    pub google: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct GoogleEvents {
    pub saves: i64,
    pub deletes: i64,
}

/// `revenue_minor` is `gross_minor − refunded_minor`: refunds count against the order's
/// period, whenever they came.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OrderTotals {
    pub orders: i64,
    pub gross_minor: i64,
    pub refunded_minor: i64,
    #[sqlx(skip)]
    pub revenue_minor: i64,
}

impl OrderTotals {
    fn add(&mut self, other: &OrderTotals) {
        self.orders += other.orders;
        self.gross_minor += other.gross_minor;
        self.refunded_minor += other.refunded_minor;
        self.revenue_minor = self.gross_minor - self.refunded_minor;
    }
}

/// One period of a chart: labelled by its first local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    pub start: NaiveDate,
    #[serde(flatten)]
    pub totals: OrderTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierCount {
    pub name: String,
    pub holders: i64,
}

/// Redeemed in the range: stamp rewards at the desk; cashback taken off orders (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rewards {
    pub stamp_rewards: i64,
    pub cashback_minor: i64,
}

/// Deliveries by where they stand now; `retrying` are pending ones that failed before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PushCounts {
    pub kind: String,
    pub done: i64,
    pub pending: i64,
    pub retrying: i64,
    pub dead: i64,
}

impl Store {
    /// The dashboard's figures for `q`. An unknown `q.program_id` is `NotFound`.
    pub async fn analytics(&self, q: &AnalyticsQuery) -> StoreResult<Analytics> {
        let programs = self.analytics_programs(q.program_id.as_ref()).await?;
        let spans = spans(q.since, q.until, q.bucket, q.time_zone);
        let active_since = q.until - TimeDelta::days(ACTIVE_DAYS);
        let (since, until) = (q.since, q.until);
        let program = q.program_id.as_ref().map(ProgramId::as_str);
        let range = Filter {
            since,
            until,
            program,
        };
        let active = Filter {
            since: active_since,
            ..range
        };
        let (cards, google, series, active, rewards, push) = tokio::try_join!(
            self.card_counts(range),
            self.google_events(range),
            self.order_series(&spans, program),
            self.active_holders(active),
            self.rewards_redeemed(range),
            self.push_counts(range),
        )?;
        let mut figures = Figures {
            cards,
            google,
            series: group(series, |r| r.program_id.clone()),
            active,
            rewards,
            push: group(push, |(program, _)| program.clone()),
        };
        let mut out = Vec::with_capacity(programs.len());
        for program in programs {
            let tiers = self.tier_counts(&program).await?;
            out.push(figures.take(program, &spans, tiers));
        }
        Ok(Analytics {
            since,
            until,
            bucket: q.bucket,
            time_zone: q.time_zone.name().to_owned(),
            active_since,
            programs: out,
        })
    }

    /// The one program asked for, or all of them by name.
    async fn analytics_programs(&self, id: Option<&ProgramId>) -> StoreResult<Vec<Program>> {
        if let Some(id) = id {
            return Ok(vec![self.get_program(id).await?]);
        }
        let mut programs = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_programs(after.as_deref(), 500).await?;
            programs.extend(page.items);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        programs.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(programs)
    }

    /// Holders of live cards per tier, as their cards show it (the stored state viewed as of
    /// the holder's last change, like `shown_balance`); `None` for other kinds.
    async fn tier_counts(&self, program: &Program) -> StoreResult<Option<Vec<TierCount>>> {
        let Rules::CumulativeDiscount(rules) = &program.rules else {
            return Ok(None);
        };
        let column = match program.balance_scope {
            BalanceScope::Member => "member_id",
            BalanceScope::Account => "account_id",
        };
        let mut counts: Vec<TierCount> = (rules.tiers.iter())
            .map(|t| TierCount {
                name: t.name.clone(),
                holders: 0,
            })
            .collect();
        for state in self.card_holder_states(program.id.as_str(), column).await? {
            let Balance::CumulativeDiscount(shown) = shown_stored(program, state.as_deref())?
            else {
                continue;
            };
            match counts.iter_mut().find(|c| c.name == shown.tier) {
                Some(c) => c.holders += 1,
                None => counts.push(TierCount {
                    name: shown.tier,
                    holders: 1,
                }),
            }
        }
        Ok(Some(counts))
    }
}
