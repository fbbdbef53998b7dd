//! The Wallet REST client for loyalty classes and objects.
//!
//! Build one [`WalletClient`] at start-up ([`WalletClient::from_settings`] returns `None`
//! when Google is off) and clone it freely. Calls never fail: every problem is an
//! [`Outcome`] the caller acts on. A 401 makes the client forget its token and send the
//! call once more with a new one. Every call waits its turn in the client's token bucket, so
//! the whole process stays under Google's request rate.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{AccessToken, AuthError, ServiceAccount, TokenSource};
use super::model::{
    LoyaltyClass, LoyaltyObject, LoyaltyObjectPatch, Message, ResourceId, ReviewStatus,
};
use super::pace::RequestPace;
use super::response::{Outcome, Refusal, classify};
use crate::config::GoogleSettings;

/// Where the client talks to and as whom.
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// The REST base, up to and including `/walletobjects/v1`.
    pub api_url: String,
    /// The OAuth2 token endpoint.
    pub token_url: String,
    /// The issuer all ids belong to.
    pub issuer_id: String,
    /// Per call, connecting included.
    pub request_timeout: Duration,
    /// The most calls per second this client makes (a token bucket all its calls wait on).
    pub requests_per_second: u32,
}

impl WalletConfig {
    /// The time-out used by [`WalletClient::from_settings`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("setting {setting}: {message}")]
    Setting {
        setting: &'static str,
        message: String,
    },
    #[error("setting WALLETCARDS_GOOGLE__SERVICE_ACCOUNT: {0}")]
    ServiceAccount(#[source] AuthError),
    #[error("setting up the Google HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// What the dispatcher needs of the Wallet API, so its policy (re-insert on 404, silent
/// retry on `quotaExceeded`, back-off, dead letters) can be unit-tested with a scripted
/// stand-in instead of a server.
pub trait WalletApi: Send + Sync {
    /// See [`WalletClient::upsert_class`].
    fn upsert_class(
        &self,
        class: &LoyaltyClass,
    ) -> impl Future<Output = Outcome<LoyaltyClass>> + Send;
    /// See [`WalletClient::insert_object`].
    fn insert_object(
        &self,
        object: &LoyaltyObject,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send;
    /// See [`WalletClient::patch_object`].
    fn patch_object(
        &self,
        id: &ResourceId,
        patch: &LoyaltyObjectPatch,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send;
    /// See [`WalletClient::add_message`].
    fn add_message(
        &self,
        id: &ResourceId,
        message: &Message,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send;
}

impl WalletApi for WalletClient {
    fn upsert_class(
        &self,
        class: &LoyaltyClass,
    ) -> impl Future<Output = Outcome<LoyaltyClass>> + Send {
        WalletClient::upsert_class(self, class)
    }

    fn insert_object(
        &self,
        object: &LoyaltyObject,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send {
        WalletClient::insert_object(self, object)
    }

    fn patch_object(
        &self,
        id: &ResourceId,
        patch: &LoyaltyObjectPatch,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send {
        WalletClient::patch_object(self, id, patch)
    }

    fn add_message(
        &self,
        id: &ResourceId,
        message: &Message,
    ) -> impl Future<Output = Outcome<LoyaltyObject>> + Send {
        WalletClient::add_message(self, id, message)
    }
}

/// A Wallet API client for one issuer and service account.
#[derive(Clone)]
pub struct WalletClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api_url: String,
    issuer_id: String,
    account: Arc<ServiceAccount>,
    tokens: TokenSource,
    pace: RequestPace,
}

impl std::fmt::Debug for WalletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletClient")
            .field("api_url", &self.inner.api_url)
            .field("issuer_id", &self.inner.issuer_id)
            .finish_non_exhaustive()
    }
}

impl WalletClient {
    /// A client for `config`, signing as `account`.
    pub fn new(config: WalletConfig, account: Arc<ServiceAccount>) -> Result<Self, WalletError> {
        check_url("WALLETCARDS_GOOGLE__API_URL", &config.api_url)?;
        check_url("WALLETCARDS_GOOGLE__TOKEN_URL", &config.token_url)?;
        if config.issuer_id.is_empty() || !config.issuer_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WalletError::Setting {
                setting: "WALLETCARDS_GOOGLE__ISSUER_ID",
                message: "must be digits only".into(),
            });
        }
        let http = reqwest::Client::builder()
            .use_native_tls()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(WalletError::Http)?;
        let tokens = TokenSource::new(http.clone(), &config.token_url, account.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                api_url: config.api_url.trim_end_matches('/').to_owned(),
                issuer_id: config.issuer_id,
                account,
                tokens,
                pace: RequestPace::new(config.requests_per_second),
            }),
        })
    }

    /// The client the settings ask for, or `None` when Google Wallet is off (no issuer id
    /// and service account).
    pub fn from_settings(settings: &GoogleSettings) -> Result<Option<Self>, WalletError> {
        let Some(credentials) = settings.credentials() else {
            return Ok(None);
        };
        let account = ServiceAccount::from_file(credentials.service_account)
            .map_err(WalletError::ServiceAccount)?;
        let config = WalletConfig {
            api_url: settings.api_url.clone(),
            token_url: settings.token_url.clone(),
            issuer_id: credentials.issuer_id.to_owned(),
            request_timeout: WalletConfig::DEFAULT_TIMEOUT,
            requests_per_second: settings.requests_per_second,
        };
        Self::new(config, Arc::new(account)).map(Some)
    }

    /// The issuer every id of this client starts with.
    pub fn issuer_id(&self) -> &str {
        &self.inner.issuer_id
    }

    /// The service account, e.g. to sign save links.
    pub fn account(&self) -> &Arc<ServiceAccount> {
        &self.inner.account
    }

    /// The token source, shared by all calls of this client.
    pub fn tokens(&self) -> &TokenSource {
        &self.inner.tokens
    }

    /// Inserts a class (sent with `reviewStatus: UNDER_REVIEW`); 409 if it exists.
    #[tracing::instrument(name = "google.insert_class", skip_all, fields(google.id = %class.id))]
    pub async fn insert_class(&self, class: &LoyaltyClass) -> Outcome<LoyaltyClass> {
        let body = under_review(class);
        self.call(Method::POST, "loyaltyClass", Some(&body)).await
    }

    /// Reads a class.
    #[tracing::instrument(name = "google.get_class", skip_all, fields(google.id = %id))]
    pub async fn get_class(&self, id: &ResourceId) -> Outcome<LoyaltyClass> {
        let path = format!("loyaltyClass/{id}");
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// Replaces a class (PUT), with `reviewStatus: UNDER_REVIEW` as Google requires for
    /// updates even of approved classes.
    #[tracing::instrument(name = "google.update_class", skip_all, fields(google.id = %class.id))]
    pub async fn update_class(&self, class: &LoyaltyClass) -> Outcome<LoyaltyClass> {
        let path = format!("loyaltyClass/{}", class.id);
        let body = under_review(class);
        self.call(Method::PUT, &path, Some(&body)).await
    }

    /// Inserts the class, or replaces it when it exists (409 → PUT).
    pub async fn upsert_class(&self, class: &LoyaltyClass) -> Outcome<LoyaltyClass> {
        match self.insert_class(class).await {
            Outcome::AlreadyExists(_) => self.update_class(class).await,
            other => other,
        }
    }

    /// Inserts an object; 409 if it exists, 404 if its class does not.
    #[tracing::instrument(name = "google.insert_object", skip_all, fields(google.id = %object.id))]
    pub async fn insert_object(&self, object: &LoyaltyObject) -> Outcome<LoyaltyObject> {
        self.call(Method::POST, "loyaltyObject", Some(object)).await
    }

    /// Reads an object.
    #[tracing::instrument(name = "google.get_object", skip_all, fields(google.id = %id))]
    pub async fn get_object(&self, id: &ResourceId) -> Outcome<LoyaltyObject> {
        let path = format!("loyaltyObject/{id}");
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// Changes the fields set in `patch`. With `notifyPreference: NOTIFY_ON_UPDATE` it
    /// counts against the pass's 3 notifications per 24 h; past them the answer is
    /// [`Outcome::QuotaExceeded`] and the caller sends the patch again without it.
    #[tracing::instrument(name = "google.patch_object", skip_all, fields(google.id = %id))]
    pub async fn patch_object(
        &self,
        id: &ResourceId,
        patch: &LoyaltyObjectPatch,
    ) -> Outcome<LoyaltyObject> {
        let path = format!("loyaltyObject/{id}");
        self.call(Method::PATCH, &path, Some(patch)).await
    }

    /// Adds a message to the back of the pass; `TEXT_AND_NOTIFY` also pushes it (3 per
    /// 24 h, then [`Outcome::QuotaExceeded`]: send it again as `TEXT`).
    #[tracing::instrument(name = "google.add_message", skip_all, fields(google.id = %id))]
    pub async fn add_message(&self, id: &ResourceId, message: &Message) -> Outcome<LoyaltyObject> {
        #[derive(Serialize)]
        struct AddMessage<'a> {
            message: &'a Message,
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            resource: LoyaltyObject,
        }
        let path = format!("loyaltyObject/{id}/addMessage");
        let outcome: Outcome<Answer> = self
            .call(Method::POST, &path, Some(&AddMessage { message }))
            .await;
        outcome.map(|answer| answer.resource)
    }

    /// One call, with a bearer token; a 401 is tried once more with a new token.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Outcome<T> {
        let body = match body.map(serde_json::to_vec).transpose() {
            Ok(body) => body,
            Err(e) => return not_sent(&e),
        };
        let tokens = &self.inner.tokens;
        let token = match tokens.bearer().await {
            Ok(token) => token,
            Err(e) => return no_token(e),
        };
        let (outcome, token_refused) = self.send(&method, path, body.as_deref(), &token).await;
        if !token_refused {
            return outcome;
        }
        tokens.reject(&token).await;
        match tokens.bearer().await {
            Ok(renewed) => self.send(&method, path, body.as_deref(), &renewed).await.0,
            Err(e) => no_token(e),
        }
    }

    /// The outcome, and whether it was a 401 (the token was refused).
    async fn send<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
        token: &AccessToken,
    ) -> (Outcome<T>, bool) {
        self.inner.pace.acquire().await;
        let url = format!("{}/{path}", self.inner.api_url);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, format!("Bearer {}", token.secret()));
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return (not_answered(&e), false),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let unauthorized = status == reqwest::StatusCode::UNAUTHORIZED;
        match response.bytes().await {
            Ok(bytes) => (classify(status, &headers, &bytes), unauthorized),
            Err(e) => (not_answered(&e), false),
        }
    }
}

