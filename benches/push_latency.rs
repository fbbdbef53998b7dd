//! From an order's commit to its push: the real application (dispatcher on, SQLite in a
//! temporary folder, development certificates) books orders over HTTP for cards that each sit
//! on one device, and the loopback APNs fake of the tests (HTTP/2, TLS, certificate auth)
//! records when each push arrives. Latency = the push's arrival at APNs − the moment the
//! order's 201 answer was read (the commit, plus the answer's way back), per order.
//!
//! Orders go one at a time, round robin over `WALLETCARDS_BENCH_CARDS` cards (default 100),
//! so each push belongs to exactly one order; `WALLETCARDS_BENCH_ORDERS` (default 2000)
//! orders after a warm-up of one round.
//!
//! Run: `cargo bench --bench push_latency`.

#[path = "../tests/common/apns_fake.rs"]
#[expect(dead_code, reason = "the bench uses part of the tests' fake")]
mod apns_fake;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use apns_fake::{ApnsFake, FakeAuth};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use walletcards::apple::devcerts::write_dev_certs;
use walletcards::config::Settings;
use walletcards::startup::{Application, DEV_PASS_TYPE_ID, DEV_TEAM_ID};

fn env_or(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let r = self
            .client
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }
}

fn id(v: &Value) -> Result<String> {
    v["id"].as_str().map(str::to_owned).context("an id")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn arrival(fake: &ApnsFake, token: &str, nth: usize) -> Result<Instant> {
    for _ in 0..2_000 {
        let mut at: Vec<Instant> = fake
            .deliveries()
            .into_iter()
            .filter(|d| d.token == token)
            .map(|d| d.at)
            .collect();
        if at.len() > nth {
            at.sort();
            return Ok(at[nth]);
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    anyhow::bail!("no push to {token} within the time limit")
}

#[tokio::main]
async fn main() -> Result<()> {
    let cards = env_or("WALLETCARDS_BENCH_CARDS", 100)?;
    let orders = env_or("WALLETCARDS_BENCH_ORDERS", 2_000)?;
    let dir = tempfile::tempdir()?;
    let certs = dir.path().join("certs");
    let paths = write_dev_certs(&certs, DEV_PASS_TYPE_ID, DEV_TEAM_ID, false)?;
    let fake = ApnsFake::start(FakeAuth::Certificate {
        ca_pem: std::fs::read(&paths.wwdr_cert)?,
    })
    .await;
    let ca = dir.path().join("apns-ca.pem");
    std::fs::write(&ca, fake.ca_pem())?;
    let database_url = format!("sqlite://{}", dir.path().join("wc.db").display());
    let figment = Settings::defaults()
        .merge(("bind", "127.0.0.1:0"))
        .merge(("database_url", database_url.as_str()))
        .merge(("data_dir", dir.path().join("data")))
        .merge(("certs_dir", certs))
        .merge((
            "templates_dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates"),
        ))
        .merge(("apple.apns_url", fake.base_url.as_str()))
        .merge(("apple.apns_ca", ca));
    let settings = Settings::from_figment(figment)?;
    let app = Application::build(&settings).await?;
    let api = Api {
        base: format!("http://{}", app.local_addr()?),
        key: app.created_admin_key.clone().context("an admin key")?,
        client: reqwest::Client::new(),
    };
    let store = app.state().store.clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));

    let mut program = json!({"name": "Latency", "kind": "cashback", "currency": "EUR",
        "time_zone": "Europe/Berlin", "balance_scope": "member",
        "rules": {"percent_bps": 300, "min_order_minor": 0, "max_redeem_share_bps": 5000}});
    program["branding"] = json!({"logo_text": "Bench"});
    let program = id(&api.post("/programs", &program).await?)?;
    let account = id(&api
        .post("/accounts", &json!({"name": "Bench GmbH"}))
        .await?)?;
    let mut holders = Vec::with_capacity(cards);
    for n in 0..cards {
        let member = api
            .post(
                &format!("/accounts/{account}/members"),
                &json!({"name": format!("Buyer {n}"), "role": "procurement"}),
            )
            .await?;
        let member = id(&member)?;
        let card = api
            .post(
                "/cards",
                &json!({"program_id": program, "member_id": member}),
            )
            .await?;
        let token = format!("{:064x}", 0xfeed_0000_u64 + n as u64);
        store_registration(&database_url, n, &token, &id(&card)?).await?;
        holders.push((member, token));
    }
    drop(store);

    let mut latencies = Vec::with_capacity(orders);
    let warm_up = cards;
    for n in 0..warm_up + orders {
        let (member, token) = &holders[n % cards];
        let order = json!({"external_id": format!("lat-{n}"), "account_id": account,
            "member_id": member, "amount_minor": 10_000, "currency": "EUR",
            "placed_at": chrono::Utc::now().to_rfc3339()});
        api.post("/orders", &order).await?;
        let committed = Instant::now();
        let pushed = arrival(&fake, token, n / cards).await?;
        if n >= warm_up {
            latencies.push(pushed.saturating_duration_since(committed));
        }
    }
    shutdown.cancel();
    let _ = server.await;
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / u32::try_from(latencies.len())?;
    println!(
        "walletcards push_latency: order commit → push at APNs (loopback fake), SQLite, one order at a time"
    );
    println!("  {orders} orders over {cards} cards on one device each");
    println!(
        "  p50 / p90 / p99 / max   {:.2} / {:.2} / {:.2} / {:.2} ms  (mean {:.2})",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
        ms(mean),
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The device registration the web service would store for card `card_id`.
async fn store_registration(
    database_url: &str,
    n: usize,
    token: &str,
    card_id: &str,
) -> Result<()> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(database_url).await?;
    let at = chrono::Utc::now().to_rfc3339();
    sqlx::raw_sql(&format!(
        "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES ('bench-{n}', '{token}', 'ApplePass', '{at}', '{at}'); \
         INSERT INTO registrations (device_id, card_id, created_at) VALUES ('bench-{n}', '{card_id}', '{at}');"
    ))
    .execute(&mut c)
    .await?;
    Ok(())
}
