//! `POST /google/callback`: Google Wallet's save and delete events, verified
//! (`ECv2SigningOnly`, see `google::callback`) and recorded once per nonce. Google expects a
//! quick 200; a callback that does not verify gets 401 and is not recorded. Verification runs
//! on the blocking pool, and a callback with more signatures than Google sends is refused
//! before any is checked.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use crate::error::{ApiError, ApiResult};
use crate::google::callback::{CallbackError, verify};
use crate::state::AppState;
use crate::store::now;

pub fn router() -> Router<AppState> {
    Router::new().route("/google/callback", post(receive_callback))
}

async fn receive_callback(State(state): State<AppState>, body: Bytes) -> ApiResult<StatusCode> {
    let Some(verifier) = &state.google_callbacks else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Google Wallet callbacks are not configured",
        ));
    };
    let roots = verifier.roots.keys().await.map_err(|e| {
        tracing::error!(error = %e, "Google callback root keys unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            "the root keys to verify callbacks are not available; retry later",
        )
    })?;
    let at = now();
    // Signature checks are CPU work: off the async threads, in the request's span.
    let issuer_id = verifier.issuer_id.clone();
    let span = tracing::Span::current();
    let verified = tokio::task::spawn_blocking(move || {
        span.in_scope(|| verify(&body, &roots, &issuer_id, at.timestamp_millis()))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let event = match verified {
        Ok(event) => event,
        Err(e @ CallbackError::Malformed(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_callback",
                e.to_string(),
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "a Google callback did not verify");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unverified_callback",
                e.to_string(),
            ));
        }
    };
    let first = state
        .store
        .record_google_callback(
            &event.nonce,
            &event.event_type,
            &event.class_id,
            &event.object_id,
            at,
        )
        .await?;
    if !first {
        tracing::debug!("a Google callback delivered again; counted once");
    }
    Ok(StatusCode::OK)
}
