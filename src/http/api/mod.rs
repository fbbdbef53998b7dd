//! The admin JSON API under `/api/v1`.

mod accounts;
pub mod analytics;
pub mod audit;
mod cards;
mod design_preview;
mod designs;
mod device_logs;
mod invites;
pub(crate) mod keys;
mod orders;
pub(crate) mod outbox;
mod privacy;
mod programs;
mod staff;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(programs::router())
        .merge(accounts::router())
        .merge(cards::router())
        .merge(orders::router())
        .merge(outbox::router())
        .merge(device_logs::router())
        .merge(invites::router())
        .merge(analytics::router())
        .merge(keys::router())
        .merge(privacy::router())
        .merge(staff::router())
        .merge(audit::router())
        .merge(designs::router().merge(design_preview::router()))
}

/// `?limit=&after=` of every list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl ListQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=500) => Ok(n),
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_query",
                "limit must be between 1 and 500",
            )),
        }
    }

    /// `after` as the numeric id of the last row of the previous page; `what` names it in
    /// the error ("a log id").
    pub fn after_id(&self, what: &str) -> Result<Option<i64>, ApiError> {
        self.after
            .as_deref()
            .map(|a| {
                a.parse::<i64>().map_err(|_| {
                    ApiError::new(
                        axum::http::StatusCode::BAD_REQUEST,
                        "invalid_query",
                        format!("after must be {what}"),
                    )
                    .field("after")
                })
            })
            .transpose()
    }
}

/// One page of a list; pass `next_after` as `after` for the next page.
#[derive(Debug, Serialize)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

impl<T> ListPage<T> {
    pub fn map<U>(page: Page<U>, f: impl Fn(U) -> T) -> Self {
        ListPage {
            items: page.items.into_iter().map(f).collect(),
            next_after: page.next_after,
        }
    }
}

/// Checks a required free text: trimmed, non-empty, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    Ok(crate::domain::contact::text(field, value, max)?)
}

/// Like [`text`] for optional fields; an empty string clears the value.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    Ok(crate::domain::contact::optional_text(field, value, max)?)
}

/// Writes a line of the audit trail after a change that is already committed. A failure is
/// logged as an error (the change stands; the trail misses a line, which the log names).
pub(crate) async fn record_audit(state: &AppState, entry: crate::audit::AuditEntry) {
    if let Err(e) = state.store.record_audit(&entry).await {
        tracing::error!(
            error = %e, action = entry.action.as_str(), target = %entry.target,
            "could not write the audit trail"
        );
    }
}
