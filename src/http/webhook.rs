//! The ERP webhook: `POST /webhooks/erp/orders` and `POST /webhooks/erp/refunds`, signed with
//! `X-Walletcards-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! A bad or missing signature, or a timestamp more than 5 minutes off, is a 401 before the
//! body is even parsed; a replayed delivery is harmless because bookings are idempotent.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;

use crate::audit::Actor;
use crate::booking::{self, Booked, NewOrder, NewRefund};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::parse_json;
use crate::state::AppState;

pub const SIGNATURE_HEADER: &str = "x-walletcards-signature";
/// How far a delivery's timestamp may be from our clock, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/erp/orders", post(erp_order))
        .route("/webhooks/erp/refunds", post(erp_refund))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Walletcards-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is more than 5 minutes from the server clock")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The signature of `body` at `timestamp`: what the ERP sends as `v1`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks a signature header against `body` at `now` (unix seconds), in constant time.
/// Several `v1=` values may be given (during a secret rotation); one must match.
/// `secrets` are the current one and, during a rotation on our side, the previous one.
pub fn verify(
    secrets: &[&[u8]],
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => {
                candidates.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // A timestamp far enough off overflows the difference: that is stale too, never a wrap.
    let off = now.checked_sub(timestamp).and_then(i64::checked_abs);
    if off.is_none_or(|off| off > TOLERANCE_SECONDS) {
        return Err(SignatureError::Stale);
    }
    let matches = secrets.iter().any(|secret| {
        candidates
            .iter()
            .any(|c| mac(secret, timestamp, body).verify_slice(c).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn authenticate(state: &AppState, headers: &HeaderMap, body: &[u8]) -> ApiResult<()> {
    let secret = state.webhook_secret.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_disabled",
            "the ERP webhook is off: set WALLETCARDS_WEBHOOK_SECRET",
        )
    })?;
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = chrono::Utc::now().timestamp();
    let mut secrets = vec![secret.expose_secret().as_bytes()];
    if let Some(previous) = &state.webhook_previous_secret {
        secrets.push(previous.expose_secret().as_bytes());
    }
    verify(&secrets, header, body, now).map_err(|e| {
        tracing::warn!(reason = %e, "webhook delivery refused");
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
    })
}

async fn erp_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Booked> {
    authenticate(&state, &headers, &body)?;
    let order: NewOrder = parse_json(&body)?;
    Ok(booking::book_order(&state.store, order, &Actor::erp_webhook()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErpRefund {
    order_external_id: String,
    external_id: String,
    amount_minor: i64,
}

async fn erp_refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Booked> {
    authenticate(&state, &headers, &body)?;
    let r: ErpRefund = parse_json(&body)?;
    let refund = NewRefund {
        external_id: r.external_id,
        amount_minor: r.amount_minor,
        source: None,
    };
    Ok(booking::book_refund(
        &state.store,
        &r.order_external_id,
        refund,
        &Actor::erp_webhook(),
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signed_body_verifies_and_any_change_breaks_it() {
        let body = br#"{"external_id":"A-1"}"#;
        let header = format!("t=1700000000,v1={}", sign(SECRET, 1_700_000_000, body));
        assert_eq!(verify(&[SECRET], &header, body, 1_700_000_100), Ok(()));
        assert_eq!(
            verify(
                &[SECRET],
                &header,
                br#"{"external_id":"A-2"}"#,
                1_700_000_100
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[b"other"], &header, body, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_or_future_timestamps_are_stale_and_junk_is_malformed() {
        let body = b"{}";
        let header = format!("t=1700000000,v1={}", sign(SECRET, 1_700_000_000, body));
        assert_eq!(
            verify(&[SECRET], &header, body, 1_700_000_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&[SECRET], &header, body, 1_699_999_699),
            Err(SignatureError::Stale)
        );
        for junk in [
            "",
            "t=1700000000",
            "v1=00",
            "t=x,v1=00",
            "t=1700000000,v1=zz",
        ] {
            assert_eq!(
                verify(&[SECRET], junk, body, 1_700_000_000),
                Err(SignatureError::Malformed),
                "{junk}"
            );
        }
    }

    #[test]
    fn extreme_timestamps_are_stale_instead_of_wrapping() {
        let body = b"{}";
        for t in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let header = format!("t={t},v1={}", sign(SECRET, t, body));
            assert_eq!(
                verify(&[SECRET], &header, body, 1_700_000_000),
                Err(SignatureError::Stale),
                "{t}"
            );
        }
    }

    #[test]
    fn a_rotation_may_send_two_signatures() {
        let body = b"{}";
        let header = format!(
            "t=1700000000,v1={},v1={}",
            sign(b"old", 1_700_000_000, body),
            sign(SECRET, 1_700_000_000, body)
        );
        assert_eq!(verify(&[SECRET], &header, body, 1_700_000_000), Ok(()));
    }

    #[test]
    fn while_we_rotate_the_previous_secret_is_accepted_too() {
        let body = b"{}";
        let by_old = format!("t=1700000000,v1={}", sign(b"old", 1_700_000_000, body));
        assert_eq!(
            verify(&[SECRET, b"old"], &by_old, body, 1_700_000_000),
            Ok(())
        );
        assert_eq!(
            verify(&[SECRET], &by_old, body, 1_700_000_000),
            Err(SignatureError::Mismatch),
            "once the previous secret is removed"
        );
    }
}
