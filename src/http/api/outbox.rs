//! Dead letters of the outbox: deliveries given up after their last attempt or refused for a
//! reason a retry would not change. Admins list them and, once the cause is fixed, put them
//! back in the queue.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::ListQuery;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath};
use crate::state::AppState;
use crate::store::now;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outbox/dead", get(list_dead))
        .route("/outbox/{id}/retry", post(retry))
}

async fn list_dead(
    State(state): State<AppState>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> ApiResult<AppJson<Value>> {
    let limit = q.limit()?;
    let after = match q.after.as_deref() {
        None => 0,
        Some(a) => a.parse::<i64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "after must be a delivery id",
            )
            .field("after")
        })?,
    };
    let page = state.store.dead_letters(after, limit).await?;
    Ok(AppJson(
        json!({"items": page.items, "next_after": page.next_after}),
    ))
}

async fn retry(
    State(state): State<AppState>,
    _: Admin,
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
    if state.store.retry_dead_letter(id, now()).await? {
        Ok(AppJson(json!({"id": id, "state": "pending"})))
    } else {
        Err(not_found())
    }
}
