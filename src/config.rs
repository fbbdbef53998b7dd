//! One typed configuration tree, read in layers: built-in defaults, an optional TOML file
//! (`--config`), then `WALLETCARDS_*` environment variables (`WALLETCARDS_<SECTION>__<KEY>`
//! for nested keys). Start-up fails with a message naming the setting to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The production APNs endpoint; Wallet passes always use production, even on test devices.
pub const APNS_PRODUCTION_URL: &str = "https://api.push.apple.com";

/// The Google Wallet REST API base (objects and classes live under it).
pub const GOOGLE_API_URL: &str = "https://walletobjects.googleapis.com/walletobjects/v1";

/// Google's OAuth2 token endpoint for service-account assertions.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApnsAuth {
    /// TLS client certificate: the Pass Type ID certificate and key.
    #[default]
    Certificate,
    /// ES256 JWT from a `.p8` key (only for pass type ids of the same team).
    Token,
}

/// Everything the service reads at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `WALLETCARDS_BIND`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `WALLETCARDS_PUBLIC_URL`: what passes and links point at. Default `http://<bind>`.
    pub public_url: Option<String>,
    /// `WALLETCARDS_DATABASE_URL`: `sqlite://…` or `postgres://…`.
    /// Default: a SQLite file in the data directory.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    pub data_dir: PathBuf,
    pub certs_dir: PathBuf,
    /// Folder holding the pass designs.
    pub templates_dir: PathBuf,
    /// `WALLETCARDS_ADMIN_KEY`: a bootstrap admin key; else one is generated once and printed.
    pub admin_key: Option<SecretString>,
    /// `WALLETCARDS_WEBHOOK_SECRET`: shared secret of the ERP webhook.
    pub webhook_secret: Option<SecretString>,
    /// `WALLETCARDS_WEBHOOK_PREVIOUS_SECRET`: while the ERP moves to a new secret, the old one,
    /// still accepted beside it; remove it once the ERP signs with the new one.
    pub webhook_previous_secret: Option<SecretString>,
    /// The supplier's name on passes unless a program's branding sets its own.
    pub organization_name: String,
    pub log_format: LogFormat,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Requests per minute (and burst) one address may make to the public pages.
    pub public_requests_per_minute: u32,
    /// `WALLETCARDS_TRUSTED_PROXIES`: addresses or networks (`10.0.0.0/8`) of the load
    /// balancers in front of the service, whose `X-Forwarded-For` names the client. Empty:
    /// the connection's peer is the client.
    #[serde(deserialize_with = "comma_separated")]
    pub trusted_proxies: Vec<String>,
    pub apple: AppleSettings,
    pub outbox: OutboxSettings,
    pub google: GoogleSettings,
    pub mail: MailSettings,
    pub http: HttpSettings,
}

/// How long connections may sit without a request (`WALLETCARDS_HTTP__*`), so clients that
/// stall cannot hold file descriptors for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Time for a client to send a request's complete head (HTTP/1), counted from when the
    /// server waits for it: on a kept-alive connection, from the end of the previous answer.
    pub header_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed (HTTP/1 and HTTP/2).
    pub idle_timeout_ms: u64,
}

/// How the SMTP connection is secured (`WALLETCARDS_MAIL__TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain connection upgraded with STARTTLS, refused if the server cannot (port 587).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl MailTls {
    /// The port each mode is usually served on.
    pub fn default_port(self) -> u16 {
        match self {
            MailTls::Starttls => 587,
            MailTls::Tls => 465,
            MailTls::None => 25,
        }
    }
}

