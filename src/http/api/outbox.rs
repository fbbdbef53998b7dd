//! Dead letters of the outbox: deliveries given up after their last attempt or refused for a
//! reason a retry would not change. Admins list them and, once the cause is fixed, put them
//! back in the queue.

use crate::audit::{Action, Actor};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{ListPage, ListQuery};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;
use crate::store::{DeadLetter, StoreError, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outbox/dead", get(list_dead))
        .route("/outbox/{id}/retry", post(retry))
}

async fn list_dead(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<DeadLetter>>> {
    let after = q.after_id("a delivery id")?.unwrap_or(0);
    let page = state.store.dead_letters(after, q.limit()?).await?;
    Ok(AppJson(ListPage::map(page, std::convert::identity)))
}

async fn retry(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no dead letter with this id",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    if retry_recorded(&state, &by, id).await? {
        Ok(AppJson(json!({"id": id, "state": "pending"})))
    } else {
        Err(not_found())
    }
}

/// Puts dead letter `id` back in the queue for `by` and writes it to the audit trail; false
/// when no dead letter has this id. The API and the console's page both retry here.
pub(crate) async fn retry_recorded(
    state: &AppState,
    by: &Actor,
    id: i64,
) -> Result<bool, StoreError> {
    let retried = state.store.retry_dead_letter(id, now()).await?;
    if retried {
        let entry = by.did(Action::DeadLetterRetried, format!("delivery:{id}"));
        super::record_audit(state, entry).await;
    }
    Ok(retried)
}
