//! A person's rights over their data: `DELETE /members/{id}` erases a member (personal data
//! anonymised, cards revoked, ledger kept), `GET /members/{id}/export` hands over everything
//! stored about them.

use crate::audit::Action;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use super::accounts::{MemberBody, load_member};
use crate::domain::model::Member;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath};
use crate::state::AppState;
use crate::store::{ExportCard, StoreError};

pub fn router() -> Router<AppState> {
    Router::new().route("/members/{id}/export", get(export_member))
}

/// The member as the API shows them, with when they were erased (`null` if not).
fn member_json(member: Member, erased_at: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    let mut body = serde_json::to_value(MemberBody::from(member)).unwrap_or(Value::Null);
    body["erased_at"] = json!(erased_at);
    body
}

/// Anonymises the member and revokes their cards; 200 with the erased member, again on a
/// second call.
pub(super) async fn erase_member(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let member = load_member(&state, &id).await?;
    let first_time = state.store.member_erased_at(&member.id).await?.is_none();
    let erasure = match state.store.erase_member(&member.id).await {
        Err(StoreError::NotFound) => return Err(ApiError::not_found("member")),
        other => other?,
    };
    if erasure.revoked > 0 {
        tracing::info!(member.id = %member.id, cards = erasure.revoked, "member erased");
    }
    if first_time {
        let entry = by
            .did(Action::MemberErased, format!("member:{}", member.id))
            .account(&member.account_id)
            .details(json!({"cards_revoked": erasure.revoked}));
        super::record_audit(&state, entry).await;
    }
    let member = load_member(&state, &id).await?;
    Ok(AppJson(member_json(member, Some(erasure.erased_at))))
}

fn card_json(state: &AppState, c: &ExportCard, program_name: &str) -> Value {
    let card = &c.card;
    json!({
        "id": card.id.to_string(),
        "program_id": card.program_id.to_string(),
        "program_name": program_name,
        "account_id": card.account_id.to_string(),
        "serial": card.serial.to_string(),
        "code": card.code.display(),
        "status": card.status,
        "version": card.version,
        "created_at": card.created_at,
        "updated_at": card.updated_at,
        "google_object_id": card.google_object_id,
        "apple_pass_url": format!("{}/api/v1/cards/{}/pass.pkpass", state.public_url, card.id),
        "ledger_entries": c.entries,
    })
}

/// Everything stored about the member; no secrets (see `Store::member_export`).
async fn export_member(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let member = load_member(&state, &id).await?;
    let export = match state.store.member_export(&member.id).await {
        Err(StoreError::NotFound) => return Err(ApiError::not_found("member")),
        other => other?,
    };
    let mut cards = Vec::with_capacity(export.cards.len());
    for c in &export.cards {
        let program = state.store.get_program(&c.card.program_id).await?;
        cards.push(card_json(&state, c, &program.name));
    }
    Ok(AppJson(json!({
        "exported_at": crate::store::now(),
        "member": member_json(member, export.erased_at),
        "consents": export.consents,
        "cards": cards,
        "devices": export.devices,
        "orders": export.orders,
        "refunds": export.refunds,
        "redemptions": export.redemptions,
    })))
}
