//! `spawn_app()`: the real application on an ephemeral port, with its own database (a SQLite
//! file, or a fresh PostgreSQL database dropped afterwards), its own development certificates
//! and a bootstrap admin key; plus a reqwest client and helpers that read as the API does.

pub mod apns_fake;
pub mod browser;
pub mod device;
pub mod google_fake;
pub mod pass;
pub mod smtp_sink;

use std::path::PathBuf;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio_util::sync::CancellationToken;
use walletcards::config::Settings;
use walletcards::startup::Application;

/// The PostgreSQL server tests create their databases on; override with `TEST_POSTGRES_URL`.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The ERP webhook secret every test app is configured with.
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per engine for each named `async fn(Engine)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::common::Engine::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::common::Engine::Postgres).await } )*
        }
    };
}

pub struct TestApp {
    pub base: String,
    /// The app's own database, for tests that drive the library beside the HTTP API.
    pub database_url: String,
    pub admin_key: String,
    pub client: reqwest::Client,
    pub certs_dir: PathBuf,
    pub engine: Engine,
    /// The running app's state: its store, signer and pass cache counters.
    pub state: walletcards::state::AppState,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A fresh database on the test PostgreSQL server; fails loudly when it is not running.
async fn create_postgres_database() -> (String, String) {
    let base = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {base}: {e}\n\
             Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
             or point TEST_POSTGRES_URL at a server where this user may CREATE DATABASE."
        )
    });
    let name = format!("wct_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("CREATE DATABASE");
    let mut url = url::Url::parse(&base).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    (url.to_string(), name)
}

/// Where a test app pushes to: a loopback APNs fake that trusts the app's development
/// certificates (written beforehand into `certs_dir`).
pub struct PushTarget {
    pub certs_dir: PathBuf,
    pub apns_url: String,
    /// The fake's CA, as a file for `WALLETCARDS_APPLE__APNS_CA`.
    pub apns_ca: PathBuf,
}

/// Development certificates in a fresh folder, and an APNs fake that accepts the Pass Type ID
/// certificate as its client certificate (certificate auth, as the app defaults to).
pub async fn apns_fake() -> (apns_fake::ApnsFake, PushTarget, tempfile::TempDir) {
    use walletcards::apple::devcerts::write_dev_certs;
    use walletcards::startup::{DEV_PASS_TYPE_ID, DEV_TEAM_ID};
    let dir = tempfile::tempdir().expect("temp dir");
    let certs_dir = dir.path().join("certs");
    let paths =
        write_dev_certs(&certs_dir, DEV_PASS_TYPE_ID, DEV_TEAM_ID, false).expect("dev certs");
    let fake = apns_fake::ApnsFake::start(apns_fake::FakeAuth::Certificate {
        ca_pem: std::fs::read(&paths.wwdr_cert).expect("wwdr"),
    })
    .await;
    let apns_ca = dir.path().join("apns-ca.pem");
    std::fs::write(&apns_ca, fake.ca_pem()).expect("write CA");
    let target = PushTarget {
        certs_dir,
        apns_url: fake.base_url.clone(),
        apns_ca,
    };
    (fake, target, dir)
}

/// The app without dispatchers: tests that look at the outbox see it as bookings left it.
pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, None).await
}

/// The app, dispatching to `push` when given.
pub async fn spawn_app_with(engine: Engine, push: Option<&PushTarget>) -> TestApp {
    build_app(engine, push, None, &[]).await
}

/// The app with extra settings (`"google.issuer_id"`, …) over the test defaults.
pub async fn spawn_app_with_settings(engine: Engine, settings: &[(&str, Value)]) -> TestApp {
    build_app(engine, None, None, settings).await
}

/// The app dispatching mail over SMTP (no TLS) to a loopback sink started here, with the
/// sender `Acme Loyalty <loyalty@acme.example>`; `extra` settings go over it.
pub async fn spawn_app_with_mail(
    engine: Engine,
    extra: &[(&str, Value)],
) -> (TestApp, smtp_sink::SmtpSink) {
    let sink = smtp_sink::SmtpSink::start().await;
    let mut settings = vec![
        ("outbox.dispatch", json!(true)),
        ("mail.host", json!("127.0.0.1")),
        ("mail.port", json!(sink.port)),
        ("mail.tls", json!("none")),
        ("mail.from", json!("Acme Loyalty <loyalty@acme.example>")),
    ];
    settings.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    (spawn_app_with_settings(engine, &settings).await, sink)
}

/// A second instance of `first`'s app on the same PostgreSQL database (as in a scaled
/// deployment), with its admin key; the first instance owns the database.
pub async fn spawn_second_instance(first: &TestApp, push: Option<&PushTarget>) -> TestApp {
    assert_eq!(
        first.engine,
        Engine::Postgres,
        "instances share PostgreSQL only"
    );
    build_app(first.engine, push, Some(first), &[]).await
}

/// Another instance on `first`'s database (SQLite file or PostgreSQL), with other settings:
/// a restart with a changed configuration. `first` owns the database.
pub async fn spawn_on_database_of(first: &TestApp, settings: &[(&str, Value)]) -> TestApp {
    build_app(first.engine, None, Some(first), settings).await
}

/// A fresh database on the test PostgreSQL server: its URL and name (for dropping it).
pub async fn postgres_database() -> (String, String) {
    create_postgres_database().await
}

/// Rows of a query straight on a database.
pub async fn fetch<T>(engine: Engine, database_url: &str, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    match engine {
        Engine::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::query_as(sql).fetch_all(&mut c).await.expect("query")
        }
        Engine::Postgres => {
            let mut c = sqlx::PgConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::query_as(sql).fetch_all(&mut c).await.expect("query")
        }
    }
}

/// Runs SQL (several statements) straight on a database.
pub async fn execute_sql(engine: Engine, database_url: &str, sql: &str) {
    match engine {
        Engine::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
        }
        Engine::Postgres => {
            let mut c = sqlx::PgConnection::connect(database_url)
                .await
                .expect("connect");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("sql runs");
        }
    }
}

/// Drops a database [`postgres_database`] created, closing its connections.
pub async fn drop_postgres_database(name: &str) {
    let mut admin = sqlx::PgConnection::connect(&postgres_url())
        .await
        .expect("PostgreSQL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("DROP DATABASE");
}

async fn build_app(
    engine: Engine,
    push: Option<&PushTarget>,
    first: Option<&TestApp>,
    extra: &[(&str, Value)],
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres) = match (engine, first) {
        (_, Some(first)) => (first.database_url.clone(), None),
        (Engine::Sqlite, None) => (
            format!("sqlite://{}", dir.path().join("wc.db").display()),
            None,
        ),
        (Engine::Postgres, None) => {
            let (url, name) = create_postgres_database().await;
            (url, Some((postgres_url(), name)))
        }
    };
    let certs_dir = push.map_or_else(|| dir.path().join("certs"), |p| p.certs_dir.clone());
    let mut figment = Settings::defaults()
        .merge(("bind", "127.0.0.1:0"))
        .merge(("database_url", database_url.clone()))
        .merge(("database_max_connections", 4))
        .merge(("data_dir", dir.path().join("data")))
        .merge(("certs_dir", certs_dir.clone()))
        .merge((
            "templates_dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates"),
        ))
        .merge(("max_body_bytes", 64 * 1024))
        .merge(("webhook_secret", WEBHOOK_SECRET))
        .merge(("outbox.dispatch", push.is_some()))
        .merge(("outbox.retry_base_ms", 50))
        .merge(("outbox.retry_cap_ms", 200));
    for (key, value) in extra {
        figment = figment.merge((*key, value));
    }
    if let Some(p) = push {
        figment = figment
            .merge(("apple.apns_url", p.apns_url.as_str()))
            .merge(("apple.apns_ca", p.apns_ca.clone()));
    }
    let settings = Settings::from_figment(figment).expect("test settings are valid");
    let app = Application::build(&settings).await.expect("app builds");
    let configured = settings.admin_key.as_ref();
    let admin_key = match (configured, first) {
        (Some(key), _) => secrecy::ExposeSecret::expose_secret(key).to_owned(),
        (None, Some(first)) => first.admin_key.clone(),
        (None, None) => app
            .created_admin_key
            .clone()
            .expect("first start creates an admin key"),
    };
    let base = format!("http://{}", app.local_addr().expect("bound"));
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        app.run_until(stop).await.expect("server runs");
    });
    TestApp {
        base,
        database_url,
        admin_key,
        client: reqwest::Client::new(),
        certs_dir,
        engine,
        state,
        shutdown,
        server: Some(server),
        postgres,
        _dir: dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the clean-up gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

impl TestApp {
    /// The one-time link token of the newest mail queued to `email` (the outbox holds it
    /// until a dispatcher sends it).
    pub async fn queued_link(&self, email: &str) -> String {
        let mails: Vec<(Option<String>,)> = self
            .fetch(&format!(
                "SELECT payload FROM outbox WHERE kind = 'mail' AND target = '{email}' ORDER BY id DESC"
            ))
            .await;
        let payload = mails
            .first()
            .and_then(|(p,)| p.clone())
            .expect("a mail was queued");
        let mail: Value = serde_json::from_str(&payload).expect("mail JSON");
        let text = mail["text"].as_str().expect("text");
        let at = text.find("/access/").expect("a link in the mail") + "/access/".len();
        let link = text[at..].split_whitespace().next().expect("token");
        link.split('?').next().expect("token").to_owned()
    }

    /// Enrolls through invite `token` as the pages do (the form, the mailed link, opening it):
    /// the member and their cards.
    pub async fn enroll_by_mail(
        &self,
        token: &str,
        form: walletcards::enroll::EnrollForm,
    ) -> Result<
        (
            walletcards::domain::model::Member,
            Vec<walletcards::domain::model::Card>,
        ),
        walletcards::enroll::EnrollError,
    > {
        use walletcards::enroll::{open_link, request_join_link};
        let email = walletcards::store::normalize_email(&form.email);
        request_join_link(
            &self.state,
            token,
            form,
            walletcards::domain::i18n::Lang::En,
        )
        .await?;
        let opened = open_link(&self.state, &self.queued_link(&email).await).await?;
        let cards = self
            .state
            .store
            .member_cards(&opened.member.id)
            .await
            .expect("cards");
        Ok((opened.member, cards))
    }

    /// The app's data folder (`WALLETCARDS_DATA_DIR`).
    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.admin_key)
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/v1{path}` with `key`: the status and the JSON answer (null if none).
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// POSTs and returns the JSON body, asserting the status.
    pub async fn post_ok(&self, path: &str, body: &Value, status: StatusCode) -> Value {
        let r = self.post(path, body).await;
        assert_status(r, status).await
    }

    pub async fn get_ok(&self, path: &str) -> Value {
        assert_status(self.get(path).await, StatusCode::OK).await
    }

    pub async fn create_program(&self, kind: &str) -> Value {
        self.post_ok("/programs", &program_body(kind), StatusCode::CREATED)
            .await
    }

    pub async fn create_account(&self, name: &str) -> Value {
        self.post_ok("/accounts", &json!({"name": name}), StatusCode::CREATED)
            .await
    }

    pub async fn create_member(&self, account_id: &str, name: &str) -> Value {
        let body = json!({"name": name, "role": "director", "email": format!("{}@example.test", name.to_lowercase().replace(' ', "."))});
        self.post_ok(
            &format!("/accounts/{account_id}/members"),
            &body,
            StatusCode::CREATED,
        )
        .await
    }

    /// A program of `kind`, a company, a decision-maker and the card issued to them.
    pub async fn issue_card(&self, kind: &str) -> Value {
        self.issue_card_of(&program_body(kind)).await.2
    }

    /// A program of `kind` and an invite of the new company `company` to it: (program,
    /// invite as created, with its `url`).
    pub async fn create_invite(&self, kind: &str, company: &str) -> (Value, Value) {
        let program = self.create_program(kind).await;
        let account = self.create_account(company).await;
        let body = json!({"account_id": id(&account), "program_ids": [id(&program)]});
        let invite = self.post_ok("/invites", &body, StatusCode::CREATED).await;
        (program, invite)
    }

    /// A program created from `program`, a company, a decision-maker and the card issued to
    /// them: (program, account, card).
    pub async fn issue_card_of(&self, program: &Value) -> (Value, Value, Value) {
        let program = self
            .post_ok("/programs", program, StatusCode::CREATED)
            .await;
        let account = self.create_account("Acme GmbH").await;
        let member = self.create_member(id(&account), "Anna Petrova").await;
        let body = json!({"program_id": id(&program), "member_id": id(&member)});
        let card = self.post_ok("/cards", &body, StatusCode::CREATED).await;
        (program, account, card)
    }
}