/// Outgoing mail (`WALLETCARDS_MAIL__*`). Without a host, mails are written as `.eml` files
/// to `{data dir}/mail/` instead of being sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The SMTP server (submission relay).
    pub host: Option<String>,
    /// Default: 587 with `starttls`, 465 with `tls`, 25 with `none`.
    pub port: Option<u16>,
    pub tls: MailTls,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, `Name <address>` or an address; required with a host.
    pub from: Option<String>,
    /// An extra trusted root (PEM) for the SMTP server's certificate: a company relay with a
    /// private CA (and the tests' loopback sink).
    pub ca: Option<PathBuf>,
    /// One-time links mailed to one address within an hour, at most (beyond: none is sent).
    pub per_address_per_hour: u32,
    /// Enrollment links mailed through one invite within an hour, at most.
    pub per_invite_per_hour: u32,
}

/// The sender of mails written to files when no sender is configured.
pub const DEFAULT_MAIL_FROM: &str = "walletcards <noreply@localhost>";

/// Google Wallet (`WALLETCARDS_GOOGLE__*`). Without an issuer id and a service account the
/// Google side is off: [`GoogleSettings::credentials`] returns `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSettings {
    /// The issuer id from the Google Pay & Wallet Console (digits).
    #[serde(default, deserialize_with = "digits_or_text")]
    pub issuer_id: Option<String>,
    /// The service-account key file (JSON, as downloaded from the Cloud console).
    pub service_account: Option<PathBuf>,
    /// The Wallet REST API base, up to and including `/walletobjects/v1`.
    pub api_url: String,
    /// The OAuth2 token endpoint; overrides the key file's `token_uri`.
    pub token_url: String,
    /// Origins allowed to show the save button (`origins` claim of save links). From the
    /// environment as a comma-separated list.
    #[serde(deserialize_with = "comma_separated")]
    pub origins: Vec<String>,
    /// Where the root keys for save/delete callbacks are fetched from.
    pub callback_keys_url: Option<String>,
    /// A file holding the root keys for save/delete callbacks (instead of the URL).
    pub callback_keys_file: Option<PathBuf>,
    /// Where Google posts save and delete events; default `<public URL>/google/callback`
    /// when root keys are configured (without them no callback could be verified).
    pub callback_url: Option<String>,
    /// Wallet API requests per second this process may make (a token bucket). It is per
    /// process: with several dispatching instances, give each its share of the quota.
    pub requests_per_second: u32,
}

/// The two settings that switch the Google side on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoogleCredentials<'a> {
    pub issuer_id: &'a str,
    pub service_account: &'a Path,
}

impl GoogleSettings {
    /// The issuer id and service-account path, or `None` when Google Wallet is off.
    pub fn credentials(&self) -> Option<GoogleCredentials<'_>> {
        Some(GoogleCredentials {
            issuer_id: self.issuer_id.as_deref()?,
            service_account: self.service_account.as_deref()?,
        })
    }
}

/// An id that the environment layer may have read as a number (figment parses `123` as one).
fn digits_or_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Number(u64),
    }
    Ok(
        Option::<TextOrNumber>::deserialize(deserializer)?.map(|value| match value {
            TextOrNumber::Text(text) => text,
            TextOrNumber::Number(number) => number.to_string(),
        }),
    )
}

/// A list given either as a list (TOML) or as one comma-separated string (environment).
fn comma_separated<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

/// How the dispatchers deliver card changes (`WALLETCARDS_OUTBOX__*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Run the dispatchers in this process (an instance that only serves the API may not).
    pub dispatch: bool,
    /// Delay before the first retry; each further one doubles (with jitter).
    pub retry_base_ms: u64,
    /// Longest delay between retries.
    pub retry_cap_ms: u64,
    /// How long a claimed delivery is held before another dispatcher may take it.
    pub lease_ms: u64,
    /// Deliveries in flight at once per dispatcher.
    pub concurrency: usize,
    /// Deliveries claimed at once.
    pub batch: u32,
    /// Longest sleep without a wake-up (a fallback for missed signals).
    pub poll_ms: u64,
    /// Delivered rows older than this many days are deleted (the push figures of analytics
    /// reach back this far); 0 keeps them for ever. Dead letters stay until retried.
    pub keep_done_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppleSettings {
    /// Must match the signer certificate; taken from it when unset.
    pub pass_type_id: Option<String>,
    pub team_id: Option<String>,
    pub signer_cert: Option<PathBuf>,
    pub signer_key: Option<PathBuf>,
    pub signer_key_password: Option<SecretString>,
    pub signer_p12: Option<PathBuf>,
    pub signer_p12_password: Option<SecretString>,
    pub wwdr_cert: Option<PathBuf>,
    pub apns_url: String,
    pub apns_auth: ApnsAuth,
    pub apns_key_p8: Option<PathBuf>,
    pub apns_key_id: Option<String>,
    pub apns_ca: Option<PathBuf>,
}

