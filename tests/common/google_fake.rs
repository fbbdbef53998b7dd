//! A loopback Google Wallet: the OAuth2 token endpoint and the loyalty subset of the REST
//! API, plain HTTP on 127.0.0.1, holding classes and objects in memory.
//!
//! The token endpoint checks the RS256 assertion against the service account's public key
//! (over the exact `header.payload` bytes received), its `iss`, `aud` (the token URL),
//! `scope` and `exp`. The API answers with the statuses and error JSON of the spec's table
//! (§4.1): 401 without a known bearer, 400 on a malformed id, 403 `permissionDenied` for
//! another issuer's ids, 409 on inserting an existing id, 404 on unknown ids (and on objects
//! of unknown classes), 400 on a class update without `reviewStatus` UNDER_REVIEW/DRAFT, 403
//! `quotaExceeded` on the 4th notifying call (PATCH with `notifyPreference:
//! NOTIFY_ON_UPDATE` or `addMessage` with `TEXT_AND_NOTIFY`) for one object in 24 h.
//! Failures (any status) and delays can be injected; token and API requests are counted.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SCOPE: &str = "https://www.googleapis.com/auth/wallet_object.issuer";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const API_PREFIX: &str = "/walletobjects/v1/";
const NOTIFICATIONS_PER_DAY: usize = 3;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A throw-away service account: its key file (as the Cloud console writes it) and the
/// public half the fake verifies with.
pub struct TestServiceAccount {
    pub email: String,
    pub key_file_json: Vec<u8>,
    pub public_key_pem: Vec<u8>,
}

impl TestServiceAccount {
    pub fn generate() -> Self {
        let rsa = Rsa::generate(2048).expect("RSA key");
        let key = PKey::from_rsa(rsa).expect("pkey");
        let email = "wallet-issuer@fake-project.iam.gserviceaccount.com".to_owned();
        let private_pem = key.private_key_to_pem_pkcs8().expect("pem");
        let key_file_json = serde_json::to_vec(&json!({
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": "0123456789abcdef",
            "private_key": String::from_utf8(private_pem).expect("utf-8"),
            "client_email": email,
            "token_uri": "https://oauth2.googleapis.com/token",
        }))
        .expect("json");
        Self {
            email,
            key_file_json,
            public_key_pem: key.public_key_to_pem().expect("public pem"),
        }
    }
}

#[derive(Default)]
struct Inner {
    tokens: HashSet<String>,
    issued: usize,
    expires_in: u64,
    token_requests: usize,
    requests: HashMap<String, usize>,
    classes: HashMap<String, Value>,
    objects: HashMap<String, Value>,
    notified: HashMap<String, Vec<Instant>>,
    failures: VecDeque<u16>,
    delay: Option<Duration>,
    refuse_bearers: bool,
}

struct Shared {
    public_key: PKey<Public>,
    email: String,
    issuer_id: String,
    token_url: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake; stops when dropped.
pub struct GoogleFake {
    /// The REST base, `http://127.0.0.1:<port>/walletobjects/v1`.
    pub api_url: String,
    /// `http://127.0.0.1:<port>/token`.
    pub token_url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for GoogleFake {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl GoogleFake {
    /// Starts a fake for which `account` is a user of `issuer_id`.
    pub async fn start(account: &TestServiceAccount, issuer_id: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let token_url = format!("http://{addr}/token");
        let shared = Arc::new(Shared {
            public_key: PKey::public_key_from_pem(&account.public_key_pem).expect("public key"),
            email: account.email.clone(),
            issuer_id: issuer_id.to_owned(),
            token_url: token_url.clone(),
            inner: Mutex::new(Inner {
                expires_in: 3599,
                ..Inner::default()
            }),
        });
        let app = Router::new()
            .route("/token", post(token))
            .fallback(wallet)
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Self {
            api_url: format!("http://{addr}/walletobjects/v1"),
            token_url,
            shared,
            stop,
        }
    }

    /// Tokens issued from now on say they expire after `secs` (0: at once).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.shared.lock().expires_in = secs;
    }

    /// Forgets every token issued so far, so the next API call gets a 401.
    pub fn revoke_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// While set, every bearer is refused (401), even a fresh one.
    pub fn refuse_bearers(&self, refuse: bool) {
        self.shared.lock().refuse_bearers = refuse;
    }

    /// The next `count` API calls (after the auth check) answer `status` with error JSON.
    pub fn fail_next(&self, status: u16, count: usize) {
        self.shared
            .lock()
            .failures
            .extend(std::iter::repeat_n(status, count));
    }

    /// Every API answer waits this long first.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.shared.lock().delay = delay;
    }

