//! The orders behind the dashboard, for its CSV export: one entry per order with the names a
//! person reads (programs, company, member), a page at a time in `(placed_at, id)` order, so
//! an export of any size holds one page in memory and no connection between pages.

use chrono::{DateTime, Utc};

use crate::domain::ids::ProgramId;
use crate::store::tx::args;
use crate::store::{Store, StoreResult};

/// Which orders to export: placed in `[since, until)`, booked in `program_id` if given.
#[derive(Debug, Clone)]
pub struct OrderExport {
    pub program_id: Option<ProgramId>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Where the next page starts: after this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    placed_at: DateTime<Utc>,
    id: String,
}

/// One order as the export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedOrder {
    pub id: String,
    pub placed_at: DateTime<Utc>,
    pub external_id: String,
    /// Names of the programs the order was booked in, by name.
    pub programs: Vec<String>,
    pub account_name: String,
    pub member_name: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub refunded_minor: i64,
    pub source: String,
}

impl ExportedOrder {
    /// The cursor of the page that follows this order.
    pub fn cursor(&self) -> ExportCursor {
        ExportCursor {
            placed_at: self.placed_at,
            id: self.id.clone(),
        }
    }
}

/// An order joined with one program it was booked in (none for an order without entries).
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    placed_at: DateTime<Utc>,
    external_id: String,
    source: String,
    amount_minor: i64,
    currency: String,
    refunded_minor: i64,
    account_name: String,
    member_name: Option<String>,
    program_name: Option<String>,
}

impl Store {
    /// Up to `limit` orders of `q` after `after` (from the start when `None`); fewer than
    /// `limit` means the export is complete.
    pub async fn export_orders(
        &self,
        q: &OrderExport,
        after: Option<&ExportCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ExportedOrder>> {
        // The orders are picked and limited first, then joined with their programs: an
        // order's programs never straddle two pages.
        let sql = "SELECT o.id, o.placed_at, o.external_id, o.source, o.amount_minor, o.currency, \
            o.refunded_minor, a.name AS account_name, m.name AS member_name, p.name AS program_name \
            FROM (SELECT * FROM orders o WHERE o.placed_at >= $1 AND o.placed_at < $2 \
              AND (o.placed_at > $3 OR (o.placed_at = $3 AND o.id > $4)) \
              AND ($5 IS NULL OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.order_id = o.id \
                AND e.kind = 'spend' AND e.event_type = 'order' AND e.program_id = $5)) \
              ORDER BY o.placed_at, o.id LIMIT $6) o \
            JOIN accounts a ON a.id = o.account_id \
            LEFT JOIN members m ON m.id = o.member_id \
            LEFT JOIN ledger_entries e ON e.order_id = o.id AND e.kind = 'spend' AND e.event_type = 'order' \
            LEFT JOIN programs p ON p.id = e.program_id \
            ORDER BY o.placed_at, o.id, p.name";
        let (from, id) = after.map_or((q.since, ""), |c| (c.placed_at, c.id.as_str()));
        let program = q.program_id.as_ref().map(ProgramId::as_str);
        let values = args![q.since, q.until, from, id, program, i64::from(limit)];
        let rows: Vec<Row> = self.select(sql, &values).await?;
        Ok(merge(rows))
    }
}

/// One entry per order from its rows (one per program, consecutive).
fn merge(rows: Vec<Row>) -> Vec<ExportedOrder> {
    let mut out: Vec<ExportedOrder> = Vec::new();
    for r in rows {
        if let Some(last) = out.last_mut().filter(|o| o.id == r.id) {
            last.programs.extend(r.program_name);
            continue;
        }
        out.push(ExportedOrder {
            id: r.id,
            placed_at: r.placed_at,
            external_id: r.external_id,
            programs: r.program_name.into_iter().collect(),
            account_name: r.account_name,
            member_name: r.member_name,
            amount_minor: r.amount_minor,
            currency: r.currency,
            refunded_minor: r.refunded_minor,
            source: r.source,
        });
    }
    out
}
