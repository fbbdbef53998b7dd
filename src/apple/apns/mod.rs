//! APNs for pass updates: tells a device that a pass changed, so Wallet fetches it.
//!
//! One [`ApnsClient`] holds ONE credential and ONE long-lived HTTP/2 connection (TLS, ALPN
//! `h2` only) that every push multiplexes over; clone it freely. Apple treats a connection
//! per request like abuse, so a service with several credentials (customers' Pass Type ID
//! certificates) makes one client per credential and keeps it. After a GOAWAY or a broken
//! connection the next push opens a new one (hyper's pool); requests the server refused
//! unprocessed are re-sent there.
//!
//! Use: build once at start-up with [`ApnsClient::from_settings`] (or [`ApnsClient::new`]),
//! then per registration `client.push(&push_token, &pass_type_id).await` and act on
//! [`PushReport::outcome`] — see [`PushOutcome`] for what each variant asks of the caller.
//! `push` never fails: every problem is an outcome.

mod request;
mod response;
mod token;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretSlice};

use crate::apple::signer::Signer;
use crate::config::{ApnsAuth, AppleSettings};

pub use request::{PAYLOAD, build_request, check_device_token};
pub use response::{InvalidPush, PushOutcome, Reason, classify};
pub use token::{MIN_FORCED_RENEWAL_GAP, RENEW_AFTER, TokenSigner};

use token::{ProviderToken, TokenCache};

/// A push's classification and how long it took (both attempts, when a token was renewed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    pub outcome: PushOutcome,
    pub latency: Duration,
}

/// What the dispatcher needs of APNs, so its retry and prune policy can be unit-tested with a
/// scripted stand-in instead of a server.
pub trait PushGateway: Send + Sync {
    fn push(
        &self,
        push_token: &str,
        topic: &str,
    ) -> impl std::future::Future<Output = PushReport> + Send;
}

/// How the client proves who it is to APNs.
pub enum ApnsCredential {
    /// TLS client certificate: the Pass Type ID certificate and its key (PKCS#8 PEM), the
    /// same pair that signs passes.
    Certificate {
        cert_pem: Vec<u8>,
        key_pem: SecretSlice<u8>,
    },
    /// ES256 provider token from a `.p8` key; works only for pass type ids of the key's team.
    Token {
        key_p8_pem: SecretSlice<u8>,
        key_id: String,
        team_id: String,
    },
}

pub struct ApnsConfig {
    /// `https://api.push.apple.com` in production — for passes even for development devices.
    pub base_url: String,
    pub credential: ApnsCredential,
    /// An extra trusted root (PEM), e.g. the loopback fake's CA in tests.
    pub extra_root_pem: Option<Vec<u8>>,
    /// Per push, connecting included.
    pub request_timeout: Duration,
}

impl ApnsConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ApnsError {
    #[error("setting {setting}: {message}")]
    Setting {
        setting: &'static str,
        message: String,
    },
    #[error("cannot read {path} (setting {setting}): {source}")]
    Unreadable {
        path: String,
        setting: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the APNs token key (setting WALLETCARDS_APPLE__APNS_KEY_P8) is not usable: {detail}; download the .p8 key from the Apple Developer portal"
    )]
    BadTokenKey { detail: String },
    #[error(
        "the APNs {what} must be letters and digits only (as shown in the Apple Developer portal)"
    )]
    BadTokenIdentity { what: &'static str },
    #[error("signing the APNs provider token: {0}")]
    Sign(String),
    #[error("setting up the APNs TLS client: {0}")]
    Tls(#[source] reqwest::Error),
    #[error("the APNs token cache lock was poisoned")]
    Poisoned,
}

const SETTING_URL: &str = "WALLETCARDS_APPLE__APNS_URL";
const SETTING_CA: &str = "WALLETCARDS_APPLE__APNS_CA";
const SETTING_KEY_P8: &str = "WALLETCARDS_APPLE__APNS_KEY_P8";
const SETTING_KEY_ID: &str = "WALLETCARDS_APPLE__APNS_KEY_ID";

/// Idle connections are pinged this often, so NATs and APNs keep them open.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct ApnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    tokens: Option<TokenCache>,
    timeout: Duration,
}

