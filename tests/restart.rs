//! A crash loses no delivery: `walletcards serve` runs as a process of its own, APNs is down
//! while orders come in, the process is killed with SIGKILL (rows claimed, nothing delivered),
//! and after a restart every change reaches the device — on SQLite and on PostgreSQL.

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
    client: reqwest::Client,
}

impl Service {
    fn start(&self) -> Child {
        walletcards_command()
            .arg("serve")
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

async fn undelivered_changes_survive_a_sigkill(engine: Engine) {
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
    let env = [
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
        (
            "WALLETCARDS_TEMPLATES_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates").to_owned(),
        ),
        ("WALLETCARDS_ADMIN_KEY", ADMIN_KEY.to_owned()),
        ("WALLETCARDS_APPLE__APNS_URL", target.apns_url.clone()),
        (
            "WALLETCARDS_APPLE__APNS_CA",
            target.apns_ca.display().to_string(),
        ),
        ("WALLETCARDS_OUTBOX__LEASE_MS", "1000".to_owned()),
        ("WALLETCARDS_OUTBOX__RETRY_BASE_MS", "50".to_owned()),
        ("WALLETCARDS_OUTBOX__RETRY_CAP_MS", "100".to_owned()),
        ("WALLETCARDS_OUTBOX__MAX_ATTEMPTS", "1000".to_owned()),
    ];
    let service = Service {
        base: format!("http://127.0.0.1:{port}"),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        client: reqwest::Client::new(),
    };
    let mut child = service.start();
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

    // APNs is down while orders come in.
    fake.answer_token(TOKEN, Reply::error(503, "ServiceUnavailable"));
    for n in 0..20 {
        let order = json!({"external_id": format!("K-{n}"), "account_id": id(&account),
                           "amount_minor": 50_000, "currency": "EUR",
                           "placed_at": "2026-11-20T10:00:00Z"});
        service.post("/orders", &order).await;
    }
    eventually("APNs was tried", async || pushes(&fake).0 >= 2).await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("killed");
    assert_eq!(pushes(&fake).1, 0, "nothing was delivered");
    assert_eq!(undelivered(&database_url, engine).await, 20);

    // APNs is back; so is the service.
    fake.answer_token(TOKEN, Reply::ok());
    let mut child = service.start();
    service.ready().await;
    eventually("every change is delivered", async || {
        undelivered(&database_url, engine).await == 0
    })
    .await;
    assert!(pushes(&fake).1 >= 1, "the device got its push");
    child.start_kill().expect("stop");
    child.wait().await.expect("stopped");
    if let Some(name) = postgres {
        drop_postgres_database(&name).await;
    }
}

on_both_engines!(undelivered_changes_survive_a_sigkill);
