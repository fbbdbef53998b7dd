//! A crash loses no delivery and delays none: `walletcards serve` runs as a process of its
//! own and is killed with SIGKILL — while APNs is down, or while a push is under way — and
//! after a restart every change reaches the device at once, not after the killed process's
//! lease — on SQLite and on PostgreSQL. The process runs in a folder of its own, as an
//! installed binary would: its default design is the one compiled into it.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::apns_fake::{ApnsFake, Reply};
use common::{
    Engine, apns_fake, drop_postgres_database, execute_sql, fetch, postgres_database,
    walletcards_command,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::Child;

const ADMIN_KEY: &str = "restart-test-admin-key-0123456789";
const TOKEN: &str = "00aa11bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899";

/// The service as an operator runs it, configured through the environment only.
struct Service {
    base: String,
    env: Vec<(String, String)>,
    /// Where it runs: a folder of its own, outside the repository (no `pass_templates/`).
    cwd: std::path::PathBuf,
    client: reqwest::Client,
}

impl Service {
    fn start(&self) -> Child {
        walletcards_command()
            .arg("serve")
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("walletcards serve starts")
    }

    async fn ready(&self) {
        eventually("the service is ready", async || {
            let r = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await;
            r.is_ok_and(|r| r.status() == StatusCode::OK)
        })
        .await;
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .client
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("JSON")
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

/// Waits until `ready` holds, up to 15 s (a process starts in between).
async fn eventually<F: AsyncFn() -> bool>(what: &str, ready: F) {
    common::eventually(what, Duration::from_secs(15), ready).await;
}

fn pushes(fake: &ApnsFake) -> (usize, usize) {
    let requests = fake
        .seen()
        .iter()
        .filter(|s| s.path.ends_with(TOKEN))
        .count();
    let delivered = fake
        .deliveries()
        .iter()
        .filter(|d| d.token == TOKEN)
        .count();
    (requests, delivered)
}

/// Rows of the outbox that are not delivered yet.
async fn undelivered(database_url: &str, engine: Engine) -> i64 {
    let sql = "SELECT COUNT(*) FROM outbox WHERE state <> 'done'";
    let rows: Vec<(i64,)> = fetch(engine, database_url, sql).await;
    rows[0].0
}

/// A service on its own database, with one card on one registered device, and the APNs fake
/// it pushes to.
struct Fixture {
    service: Service,
    fake: ApnsFake,
    database_url: String,
    postgres: Option<String>,
    account: String,
    engine: Engine,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Starts the service (`extra` over its settings) and enrolls the card; returns the
    /// running process too.
    async fn start(engine: Engine, extra: &[(&str, &str)]) -> (Fixture, Child) {
        let (fake, target, dir) = apns_fake().await;
        let (database_url, postgres) = match engine {
            Engine::Sqlite => (
                format!("sqlite://{}", dir.path().join("wc.db").display()),
                None,
            ),
            Engine::Postgres => {
                let (url, name) = postgres_database().await;
                (url, Some(name))
            }
        };
        let port = free_port();
        let mut env = vec![
            ("WALLETCARDS_BIND", format!("127.0.0.1:{port}")),
            ("WALLETCARDS_DATABASE_URL", database_url.clone()),
            (
                "WALLETCARDS_DATA_DIR",
                dir.path().join("data").display().to_string(),
            ),
            (
                "WALLETCARDS_CERTS_DIR",
                target.certs_dir.display().to_string(),
            ),
            ("WALLETCARDS_ADMIN_KEY", ADMIN_KEY.to_owned()),
            ("WALLETCARDS_APPLE__APNS_URL", target.apns_url.clone()),
            (
                "WALLETCARDS_APPLE__APNS_CA",
                target.apns_ca.display().to_string(),
            ),
            ("WALLETCARDS_OUTBOX__RETRY_BASE_MS", "50".to_owned()),
            ("WALLETCARDS_OUTBOX__RETRY_CAP_MS", "100".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let service = Service {
            base: format!("http://127.0.0.1:{port}"),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            cwd: dir.path().to_owned(),
            client: reqwest::Client::new(),
        };
        let child = service.start();
        service.ready().await;

        let program = service
            .post("/programs", &common::program_body("cashback"))
            .await;
        let account = service
            .post("/accounts", &json!({"name": "Acme GmbH"}))
            .await;
        let member = service
            .post(
                &format!("/accounts/{}/members", id(&account)),
                &json!({"name": "Anna Petrova", "role": "director"}),
            )
            .await;
        let card = service
            .post(
                "/cards",
                &json!({"program_id": id(&program), "member_id": id(&member)}),
            )
            .await;
        // The device's registration, as the web service would have stored it.
        let at = "2026-11-20T10:00:00Z";
        let sql = format!(
            "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES ('dev-1', '{TOKEN}', 'ApplePass', '{at}', '{at}'); \
             INSERT INTO registrations (device_id, card_id, created_at) VALUES ('dev-1', '{}', '{at}');",
            id(&card)
        );
        execute_sql(engine, &database_url, &sql).await;
        let fixture = Fixture {
            service,
            fake,
            database_url,
            postgres,
            account: id(&account),
            engine,
            _dir: dir,
        };
        (fixture, child)
    }

    async fn order(&self, n: usize) {
        let order = json!({"external_id": format!("K-{n}"), "account_id": self.account,
                           "amount_minor": 50_000, "currency": "EUR",
                           "placed_at": "2026-11-20T10:00:00Z"});
        self.service.post("/orders", &order).await;
    }

    async fn undelivered(&self) -> i64 {
        undelivered(&self.database_url, self.engine).await
    }

    /// Restarts the service and waits until every change is delivered.
    async fn restart_and_deliver(self) {
        let mut child = self.service.start();
        self.service.ready().await;
        eventually("every change is delivered", async || {
            self.undelivered().await == 0
        })
        .await;
        assert!(pushes(&self.fake).1 >= 1, "the device got its push");
        child.start_kill().expect("stop");
        child.wait().await.expect("stopped");
        if let Some(name) = self.postgres {
            drop_postgres_database(&name).await;
        }
    }
}

async fn kill(mut child: Child) {
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("killed");
}

async fn undelivered_changes_survive_a_sigkill(engine: Engine) {
    let (f, child) = Fixture::start(engine, &[("WALLETCARDS_OUTBOX__LEASE_MS", "1000")]).await;
    // APNs is down while orders come in.
    f.fake
        .answer_token(TOKEN, Reply::error(503, "ServiceUnavailable"));
    for n in 0..20 {
        f.order(n).await;
    }
    eventually("APNs was tried", async || pushes(&f.fake).0 >= 2).await;
    kill(child).await;
    assert_eq!(pushes(&f.fake).1, 0, "nothing was delivered");
    assert_eq!(f.undelivered().await, 20);

    // APNs is back; so is the service.
    f.fake.answer_token(TOKEN, Reply::ok());
    f.restart_and_deliver().await;
}

async fn a_push_under_way_when_the_process_is_killed_goes_at_once_after_a_restart(engine: Engine) {
    // The default lease: a minute, longer than `eventually` waits.
    let (f, child) = Fixture::start(engine, &[]).await;
    f.fake
        .answer_token(TOKEN, Reply::ok().after(Duration::from_secs(30)));
    f.order(1).await;
    eventually("the push is under way", async || f.fake.requests() >= 1).await;
    kill(child).await;
    assert_eq!(f.undelivered().await, 1, "claimed, not delivered");

    f.fake.answer_token(TOKEN, Reply::ok());
    f.restart_and_deliver().await;
}

on_both_engines!(
    undelivered_changes_survive_a_sigkill,
    a_push_under_way_when_the_process_is_killed_goes_at_once_after_a_restart,
);