/// Built-in defaults, as a serializable tree so figment can layer over it.
#[derive(Serialize)]
struct Defaults {
    bind: &'static str,
    database_max_connections: u32,
    data_dir: &'static str,
    certs_dir: &'static str,
    templates_dir: &'static str,
    organization_name: &'static str,
    log_format: LogFormat,
    max_body_bytes: usize,
    public_requests_per_minute: u32,
    trusted_proxies: [&'static str; 0],
    apple: AppleDefaults,
    outbox: OutboxSettings,
    google: GoogleDefaults,
    mail: MailDefaults,
    http: HttpSettings,
}

#[derive(Serialize)]
struct MailDefaults {
    tls: MailTls,
    per_address_per_hour: u32,
    per_invite_per_hour: u32,
}

#[derive(Serialize)]
struct GoogleDefaults {
    api_url: &'static str,
    token_url: &'static str,
    origins: [&'static str; 0],
    requests_per_second: u32,
}

#[derive(Serialize)]
struct AppleDefaults {
    apns_url: &'static str,
    apns_auth: ApnsAuth,
}

const DEFAULTS: Defaults = Defaults {
    bind: "127.0.0.1:8080",
    database_max_connections: 10,
    data_dir: "data",
    certs_dir: "certs",
    templates_dir: "pass_templates",
    organization_name: "walletcards",
    log_format: LogFormat::Text,
    max_body_bytes: 256 * 1024,
    public_requests_per_minute: 120,
    trusted_proxies: [],
    apple: AppleDefaults {
        apns_url: APNS_PRODUCTION_URL,
        apns_auth: ApnsAuth::Certificate,
    },
    outbox: OutboxSettings {
        dispatch: true,
        retry_base_ms: 2_000,
        retry_cap_ms: 600_000,
        lease_ms: 60_000,
        concurrency: 256,
        batch: 500,
        poll_ms: 10_000,
        keep_done_days: 400,
    },
    google: GoogleDefaults {
        api_url: GOOGLE_API_URL,
        token_url: GOOGLE_TOKEN_URL,
        origins: [],
        requests_per_second: crate::google::pace::REQUESTS_PER_SECOND,
    },
    mail: MailDefaults {
        tls: MailTls::Starttls,
        per_address_per_hour: 5,
        per_invite_per_hour: 50,
    },
    http: HttpSettings {
        header_read_timeout_ms: 10_000,
        idle_timeout_ms: 60_000,
    },
};

/// A configuration that cannot be used, with what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("setting {setting}: {message}")]
    Invalid { setting: String, message: String },
}

impl Settings {
    /// The built-in defaults alone, for callers (tests, embedders) that layer their own values.
    pub fn defaults() -> Figment {
        Figment::from(Serialized::defaults(DEFAULTS))
    }

