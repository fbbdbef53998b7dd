//! A loopback APNs: HTTP/2 over TLS (ALPN `h2` only) with a test CA and a server certificate
//! for 127.0.0.1 made at start.
//!
//! It checks what APNs checks — method, path `/3/device/<hex>`, `apns-topic`, the `{}`
//! payload, and auth: an ES256 provider token (kid, iss, fresh iat, signature) or a TLS
//! client certificate chaining to the given CA whose subject UID is the topic — and answers
//! like APNs (`apns-id` on 200, `{"reason", "timestamp"}` on errors). Valid requests get the
//! scripted answer: per token, then the queue for the next requests, else 200. It can send
//! GOAWAY or drop connections, and counts connections, requests and deliveries.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::ssl::{AlpnError, Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// How clients must authenticate.
pub enum FakeAuth {
    /// Provider tokens signed by the key whose public half (PEM) is given.
    Token {
        public_key_pem: Vec<u8>,
        key_id: String,
        team_id: String,
    },
    /// A TLS client certificate issued by this CA (PEM), subject UID = topic.
    Certificate { ca_pem: Vec<u8> },
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub reason: Option<String>,
    pub retry_after: Option<String>,
    /// How long the fake takes to answer.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn ok() -> Self {
        Self {
            status: 200,
            reason: None,
            retry_after: None,
            delay: None,
        }
    }

    pub fn error(status: u16, reason: &str) -> Self {
        Self {
            status,
            reason: Some(reason.to_owned()),
            retry_after: None,
            delay: None,
        }
    }

    pub fn with_retry_after(mut self, value: &str) -> Self {
        self.retry_after = Some(value.to_owned());
        self
    }

    /// The same answer, `delay` late.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Who a request said it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSeen {
    Token { jwt: String, iat: u64 },
    Certificate { uid: String },
}

/// A push the fake answered with 200.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub token: String,
    pub topic: String,
    pub auth: AuthSeen,
    #[allow(
        dead_code,
        reason = "read by benches/push_latency.rs, which includes this file"
    )]
    pub at: Instant,
}

/// Every request, whatever the answer.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub auth: Option<AuthSeen>,
    pub reason: Option<String>,
}

#[derive(Default)]
struct Script {
    per_token_queue: HashMap<String, VecDeque<Reply>>,
    per_token: HashMap<String, Reply>,
    next: VecDeque<Reply>,
}

struct Shared {
    auth: Verifier,
    script: Mutex<Script>,
    deliveries: Mutex<Vec<Delivery>>,
    seen: Mutex<Vec<Seen>>,
    connections: AtomicUsize,
    requests: AtomicUsize,
    /// 0 = never; else every connection sends GOAWAY after this many requests.
    goaway_after: AtomicUsize,
    /// Cancelled (and replaced) to drop or GOAWAY every open connection.
    drop_all: Mutex<CancellationToken>,
    goaway_all: Mutex<CancellationToken>,
    open: watch::Sender<usize>,
}

enum Verifier {
    Token {
        public: PKey<Public>,
        key_id: String,
        team_id: String,
        /// Verified tokens and their iat, so a signature is checked once (APNs caches too).
        verified: Mutex<HashMap<String, u64>>,
    },
    Certificate,
}

