//! Orders and everything that moves a balance over the API: book an order, refund it, redeem
//! a stamp reward, adjust a balance by hand, quote a desk order, and read a card's ledger.
//! The caller's role decides the key space (`source`): desk keys and sessions book as "desk",
//! `erp-webhook` keys as "erp"; only admin keys may name a source (default "erp").

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ListQuery;
use crate::booking::{self, Booked, NewAdjustment, NewOrder, NewRedemption, NewRefund};
use crate::error::ApiResult;
use crate::http::auth::{Admin, Booker, Staff};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;
use crate::store::Holder;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{external_id}/refunds", post(create_refund))
        .route("/cards/{id}/redemptions", post(create_redemption))
        .route("/cards/{id}/adjustments", post(create_adjustment))
        .route("/cards/{id}/history", get(card_history))
        .route("/desk/quote", post(desk_quote))
}

/// A new booking answers 201, the replay of an earlier one 200 with the stored body (here,
/// the ERP webhook's answers too).
impl IntoResponse for Booked {
    fn into_response(self) -> Response {
        match self {
            Booked::Created(body) => (StatusCode::CREATED, AppJson(body)).into_response(),
            Booked::Replayed(body) => (StatusCode::OK, AppJson(body)).into_response(),
        }
    }
}

async fn create_order(
    State(state): State<AppState>,
    Booker(by): Booker,
    AppJson(body): AppJson<NewOrder>,
) -> ApiResult<Booked> {
    Ok(booking::book_order(&state.store, body, &by).await?)
}

async fn create_refund(
    State(state): State<AppState>,
    Booker(by): Booker,
    AppPath(external_id): AppPath<String>,
    AppJson(body): AppJson<NewRefund>,
) -> ApiResult<Booked> {
    Ok(booking::book_refund(&state.store, &external_id, body, &by).await?)
}

async fn create_redemption(
    State(state): State<AppState>,
    Staff(by): Staff,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<NewRedemption>,
) -> ApiResult<Booked> {
    Ok(booking::redeem_reward(&state.store, &id, body, &by).await?)
}

async fn create_adjustment(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<NewAdjustment>,
) -> ApiResult<Booked> {
    Ok(booking::adjust(&state.store, &id, body, &by).await?)
}

/// The ledger of the card's holder, oldest first; `after` is the last entry id seen.
async fn card_history(
    State(state): State<AppState>,
    _: Staff,
    AppPath(id): AppPath<String>,
    AppQuery(query): AppQuery<ListQuery>,
) -> ApiResult<AppJson<Value>> {
    let limit = query.limit()?;
    let after = query
        .after_id("an entry id from an earlier page")?
        .unwrap_or(0);
    let card = booking::card_by_id(&state.store, &id).await?;
    let program = state.store.get_program(&card.program_id).await?;
    let holder = Holder::of(&program, &card.account_id, Some(&card.member_id));
    let mut rows = state
        .store
        .history(program.id.as_str(), holder.key(), after, limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "kind": r.kind, "amount": r.amount, "event_type": r.event_type,
                   "event_id": r.event_id, "order_id": r.order_id, "lot": r.lot,
                   "effective_at": r.effective_at, "expires_at": r.expires_at,
                   "created_at": r.created_at})
        })
        .collect();
    let mut body = json!({"items": items});
    if more {
        body["next_after"] = json!(rows.last().map(|r| r.id.to_string()));
    }
    Ok(AppJson(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteRequest {
    card_code: String,
    gross_minor: i64,
}

async fn desk_quote(
    State(state): State<AppState>,
    _: Staff,
    AppJson(body): AppJson<QuoteRequest>,
) -> ApiResult<AppJson<Value>> {
    let quote = booking::quote(&state.store, &body.card_code, body.gross_minor).await?;
    Ok(AppJson(quote))
}
