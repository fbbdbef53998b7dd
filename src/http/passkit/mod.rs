//! The PassKit web service: the five endpoints Wallet calls under the pass's
//! `webServiceURL` (`{public_url}/passes`) + `/v1`, answering with the bare statuses Apple's
//! reference gives (no JSON error bodies).
//!
//! Authentication is `Authorization: ApplePass <authenticationToken>`, compared in constant
//! time with the card's token. Wallets for Android speaking the same protocol send
//! `AndroidPass`, `WalletUnionPass` or `WalletUnionHMSPass`: they are served alike and their
//! scheme is stored on the device, so the dispatcher pushes only `ApplePass` devices through
//! APNs. A missing or malformed header, or a wrong token, is 401; a pass type other than ours
//! or an unknown serial is the same 404 either way.
//!
//! Revoked cards: the revocation gives the card a new version and pushes it like any change,
//! so registered devices list the serial and fetch the final pass, `voided: true` (served
//! with `Last-Modified`, then 304 like any pass). The device may unregister. New
//! registrations are refused with 410 Gone: the card will never change again.

mod log;
mod pass;
mod registrations;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};

use crate::domain::codes::SerialNumber;
use crate::domain::devices::{WalletScheme, parse_authorization};
use crate::domain::model::Card;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

pub use log::{KEPT_DEVICE_LOGS, MAX_LOG_MESSAGE_CHARS, MAX_LOGS_PER_REQUEST};
pub use pass::{http_date, not_modified_since};
pub use registrations::{TAG_OVERLAP, next_tag, parse_tag};

/// The device routes, to be nested under `/passes`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}/{serialNumber}",
            post(registrations::register_device).delete(registrations::unregister_device),
        )
        .route(
            "/v1/devices/{deviceLibraryIdentifier}/registrations/{passTypeIdentifier}",
            get(registrations::list_updatable),
        )
        // `get` answers HEAD too, with the same headers and no body.
        .route("/v1/passes/{passTypeIdentifier}/{serialNumber}", get(pass::latest_pass))
        .route("/v1/log", post(log::device_log))
}

/// Logs a store failure once and answers 500, or 503 while the database is unreachable.
fn store_failure(e: StoreError) -> StatusCode {
    ApiError::from(e).status
}

/// The card a device asks about, when the header carries its token: the wallet's scheme with
/// the card, or the status to answer.
async fn authorized_card(
    state: &AppState,
    headers: &HeaderMap,
    pass_type: &str,
    serial: &str,
) -> Result<(Card, WalletScheme), StatusCode> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let card = known_card(state, pass_type, serial).await?;
    if card.auth_token.matches(token) {
        Ok((card, scheme))
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

/// The card of `serial` if `pass_type` is ours; 404 for either mismatch alike.
async fn known_card(state: &AppState, pass_type: &str, serial: &str) -> Result<Card, StatusCode> {
    if pass_type != state.signer.pass_type_id() {
        return Err(StatusCode::NOT_FOUND);
    }
    let serial = SerialNumber::parse(serial).ok_or(StatusCode::NOT_FOUND)?;
    match state.store.get_card_by_serial(&serial).await {
        Ok(card) => Ok(card),
        Err(StoreError::NotFound) => Err(StatusCode::NOT_FOUND),
        Err(e) => Err(store_failure(e)),
    }
}