    /// Assertions accepted or refused so far.
    pub fn token_requests(&self) -> usize {
        self.shared.lock().token_requests
    }

    /// API requests seen with this method and path (e.g. `PATCH`,
    /// `/walletobjects/v1/loyaltyObject/1.x`).
    pub fn requests(&self, method: &str, path: &str) -> usize {
        let key = format!("{method} {path}");
        self.shared.lock().requests.get(&key).copied().unwrap_or(0)
    }

    pub fn class(&self, id: &str) -> Option<Value> {
        self.shared.lock().classes.get(id).cloned()
    }

    pub fn object(&self, id: &str) -> Option<Value> {
        self.shared.lock().objects.get(id).cloned()
    }

    /// Deletes an object, as if removed on Google's side (the next PATCH gets a 404).
    pub fn forget_object(&self, id: &str) {
        self.shared.lock().objects.remove(id);
    }

    /// Notifying calls counted for an object in the last 24 h.
    pub fn notifications(&self, id: &str) -> usize {
        let inner = self.shared.lock();
        inner.notified.get(id).map_or(0, |times| recent(times))
    }
}

fn recent(times: &[Instant]) -> usize {
    times.iter().filter(|t| t.elapsed() < DAY).count()
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": error, "error_description": description}),
    )
}

/// Google's v1 error JSON.
fn error(status: u16, message: &str, reason: &str) -> Response {
    let code = StatusCode::from_u16(status).expect("status");
    reply(
        code,
        json!({"error": {"code": status, "message": message,
            "errors": [{"message": message, "domain": "walletobjects", "reason": reason}]}}),
    )
}

async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.lock().token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(GRANT_TYPE) {
        return oauth_error("unsupported_grant_type", "grant_type");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "no assertion");
    };
    if let Err(why) = check_assertion(&shared, assertion) {
        return oauth_error("invalid_grant", &why);
    }
    let mut inner = shared.lock();
    inner.issued += 1;
    let access_token = format!("fake-token-{}", inner.issued);
    inner.tokens.insert(access_token.clone());
    let expires_in = inner.expires_in;
    reply(
        StatusCode::OK,
        json!({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"}),
    )
}

/// Padding-tolerant base64url (spec §4.2: some clients pad).
fn b64url(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("base64url: {e}"))
}

