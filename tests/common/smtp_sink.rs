//! A loopback SMTP server for the tests: speaks the protocol's server side (greeting, `EHLO`,
//! `STARTTLS`, `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA` with dot-unstuffing, `RSET`,
//! `NOOP`, `QUIT`), plain, with STARTTLS or TLS from the first byte (a certificate for
//! 127.0.0.1 from a CA of its own, [`SmtpSink::ca_pem`]), and keeps every message it accepts.
//! It can refuse the next recipients with a transient (4xx) or permanent (5xx) answer, as real
//! relays do, and require credentials.

use std::sync::{Arc, Mutex};

use openssl::ssl::{Ssl, SslAcceptor};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How the sink's connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain SMTP; `STARTTLS` is not offered.
    None,
    /// Plain, then `STARTTLS` (offered, and required before `MAIL FROM`).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Wrapper,
}

/// A message the sink accepted, parsed.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The MIME type of the message's top part.
    pub content_type: String,
}

impl Received {
    /// The one-time link in the mail's text (`…/access/<token>`).
    pub fn link(&self) -> String {
        self.link_to("/access/")
    }

    /// The absolute link in the mail's text whose path has `part` (`/staff/link/`, …).
    pub fn link_to(&self, part: &str) -> String {
        let text = &self.text;
        let at = text
            .find(part)
            .unwrap_or_else(|| panic!("no {part} link in {text}"));
        let start = text[..at].rfind("http").expect("an absolute link");
        let end = text[at..]
            .find(char::is_whitespace)
            .map_or(text.len(), |e| at + e);
        text[start..end].to_owned()
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Answers for the next `RCPT TO` commands, in order (e.g. "451 4.3.0 try later").
    refusals: Mutex<Vec<String>>,
    /// `AUTH PLAIN` credentials the sink requires, if any.
    credentials: Mutex<Option<(String, String)>>,
    arrived: Notify,
}

pub struct SmtpSink {
    pub port: u16,
    ca_pem: Vec<u8>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_with(SinkTls::None).await
    }

    pub async fn start_with(mode: SinkTls) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared::default());
        let (ca_pem, acceptor) = super::apns_fake::loopback_tls();
        let acceptor = Arc::new(acceptor);
        let for_task = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (shared, acceptor) = (Arc::clone(&for_task), Arc::clone(&acceptor));
                tokio::spawn(async move {
                    let _ = match mode {
                        SinkTls::Wrapper => match tls(socket, &acceptor).await {
                            Some(secured) => session(secured, shared, None).await,
                            None => Ok(()),
                        },
                        SinkTls::Starttls => session(socket, shared, Some(acceptor)).await,
                        SinkTls::None => session(socket, shared, None).await,
                    };
                });
            }
        });
        SmtpSink {
            port,
            ca_pem,
            shared,
            task,
        }
    }

    /// The CA that issued the sink's certificate, as PEM (for `WALLETCARDS_MAIL__CA`).
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// Requires `AUTH PLAIN` with these credentials before `MAIL FROM`.
    pub fn require_auth(&self, user: &str, password: &str) {
        *self.shared.credentials.lock().unwrap() = Some((user.to_owned(), password.to_owned()));
    }

    /// Answers the next `RCPT TO` commands with these lines, one each.
    pub fn refuse_next(&self, answers: &[&str]) {
        let mut refusals = self.shared.refusals.lock().unwrap();
        refusals.extend(answers.iter().map(|a| (*a).to_owned()));
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The messages to `address` so far.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits (up to 10 s) until `n` messages to `address` have arrived; returns them.
    pub async fn wait_for(&self, address: &str, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let arrived = self.shared.arrived.notified();
            let got = self.to(address);
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{} mail(s) to {address} expected, got {}", n, got.len());
            }
        }
    }
}

fn angle(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}

/// TLS on `socket` as the server, or `None` if the handshake fails.
async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
    socket: S,
    acceptor: &SslAcceptor,
) -> Option<tokio_openssl::SslStream<S>> {
    let ssl = Ssl::new(acceptor.context()).ok()?;
    let mut stream = tokio_openssl::SslStream::new(ssl, socket).ok()?;
    std::pin::Pin::new(&mut stream).accept().await.ok()?;
    Some(stream)
}