    /// Extracts and validates settings from any layering of providers.
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment.extract().map_err(describe_figment_error)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Reads defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Self::defaults();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::File {
                    path: path.to_owned(),
                    message: "not found or not a file".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(figment.merge(Env::prefixed("WALLETCARDS_").split("__")))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url {
            check_http_url("WALLETCARDS_PUBLIC_URL", url)?;
        }
        check_http_url("WALLETCARDS_APPLE__APNS_URL", &self.apple.apns_url)?;
        if let Some(db) = &self.database_url {
            if !(db.starts_with("sqlite:")
                || db.starts_with("postgres://")
                || db.starts_with("postgresql://"))
            {
                return Err(invalid(
                    "WALLETCARDS_DATABASE_URL",
                    "must start with sqlite:// or postgres://",
                ));
            }
        }
        if self.database_max_connections == 0 {
            return Err(invalid(
                "WALLETCARDS_DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        if let Some(key) = &self.admin_key {
            use secrecy::ExposeSecret;
            if key.expose_secret().len() < 24 {
                return Err(invalid(
                    "WALLETCARDS_ADMIN_KEY",
                    "must be at least 24 characters; generate one with `openssl rand -hex 24`",
                ));
            }
        }
        let o = &self.outbox;
        if o.concurrency == 0 {
            return Err(invalid(
                "WALLETCARDS_OUTBOX__CONCURRENCY",
                "must be at least 1",
            ));
        }
        if o.batch == 0 {
            return Err(invalid("WALLETCARDS_OUTBOX__BATCH", "must be at least 1"));
        }
        if o.lease_ms < 1_000 {
            return Err(invalid(
                "WALLETCARDS_OUTBOX__LEASE_MS",
                "must be at least 1000: a lease shorter than a push lets two dispatchers send it",
            ));
        }
        if self.http.header_read_timeout_ms == 0 || self.http.idle_timeout_ms == 0 {
            return Err(invalid(
                "WALLETCARDS_HTTP__HEADER_READ_TIMEOUT_MS",
                "HEADER_READ_TIMEOUT_MS and IDLE_TIMEOUT_MS must be at least 1",
            ));
        }
        self.validate_apple()?;
        self.trusted_proxy_networks()?;
        self.validate_mail()?;
        self.validate_google()
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let m = &self.mail;
        if m.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err(invalid("WALLETCARDS_MAIL__HOST", "must not be empty"));
        }
        if m.port == Some(0) {
            return Err(invalid("WALLETCARDS_MAIL__PORT", "must be a port number"));
        }
        if m.host.is_some() && m.from.is_none() {
            return Err(invalid(
                "WALLETCARDS_MAIL__FROM",
                "HOST is set, so the sender is needed too (e.g. \"Loyalty <loyalty@example.com>\")",
            ));
        }
        if m.user.is_some() != m.password.is_some() {
            return Err(invalid(
                "WALLETCARDS_MAIL__PASSWORD",
                "USER and PASSWORD go together",
            ));
        }
        let from = m.from.as_deref().unwrap_or(DEFAULT_MAIL_FROM);
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "WALLETCARDS_MAIL__FROM",
                "must be an address or `Name <address>`",
            ));
        }
        if m.per_address_per_hour == 0 || m.per_invite_per_hour == 0 {
            return Err(invalid(
                "WALLETCARDS_MAIL__PER_ADDRESS_PER_HOUR",
                "the mail limits must be at least 1",
            ));
        }
        Ok(())
    }

    /// [`Settings::trusted_proxies`] parsed; a bare address is a network of one.
    pub fn trusted_proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "WALLETCARDS_TRUSTED_PROXIES",
                            "must list IP addresses or networks such as 10.0.0.0/8, comma-separated",
                        )
                    })
            })
            .collect()
    }

    fn validate_google(&self) -> Result<(), ConfigError> {
        let g = &self.google;
        if g.requests_per_second == 0 {
            return Err(invalid(
                "WALLETCARDS_GOOGLE__REQUESTS_PER_SECOND",
                "must be at least 1",
            ));
        }
        check_http_url("WALLETCARDS_GOOGLE__API_URL", &g.api_url)?;
        check_http_url("WALLETCARDS_GOOGLE__TOKEN_URL", &g.token_url)?;
        if let Some(url) = &g.callback_keys_url {
            check_http_url("WALLETCARDS_GOOGLE__CALLBACK_KEYS_URL", url)?;
        }
        if let Some(url) = &g.callback_url {
            check_http_url("WALLETCARDS_GOOGLE__CALLBACK_URL", url)?;
        }
        if g.callback_keys_url.is_some() && g.callback_keys_file.is_some() {
            return Err(invalid(
                "WALLETCARDS_GOOGLE__CALLBACK_KEYS_FILE",
                "set either CALLBACK_KEYS_URL or CALLBACK_KEYS_FILE, not both",
            ));
        }
        if let Some(id) = &g.issuer_id {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "WALLETCARDS_GOOGLE__ISSUER_ID",
                    "must be the issuer id from the Google Pay & Wallet Console (digits only)",
                ));
            }
        }
        match (&g.issuer_id, &g.service_account) {
            (Some(_), None) => Err(invalid(
                "WALLETCARDS_GOOGLE__SERVICE_ACCOUNT",
                "ISSUER_ID is set, so the service-account key file is needed too",
            )),
            (None, Some(_)) => Err(invalid(
                "WALLETCARDS_GOOGLE__ISSUER_ID",
                "SERVICE_ACCOUNT is set, so the issuer id is needed too",
            )),
            _ => Ok(()),
        }
    }

    fn validate_apple(&self) -> Result<(), ConfigError> {
        let a = &self.apple;
        if a.signer_p12.is_some() && (a.signer_cert.is_some() || a.signer_key.is_some()) {
            return Err(invalid(
                "WALLETCARDS_APPLE__SIGNER_P12",
                "set either SIGNER_P12 or SIGNER_CERT + SIGNER_KEY, not both",
            ));
        }
        match (&a.signer_cert, &a.signer_key) {
            (Some(_), None) => Err(invalid(
                "WALLETCARDS_APPLE__SIGNER_KEY",
                "SIGNER_CERT is set, so the private key file is needed too",
            )),
            (None, Some(_)) => Err(invalid(
                "WALLETCARDS_APPLE__SIGNER_CERT",
                "SIGNER_KEY is set, so the certificate file is needed too",
            )),
            _ => Ok(()),
        }?;
        if a.apns_auth == ApnsAuth::Token && (a.apns_key_p8.is_none() || a.apns_key_id.is_none()) {
            return Err(invalid(
                "WALLETCARDS_APPLE__APNS_KEY_P8",
                "APNS_AUTH=token needs APNS_KEY_P8 and APNS_KEY_ID",
            ));
        }
        Ok(())
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join("walletcards.db").display()
            ),
        }
    }
}