/// The built `walletcards` binary, without the `WALLETCARDS_*` settings of whoever runs the
/// tests: only what the test sets reaches it.
pub fn walletcards_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_walletcards"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("WALLETCARDS_")) {
        command.env_remove(name);
    }
    command
}

/// What a run of the binary left behind.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl TestApp {
    /// The binary pointed at this app's database and nothing else of the caller's settings.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = walletcards_command();
        command.env("WALLETCARDS_DATABASE_URL", &self.database_url);
        command
    }
}

/// One delivery the outbox holds, as the dispatchers read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub kind: String,
    pub card_id: String,
    pub card_version: i64,
    pub target: String,
    pub notify: Option<String>,
}

impl TestApp {
    /// Runs SQL straight on the app's database: the state a component the test does not
    /// drive would have left (a device's registration, say).
    pub async fn execute_sql(&self, sql: &str) {
        execute_sql(self.engine, &self.database_url, sql).await;
    }

    /// Rows of a query straight on the app's database.
    pub async fn fetch<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        fetch(self.engine, &self.database_url, sql).await
    }

    /// The outbox, in a stable order.
    pub async fn outbox(&self) -> Vec<Delivery> {
        self.fetch(
            "SELECT kind, card_id, card_version, target, notify FROM outbox \
             ORDER BY kind, card_id, target, card_version",
        )
        .await
    }
}

