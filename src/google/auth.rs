//! The service-account OAuth2 flow (RFC 7523): an RS256 assertion goes to the token URL and
//! comes back as a bearer token, cached until shortly before it expires. Concurrent callers
//! share one renewal: the cache lock is held while a token is fetched, so the waiters find
//! the fresh one.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::pkey::{PKey, Private};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::jwt::{JwtError, sign_rs256};

/// The only scope the Wallet API needs.
pub const WALLET_SCOPE: &str = "https://www.googleapis.com/auth/wallet_object.issuer";

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google caps an assertion's lifetime at one hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A token is renewed this long before it expires (or at half its life, if shorter).
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Why no bearer token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the service-account file {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the service-account file is not usable: {0}")]
    BadKeyFile(String),
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("requesting a Google access token: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("the Google token endpoint answered {status}: {detail}")]
    Refused { status: u16, detail: String },
    #[error("the Google token endpoint answered 200 without a usable token: {0}")]
    BadAnswer(String),
}

impl AuthError {
    /// Worth trying again later: no answer, a 5xx or a 429. Anything else is a
    /// configuration problem (wrong key, revoked account) that waiting will not fix.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Transport(_) => true,
            AuthError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// A service-account key file, as downloaded from the Google Cloud console.
pub struct ServiceAccount {
    client_email: String,
    private_key_id: Option<String>,
    key: PKey<Private>,
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Parses the key file's JSON (`client_email`, `private_key` as PKCS#8 PEM,
    /// `private_key_id`).
    pub fn from_json(json: &[u8]) -> Result<Self, AuthError> {
        let file: KeyFile =
            serde_json::from_slice(json).map_err(|e| AuthError::BadKeyFile(e.to_string()))?;
        let key = PKey::private_key_from_pem(file.private_key.as_bytes())
            .map_err(|e| AuthError::BadKeyFile(format!("private_key: {e}")))?;
        if key.rsa().is_err() {
            return Err(AuthError::BadKeyFile(
                "private_key is not an RSA key".into(),
            ));
        }
        if !file.client_email.contains('@') {
            return Err(AuthError::BadKeyFile(
                "client_email is not an e-mail address".into(),
            ));
        }
        Ok(Self {
            client_email: file.client_email,
            private_key_id: file.private_key_id.filter(|id| !id.is_empty()),
            key,
        })
    }

    /// Reads and parses a key file.
    pub fn from_file(path: &Path) -> Result<Self, AuthError> {
        let json = std::fs::read(path).map_err(|source| AuthError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// The account's e-mail: `iss` of every JWT it signs.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// Signs `claims` with RS256, `kid` = the key file's `private_key_id`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, JwtError> {
        sign_rs256(&self.key, self.private_key_id.as_deref(), claims)
    }
}

/// A bearer token; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// The token for the `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(…)")
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

/// Bearer tokens for one service account, fetched on demand and cached.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    account: Arc<ServiceAccount>,
    cache: Mutex<Option<Cached>>,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'static str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl TokenSource {
    /// Tokens from `token_url` (which is also the assertion's `aud`).
    pub fn new(http: reqwest::Client, token_url: &str, account: Arc<ServiceAccount>) -> Self {
        Self {
            http,
            token_url: token_url.to_owned(),
            account,
            cache: Mutex::new(None),
        }
    }

    /// The cached token, or a new one when there is none or it is about to expire. Only one
    /// caller fetches at a time; the others wait for its token.
    pub async fn bearer(&self) -> Result<AccessToken, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(cached.token.clone());
        }
        let cached = self.fetch().await?;
        let token = cached.token.clone();
        *cache = Some(cached);
        Ok(token)
    }

    /// Forgets `token` after the API refused it (401), so the next call fetches a new one.
    /// A token renewed meanwhile by another caller is kept.
    pub async fn reject(&self, token: &AccessToken) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| &c.token == token) {
            *cache = None;
        }
    }

    #[tracing::instrument(name = "google.token", skip_all)]
    async fn fetch(&self) -> Result<Cached, AuthError> {
        let iat = chrono::Utc::now().timestamp();
        let assertion = self.account.sign(&AssertionClaims {
            iss: self.account.client_email(),
            scope: WALLET_SCOPE,
            aud: &self.token_url,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        })?;
        let sent = Instant::now();
        let response = self
            .http
            .post(&self.token_url)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(AuthError::Transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(AuthError::Transport)?;
        if !status.is_success() {
            return Err(AuthError::Refused {
                status: status.as_u16(),
                detail: oauth_error(&body),
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| AuthError::BadAnswer(e.to_string()))?;
        if answer.access_token.is_empty() {
            return Err(AuthError::BadAnswer("empty access_token".into()));
        }
        let lifetime = Duration::from_secs(answer.expires_in);
        let margin = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
        Ok(Cached {
            token: AccessToken(answer.access_token.into()),
            renew_at: sent + lifetime - margin,
        })
    }
}

/// `error: error_description` of an OAuth2 error body (RFC 6749 §5.2), else a short excerpt.
fn oauth_error(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => match e.error_description {
            Some(d) => format!("{}: {d}", e.error),
            None => e.error,
        },
        Err(_) => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_needs_an_rsa_key_and_an_email() {
        assert!(matches!(
            ServiceAccount::from_json(b"{}"),
            Err(AuthError::BadKeyFile(_))
        ));
        let bad_key = serde_json::json!({"client_email": "a@b", "private_key": "nope"});
        let e = ServiceAccount::from_json(bad_key.to_string().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("private_key"), "{e}");
    }

    #[test]
    fn only_unanswered_5xx_and_429_are_transient() {
        let refused = |status| AuthError::Refused {
            status,
            detail: String::new(),
        };
        assert!(refused(503).is_transient());
        assert!(refused(429).is_transient());
        assert!(!refused(400).is_transient());
        assert!(!AuthError::BadAnswer(String::new()).is_transient());
        assert_eq!(
            oauth_error(br#"{"error":"invalid_grant","error_description":"bad sig"}"#),
            "invalid_grant: bad sig"
        );
    }
}
