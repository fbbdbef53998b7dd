//! Outgoing mail: what a mail is ([`MailMessage`], composed in [`compose`] and queued in the
//! outbox in the transaction that causes it) and how it leaves ([`Mailer`]): over SMTP with
//! lettre (STARTTLS, TLS or plain, with optional credentials), or, when no SMTP host is
//! configured, as an `.eml` file in `{data dir}/mail/`, so a fresh install works end to end.
//! The mail dispatcher (`jobs::mail`) drains the queue.

pub mod compose;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::{DEFAULT_MAIL_FROM, MailSettings, MailTls};

/// How long one SMTP exchange may take before it counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A composed mail: multipart, a text and an HTML version of the same words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// How one attempt to send a mail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// Worth trying again later: a connection failure or a transient (4xx) SMTP answer.
    Retry {
        reason: String,
    },
    /// Refused for good: a permanent (5xx) answer, or a mail that cannot be built.
    Rejected {
        reason: String,
    },
}

/// Where mails go.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// No SMTP host: each mail becomes a file in this folder.
    Files { dir: PathBuf, from: Mailbox },
}

/// Settings that cannot make a mailer.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct MailerError {
    pub setting: &'static str,
    pub message: String,
}

impl Mailer {
    /// The mailer the settings describe; `data_dir` holds the mail folder without a host.
    pub fn from_settings(
        settings: &MailSettings,
        data_dir: &std::path::Path,
    ) -> Result<Mailer, MailerError> {
        let from = settings
            .from
            .as_deref()
            .unwrap_or(DEFAULT_MAIL_FROM)
            .parse::<Mailbox>()
            .map_err(|e| MailerError {
                setting: "WALLETCARDS_MAIL__FROM",
                message: e.to_string(),
            })?;
        let Some(host) = settings.host.as_deref() else {
            return Ok(Mailer::Files {
                dir: data_dir.join("mail"),
                from,
            });
        };
        let tls = |wrap: fn(TlsParameters) -> Tls| -> Result<Tls, MailerError> {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(path) = &settings.ca {
                let pem = std::fs::read(path).map_err(|e| MailerError {
                    setting: "WALLETCARDS_MAIL__CA",
                    message: format!("{}: {e}", path.display()),
                })?;
                let root = Certificate::from_pem(&pem).map_err(|e| MailerError {
                    setting: "WALLETCARDS_MAIL__CA",
                    message: format!("{}: {e}", path.display()),
                })?;
                params = params.add_root_certificate(root);
            }
            let params = params.build().map_err(|e| MailerError {
                setting: "WALLETCARDS_MAIL__HOST",
                message: e.to_string(),
            })?;
            Ok(wrap(params))
        };
        // STARTTLS is required, never opportunistic: no credentials or mail go out in clear
        // because a man in the middle hid the server's offer.
        let tls = match settings.tls {
            MailTls::Tls => tls(Tls::Wrapper)?,
            MailTls::Starttls => tls(Tls::Required)?,
            MailTls::None => Tls::None,
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(tls);
        let mut builder = builder
            .port(settings.port.unwrap_or(settings.tls.default_port()))
            .timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
        })
    }

    /// Where mails are written instead of sent, if they are.
    pub fn folder(&self) -> Option<&std::path::Path> {
        match self {
            Mailer::Files { dir, .. } => Some(dir),
            Mailer::Smtp { .. } => None,
        }
    }

    fn sender(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from,
        }
    }

    /// Sends `mail` (delivery `id` names its file when mails are written to files).
    pub async fn send(&self, id: i64, mail: &MailMessage) -> Sent {
        let message = match self.build(mail) {
            Ok(message) => message,
            Err(reason) => return Sent::Rejected { reason },
        };
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Sent::Delivered,
                Err(e) => smtp_failure(&e),
            },
            Mailer::Files { dir, .. } => {
                let path = dir.join(format!(
                    "{}-{id}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ));
                match write_file(dir, &path, &message.formatted()).await {
                    Ok(()) => {
                        tracing::info!(mail.file = %path.display(), "no SMTP host configured: mail written to a file");
                        Sent::Delivered
                    }
                    Err(e) => Sent::Retry {
                        reason: format!("writing the mail file: {}", e.kind()),
                    },
                }
            }
        }
    }

    fn build(&self, mail: &MailMessage) -> Result<Message, String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| "the recipient is not a valid address".to_owned())?;
        Message::builder()
            .from(self.sender().clone())
            .to(to)
            .subject(mail.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("building the mail: {e}"))
    }
}

/// What an SMTP failure means for the mail: the reason is the SMTP code or the kind of
/// failure, never the server's text (which may quote the address).
fn smtp_failure(e: &lettre::transport::smtp::Error) -> Sent {
    let reason = match e.status() {
        Some(code) => format!("SMTP {code}"),
        None if e.is_timeout() => "SMTP timeout".to_owned(),
        None if e.is_tls() => "SMTP TLS failure".to_owned(),
        None => "SMTP connection failure".to_owned(),
    };
    if e.is_permanent() {
        Sent::Rejected { reason }
    } else {
        Sent::Retry { reason }
    }
}

/// Writes `bytes` to `path` in `dir` (made if missing), readable by the owner only (a mail may
/// hold a one-time link): first under a temporary name, then renamed, so whoever watches the
/// folder never reads half a mail.
async fn write_file(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    tokio::fs::create_dir_all(dir).await?;
    let partial = path.with_extension("eml.part");
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&partial).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&partial, path).await
}
