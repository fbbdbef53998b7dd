//! API keys: `Authorization: Bearer <key id>.<secret>`. Keys are stored as SHA-256 of the
//! secret and compared in constant time; the bootstrap key from `WALLETCARDS_ADMIN_KEY` is
//! held only as its hash.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::ids::ApiKeyId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ApiKeyRecord, Role, Store, StoreError, now};

/// A caller that presented a valid key with the admin role.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            Role::Admin => Ok(Admin),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// A caller with the admin or the desk role: order-desk staff and their terminals.
pub struct Staff(pub Role);

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            role @ (Role::Admin | Role::Desk) => Ok(Staff(role)),
            _ => Err(ApiError::forbidden()),
        }
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Role, ApiError> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)?;
    if let Some(expected) = &state.env_admin_key_hash {
        if bool::from(Sha256::digest(token.as_bytes()).as_slice().ct_eq(expected)) {
            return Ok(Role::Admin);
        }
    }
    let (id, secret) = token.split_once('.').ok_or_else(ApiError::unauthorized)?;
    let id = ApiKeyId::parse(id).ok_or_else(ApiError::unauthorized)?;
    let record = match state.store.find_api_key(&id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(ApiError::unauthorized()),
        Err(e) => return Err(e.into()),
    };
    let presented = hex::encode(Sha256::digest(secret.as_bytes()));
    if bool::from(presented.as_bytes().ct_eq(record.secret_hash.as_bytes())) {
        Ok(record.role)
    } else {
        Err(ApiError::unauthorized())
    }
}

/// SHA-256 of the bootstrap key, held instead of the key itself.
pub fn hash_env_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Creates a key and returns the token to hand out; only its hash is stored.
pub async fn create_api_key(store: &Store, name: &str, role: Role) -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let record = ApiKeyRecord {
        id: ApiKeyId::generate(),
        name: name.to_owned(),
        role,
        secret_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        created_at: now(),
    };
    store.insert_api_key(&record).await?;
    Ok(format!("{}.{secret}", record.id))
}