fn under_review(class: &LoyaltyClass) -> LoyaltyClass {
    LoyaltyClass {
        review_status: Some(ReviewStatus::UnderReview),
        ..class.clone()
    }
}

/// No answer: try again later; the error and its causes go to the log.
fn not_answered<T>(error: &dyn std::error::Error) -> Outcome<T> {
    Outcome::Retry {
        status: None,
        error: Some(crate::telemetry::error_chain(error)),
        retry_after: None,
    }
}

fn not_sent<T>(error: &dyn std::error::Error) -> Outcome<T> {
    Outcome::Rejected(Refusal {
        status: 0,
        code: None,
        message: crate::telemetry::error_chain(error),
        reason: Some("notSent".into()),
    })
}

/// No token: a transient failure retries; a refused key is a configuration problem.
fn no_token<T>(error: AuthError) -> Outcome<T> {
    if error.is_transient() {
        return not_answered(&error);
    }
    let status = match &error {
        AuthError::Refused { status, .. } => *status,
        _ => 0,
    };
    Outcome::Rejected(Refusal {
        status,
        code: None,
        message: crate::telemetry::error_chain(&error),
        reason: Some("tokenRefused".into()),
    })
}

fn check_url(setting: &'static str, url: &str) -> Result<(), WalletError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(WalletError::Setting {
            setting,
            message: format!("`{url}` must be an http:// or https:// URL"),
        }),
    }
}