pub struct ApnsFake {
    /// `https://127.0.0.1:<port>`
    pub base_url: String,
    ca_pem: Vec<u8>,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for ApnsFake {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ApnsFake {
    /// Binds 127.0.0.1:0 and serves on the current tokio runtime until dropped.
    pub async fn start(auth: FakeAuth) -> ApnsFake {
        let (ca_pem, acceptor) = tls_acceptor(&auth);
        let verifier = match auth {
            FakeAuth::Token {
                public_key_pem,
                key_id,
                team_id,
            } => Verifier::Token {
                public: PKey::public_key_from_pem(&public_key_pem).expect("public key PEM"),
                key_id,
                team_id,
                verified: Mutex::default(),
            },
            FakeAuth::Certificate { .. } => Verifier::Certificate,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            auth: verifier,
            script: Mutex::default(),
            deliveries: Mutex::default(),
            seen: Mutex::default(),
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            goaway_after: AtomicUsize::new(0),
            drop_all: Mutex::default(),
            goaway_all: Mutex::default(),
            open: watch::channel(0).0,
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            Arc::new(acceptor),
            shared.clone(),
            stop.clone(),
        ));
        ApnsFake {
            base_url: format!("https://{addr}"),
            ca_pem,
            shared,
            stop,
        }
    }

    /// The CA that issued the server certificate, for the client to trust.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// Answers for the next valid requests, in order, before falling back to 200.
    pub fn queue(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script().next.extend(replies);
    }

    /// Answers for the next valid requests to `token`, before its standing answer.
    pub fn queue_for_token(&self, token: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut script = self.script();
        script
            .per_token_queue
            .entry(token.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every valid request to `token` gets `reply` from now on.
    pub fn answer_token(&self, token: &str, reply: Reply) {
        self.script().per_token.insert(token.to_owned(), reply);
    }

    /// Each connection sends GOAWAY after serving `n` requests (0 = never).
    pub fn goaway_after(&self, n: usize) {
        self.shared.goaway_after.store(n, Ordering::SeqCst);
    }

    /// Sends GOAWAY on every open connection (in-flight requests still get their answer).
    #[expect(
        dead_code,
        reason = "no test sends GOAWAY to every connection at once yet"
    )]
    pub fn goaway_now(&self) {
        let mut token = self.shared.goaway_all.lock().expect("lock");
        std::mem::take(&mut *token).cancel();
    }

    /// Closes every open connection abruptly and waits until they are gone.
    pub async fn drop_connections(&self) {
        {
            let mut token = self.shared.drop_all.lock().expect("lock");
            std::mem::take(&mut *token).cancel();
        }
        let mut open = self.shared.open.subscribe();
        open.wait_for(|n| *n == 0).await.expect("fake alive");
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().expect("lock").clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// TLS connections accepted (handshake done).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.shared.script.lock().expect("lock")
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Arc<SslAcceptor>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
            () = stop.cancelled() => return,
        };
        let (acceptor, shared, stop) = (acceptor.clone(), shared.clone(), stop.clone());
        tokio::spawn(async move {
            let drop_conn = shared.drop_all.lock().expect("lock").clone();
            let goaway = shared.goaway_all.lock().expect("lock").clone();
            let ssl = Ssl::new(acceptor.context()).expect("ssl");
            let mut tls = tokio_openssl::SslStream::new(ssl, tcp).expect("ssl stream");
            if Pin::new(&mut tls).accept().await.is_err() {
                return;
            }
            let uid = tls
                .ssl()
                .peer_certificate()
                .and_then(|cert| subject_uid(&cert));
            shared.connections.fetch_add(1, Ordering::SeqCst);
            shared.open.send_modify(|n| *n += 1);
            serve(tls, uid, &shared, &drop_conn, &goaway, &stop).await;
            shared.open.send_modify(|n| *n -= 1);
        });
    }
}

