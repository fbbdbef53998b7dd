//! `GET /v1/passes/{pass_type}/{serial}` (HEAD too): the pass of the card's current version,
//! with `Last-Modified` = the card's last change, and 304 for a device that has it.
//!
//! HTTP dates have one-second resolution. A card's modification time is whole seconds and
//! strictly increasing (`store::next_card_mtime`), so two changes within one second still
//! get different `Last-Modified` values and a device holding the older version never gets a
//! 304 for the newer one.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::authorized_card;
use crate::apple::package::PKPASS_MEDIA_TYPE;
use crate::error::ApiError;
use crate::http::extract::AppPath;
use crate::state::AppState;

/// `t` as an HTTP date (`Tue, 24 Nov 2026 01:38:42 GMT`), to the second.
pub fn http_date(t: DateTime<Utc>) -> HeaderValue {
    let text = t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// True when the request's `If-Modified-Since` is at or after `modified` (to the second).
/// A date that does not parse is ignored, as HTTP says, and the pass is sent.
pub fn not_modified_since(headers: &HeaderMap, modified: DateTime<Utc>) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
        .is_some_and(|since| modified.timestamp() <= since.timestamp())
}

pub(super) async fn latest_pass(
    State(state): State<AppState>,
    AppPath((pass_type, serial)): AppPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, StatusCode> {
    let (card, _) = authorized_card(&state, &headers, &pass_type, &serial).await?;
    let modified = card.updated_at;
    let metrics = &state.passes.metrics;
    if not_modified_since(&headers, modified) {
        metrics.served(false);
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::LAST_MODIFIED, http_date(modified))],
        )
            .into_response());
    }
    let bundle = state
        .store
        .card_bundle(card)
        .await
        .map_err(super::store_failure)?;
    let pass = state
        .passes
        .signed_pass(bundle)
        .await
        .map_err(|e| ApiError::internal(&e).status)?;
    metrics.served(true);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(PKPASS_MEDIA_TYPE),
        ),
        (header::LAST_MODIFIED, http_date(modified)),
    ];
    Ok((headers, pass).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn since(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn last_modified_is_an_http_date_that_if_modified_since_reads_back() {
        let t = at("2026-11-24T01:38:42Z");
        let date = http_date(t);
        assert_eq!(date, "Tue, 24 Nov 2026 01:38:42 GMT");
        let echoed = since(date.to_str().unwrap_or_default());
        assert!(not_modified_since(&echoed, t));
        assert!(!not_modified_since(&echoed, at("2026-11-24T01:38:43Z")));
        assert!(not_modified_since(&echoed, at("2026-11-24T01:38:41Z")));
    }

    #[test]
    fn a_missing_or_unreadable_if_modified_since_sends_the_pass() {
        let t = at("2026-11-24T01:38:42Z");
        assert!(!not_modified_since(&HeaderMap::new(), t));
        assert!(!not_modified_since(&since("yesterday"), t));
    }
}