fn invalid(setting: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_owned(),
        message: message.to_owned(),
    }
}

fn check_http_url(setting: &str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(invalid(
            setting,
            "must be an http:// or https:// URL with a host",
        )),
        Err(e) => Err(invalid(setting, &format!("`{value}` is not a URL: {e}"))),
    }
}

/// Names the setting as the environment variable that sets it, whatever layer it came from.
fn describe_figment_error(e: figment::Error) -> ConfigError {
    let path: Vec<String> = e.path.iter().map(|p| p.to_uppercase()).collect();
    let mut setting = format!("WALLETCARDS_{}", path.join("__"));
    let message = match &e.kind {
        figment::error::Kind::UnknownField(field, _) => {
            setting = if path.is_empty() {
                format!("WALLETCARDS_{}", field.to_uppercase())
            } else {
                format!("{setting}__{}", field.to_uppercase())
            };
            "unknown setting (check the spelling; nested keys use a double underscore)".to_owned()
        }
        _ => e.kind.to_string(),
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_default();
    ConfigError::Invalid {
        setting,
        message: if source.is_empty() {
            message
        } else {
            format!("{message} (from {source})")
        },
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use super::*;

    #[test]
    fn defaults_alone_make_a_valid_configuration() {
        figment::Jail::expect_with(|_jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.bind.port(), 8080);
            assert_eq!(s.apple.apns_url, APNS_PRODUCTION_URL);
            assert!(s.database_url().starts_with("sqlite://data/"));
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_nested_keys_and_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "wc.toml",
                "bind = \"0.0.0.0:9000\"\n[apple]\npass_type_id = \"pass.file\"\n",
            )?;
            jail.set_env("WALLETCARDS_APPLE__PASS_TYPE_ID", "pass.env");
            let s = Settings::load(Some(Path::new("wc.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.bind.port(), 9000);
            assert_eq!(s.apple.pass_type_id.as_deref(), Some("pass.env"));
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_setting_is_named_in_the_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WALLETCARDS_APPLE__PASS_TYPEID", "x");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_APPLE__PASS_TYPEID"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn half_a_signer_pair_is_rejected_naming_the_other_half() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WALLETCARDS_APPLE__SIGNER_CERT", "pass.pem");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_APPLE__SIGNER_KEY"), "{e}");
            jail.set_env("WALLETCARDS_PUBLIC_URL", "ftp://x");
            Ok(())
        });
    }

    #[test]
    fn google_is_off_by_default_and_on_with_issuer_and_service_account() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.google.credentials(), None);
            assert_eq!(s.google.api_url, GOOGLE_API_URL);
            assert_eq!(s.google.token_url, GOOGLE_TOKEN_URL);
            assert!(s.google.origins.is_empty());
            jail.set_env("WALLETCARDS_GOOGLE__ISSUER_ID", "3388000000012345678");
            jail.set_env("WALLETCARDS_GOOGLE__SERVICE_ACCOUNT", "sa.json");
            jail.set_env(
                "WALLETCARDS_GOOGLE__ORIGINS",
                "https://a.example.com, https://b.example.com",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            let creds = s.google.credentials().expect("on");
            assert_eq!(creds.issuer_id, "3388000000012345678");
            assert_eq!(creds.service_account, Path::new("sa.json"));
            assert_eq!(
                s.google.origins,
                ["https://a.example.com", "https://b.example.com"]
            );
            Ok(())
        });
    }

    #[test]
    fn google_settings_name_their_variable_when_wrong() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WALLETCARDS_GOOGLE__ISSUER_ID", "3388000000012345678");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_GOOGLE__SERVICE_ACCOUNT"), "{e}");
            jail.set_env("WALLETCARDS_GOOGLE__SERVICE_ACCOUNT", "sa.json");
            jail.set_env("WALLETCARDS_GOOGLE__ISSUER_ID", "issuer-x");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_GOOGLE__ISSUER_ID"), "{e}");
            jail.set_env("WALLETCARDS_GOOGLE__ISSUER_ID", "1");
            jail.set_env("WALLETCARDS_GOOGLE__TOKEN_URL", "not a url");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_GOOGLE__TOKEN_URL"), "{e}");
            jail.set_env(
                "WALLETCARDS_GOOGLE__TOKEN_URL",
                "https://oauth2.example/token",
            );
            jail.set_env("WALLETCARDS_GOOGLE__REQUESTS_PER_SECOND", "0");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_GOOGLE__REQUESTS_PER_SECOND"), "{e}");
            jail.set_env("WALLETCARDS_GOOGLE__REQUESTS_PER_SECOND", "5");
            let settings = Settings::load(None).expect("a share of the quota");
            assert_eq!(settings.google.requests_per_second, 5);
            Ok(())
        });
    }

    #[test]
    fn google_origins_may_be_a_toml_list() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "wc.toml",
                "[google]\norigins = [\"https://a.example.com\"]\n",
            )?;
            let s = Settings::load(Some(Path::new("wc.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.google.origins, ["https://a.example.com"]);
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WALLETCARDS_BIND", "not-an-address");
            let e = Settings::load(None).expect_err("must fail").to_string();
            assert!(e.contains("WALLETCARDS_BIND"), "{e}");
            Ok(())
        });
    }
}