fn check_assertion(shared: &Shared, assertion: &str) -> Result<(), String> {
    let (signed, signature) = assertion.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = signed.split_once('.').ok_or("not a JWT")?;
    let header: Value = serde_json::from_slice(&b64url(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err("alg must be RS256".into());
    }
    let mut verifier =
        Verifier::new(MessageDigest::sha256(), &shared.public_key).map_err(|e| e.to_string())?;
    verifier
        .update(signed.as_bytes())
        .map_err(|e| e.to_string())?;
    if !verifier.verify(&b64url(signature)?).unwrap_or(false) {
        return Err("bad signature".into());
    }
    let claims: Value = serde_json::from_slice(&b64url(claims)?).map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if claims["iss"] != shared.email.as_str() {
        return Err("iss is not the service account".into());
    }
    if claims["aud"] != shared.token_url.as_str() {
        return Err("aud is not the token URL".into());
    }
    let scope = claims["scope"].as_str().unwrap_or_default();
    if !scope.split(' ').any(|s| s == SCOPE) {
        return Err("scope lacks wallet_object.issuer".into());
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let iat = claims["iat"].as_i64().unwrap_or(0);
    if exp <= now || exp - iat > 3600 || iat > now + 60 {
        return Err("iat/exp out of range".into());
    }
    Ok(())
}

fn valid_id(id: &str) -> bool {
    match id.split_once('.') {
        Some((issuer, suffix)) => {
            !issuer.is_empty()
                && issuer.bytes().all(|b| b.is_ascii_digit())
                && !suffix.is_empty()
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Class,
    Object,
}

async fn wallet(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let delay = {
        let mut inner = shared.lock();
        *inner
            .requests
            .entry(format!("{method} {path}"))
            .or_default() += 1;
        inner.delay
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return error(404, "Not Found", "notFound");
    };
    let mut parts = rest.split('/');
    let kind = match parts.next() {
        Some("loyaltyClass") => Kind::Class,
        Some("loyaltyObject") => Kind::Object,
        _ => return error(404, "Not Found", "notFound"),
    };
    let id = parts.next().map(str::to_owned);
    let add_message = match parts.next() {
        None => false,
        Some("addMessage") => true,
        Some(_) => return error(404, "Not Found", "notFound"),
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let mut inner = shared.lock();
    if inner.refuse_bearers || !bearer.is_some_and(|token| inner.tokens.contains(token)) {
        return error(
            401,
            "Request is missing required authentication credential.",
            "required",
        );
    }
    if let Some(status) = inner.failures.pop_front() {
        return error(status, "A server side error has occurred.", "backendError");
    }
    let data: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(_) => return error(400, "Invalid JSON payload received.", "parseError"),
        }
    };
    let request = Call {
        kind,
        id,
        add_message,
        method,
        data,
    };
    request.answer(&shared.issuer_id, &mut inner)
}

struct Call {
    kind: Kind,
    id: Option<String>,
    add_message: bool,
    method: Method,
    data: Value,
}

fn deep_merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(update)) => deep_merge(existing, update),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

impl Call {
    fn answer(self, issuer_id: &str, inner: &mut Inner) -> Response {
        let label = match self.kind {
            Kind::Class => "Wallet Object Class",
            Kind::Object => "Wallet Object",
        };
        let id = match &self.id {
            Some(id) => id.clone(),
            None if self.method == Method::POST => {
                self.data["id"].as_str().unwrap_or_default().to_owned()
            }
            None => return error(404, "Not Found", "notFound"),
        };
        if !valid_id(&id) {
            let message =
                format!("Request contains an invalid argument. Invalid resource ID: {id}");
            return error(400, &message, "invalidResource");
        }
        if id.split_once('.').map(|(issuer, _)| issuer) != Some(issuer_id) {
            return error(403, "Permission denied.", "permissionDenied");
        }
        if self.id.is_none() {
            return self.insert(&id, label, inner);
        }
        let Some(current) = collection(self.kind, inner).get(&id).cloned() else {
            return error(404, &format!("{label} {id} not found."), "resourceNotFound");
        };
        match (&self.method, self.add_message) {
            (&Method::GET, false) => reply(StatusCode::OK, current),
            (&Method::POST, true) => self.message(&id, current, inner),
            (&Method::PATCH | &Method::PUT, false) => self.update(&id, current, inner),
            _ => error(405, "Method not allowed.", "methodNotAllowed"),
        }
    }

    fn insert(self, id: &str, label: &str, inner: &mut Inner) -> Response {
        if collection(self.kind, inner).contains_key(id) {
            return error(409, &format!("{label} {id} already exists."), "duplicate");
        }
        let required: &[&str] = match self.kind {
            Kind::Class => &["issuerName", "programName", "programLogo", "reviewStatus"],
            Kind::Object => &["classId", "state"],
        };
        if let Some(missing) = required.iter().find(|f| self.data.get(**f).is_none()) {
            return error(400, &format!("Missing {missing}"), "invalid");
        }
        if self.kind == Kind::Object {
            let class_id = self.data["classId"].as_str().unwrap_or_default();
            if !inner.classes.contains_key(class_id) {
                let message = format!("Wallet Object Class {class_id} not found.");
                return error(404, &message, "classNotFound");
            }
        }
        let mut data = self.data;
        let kind = match self.kind {
            Kind::Class => "walletobjects#loyaltyClass",
            Kind::Object => "walletobjects#loyaltyObject",
        };
        data["kind"] = json!(kind);
        if self.kind == Kind::Object {
            data["hasUsers"] = json!(false);
            take_notify(&mut data);
        }
        collection(self.kind, inner).insert(id.to_owned(), data.clone());
        reply(StatusCode::OK, data)
    }

    fn update(self, id: &str, current: Value, inner: &mut Inner) -> Response {
        let mut data = self.data;
        if self.kind == Kind::Class
            && !matches!(
                data["reviewStatus"].as_str(),
                Some("UNDER_REVIEW" | "DRAFT")
            )
        {
            let message = "reviewStatus must be UNDER_REVIEW or DRAFT for updates";
            return error(400, message, "invalid");
        }
        if self.kind == Kind::Object && take_notify(&mut data) {
            if let Some(refused) = notify(id, inner) {
                return refused;
            }
        }
        let updated = if self.method == Method::PATCH {
            let mut merged = current;
            if let (Value::Object(target), Value::Object(patch)) = (&mut merged, &data) {
                deep_merge(target, patch);
            }
            merged
        } else {
            data["id"] = json!(id);
            data["kind"] = current["kind"].clone();
            data
        };
        collection(self.kind, inner).insert(id.to_owned(), updated.clone());
        reply(StatusCode::OK, updated)
    }

    fn message(self, id: &str, mut current: Value, inner: &mut Inner) -> Response {
        let message = self.data["message"].clone();
        if message["messageType"] == "TEXT_AND_NOTIFY" {
            if let Some(refused) = notify(id, inner) {
                return refused;
            }
        }
        match current["messages"].as_array_mut() {
            Some(messages) => messages.push(message),
            None => current["messages"] = json!([message]),
        }
        collection(self.kind, inner).insert(id.to_owned(), current.clone());
        reply(StatusCode::OK, json!({"resource": current}))
    }
}

fn collection(kind: Kind, inner: &mut Inner) -> &mut HashMap<String, Value> {
    match kind {
        Kind::Class => &mut inner.classes,
        Kind::Object => &mut inner.objects,
    }
}

/// Removes the ephemeral `notifyPreference`; true when it asked for a notification.
fn take_notify(data: &mut Value) -> bool {
    data.as_object_mut()
        .and_then(|map| map.remove("notifyPreference"))
        .is_some_and(|pref| pref == "NOTIFY_ON_UPDATE")
}

/// Counts a notification, or gives the 403 `quotaExceeded` answer past 3 in 24 h.
fn notify(id: &str, inner: &mut Inner) -> Option<Response> {
    let times = inner.notified.entry(id.to_owned()).or_default();
    times.retain(|t| t.elapsed() < DAY);
    if times.len() >= NOTIFICATIONS_PER_DAY {
        let issuer = id.split('.').next().unwrap_or_default();
        let message = format!(
            "Quota exceeded for issuer {issuer} when adding TEXT_AND_NOTIFY message to object {id}."
        );
        return Some(error(403, &message, "quotaExceeded"));
    }
    times.push(Instant::now());
    None
}

/// Verifies an RS256 JWT independently of the service's signing code (split, base64url-decode,
/// openssl verify); its header and claims when the signature holds.
pub fn verify_jwt(jwt: &str, public_key_pem: &[u8]) -> Option<(Value, Value)> {
    let mut parts = jwt.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let key = PKey::public_key_from_pem(public_key_pem).ok()?;
    let mut verifier = Verifier::new(MessageDigest::sha256(), &key).ok()?;
    verifier
        .update(format!("{header}.{claims}").as_bytes())
        .ok()?;
    if !verifier
        .verify(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?
    {
        return None;
    }
    let decode = |part| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok();
    Some((decode(header)?, decode(claims)?))
}
