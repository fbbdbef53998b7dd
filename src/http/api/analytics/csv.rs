//! `GET /analytics/orders.csv`: the orders of a range, one row each, streamed a page at a
//! time so that an export of any size holds one page in memory.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, TimeDelta};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use super::{local_date, range};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::AppQuery;
use crate::state::AppState;
use crate::store::{ExportCursor, ExportedOrder, OrderExport, Store, StoreError};
use crate::telemetry::error_chain;

/// Orders per page.
const EXPORT_PAGE: u32 = 1_000;

/// `?program_id=&from=&to=&time_zone=` of `GET /analytics/orders.csv`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportParams {
    program_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    time_zone: Option<String>,
}

pub(super) async fn export_orders(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(p): AppQuery<ExportParams>,
) -> ApiResult<Response> {
    let r = range(
        &state.store,
        p.program_id.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        p.time_zone.as_deref(),
    )
    .await?;
    let filename = format!(
        "orders-{}-{}.csv",
        local_date(r.since, r.tz),
        local_date(r.until - TimeDelta::microseconds(1), r.tz)
    );
    let q = OrderExport {
        program_id: r.program_id,
        since: r.since,
        until: r.until,
    };
    // The first page is read before answering, so a failing database is a proper error
    // status rather than a cut-off download.
    let first = state.store.export_orders(&q, None, EXPORT_PAGE).await?;
    let header = csv_chunk(true, &[]).map_err(|e| ApiError::internal(&e))?;
    let pages = pages(state.store, q, first);
    let body = futures_util::stream::iter([Ok(header)]).chain(pages);
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The CSV of `first` and of every page after it; a failure is logged, and cuts the body off.
fn pages(
    store: Store,
    q: OrderExport,
    first: Vec<ExportedOrder>,
) -> impl Stream<Item = Result<Bytes, ExportError>> {
    futures_util::stream::try_unfold(
        (store, q, Some(Page::Rows(first))),
        |(store, q, page)| async move {
            let rows = match page {
                None => return Ok(None),
                Some(Page::Rows(rows)) => rows,
                Some(Page::After(cursor)) => {
                    store.export_orders(&q, Some(&cursor), EXPORT_PAGE).await?
                }
            };
            let next = match rows.last() {
                Some(last) if rows.len() >= EXPORT_PAGE as usize => {
                    Some(Page::After(last.cursor()))
                }
                _ => None,
            };
            let chunk = csv_chunk(false, &rows)?;
            Ok(Some((chunk, (store, q, next))))
        },
    )
    .map(|chunk| {
        chunk.inspect_err(|e| tracing::error!(error.chain = %error_chain(e), "CSV export cut off"))
    })
}

/// What the export streams next: rows read already, or the page after a cursor.
enum Page {
    Rows(Vec<ExportedOrder>),
    After(ExportCursor),
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The CSV of `rows`, after the header row when `header`.
fn csv_chunk(header: bool, rows: &[ExportedOrder]) -> Result<Bytes, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 128));
    if header {
        w.write_record([
            "placed_at",
            "external_id",
            "program",
            "account",
            "member",
            "amount_minor",
            "currency",
            "refunded_minor",
            "source",
        ])?;
    }
    for o in rows {
        w.write_record([
            o.placed_at
                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                .as_str(),
            &cell(&o.external_id),
            &cell(&o.programs.join("; ")),
            &cell(&o.account_name),
            &cell(o.member_name.as_deref().unwrap_or("")),
            &o.amount_minor.to_string(),
            &o.currency,
            &o.refunded_minor.to_string(),
            &cell(&o.source),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(Bytes::from(bytes))
}

/// Text as a spreadsheet shows it rather than runs it: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return would start a formula, so such text gets a leading apostrophe.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_run_as_a_formula_is_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("Acme GmbH"), "Acme GmbH");
    }
}