async fn serve(
    tls: tokio_openssl::SslStream<tokio::net::TcpStream>,
    uid: Option<String>,
    shared: &Arc<Shared>,
    drop_conn: &CancellationToken,
    goaway_all: &CancellationToken,
    stop: &CancellationToken,
) {
    let served = Arc::new(AtomicUsize::new(0));
    let goaway = Arc::new(Notify::new());
    let service = {
        let (shared, served, goaway) = (shared.clone(), served.clone(), goaway.clone());
        hyper::service::service_fn(move |request| {
            let (shared, uid) = (shared.clone(), uid.clone());
            let (served, goaway) = (served.clone(), goaway.clone());
            async move {
                let response = handle(&shared, uid.as_deref(), request).await;
                let limit = shared.goaway_after.load(Ordering::SeqCst);
                if limit > 0 && served.fetch_add(1, Ordering::SeqCst) + 1 == limit {
                    goaway.notify_one();
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder.max_concurrent_streams(1000);
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = goaway.notified(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = goaway_all.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = drop_conn.cancelled() => return,
            () = stop.cancelled() => return,
        }
    }
}

type Answer = Response<Full<Bytes>>;

async fn handle(shared: &Shared, uid: Option<&str>, request: Request<Incoming>) -> Answer {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (auth, checked) = check(shared, uid, &parts, &path, &body);
    let reply = match checked {
        Err(reply) => reply,
        Ok((token, topic)) => {
            let reply = scripted(shared, &token);
            if let Some(delay) = reply.delay {
                tokio::time::sleep(delay).await;
            }
            if reply.status == 200 {
                let delivery = Delivery {
                    token,
                    topic,
                    auth: auth.clone().expect("checked"),
                    at: Instant::now(),
                };
                shared.deliveries.lock().expect("lock").push(delivery);
            }
            reply
        }
    };
    shared.seen.lock().expect("lock").push(Seen {
        path,
        auth,
        reason: reply.reason.clone(),
    });
    answer(&reply)
}

fn scripted(shared: &Shared, token: &str) -> Reply {
    let mut script = shared.script.lock().expect("lock");
    if let Some(reply) = (script.per_token_queue.get_mut(token)).and_then(VecDeque::pop_front) {
        return reply;
    }
    if let Some(reply) = script.per_token.get(token) {
        return reply.clone();
    }
    script.next.pop_front().unwrap_or_else(Reply::ok)
}

type Checked = (Option<AuthSeen>, Result<(String, String), Reply>);

/// The checks APNs makes, in its order: method, path, topic, auth, payload.
fn check(
    shared: &Shared,
    uid: Option<&str>,
    parts: &hyper::http::request::Parts,
    path: &str,
    body: &[u8],
) -> Checked {
    let fail = |status, reason| Err(Reply::error(status, reason));
    if parts.method != hyper::Method::POST {
        return (None, fail(405, "MethodNotAllowed"));
    }
    let Some(token) = path.strip_prefix("/3/device/") else {
        return (None, fail(404, "BadPath"));
    };
    if token.is_empty() || token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (None, fail(400, "BadDeviceToken"));
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(topic) = header("apns-topic") else {
        return (None, fail(400, "MissingTopic"));
    };
    let auth = match authenticate(shared, uid, topic, header("authorization")) {
        Ok(auth) => auth,
        Err(reply) => return (None, Err(reply)),
    };
    let payload: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let result = match payload {
        _ if body.is_empty() => fail(400, "PayloadEmpty"),
        // Not an APNs reason: the fake insists on exactly the empty dictionary.
        Some(serde_json::Value::Object(map)) if map.is_empty() => {
            Ok((token.to_owned(), topic.to_owned()))
        }
        _ => fail(400, "PayloadNotEmptyDictionary"),
    };
    (Some(auth), result)
}

fn authenticate(
    shared: &Shared,
    uid: Option<&str>,
    topic: &str,
    authorization: Option<&str>,
) -> Result<AuthSeen, Reply> {
    match &shared.auth {
        Verifier::Certificate => match uid {
            Some(uid) if uid == topic => Ok(AuthSeen::Certificate {
                uid: uid.to_owned(),
            }),
            Some(_) => Err(Reply::error(400, "TopicDisallowed")),
            None => Err(Reply::error(403, "MissingProviderToken")),
        },
        Verifier::Token {
            public,
            key_id,
            team_id,
            verified,
        } => {
            let jwt = authorization
                .and_then(|v| v.strip_prefix("bearer "))
                .ok_or_else(|| Reply::error(403, "MissingProviderToken"))?;
            let known = verified.lock().expect("lock").get(jwt).copied();
            let iat = match known {
                Some(iat) => iat,
                None => {
                    let iat = verify_jwt(jwt, public, key_id, team_id)
                        .ok_or_else(|| Reply::error(403, "InvalidProviderToken"))?;
                    verified.lock().expect("lock").insert(jwt.to_owned(), iat);
                    iat
                }
            };
            let now = unix_now();
            if iat + 3600 < now {
                return Err(Reply::error(403, "ExpiredProviderToken"));
            }
            if iat > now + 60 {
                return Err(Reply::error(403, "InvalidProviderToken"));
            }
            Ok(AuthSeen::Token {
                jwt: jwt.to_owned(),
                iat,
            })
        }
    }
}

/// The iat of a JWT whose header, issuer and ES256 signature (raw r || s) are right.
fn verify_jwt(jwt: &str, public: &PKey<Public>, key_id: &str, team_id: &str) -> Option<u64> {
    let mut parts = jwt.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let json = |part: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (head, body) = (json(header)?, json(claims)?);
    let header_ok = head["alg"] == "ES256" && head["kid"] == key_id;
    if !header_ok || body["iss"] != team_id || parts.next().is_some() {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if raw.len() != 64 {
        return None;
    }
    let r = BigNum::from_slice(&raw[..32]).ok()?;
    let s = BigNum::from_slice(&raw[32..]).ok()?;
    let sig = EcdsaSig::from_private_components(r, s).ok()?;
    let digest = openssl::sha::sha256(format!("{header}.{claims}").as_bytes());
    let ok = sig.verify(&digest, &*public.ec_key().ok()?).ok()?;
    ok.then(|| body["iat"].as_u64()).flatten()
}

fn answer(reply: &Reply) -> Answer {
    let status = StatusCode::from_u16(reply.status).expect("status");
    let mut response = Response::builder()
        .status(status)
        .header("apns-id", uuid::Uuid::now_v7().to_string());
    if let Some(value) = &reply.retry_after {
        response = response.header("retry-after", value);
    }
    let body = match &reply.reason {
        Some(reason) => {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock after 1970")
                .as_millis();
            serde_json::json!({"reason": reason, "timestamp": millis}).to_string()
        }
        None => String::new(),
    };
    response
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

fn unix_now() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.expect("clock after 1970").as_secs()
}

fn subject_uid(cert: &X509) -> Option<String> {
    let entry = cert.subject_name().entries_by_nid(Nid::USERID).next()?;
    entry.data().to_string().ok()
}

/// A fresh CA and a server certificate for 127.0.0.1 and localhost (EC P-256, one day), and
/// an acceptor that speaks only `h2` and, for certificate auth, requires a client certificate
/// issued by the given CA.
fn tls_acceptor(auth: &FakeAuth) -> (Vec<u8>, SslAcceptor) {
    let (ca, mut builder) = loopback_acceptor();
    builder.set_alpn_select_callback(|_, offered| {
        openssl::ssl::select_next_proto(b"\x02h2", offered).ok_or(AlpnError::ALERT_FATAL)
    });
    if let FakeAuth::Certificate { ca_pem } = auth {
        for root in X509::stack_from_pem(ca_pem).expect("client CA PEM") {
            builder.cert_store_mut().add_cert(root).expect("client CA");
        }
        builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    (ca.to_pem().expect("CA PEM"), builder.build())
}

/// A server certificate for 127.0.0.1 issued by a fresh CA: the CA, and an acceptor builder
/// holding the certificate, its key and the chain.
fn loopback_acceptor() -> (X509, openssl::ssl::SslAcceptorBuilder) {
    let ca_key = p256();
    let ca = certificate("walletcards loopback fake CA", &ca_key, None, true);
    let server_key = p256();
    let server = certificate("127.0.0.1", &server_key, Some((&ca, &ca_key)), false);
    let mut builder =
        SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).expect("acceptor");
    builder.set_private_key(&server_key).expect("server key");
    builder.set_certificate(&server).expect("server cert");
    builder.add_extra_chain_cert(ca.clone()).expect("chain");
    (ca, builder)
}

/// A TLS acceptor for another loopback fake (the SMTP sink): a server certificate for
/// 127.0.0.1 issued by a fresh CA, and that CA as PEM for the client to trust.
pub fn loopback_tls() -> (Vec<u8>, SslAcceptor) {
    let (ca, builder) = loopback_acceptor();
    (ca.to_pem().expect("CA PEM"), builder.build())
}

fn p256() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("PKey")
}

fn certificate(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_nid(Nid::COMMONNAME, cn).expect("CN");
    let name = name.build();
    let mut builder = X509::builder().expect("builder");
    builder.set_version(2).expect("version");
    let mut serial = BigNum::new().expect("bn");
    serial.rand(64, MsbOption::ONE, false).expect("rand");
    let serial = serial.to_asn1_integer().expect("serial");
    builder.set_serial_number(&serial).expect("serial");
    builder.set_subject_name(&name).expect("subject");
    let issuer_name = issuer.map_or(&*name, |(cert, _)| cert.subject_name());
    builder.set_issuer_name(issuer_name).expect("issuer");
    builder.set_pubkey(key).expect("pubkey");
    let now = unix_now() as i64;
    let not_before = Asn1Time::from_unix(now - 3600).expect("time");
    let not_after = Asn1Time::from_unix(now + 86_400).expect("time");
    builder.set_not_before(&not_before).expect("nb");
    builder.set_not_after(&not_after).expect("na");
    if ca {
        let constraints = BasicConstraints::new().critical().ca().build().expect("bc");
        builder.append_extension(constraints).expect("bc");
    } else {
        let context = builder.x509v3_context(issuer.map(|(cert, _)| &**cert), None);
        let san = SubjectAlternativeName::new()
            .ip("127.0.0.1")
            .dns("localhost")
            .build(&context)
            .expect("SAN");
        builder.append_extension(san).expect("SAN");
    }
    let signing_key = issuer.map_or(key, |(_, key)| key);
    builder
        .sign(signing_key, MessageDigest::sha256())
        .expect("sign");
    builder.build()
}