impl std::fmt::Debug for ApnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsClient")
            .field("base_url", &self.inner.base_url)
            .field("token_auth", &self.inner.tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl ApnsClient {
    pub fn new(config: ApnsConfig) -> Result<Self, ApnsError> {
        check_base_url(&config.base_url)?;
        let mut builder = reqwest::Client::builder()
            .use_native_tls()
            .http2_prior_knowledge()
            .https_only(true)
            .no_proxy()
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(None)
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .http2_keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .http2_keep_alive_while_idle(true)
            .tcp_keepalive(KEEP_ALIVE_INTERVAL)
            .connect_timeout(config.request_timeout);
        if let Some(pem) = &config.extra_root_pem {
            let root = reqwest::Certificate::from_pem(pem).map_err(ApnsError::Tls)?;
            builder = builder.add_root_certificate(root);
        }
        let tokens = match config.credential {
            ApnsCredential::Certificate { cert_pem, key_pem } => {
                let identity =
                    reqwest::Identity::from_pkcs8_pem(&cert_pem, key_pem.expose_secret())
                        .map_err(ApnsError::Tls)?;
                builder = builder.identity(identity);
                None
            }
            ApnsCredential::Token {
                key_p8_pem,
                key_id,
                team_id,
            } => {
                let signer = TokenSigner::new(key_p8_pem.expose_secret(), &key_id, &team_id)?;
                Some(TokenCache::new(signer)?)
            }
        };
        let http = builder.build().map_err(ApnsError::Tls)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url.trim_end_matches('/').to_owned(),
                tokens,
                timeout: config.request_timeout,
            }),
        })
    }

    /// The client the configuration asks for: `apns_auth` picks the signer's Pass Type ID
    /// certificate and key or the `.p8` token key; `apns_ca` adds a trusted root. The team id
    /// of token auth is `team_id`, else the signer certificate's.
    pub fn from_settings(settings: &AppleSettings, signer: &Signer) -> Result<Self, ApnsError> {
        let credential = match settings.apns_auth {
            ApnsAuth::Certificate => ApnsCredential::Certificate {
                cert_pem: signer.certificate_pem(),
                key_pem: signer.private_key_pem().into(),
            },
            ApnsAuth::Token => {
                let key_path = settings
                    .apns_key_p8
                    .as_deref()
                    .ok_or(missing(SETTING_KEY_P8))?;
                let key_id = settings
                    .apns_key_id
                    .clone()
                    .ok_or(missing(SETTING_KEY_ID))?;
                ApnsCredential::Token {
                    key_p8_pem: read(key_path, SETTING_KEY_P8)?.into(),
                    key_id,
                    team_id: (settings.team_id.as_deref())
                        .unwrap_or(signer.team_id())
                        .to_owned(),
                }
            }
        };
        let extra_root_pem = match &settings.apns_ca {
            Some(path) => Some(read(path, SETTING_CA)?),
            None => None,
        };
        Self::new(ApnsConfig {
            base_url: settings.apns_url.clone(),
            credential,
            extra_root_pem,
            request_timeout: ApnsConfig::DEFAULT_TIMEOUT,
        })
    }

    /// Tells the device holding `push_token` that a pass of `topic` (its pass type id)
    /// changed. On a 403 `ExpiredProviderToken` the token is renewed and the push sent once
    /// more at once.
    #[tracing::instrument(name = "apns.push", skip_all, fields(apns.topic = %topic))]
    pub async fn push(&self, push_token: &str, topic: &str) -> PushReport {
        let started = Instant::now();
        let outcome = self.push_renewing(push_token, topic).await;
        PushReport {
            outcome,
            latency: started.elapsed(),
        }
    }

    async fn push_renewing(&self, push_token: &str, topic: &str) -> PushOutcome {
        let Some(tokens) = &self.inner.tokens else {
            return self.send(push_token, topic, None).await;
        };
        let token = match tokens.current() {
            Ok(token) => token,
            Err(e) => return not_answered(&e),
        };
        let outcome = self.send(push_token, topic, Some(&token)).await;
        if !is_expired_provider_token(&outcome) {
            return outcome;
        }
        match tokens.renew_rejected(&token) {
            Ok(renewed) if !Arc::ptr_eq(&renewed, &token) => {
                self.send(push_token, topic, Some(&renewed)).await
            }
            Ok(_) => outcome,
            Err(e) => not_answered(&e),
        }
    }

    async fn send(
        &self,
        push_token: &str,
        topic: &str,
        token: Option<&ProviderToken>,
    ) -> PushOutcome {
        let auth = token.map(|t| &t.bearer);
        let inner = &self.inner;
        let request = match build_request(&inner.base_url, push_token, topic, auth, inner.timeout) {
            Ok(request) => request,
            Err(invalid) => return PushOutcome::NotSent(invalid),
        };
        let mut response = match inner.http.execute(request).await {
            Ok(response) => response,
            Err(e) => return not_answered(&e.without_url()),
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        match response.bytes().await {
            Ok(body) => classify(status, &headers, &body),
            Err(e) => not_answered(&e.without_url()),
        }
    }
}

