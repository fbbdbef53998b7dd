//! `/device-logs`: what devices reported to the PassKit web service's `POST /v1/log`, newest
//! first, for admins tracking down why a pass does not install or update.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ListPage, ListQuery};
use crate::error::ApiResult;
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppQuery};
use crate::state::AppState;
use crate::store::DeviceLog;

pub fn router() -> Router<AppState> {
    Router::new().route("/device-logs", get(list_device_logs))
}

#[derive(Debug, Serialize)]
pub struct DeviceLogBody {
    id: String,
    message: String,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<DeviceLog> for DeviceLogBody {
    fn from(l: DeviceLog) -> Self {
        DeviceLogBody {
            id: l.id.to_string(),
            message: l.message,
            user_agent: l.user_agent,
            created_at: l.created_at,
        }
    }
}

async fn list_device_logs(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<DeviceLogBody>>> {
    let after = q.after_id("a log id")?;
    let page = state.store.device_logs(q.limit()?, after).await?;
    Ok(AppJson(ListPage::map(page, DeviceLogBody::from)))
}