/// Waits until `ready` holds, checking every 50 ms, for at most `within`.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, within: std::time::Duration, ready: F) {
    let step = std::time::Duration::from_millis(50);
    for _ in 0..within.as_millis() / step.as_millis() {
        if ready().await {
            return;
        }
        tokio::time::sleep(step).await;
    }
    panic!("timed out waiting until {what}");
}

impl TestApp {
    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let r = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await;
        r.expect("metrics").text().await.expect("text")
    }
}

pub fn id(v: &Value) -> &str {
    v["id"].as_str().expect("has an id")
}

pub async fn assert_status(r: Response, status: StatusCode) -> Value {
    let got = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A valid program body per kind, as in loyalty-rules.md's worked examples.
pub fn program_body(kind: &str) -> Value {
    let rules = match kind {
        "discount" => json!({"percent_bps": 500}),
        "cumulative_discount" => json!({"window": "lifetime", "tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 1_000_000, "percent_bps": 500},
            {"name": "Gold", "min_spend_minor": 5_000_000, "percent_bps": 700}]}),
        "cashback" => {
            json!({"percent_bps": 300, "min_order_minor": 10_000, "max_redeem_share_bps": 5_000, "expiry_days": 365})
        }
        "stamp" => {
            json!({"stamps_required": 5, "min_order_minor": 50_000, "reward": "Free delivery"})
        }
        other => panic!("unknown kind {other}"),
    };
    json!({
        "name": format!("Partner {kind}"),
        "kind": kind,
        "currency": "EUR",
        "time_zone": "Europe/Berlin",
        "balance_scope": "account",
        "rules": rules,
        "branding": {"background_color": "#16345c", "logo_text": "Acme Supply"}
    })
}

