//! `POST /v1/log`: what Wallet reports about our passes and service (bad signatures, missing
//! headers, failed requests). Anyone may call it, so it is bounded at every step: messages
//! per request, characters per message, and rows kept (the oldest go on insert). Admins read
//! them at `GET /api/v1/device-logs`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

use super::store_failure;
use crate::http::extract::check_json;
use crate::state::AppState;

/// Messages of one request that are stored; the rest are dropped.
pub const MAX_LOGS_PER_REQUEST: usize = 100;
/// Characters of one message (or user agent) that are stored.
pub const MAX_LOG_MESSAGE_CHARS: usize = 2_000;
/// Rows the table keeps: the newest.
pub const KEPT_DEVICE_LOGS: i64 = 5_000;

#[derive(Debug, Deserialize)]
pub(super) struct DeviceLogs {
    logs: Vec<Value>,
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_LOG_MESSAGE_CHARS).collect()
}

pub(super) async fn device_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, StatusCode> {
    // Control characters (NUL, which PostgreSQL refuses) are refused like malformed JSON.
    check_json(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let body: DeviceLogs = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let messages: Vec<String> = body
        .logs
        .iter()
        .take(MAX_LOGS_PER_REQUEST)
        .map(|m| match m {
            Value::String(s) => clip(s),
            other => clip(&other.to_string()),
        })
        .collect();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(clip);
    state
        .store
        .insert_device_logs(&messages, user_agent.as_deref(), KEPT_DEVICE_LOGS)
        .await
        .map_err(store_failure)?;
    Ok(StatusCode::OK)
}
