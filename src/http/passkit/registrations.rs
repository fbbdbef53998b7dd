//! Registering a device for a pass, unregistering it, and listing the passes a device should
//! fetch again.
//!
//! # The `lastUpdated` tag
//!
//! The tag is opaque to the device, which echoes it as `passesUpdatedSince`. Ours is a time
//! in unix milliseconds, `since`; the list returns every registered pass whose card changed
//! after `since`, or whose registration was made or renewed after it (so a pass registered
//! from an older download is fetched once). Each answer carries a new tag:
//!
//! ```text
//! lastUpdated = clock at the list query − TAG_OVERLAP
//! ```
//!
//! Why not the newest change returned, or "now": a change is visible only once its transaction
//! commits, and transactions commit in another order than they read the clock. On PostgreSQL
//! with several instances, a booking can take its card time at `t` and commit after another
//! booking at `t + 1` has been listed; a tag of `t + 1` would hide the first one forever.
//! Every change not yet visible at the query read the clock less than TAG_OVERLAP before it
//! by more than TAG_OVERLAP − 1 s (transactions are short: the HTTP layer drops a request
//! after 30 s, and instance clocks agree to well under a second), and a card time is at most
//! one second behind the clock it read (whole seconds; `next_card_mtime` may only put it
//! ahead), so a late commit is still after the tag.
//! Taking the base from the newest change instead would break that: a card changed n times
//! within one second is n − 1 seconds ahead of the clock. The cost of the overlap: a pass
//! changed within the last TAG_OVERLAP is listed again on the next call, and the device's
//! fetch of it answers 304. The tag moves on with the clock at every call, in milliseconds,
//! so two calls do not return the same tag with serials unless they came within the same
//! millisecond (Wallet logs a tag that "remained the same").
//!
//! A tag that does not parse (another format, or garbage) lists every registered pass: an
//! unknown tag must never lose an update.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{authorized_card, store_failure};
use crate::domain::devices::{DeviceLibraryId, PushToken};
use crate::domain::model::CardStatus;
use crate::http::extract::{AppJson, AppPath, AppQuery, check_json};
use crate::state::AppState;
use crate::store::{NewRegistration, Registered};

/// How far behind the clock a new tag is set: longer than any transaction that bumps a card
/// may take between reading the clock and committing, plus the clock skew of instances.
pub const TAG_OVERLAP: TimeDelta = TimeDelta::seconds(120);

/// The tag for a list answered at `now` (see the module docs).
pub fn next_tag(now: DateTime<Utc>) -> String {
    (now - TAG_OVERLAP).timestamp_millis().to_string()
}

/// The time a tag stands for; `None` for anything we did not issue.
pub fn parse_tag(tag: &str) -> Option<DateTime<Utc>> {
    let millis: i64 = tag.trim().parse().ok()?;
    DateTime::from_timestamp_millis(millis)
}

#[derive(Debug, Deserialize)]
pub(super) struct RegisterDevice {
    #[serde(rename = "pushToken")]
    push_token: String,
}

/// `POST /v1/devices/{device}/registrations/{pass_type}/{serial}`: 201 new, 200 when the
/// device had registered the pass before (its push token is refreshed either way).
pub(super) async fn register_device(
    State(state): State<AppState>,
    AppPath((device, pass_type, serial)): AppPath<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, StatusCode> {
    let (card, scheme) = authorized_card(&state, &headers, &pass_type, &serial).await?;
    if card.status == CardStatus::Revoked {
        return Err(StatusCode::GONE);
    }
    let device = DeviceLibraryId::parse(&device).ok_or(StatusCode::NOT_FOUND)?;
    check_json(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let body: RegisterDevice =
        serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    // Apple's protocol: a request that is not as specified is a 400.
    let push_token = PushToken::parse(scheme, &body.push_token).ok_or(StatusCode::BAD_REQUEST)?;
    let registration = NewRegistration {
        device: &device,
        push_token: &push_token,
        scheme,
        card: &card.id,
    };
    match state.store.register_device(&registration).await {
        Ok(Registered::New) => Ok(StatusCode::CREATED),
        Ok(Registered::Existing) => Ok(StatusCode::OK),
        Err(e) => Err(store_failure(e)),
    }
}

/// `DELETE /v1/devices/{device}/registrations/{pass_type}/{serial}`: 200, registered or not.
pub(super) async fn unregister_device(
    State(state): State<AppState>,
    AppPath((device, pass_type, serial)): AppPath<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, StatusCode> {
    let (card, _) = authorized_card(&state, &headers, &pass_type, &serial).await?;
    let Some(device) = DeviceLibraryId::parse(&device) else {
        return Ok(StatusCode::OK);
    };
    state
        .store
        .unregister_device(&device, &card.id)
        .await
        .map_err(store_failure)?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "passesUpdatedSince")]
    passes_updated_since: Option<String>,
}

#[derive(Debug, Serialize)]
struct Updatable {
    #[serde(rename = "serialNumbers")]
    serial_numbers: Vec<String>,
    #[serde(rename = "lastUpdated")]
    last_updated: String,
}

/// `GET /v1/devices/{device}/registrations/{pass_type}?passesUpdatedSince=tag`: no
/// `Authorization` (the device library id is the secret); 200 with serials and a new tag, or
/// 204 when none changed.
pub(super) async fn list_updatable(
    State(state): State<AppState>,
    AppPath((device, pass_type)): AppPath<(String, String)>,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Response, StatusCode> {
    if pass_type != state.signer.pass_type_id() {
        return Err(StatusCode::NOT_FOUND);
    }
    let Some(device) = DeviceLibraryId::parse(&device) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let since = query.passes_updated_since.as_deref().and_then(parse_tag);
    // The clock is read before the query: a change committed after it is after the tag too.
    let now = Utc::now();
    let serials = state
        .store
        .updated_serials(&device, since)
        .await
        .map_err(store_failure)?;
    if serials.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let body = Updatable {
        serial_numbers: serials.iter().map(ToString::to_string).collect(),
        last_updated: next_tag(now),
    };
    Ok(AppJson(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_stands_for_the_clock_less_the_overlap_in_milliseconds() {
        let now = DateTime::from_timestamp_millis(1_800_000_000_123).unwrap_or_default();
        let tag = next_tag(now);
        assert_eq!(tag, "1799999880123");
        assert_eq!(parse_tag(&tag), Some(now - TAG_OVERLAP));
    }

    #[test]
    fn a_change_that_read_the_clock_before_a_list_but_committed_after_it_is_after_the_tag() {
        // A booking reads the clock at `read_at` (its card time is that second, or later);
        // a list runs while it is in flight, up to TAG_OVERLAP - 1 s later; then it commits.
        for millis in [0, 1, 500, 999] {
            let read_at =
                DateTime::from_timestamp_millis(1_800_000_000_000 + millis).unwrap_or_default();
            // The earliest card time `next_card_mtime` gives for that clock reading.
            let card_time = DateTime::from_timestamp(read_at.timestamp(), 0).unwrap_or_default();
            for lag in [TimeDelta::zero(), TAG_OVERLAP - TimeDelta::seconds(1)] {
                let tag = parse_tag(&next_tag(read_at + lag)).unwrap_or_default();
                assert!(card_time > tag, "{card_time} must be after the tag {tag}");
            }
        }
    }

    #[test]
    fn tags_we_did_not_issue_list_everything() {
        for other in ["", "2026-11-20", "abc", "99999999999999999999"] {
            assert_eq!(parse_tag(other), None, "{other:?}");
        }
    }
}