pub const KINDS: [&str; 4] = ["discount", "cumulative_discount", "cashback", "stamp"];

/// The issuer the Google fake knows.
pub const GOOGLE_ISSUER: &str = "3388000000012345678";
/// The origin save links name.
pub const GOOGLE_ORIGIN: &str = "https://portal.example.com";

/// An app with Google Wallet on, dispatching, and the fake it talks to.
pub struct Google {
    pub app: TestApp,
    pub fake: google_fake::GoogleFake,
    pub account: google_fake::TestServiceAccount,
    _dir: tempfile::TempDir,
}

/// The app with Google Wallet on (as `issuer`), pointed at a fake that knows
/// [`GOOGLE_ISSUER`].
pub async fn spawn_google_app(engine: Engine, issuer: &str) -> Google {
    spawn_google_app_with(engine, issuer, &[]).await
}

/// [`spawn_google_app`] with `extra` settings over it (mail, …).
pub async fn spawn_google_app_with(
    engine: Engine,
    issuer: &str,
    extra: &[(&str, Value)],
) -> Google {
    let account = google_fake::TestServiceAccount::generate();
    let fake = google_fake::GoogleFake::start(&account, GOOGLE_ISSUER).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("service-account.json");
    std::fs::write(&key_file, &account.key_file_json).expect("key file");
    let mut settings = vec![
        ("outbox.dispatch", json!(true)),
        ("google.issuer_id", json!(issuer)),
        ("google.service_account", json!(key_file)),
        ("google.api_url", json!(fake.api_url)),
        ("google.token_url", json!(fake.token_url)),
        ("google.origins", json!([GOOGLE_ORIGIN])),
    ];
    settings.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    let app = spawn_app_with_settings(engine, &settings).await;
    Google {
        app,
        fake,
        account,
        _dir: dir,
    }
}
