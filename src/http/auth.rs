//! API keys: `Authorization: Bearer <key id>.<secret>`. Keys are stored as SHA-256 of the
//! secret and compared in constant time; the bootstrap key from `WALLETCARDS_ADMIN_KEY` is
//! held only as its hash. Staff signed in on the HTML pages call the same API with their
//! session cookie instead, and a CSRF token on every unsafe request.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit::Actor;
use crate::domain::ids::ApiKeyId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ApiKeyRecord, Role, Store, StoreError, WebSession, now};
use crate::tokens::{random_token, same_secret, token_hash};

/// A caller with the admin role: a staff user, an API key or a session; who it is.
pub struct Admin(pub Actor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = authenticate(parts, state).await?;
        match actor.role {
            Role::Admin => Ok(Admin(actor)),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// A caller with the admin or the desk role: order-desk staff and their terminals.
pub struct Staff(pub Actor);

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = authenticate(parts, state).await?;
        match actor.role {
            Role::Admin | Role::Desk => Ok(Staff(actor)),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// A caller that may book orders and refunds: an admin, the desk, or the ERP by its
/// `erp-webhook` key. Its role decides the key space it books in (`booking::Caller`).
pub struct Booker(pub Actor);

impl FromRequestParts<AppState> for Booker {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state).await.map(Booker)
    }
}

/// The cookie that carries a staff session of the HTML pages (see `http::pages::session`).
pub const SESSION_COOKIE: &str = "wc_session";

/// The header a page's script sends its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller: from an API key (`Authorization: Bearer`), else from a staff session cookie.
/// A session's unsafe requests (POST, …) must carry its CSRF token in `X-CSRF-Token`: the
/// cookie alone, which a browser sends with any request, proves nothing.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Actor, ApiError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = bearer {
        return Ok(key_of(state, token).await?.actor());
    }
    let session = session_of(parts, state)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if !parts.method.is_safe() {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !same_secret(presented, &session.csrf) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf_failed",
                "the request lacks this session's CSRF token (X-CSRF-Token)",
            ));
        }
    }
    Ok(session_actor(&session))
}

/// Who a session acts as: its user, else the key it was opened with, else the bootstrap key.
pub fn session_actor(session: &WebSession) -> Actor {
    let name = session.name.as_deref().unwrap_or(session.role.as_str());
    match (&session.user_id, &session.api_key_id) {
        (Some(user), _) => Actor::user(user, name, session.role, session.desk.clone()),
        (None, Some(key)) => Actor::key(key, name, session.role),
        (None, None) => Actor::bootstrap(),
    }
}

/// Who presented an API key.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub role: Role,
    /// The stored key; `None` for the bootstrap key from `WALLETCARDS_ADMIN_KEY`.
    pub id: Option<ApiKeyId>,
    pub name: String,
}

impl KeyHolder {
    /// The key as the audit trail names it.
    pub fn actor(&self) -> Actor {
        match &self.id {
            Some(id) => Actor::key(id, &self.name, self.role),
            None => Actor::bootstrap(),
        }
    }
}

/// The live key `token` presents, or 401.
pub async fn key_of(state: &AppState, token: &str) -> Result<KeyHolder, ApiError> {
    if let Some(expected) = &state.env_admin_key_hash {
        if bool::from(Sha256::digest(token.as_bytes()).as_slice().ct_eq(expected)) {
            return Ok(KeyHolder {
                role: Role::Admin,
                id: None,
                name: Actor::bootstrap().name,
            });
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
    if same_secret(&presented, &record.secret_hash) {
        // Bookkeeping only: a failure to note the use does not refuse the request.
        if let Err(e) = state.store.note_api_key_use(&record, now()).await {
            tracing::warn!(key = %record.id, error = %e, "could not note the API key's use");
        }
        Ok(KeyHolder {
            role: record.role,
            id: Some(record.id),
            name: record.name,
        })
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The live staff session the request's cookie names, if any.
pub async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<WebSession>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let bootstrap = bootstrap_fingerprint(state);
    Ok(state
        .store
        .find_web_session(&token_hash(token), now(), bootstrap.as_deref())
        .await?)
}

/// What a session opened with the bootstrap key records of it: a hash of the key's hash, so
/// the database holds nothing that opens the API. `None` when no bootstrap key is set.
pub fn bootstrap_fingerprint(state: &AppState) -> Option<String> {
    let hash = state.env_admin_key_hash.as_ref()?;
    let mut digest = Sha256::new();
    digest.update(b"walletcards session bootstrap key\0");
    digest.update(hash);
    Some(hex::encode(digest.finalize()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// SHA-256 of the bootstrap key, held instead of the key itself.
pub fn hash_env_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Creates a key and returns the token to hand out; only its hash is stored.
pub async fn create_api_key(store: &Store, name: &str, role: Role) -> Result<String, StoreError> {
    Ok(new_api_key(store, name, role).await?.1)
}

/// Creates a key: the stored record and the token to hand out (shown once).
pub async fn new_api_key(
    store: &Store,
    name: &str,
    role: Role,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let secret = random_token();
    let record = ApiKeyRecord {
        id: ApiKeyId::generate(),
        name: name.to_owned(),
        role,
        secret_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        created_at: now(),
        revoked_at: None,
        last_used_at: None,
    };
    store.insert_api_key(&record).await?;
    let token = format!("{}.{secret}", record.id);
    Ok((record, token))
}
