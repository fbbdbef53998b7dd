//! `GET /audit`: the audit trail, newest first, filtered by `actor` (`user:<id>`, `key:<id>`,
//! `bootstrap`, `erp`, `import`), `account_id`, `card_id` and a time range `from` (inclusive)
//! to `to` (exclusive), RFC 3339; `after` is the previous page's `next_after`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::ListPage;
use crate::audit::AuditRecord;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppQuery};
use crate::state::AppState;
use crate::store::AuditFilter;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list_audit))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub account_id: Option<String>,
    pub card_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

fn bad_query(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).field(field)
}

fn instant(field: &str, raw: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            DateTime::parse_from_rfc3339(r)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad_query(field, "must be an RFC 3339 instant"))
        })
        .transpose()
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl AuditQuery {
    /// The store's filter and the page size, or the query field that is wrong.
    pub fn filter(&self) -> ApiResult<(AuditFilter, u32)> {
        let limit = match self.limit {
            None => 50,
            Some(n @ 1..=500) => n,
            Some(_) => return Err(bad_query("limit", "must be between 1 and 500")),
        };
        let before_id = non_empty(self.after.as_ref())
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| bad_query("after", "must be a next_after of this list"))
            })
            .transpose()?;
        let filter = AuditFilter {
            actor: non_empty(self.actor.as_ref()),
            account_id: non_empty(self.account_id.as_ref()),
            card_id: non_empty(self.card_id.as_ref()),
            from: instant("from", self.from.as_deref())?,
            to: instant("to", self.to.as_deref())?,
            before_id,
        };
        Ok((filter, limit))
    }
}

async fn list_audit(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<AuditQuery>,
) -> ApiResult<AppJson<ListPage<AuditRecord>>> {
    let (filter, limit) = q.filter()?;
    let page = state.store.list_audit(&filter, limit).await?;
    Ok(AppJson(ListPage::map(page, std::convert::identity)))
}
