//! The aggregate statements behind [`Store::analytics`], one per figure group, each grouped
//! by program. The SQL text is the same on both engines: no date functions (SQLite has no
//! `date_trunc`), periods are passed in as bound instants instead.
//!
//! An order belongs to every program it was booked in: its `spend` ledger entry of event
//! `order` names the program (an order without `program_id` is booked in every active
//! program of its currency), so each program's figures count it once, in its own currency.
//!
//! Statements joining orders with their entries write `CROSS JOIN`: SQLite then nests the
//! tables in the order written (periods, orders by `orders_placed`, entries by order), where
//! its planner, given a couple of hundred periods, scanned every spend entry once per period
//! (a year by day over 100k orders took minutes). To PostgreSQL it is a plain join it orders
//! itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::buckets::Span;
use super::{CardCounts, GoogleEvents, Installs, OrderTotals, PushCounts};
use crate::store::tx::{Arg, Row, args};
use crate::store::{Store, StoreResult};

/// The ledger entry that ties an order to each program it was booked in.
const BOOKED_IN: &str = "e.order_id = o.id AND e.kind = 'spend' AND e.event_type = 'order'";

/// Bucket rows per statement: keeps the bound parameters far below both engines' limits.
const SPANS_PER_STATEMENT: usize = 200;

/// Figures keyed by program id.
pub(super) type ByProgram<T> = HashMap<String, T>;

#[derive(sqlx::FromRow)]
pub(super) struct CardsRow {
    program_id: String,
    #[sqlx(flatten)]
    pub cards: CardCounts,
    #[sqlx(flatten)]
    pub installs: Installs,
}

#[derive(sqlx::FromRow)]
struct GoogleRow {
    program_id: String,
    #[sqlx(flatten)]
    events: GoogleEvents,
}

#[derive(sqlx::FromRow)]
pub(super) struct SeriesRow {
    pub program_id: String,
    pub bucket: i64,
    #[sqlx(flatten)]
    pub totals: OrderTotals,
    pub cashback_redeemed_minor: i64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    program_id: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct PushRow {
    program_id: String,
    #[sqlx(flatten)]
    pub counts: PushCounts,
}

/// What every statement filters by: `$1`, `$2` the range `[since, until)`, `$3` the
/// program or NULL for all.
#[derive(Debug, Clone, Copy)]
pub(super) struct Filter<'a> {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub program: Option<&'a str>,
}

impl Filter<'_> {
    fn args(&self) -> Vec<Arg> {
        Vec::from(args![self.since, self.until, self.program])
    }
}

impl Store {
    /// Runs `sql` under `f` and keys its rows by program with `split`.
    async fn by_program<R: Row, T>(
        &self,
        sql: &str,
        f: Filter<'_>,
        split: impl Fn(R) -> (String, T),
    ) -> StoreResult<ByProgram<T>> {
        let rows: Vec<R> = self.select(sql, &f.args()).await?;
        Ok(rows.into_iter().map(split).collect())
    }

    /// Cards by status, issued in the range, and installed (Apple: registered on a device;
    /// Google: the object's latest callback is a save).
    pub(super) async fn card_counts(&self, f: Filter<'_>) -> StoreResult<ByProgram<CardsRow>> {
        let sql = "SELECT c.program_id, COUNT(*) AS issued, \
            COUNT(CASE WHEN c.status = 'active' THEN 1 END) AS active, \
            COUNT(CASE WHEN c.status = 'suspended' THEN 1 END) AS suspended, \
            COUNT(CASE WHEN c.status = 'revoked' THEN 1 END) AS revoked, \
            COUNT(CASE WHEN c.created_at >= $1 AND c.created_at < $2 THEN 1 END) AS issued_in_range, \
            COUNT(CASE WHEN EXISTS (SELECT 1 FROM registrations r WHERE r.card_id = c.id) THEN 1 END) AS apple, \
            COUNT(CASE WHEN (SELECT g.event_type FROM google_callbacks g WHERE g.object_id = c.google_object_id \
                ORDER BY g.received_at DESC, g.nonce DESC LIMIT 1) = 'save' THEN 1 END) AS google \
            FROM cards c WHERE ($3 IS NULL OR c.program_id = $3) GROUP BY c.program_id";
        self.by_program(sql, f, |r: CardsRow| (r.program_id.clone(), r))
            .await
    }

    /// Google save and delete callbacks received in the range.
    pub(super) async fn google_events(
        &self,
        f: Filter<'_>,
    ) -> StoreResult<ByProgram<GoogleEvents>> {
        let sql = "SELECT c.program_id, \
            COUNT(CASE WHEN g.event_type = 'save' THEN 1 END) AS saves, \
            COUNT(CASE WHEN g.event_type = 'del' THEN 1 END) AS deletes \
            FROM google_callbacks g JOIN cards c ON c.google_object_id = g.object_id \
            WHERE g.received_at >= $1 AND g.received_at < $2 AND ($3 IS NULL OR c.program_id = $3) \
            GROUP BY c.program_id";
        self.by_program(sql, f, |r: GoogleRow| (r.program_id, r.events))
            .await
    }

