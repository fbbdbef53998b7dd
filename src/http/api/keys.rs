//! `/api-keys`: the keys of desk terminals, the ERP and other admins. A key's token is shown
//! once, in the answer that created it; only a hash is stored. Revoking a key refuses it at
//! once on this instance (within the key cache's few seconds on others) and ends the staff
//! sessions signed in with it.

use crate::audit::{Action, Actor};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ListPage, ListQuery, text};
use crate::domain::ids::ApiKeyId;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, new_api_key};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;
use crate::store::{ApiKeyRecord, RevokeError, Role, StoreError, now};

/// The longest name a key may have.
const MAX_NAME: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list_keys).post(create_key))
        .route("/api-keys/{id}/revoke", post(revoke_key))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    role: String,
}

#[derive(Debug, Serialize)]
pub struct KeyBody {
    id: String,
    name: String,
    role: Role,
    status: &'static str,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    /// When it last opened a request (to within an hour); `null`: never.
    last_used_at: Option<DateTime<Utc>>,
    /// `Authorization: Bearer <token>`; only in the answer that created the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

fn key_body(k: ApiKeyRecord, token: Option<String>) -> KeyBody {
    KeyBody {
        id: k.id.to_string(),
        name: k.name,
        role: k.role,
        status: if k.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        },
        created_at: k.created_at,
        revoked_at: k.revoked_at,
        last_used_at: k.last_used_at,
        token,
    }
}

async fn list_keys(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<KeyBody>>> {
    let page = state
        .store
        .list_api_keys(q.after.as_deref(), q.limit()?)
        .await?;
    Ok(AppJson(ListPage::map(page, |k| key_body(k, None))))
}

async fn create_key(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppJson(body): AppJson<NewKey>,
) -> ApiResult<(StatusCode, AppJson<KeyBody>)> {
    let name = text("name", &body.name, MAX_NAME)?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::invalid("role", "must be one of admin, desk, erp-webhook"))?;
    let (record, token) = create_recorded(&state, &by, &name, role).await?;
    Ok((StatusCode::CREATED, AppJson(key_body(record, Some(token)))))
}

async fn revoke_key(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<KeyBody>> {
    let id = ApiKeyId::parse(&id).ok_or_else(|| ApiError::not_found("API key"))?;
    match revoke_recorded(&state, &by, &id).await {
        Ok(key) => Ok(AppJson(key_body(key, None))),
        Err(RevokeError::NotFound) => Err(ApiError::not_found("API key")),
        Err(RevokeError::LastAdmin) => Err(ApiError::conflict(
            "last_admin_key",
            "this is the last admin key: create another admin key first (or set WALLETCARDS_ADMIN_KEY)",
        )),
        Err(RevokeError::Store(e)) => Err(e.into()),
    }
}

/// Creates a key for `by` and writes it to the audit trail: the record and the token (shown
/// once). The API and the console's keys page both create keys here.
pub(crate) async fn create_recorded(
    state: &AppState,
    by: &Actor,
    name: &str,
    role: Role,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let (record, token) = new_api_key(&state.store, name, role).await?;
    tracing::info!(key = %record.id, role = role.as_str(), "API key created");
    let entry = by
        .did(Action::KeyCreated, format!("key:{}", record.id))
        .details(serde_json::json!({"name": record.name, "role": role.as_str()}));
    super::record_audit(state, entry).await;
    Ok((record, token))
}

/// Revokes a key for `by` (see `Store::revoke_api_key`) and writes it to the audit trail.
pub(crate) async fn revoke_recorded(
    state: &AppState,
    by: &Actor,
    id: &ApiKeyId,
) -> Result<ApiKeyRecord, RevokeError> {
    let bootstrap_configured = state.env_admin_key_hash.is_some();
    let key = state
        .store
        .revoke_api_key(id, now(), bootstrap_configured)
        .await?;
    tracing::info!(key = %key.id, role = key.role.as_str(), "API key revoked");
    let entry = by
        .did(Action::KeyRevoked, format!("key:{}", key.id))
        .details(serde_json::json!({"name": key.name, "role": key.role.as_str()}));
    super::record_audit(state, entry).await;
    Ok(key)
}