impl PushGateway for ApnsClient {
    fn push(
        &self,
        push_token: &str,
        topic: &str,
    ) -> impl std::future::Future<Output = PushReport> + Send {
        ApnsClient::push(self, push_token, topic)
    }
}

fn is_expired_provider_token(outcome: &PushOutcome) -> bool {
    matches!(
        outcome,
        PushOutcome::Retry {
            status: Some(403),
            reason: Some(Reason::ExpiredProviderToken),
            ..
        }
    )
}

/// A push that got no APNs answer: retry later. The outcome carries only the kind of
/// failure, a bounded code for metrics and the outbox row; the error and its causes are
/// logged here (reqwest errors come without their URL, which holds the push token).
fn not_answered(error: &(dyn std::error::Error + 'static)) -> PushOutcome {
    let kind = failure_kind(error);
    let chain = crate::telemetry::error_chain(error);
    tracing::warn!(error.kind = kind, error.chain = %chain, "APNs gave no answer");
    PushOutcome::Retry {
        status: None,
        reason: None,
        retry_after: None,
        error: Some(kind),
    }
}

/// `connect`, `timeout`, `body` or `request` for a transport failure; `provider_token` when
/// our own token could not be made.
fn failure_kind(error: &(dyn std::error::Error + 'static)) -> &'static str {
    match error.downcast_ref::<reqwest::Error>() {
        Some(e) if e.is_timeout() => "timeout",
        Some(e) if e.is_connect() => "connect",
        Some(e) if e.is_body() || e.is_decode() => "body",
        Some(_) => "request",
        None => "provider_token",
    }
}

fn check_base_url(base: &str) -> Result<(), ApnsError> {
    match reqwest::Url::parse(base) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(()),
        _ => Err(ApnsError::Setting {
            setting: SETTING_URL,
            message: format!("`{base}` must be an https:// URL (APNs is HTTP/2 over TLS)"),
        }),
    }
}

fn missing(setting: &'static str) -> ApnsError {
    ApnsError::Setting {
        setting,
        message: "needed when WALLETCARDS_APPLE__APNS_AUTH=token".into(),
    }
}

fn read(path: &Path, setting: &'static str) -> Result<Vec<u8>, ApnsError> {
    std::fs::read(path).map_err(|source| ApnsError::Unreadable {
        path: path.display().to_string(),
        setting,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> ApnsConfig {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1);
        let key = openssl::ec::EcKey::generate(&group.unwrap()).unwrap();
        let pem = openssl::pkey::PKey::from_ec_key(key)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        ApnsConfig {
            base_url: base_url.into(),
            credential: ApnsCredential::Token {
                key_p8_pem: pem.into(),
                key_id: "KEY".into(),
                team_id: "TEAM".into(),
            },
            extra_root_pem: None,
            request_timeout: ApnsConfig::DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn base_url_must_be_https() {
        for bad in [
            "http://api.push.apple.com",
            "api.push.apple.com",
            "https://",
        ] {
            let err = ApnsClient::new(config(bad)).err().unwrap();
            assert!(err.to_string().contains(SETTING_URL), "{err}");
        }
        ApnsClient::new(config("https://api.push.apple.com")).unwrap();
    }

    #[tokio::test]
    async fn a_malformed_push_token_is_not_sent() {
        // Port 9 on loopback: nothing listens, so anything sent would come back as Retry.
        let client = ApnsClient::new(config("https://127.0.0.1:9")).unwrap();
        let report = client.push("not-hex", "pass.x").await;
        assert_eq!(
            report.outcome,
            PushOutcome::NotSent(InvalidPush::DeviceToken)
        );
    }
}