    /// Orders, gross, refunded and redeemed cashback per program and span (spans without
    /// orders have no row). `bucket` is the index into `spans`.
    pub(super) async fn order_series(
        &self,
        spans: &[Span],
        program: Option<&str>,
    ) -> StoreResult<Vec<SeriesRow>> {
        let mut rows = Vec::new();
        for (n, chunk) in spans.chunks(SPANS_PER_STATEMENT).enumerate() {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let offset = n * SPANS_PER_STATEMENT;
            let range = Filter {
                since: first.from,
                until: last.to,
                program,
            };
            let mut values = range.args();
            let mut table = Vec::with_capacity(chunk.len());
            for (i, span) in chunk.iter().enumerate() {
                let p = values.len() + 1;
                table.push(format!("({}, ${p}, ${})", offset + i, p + 1));
                values.extend([Arg::from(span.from), Arg::from(span.to)]);
            }
            let sql = format!(
                "WITH b (i, lo, hi) AS (VALUES {}) \
                 SELECT e.program_id, CAST(b.i AS BIGINT) AS bucket, COUNT(*) AS orders, \
                 CAST(SUM(o.amount_minor) AS BIGINT) AS gross_minor, \
                 CAST(SUM(o.refunded_minor) AS BIGINT) AS refunded_minor, \
                 CAST(SUM(o.cashback_redeemed_minor) AS BIGINT) AS cashback_redeemed_minor \
                 FROM b CROSS JOIN orders o CROSS JOIN ledger_entries e CROSS JOIN programs p \
                 WHERE o.placed_at >= b.lo AND o.placed_at < b.hi AND {BOOKED_IN} \
                 AND p.id = e.program_id AND p.currency = o.currency \
                 AND o.placed_at >= $1 AND o.placed_at < $2 AND ($3 IS NULL OR e.program_id = $3) \
                 GROUP BY e.program_id, b.i",
                table.join(", ")
            );
            rows.extend(self.select::<SeriesRow>(&sql, &values).await?);
        }
        Ok(rows)
    }

    /// Distinct holders (members or accounts, by the program's scope) with an order placed
    /// in the range.
    pub(super) async fn active_holders(&self, f: Filter<'_>) -> StoreResult<ByProgram<i64>> {
        let sql = format!(
            "SELECT e.program_id, COUNT(DISTINCT e.holder) AS n \
             FROM orders o CROSS JOIN ledger_entries e \
             WHERE {BOOKED_IN} AND o.placed_at >= $1 AND o.placed_at < $2 AND ($3 IS NULL OR e.program_id = $3) \
             GROUP BY e.program_id"
        );
        self.by_program(&sql, f, |r: CountRow| (r.program_id, r.n))
            .await
    }

    /// Stamp rewards redeemed at the desk in the range.
    pub(super) async fn rewards_redeemed(&self, f: Filter<'_>) -> StoreResult<ByProgram<i64>> {
        let sql = "SELECT program_id, COUNT(*) AS n FROM redemptions \
            WHERE created_at >= $1 AND created_at < $2 AND ($3 IS NULL OR program_id = $3) \
            GROUP BY program_id";
        self.by_program(sql, f, |r: CountRow| (r.program_id, r.n))
            .await
    }

    /// Deliveries queued in the range by program and kind, by where they stand now.
    pub(super) async fn push_counts(
        &self,
        f: Filter<'_>,
    ) -> StoreResult<Vec<(String, PushCounts)>> {
        let sql = "SELECT c.program_id, o.kind, \
            COUNT(CASE WHEN o.state = 'done' THEN 1 END) AS done, \
            COUNT(CASE WHEN o.state = 'pending' THEN 1 END) AS pending, \
            COUNT(CASE WHEN o.state = 'pending' AND o.last_error IS NOT NULL THEN 1 END) AS retrying, \
            COUNT(CASE WHEN o.state = 'dead' THEN 1 END) AS dead \
            FROM outbox o JOIN cards c ON c.id = o.card_id \
            WHERE o.created_at >= $1 AND o.created_at < $2 AND ($3 IS NULL OR c.program_id = $3) \
            GROUP BY c.program_id, o.kind";
        let rows: Vec<PushRow> = self.select(sql, &f.args()).await?;
        Ok(rows.into_iter().map(|r| (r.program_id, r.counts)).collect())
    }

    /// The stored state of each holder of a live card of the program (`None`: no history
    /// yet); `holder_column` is `member_id` or `account_id`, by the program's scope.
    pub(super) async fn card_holder_states(
        &self,
        program: &str,
        holder_column: &'static str,
    ) -> StoreResult<Vec<Option<String>>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            state: Option<String>,
        }
        let sql = format!(
            "SELECT b.state FROM (SELECT DISTINCT {holder_column} AS holder FROM cards \
             WHERE program_id = $1 AND status <> 'revoked') h \
             LEFT JOIN balances b ON b.program_id = $1 AND b.holder = h.holder"
        );
        let rows: Vec<Row> = self.select(&sql, &args![program]).await?;
        Ok(rows.into_iter().map(|r| r.state).collect())
    }
}