/// One connection; `starttls` offers the upgrade (and requires it before `MAIL FROM`).
async fn session<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    shared: Arc<Shared>,
    starttls: Option<Arc<SslAcceptor>>,
) -> std::io::Result<()> {
    let mut lines = BufReader::new(stream);
    lines
        .get_mut()
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await?;
    match commands(&mut lines, &shared, starttls.is_some()).await? {
        Ended::Quit => Ok(()),
        Ended::StartTls => {
            let acceptor = starttls.expect("offered");
            let Some(secured) = tls(lines.into_inner(), &acceptor).await else {
                return Ok(());
            };
            // After the upgrade the client greets again; no further upgrade is offered.
            let mut lines = BufReader::new(secured);
            match commands(&mut lines, &shared, false).await? {
                Ended::Quit | Ended::StartTls => Ok(()),
            }
        }
    }
}

enum Ended {
    Quit,
    StartTls,
}

/// The command loop until `QUIT`, the end of the connection, or an accepted `STARTTLS`.
async fn commands<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut BufReader<S>,
    shared: &Shared,
    offer_starttls: bool,
) -> std::io::Result<Ended> {
    let mut from = String::new();
    let mut to = Vec::new();
    let mut authed = false;
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(Ended::Quit);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let upper = line.to_ascii_uppercase();
        let required = shared.credentials.lock().unwrap().clone();
        let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let tls = if offer_starttls {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            format!("250-sink.test\r\n250-8BITMIME\r\n{tls}250-SMTPUTF8\r\n250 AUTH PLAIN")
        } else if upper == "STARTTLS" && offer_starttls {
            lines
                .get_mut()
                .write_all(b"220 2.0.0 ready to start TLS\r\n")
                .await?;
            return Ok(Ended::StartTls);
        } else if let Some(arg) = line.get(11..).filter(|_| upper.starts_with("AUTH PLAIN ")) {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(arg.trim())
                .unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let ok = required.as_ref().is_some_and(|(u, p)| {
                parts.len() == 3 && parts[1] == u.as_bytes() && parts[2] == p.as_bytes()
            });
            authed = ok;
            match ok {
                true => "235 2.7.0 accepted".to_owned(),
                false => "535 5.7.8 bad credentials".to_owned(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if offer_starttls {
                "530 5.7.0 must issue a STARTTLS command first".to_owned()
            } else if required.is_some() && !authed {
                "530 5.7.0 authentication required".to_owned()
            } else {
                from = angle(&line[10..]);
                to.clear();
                "250 2.1.0 ok".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            let refusal = {
                let mut refusals = shared.refusals.lock().unwrap();
                (!refusals.is_empty()).then(|| refusals.remove(0))
            };
            match refusal {
                Some(answer) => answer,
                None => {
                    to.push(angle(&line[8..]));
                    "250 2.1.5 ok".to_owned()
                }
            }
        } else if upper == "DATA" {
            lines
                .get_mut()
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await?;
            let mut raw = String::new();
            loop {
                let mut data = String::new();
                if lines.read_line(&mut data).await? == 0 {
                    return Ok(Ended::Quit);
                }
                if data == ".\r\n" || data == ".\n" {
                    break;
                }
                raw.push_str(data.strip_prefix('.').unwrap_or(&data));
            }
            let message = parse(&from, &to, raw);
            shared.received.lock().unwrap().push(message);
            shared.arrived.notify_waiters();
            "250 2.0.0 queued".to_owned()
        } else if upper == "RSET" {
            to.clear();
            "250 2.0.0 ok".to_owned()
        } else if upper == "NOOP" {
            "250 2.0.0 ok".to_owned()
        } else if upper == "QUIT" {
            lines.get_mut().write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(Ended::Quit);
        } else {
            "502 5.5.2 command not recognized".to_owned()
        };
        let writer = lines.get_mut();
        writer.write_all(answer.as_bytes()).await?;
        writer.write_all(b"\r\n").await?;
        writer.flush().await?;
    }
}

fn parse(from: &str, to: &[String], raw: String) -> Received {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message");
    use mail_parser::MimeHeaders;
    let content_type = message
        .root_part()
        .content_type()
        .map(|c| match c.subtype() {
            Some(sub) => format!("{}/{sub}", c.ctype()),
            None => c.ctype().to_owned(),
        })
        .unwrap_or_default();
    Received {
        mail_from: from.to_owned(),
        rcpt_to: to.to_vec(),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        content_type,
    }
}
