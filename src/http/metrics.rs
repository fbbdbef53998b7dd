//! `GET /metrics`: the Prometheus text exposition of [`crate::metrics`], with the queue's
//! depth and age and the registrations read from the database at each scrape.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::state::AppState;
use crate::store::now;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let gauges = Gauges {
        outbox: state.store.outbox_stats(now()).await?,
        registrations: state.store.registration_counts().await?,
        flagged_devices: state.store.count_flagged_devices().await?,
        google_events: state.store.google_callback_counts().await?,
        certificate_expiries: state
            .signer
            .expiries()
            .iter()
            .map(|(name, at)| ((*name).to_owned(), at.timestamp()))
            .collect(),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&gauges, &state.passes.metrics),
    ))
}
