//! Order booking throughput: C concurrent clients POST orders to `/api/v1/orders` of the real
//! application on PostgreSQL, over HTTP, and the rate is set beside `pgbench`'s TPC-B-like TPS
//! on the same server (the loyalty-engine issue's target: orders/s ≥ 0.5 × pgbench TPS).
//!
//! Steps, each on a fresh database dropped afterwards:
//! 1. a `setup` instance of the application (as `tests/common::spawn_app` starts it, port 0)
//!    creates a cashback program in EUR, A accounts of M members and one card per member
//!    through the admin API, then stops;
//! 2. a second instance on the same database serves a warm-up, then the measured run: every
//!    client books orders with new `external_id`s for the holders of its own accounts (so a
//!    holder's orders arrive in `placed_at` order, as from one ERP). One keep-alive reqwest
//!    client is shared; every non-2xx answer stops the bench with its body;
//! 3. `pgbench -i -s <scale>` on a scratch database, then `pgbench -c C -j 2 -T <seconds>`.
//!
//! Beside the rate and the latency percentiles it prints where an order's cost goes: CPU of
//! this process (application and load clients together), CPU of the PostgreSQL backends
//! serving the application (from /proc, when the server runs on this machine) and the rows
//! and transactions `pg_stat_database` counted for the second instance's whole life.
//!
//! Run: `cargo bench --bench book_orders [-- --clients 32 --seconds 30 --scope account]`;
//! every option also reads `WALLETCARDS_BENCH_<OPTION>`, and `TEST_POSTGRES_URL` names the
//! server (default `postgres://postgres@127.0.0.1:5432/test`, a user that may CREATE DATABASE).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use chrono::{SecondsFormat, Utc};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;
use walletcards::config::Settings;
use walletcards::startup::Application;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The target: orders/s ≥ 0.5 × pgbench TPS.
const TARGET_RATIO: f64 = 0.5;
/// Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat on every mainstream ABI.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Parser)]
#[command(about = "Books orders over HTTP against PostgreSQL and compares with pgbench")]
struct Args {
    /// Concurrent HTTP clients (and pgbench clients).
    #[arg(long, env = "WALLETCARDS_BENCH_CLIENTS", default_value_t = 16)]
    clients: usize,
    /// Length of the measured run (and of the pgbench run), in seconds.
    #[arg(long, env = "WALLETCARDS_BENCH_SECONDS", default_value_t = 20)]
    seconds: u64,
    /// Unmeasured booking before the run, in seconds (at least 1).
    #[arg(long, env = "WALLETCARDS_BENCH_WARM_UP", default_value_t = 3)]
    warm_up: u64,
    /// The program's balance scope.
    #[arg(long, env = "WALLETCARDS_BENCH_SCOPE", value_enum, default_value_t = Scope::Member)]
    scope: Scope,
    /// Accounts (companies); each client books for its own share, so at least `clients`.
    #[arg(long, env = "WALLETCARDS_BENCH_ACCOUNTS", default_value_t = 64)]
    accounts: usize,
    /// Members with a card per account.
    #[arg(long, env = "WALLETCARDS_BENCH_MEMBERS", default_value_t = 4)]
    members: usize,
    /// The application's database pool size (the service's default is 10).
    #[arg(long, env = "WALLETCARDS_BENCH_POOL", default_value_t = 10)]
    pool: u32,
    /// pgbench scale factor; default: the number of clients, as pgbench's manual advises.
    #[arg(long, env = "WALLETCARDS_BENCH_PGBENCH_SCALE")]
    pgbench_scale: Option<u32>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scope {
    Member,
    Account,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Member => "member",
            Scope::Account => "account",
        }
    }
}

impl Args {
    fn check(&self) -> Result<()> {
        ensure!(self.clients > 0, "--clients must be at least 1");
        ensure!(self.seconds > 0, "--seconds must be at least 1");
        ensure!(self.members > 0, "--members must be at least 1");
        ensure!(self.pool > 0, "--pool must be at least 1");
        ensure!(
            self.accounts >= self.clients,
            "--accounts ({}) must be at least --clients ({}): each client books for accounts of its own",
            self.accounts,
            self.clients
        );
        Ok(())
    }

    fn pgbench_scale(&self) -> u32 {
        self.pgbench_scale
            .unwrap_or_else(|| u32::try_from(self.clients).unwrap_or(u32::MAX))
    }
}

// ---------------------------------------------------------------------------------------
// Scratch databases

/// The server the bench creates its databases on, and an admin connection to it.
struct Server {
    url: Url,
    admin: PgConnection,
}

impl Server {
    async fn connect() -> Result<Server> {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let url = Url::parse(&base).with_context(|| format!("TEST_POSTGRES_URL {base:?}"))?;
        let admin = PgConnection::connect(&base).await.with_context(|| {
            format!(
                "PostgreSQL is not reachable at {base}. Start it with `pg_ctlcluster \
                 --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point \
                 TEST_POSTGRES_URL at a server where this user may CREATE DATABASE"
            )
        })?;
        Ok(Server { url, admin })
    }

    /// Creates `<prefix>_<uuid>` and returns its name and URL.
    async fn create_database(&mut self, prefix: &str) -> Result<(String, Url)> {
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut self.admin)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let mut url = self.url.clone();
        url.set_path(&name);
        Ok((name, url))
    }

    async fn drop_database(&mut self, name: &str) -> Result<()> {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut self.admin)
            .await
            .with_context(|| format!("DROP DATABASE {name}"))?;
        Ok(())
    }

    async fn show(&mut self, setting: &str) -> Result<String> {
        let (value,): (String,) = sqlx::query_as(&format!("SHOW {setting}"))
            .fetch_one(&mut self.admin)
            .await
            .with_context(|| format!("SHOW {setting}"))?;
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------
// The application

/// One instance of the application serving on a port of its own.
struct RunningApp {
    base: String,
    created_admin_key: Option<String>,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<Result<()>>,
}

async fn start_app(database_url: &Url, dir: &std::path::Path, pool: u32) -> Result<RunningApp> {
    let figment = Settings::defaults()
        .merge(("bind", "127.0.0.1:0"))
        .merge(("database_url", database_url.as_str()))
        .merge(("database_max_connections", pool))
        .merge(("data_dir", dir.join("data")))
        .merge(("certs_dir", dir.join("certs")))
        .merge((
            "templates_dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates"),
        ));
    let settings = Settings::from_figment(figment).context("bench settings")?;
    let app = Application::build(&settings)
        .await
        .context("building the application")?;
    let base = format!("http://{}", app.local_addr().context("bound address")?);
    let created_admin_key = app.created_admin_key.clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));
    Ok(RunningApp {
        base,
        created_admin_key,
        shutdown,
        server,
    })
}

impl RunningApp {
    /// Stops serving, drains, and closes the database pool.
    async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.server.await.context("server task")?
    }
}

/// The admin API of one instance.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    key: Arc<str>,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// POSTs `body`; any answer but 2xx is an error carrying the body.
    async fn post(&self, path: &str, body: &Value) -> Result<(reqwest::StatusCode, Value)> {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(&*self.key)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("POST {path}: reading the answer"))?;
        ensure!(
            status.is_success(),
            "POST {path} {body} answered {status}: {text}"
        );
        let value = serde_json::from_str(&text)
            .with_context(|| format!("POST {path} answered {status} with non-JSON: {text}"))?;
        Ok((status, value))
    }

    /// POSTs and returns the new resource's `id`.
    async fn create(&self, path: &str, body: &Value) -> Result<String> {
        let (_, created) = self.post(path, body).await?;
        created["id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST {path} answered without an id: {created}"))
    }
}

// ---------------------------------------------------------------------------------------
// Set-up: the program, accounts, members and cards

/// Who an order is booked for.
struct Holder {
    account_id: String,
    member_id: String,
}

fn program_body(scope: Scope) -> Value {
    json!({
        "name": "Bench cashback",
        "kind": "cashback",
        "currency": "EUR",
        "time_zone": "Europe/Berlin",
        "balance_scope": scope.as_str(),
        "rules": {"percent_bps": 300, "min_order_minor": 10_000,
                  "max_redeem_share_bps": 5_000, "expiry_days": 365},
    })
}

/// Creates the program and every account, member and card; returns the holders by account.
async fn set_up_holders(api: &Api, args: &Args) -> Result<Vec<Vec<Holder>>> {
    let program_id = api.create("/programs", &program_body(args.scope)).await?;
    let mut accounts = Vec::with_capacity(args.accounts);
    for a in 0..args.accounts {
        let account_id = api
            .create("/accounts", &json!({"name": format!("Bench customer {a}")}))
            .await?;
        let mut holders = Vec::with_capacity(args.members);
        for m in 0..args.members {
            let member = json!({"name": format!("Buyer {a}-{m}"), "role": "purchasing"});
            let member_id = api
                .create(&format!("/accounts/{account_id}/members"), &member)
                .await?;
            let card = json!({"program_id": program_id, "member_id": member_id});
            api.create("/cards", &card).await?;
            holders.push(Holder {
                account_id: account_id.clone(),
                member_id,
            });
        }
        accounts.push(holders);
    }
    Ok(accounts)
}

/// Client `k` books for accounts `k`, `k + C`, `k + 2C`, …, so no two clients book for the
/// same holder and each holder's orders arrive in time order.
fn share_out(accounts: Vec<Vec<Holder>>, clients: usize) -> Vec<Arc<Vec<Holder>>> {
    let mut shares: Vec<Vec<Holder>> = (0..clients).map(|_| Vec::new()).collect();
    for (a, holders) in accounts.into_iter().enumerate() {
        shares[a % clients].extend(holders);
    }
    shares.into_iter().map(Arc::new).collect()
}

// ---------------------------------------------------------------------------------------
// The load

/// What the clients did in one phase.
struct Load {
    /// Every booking's latency, sorted.
    latencies: Vec<Duration>,
    /// 2xx answers other than 201 Created: replays, which new external ids should never get.
    replays: u64,
    wall: Duration,
}

impl Load {
    fn orders(&self) -> usize {
        self.latencies.len()
    }

    fn per_second(&self) -> f64 {
        self.orders() as f64 / self.wall.as_secs_f64()
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile_ms(&self, p: f64) -> f64 {
        let rank = ((p * self.orders() as f64).ceil() as usize).clamp(1, self.orders());
        self.latencies[rank - 1].as_secs_f64() * 1e3
    }

    fn mean_ms(&self) -> f64 {
        let total: Duration = self.latencies.iter().sum();
        total.as_secs_f64() * 1e3 / self.orders() as f64
    }
}

fn order_body(seq: u64, holder: &Holder) -> Value {
    json!({
        "external_id": format!("bench-{seq:09}"),
        "account_id": holder.account_id,
        "member_id": holder.member_id,
        "amount_minor": 10_000 + (seq % 90) * 1_000,
        "currency": "EUR",
        "placed_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// One client: books orders for its holders in turn until `deadline`.
async fn client_loop(
    api: Api,
    holders: Arc<Vec<Holder>>,
    next_seq: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<(Vec<Duration>, u64)> {
    let mut latencies = Vec::new();
    let mut replays = 0;
    for holder in holders.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let body = order_body(next_seq.fetch_add(1, Ordering::Relaxed), holder);
        let started = Instant::now();
        let (status, _) = api.post("/orders", &body).await?;
        latencies.push(started.elapsed());
        if status != reqwest::StatusCode::CREATED {
            replays += 1;
        }
    }
    Ok((latencies, replays))
}

/// Runs every client for `seconds` and gathers what they measured.
async fn run_load(
    api: &Api,
    shares: &[Arc<Vec<Holder>>],
    next_seq: &Arc<AtomicU64>,
    seconds: u64,
) -> Result<Load> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut clients = JoinSet::new();
    for holders in shares {
        clients.spawn(client_loop(
            api.clone(),
            holders.clone(),
            next_seq.clone(),
            deadline,
        ));
    }
    let mut load = Load {
        latencies: Vec::new(),
        replays: 0,
        wall: Duration::ZERO,
    };
    while let Some(joined) = clients.join_next().await {
        let (latencies, replays) = joined.context("client task")??;
        load.latencies.extend(latencies);
        load.replays += replays;
    }
    load.wall = started.elapsed();
    load.latencies.sort_unstable();
    ensure!(load.orders() > 0, "no order was booked in {seconds} s");
    Ok(load)
}

// ---------------------------------------------------------------------------------------
// Where the cost goes: CPU from /proc, rows and transactions from pg_stat_database

/// utime + stime of a process, in clock ticks, from /proc/<pid>/stat.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name's last `)` start with field 3, so utime (14) and
    // stime (15) are at indices 11 and 12.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The machine's (busy, steal, total) jiffies over all CPUs, from /proc/stat's `cpu` line.
fn machine_jiffies() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut fields = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace();
    let mut next = || fields.next()?.parse::<u64>().ok();
    let (user, nice, system, idle) = (next()?, next()?, next()?, next()?);
    let (iowait, irq, softirq, steal) = (next()?, next()?, next()?, next()?);
    // Guest time, the fields after steal, is already inside user and nice.
    let busy = user + nice + system + irq + softirq;
    Some((busy, steal, busy + idle + iowait + steal))
}

/// CPU counters at one instant.
struct CpuSnapshot {
    process: Option<u64>,
    /// Ticks of each PostgreSQL backend serving the bench database, by pid.
    backends: HashMap<i32, u64>,
    machine: Option<(u64, u64, u64)>,
}

async fn cpu_snapshot(server: &mut Server, database: &str) -> Result<CpuSnapshot> {
    let pids: Vec<(i32,)> = sqlx::query_as("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind(database)
        .fetch_all(&mut server.admin)
        .await
        .context("reading pg_stat_activity")?;
    // A pid only means something if the server runs here: its process must be `postgres`.
    let is_postgres = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres")
    };
    let backends = pids
        .into_iter()
        .filter(|&(pid,)| is_postgres(pid))
        .filter_map(|(pid,)| Some((pid, process_ticks(&pid.to_string())?)))
        .collect();
    Ok(CpuSnapshot {
        process: process_ticks("self"),
        backends,
        machine: machine_jiffies(),
    })
}

/// CPU spent between two snapshots, in seconds.
struct CpuUse {
    process_s: Option<f64>,
    /// None when no backend could be read (server on another machine).
    backends_s: Option<f64>,
    /// Share of all CPUs busy, and share stolen by the hypervisor.
    machine_busy: Option<(f64, f64)>,
}

fn cpu_use(before: &CpuSnapshot, after: &CpuSnapshot) -> CpuUse {
    let seconds = |ticks: u64| ticks as f64 / CLOCK_TICKS_PER_SEC;
    let backends_ticks: u64 = after
        .backends
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.backends.get(pid).copied().unwrap_or(0)))
        .sum();
    let machine_busy = match (before.machine, after.machine) {
        (Some((b0, s0, t0)), Some((b1, s1, t1))) if t1 > t0 => {
            let total = (t1 - t0) as f64;
            Some(((b1 - b0) as f64 / total, (s1 - s0) as f64 / total))
        }
        _ => None,
    };
    CpuUse {
        process_s: after
            .process
            .zip(before.process)
            .map(|(a, b)| seconds(a.saturating_sub(b))),
        backends_s: (!after.backends.is_empty()).then(|| seconds(backends_ticks)),
        machine_busy,
    }
}

/// pg_stat_database's counters for one database.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
struct DbCounters {
    xact_commit: i64,
    xact_rollback: i64,
    tup_returned: i64,
    tup_fetched: i64,
    tup_inserted: i64,
    tup_updated: i64,
    tup_deleted: i64,
    blks_hit: i64,
    blks_read: i64,
    deadlocks: i64,
}

/// Waits until no backend is connected to `database`: a backend flushes its statistics when
/// it exits (and otherwise only every second or so while idle).
async fn wait_until_idle(server: &mut Server, database: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (connected,): (i32,) =
            sqlx::query_as("SELECT numbackends FROM pg_stat_database WHERE datname = $1")
                .bind(database)
                .fetch_one(&mut server.admin)
                .await
                .context("reading pg_stat_database")?;
        if connected == 0 {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{connected} connections to {database} stayed open after the application stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Zeroes the statistics of the database at `url` (pg_stat_reset acts on the current one).
async fn reset_db_counters(url: &Url) -> Result<()> {
    let mut connection = PgConnection::connect(url.as_str())
        .await
        .context("connecting to the bench database")?;
    sqlx::query("SELECT pg_stat_reset()")
        .execute(&mut connection)
        .await
        .context("pg_stat_reset()")?;
    connection.close().await.context("closing")?;
    Ok(())
}

async fn db_counters(server: &mut Server, database: &str) -> Result<DbCounters> {
    sqlx::query_as(
        "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, \
         tup_updated, tup_deleted, blks_hit, blks_read, deadlocks \
         FROM pg_stat_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_one(&mut server.admin)
    .await
    .context("reading pg_stat_database")
}

// ---------------------------------------------------------------------------------------
// The service run

/// What the service run measured.
struct ServiceRun {
    load: Load,
    warm_up_orders: usize,
    cpu: CpuUse,
    /// Over the serving instance's life: warm-up and measured orders, plus its start.
    db: DbCounters,
}

/// The set-up instance: creates the holders, stops, and leaves the database's statistics at
/// zero. Returns the admin key and each client's share of the holders.
async fn set_up(
    args: &Args,
    server: &mut Server,
    (name, url): (&str, &Url),
    dir: &std::path::Path,
    client: reqwest::Client,
) -> Result<(Arc<str>, Vec<Arc<Vec<Holder>>>)> {
    let setup = start_app(url, dir, args.pool).await?;
    let key: Arc<str> = setup
        .created_admin_key
        .clone()
        .context("the first start of the application creates an admin key")?
        .into();
    let api = Api {
        client,
        base: setup.base.clone(),
        key: key.clone(),
    };
    let cards = args.accounts * args.members;
    eprintln!("book_orders: setting up {cards} cards on {name}");
    let shares = share_out(set_up_holders(&api, args).await?, args.clients);
    setup.stop().await.context("stopping the set-up instance")?;
    wait_until_idle(server, name).await?;
    reset_db_counters(url).await?;
    wait_until_idle(server, name).await?;
    Ok((key, shares))
}

/// Sets up through one instance, then books through a second on the same database.
async fn run_service(
    args: &Args,
    server: &mut Server,
    name: &str,
    url: &Url,
) -> Result<ServiceRun> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let (key, shares) = set_up(args, server, (name, url), dir.path(), client.clone()).await?;

    let app = start_app(url, dir.path(), args.pool).await?;
    let api = Api {
        client,
        base: app.base.clone(),
        key,
    };
    let next_seq = Arc::new(AtomicU64::new(0));
    let warm_up = run_load(&api, &shares, &next_seq, args.warm_up.max(1)).await?;
    let (clients, seconds) = (args.clients, args.seconds);
    eprintln!("book_orders: measuring {clients} clients for {seconds} s");
    let cpu_before = cpu_snapshot(server, name).await?;
    let load = run_load(&api, &shares, &next_seq, seconds).await?;
    let cpu_after = cpu_snapshot(server, name).await?;
    drop(api);
    app.stop().await.context("stopping the application")?;
    wait_until_idle(server, name).await?;
    Ok(ServiceRun {
        warm_up_orders: warm_up.orders(),
        load,
        cpu: cpu_use(&cpu_before, &cpu_after),
        db: db_counters(server, name).await?,
    })
}

// ---------------------------------------------------------------------------------------
// pgbench

/// Runs a pgbench command; `Ok(None)` when pgbench is not installed.
async fn pgbench(args: &[String]) -> Result<Option<String>> {
    let output = match tokio::process::Command::new("pgbench")
        .args(args)
        .output()
        .await
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("running pgbench"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "pgbench {} failed ({}):\n{stdout}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(Some(stdout))
}

/// `tps = 1234.567890 (without initial connection time)` → 1234.56789.
fn parse_tps(stdout: &str) -> Result<f64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("tps = ") && l.contains("without initial connection time"))
        .with_context(|| format!("no `tps = … (without initial connection time)` in:\n{stdout}"))?;
    let value = line["tps = ".len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default();
    value
        .parse()
        .with_context(|| format!("unexpected pgbench line {line:?}"))
}

/// Initialises `url` at `scale` and runs the TPC-B-like default; `Ok(None)` without pgbench.
async fn pgbench_tps(url: &Url, clients: usize, seconds: u64, scale: u32) -> Result<Option<f64>> {
    let init = ["-i", "-q", "-s", &scale.to_string(), url.as_str()].map(str::to_owned);
    if pgbench(&init).await?.is_none() {
        return Ok(None);
    }
    let run = [
        "-c",
        &clients.to_string(),
        "-j",
        &clients.min(2).to_string(),
        "-T",
        &seconds.to_string(),
        url.as_str(),
    ]
    .map(str::to_owned);
    let stdout = pgbench(&run).await?.context("pgbench vanished")?;
    parse_tps(&stdout).map(Some)
}

// ---------------------------------------------------------------------------------------
// Report

fn report_service(args: &Args, run: &ServiceRun, version: &str, sync_commit: &str) {
    let load = &run.load;
    println!();
    println!("walletcards book_orders: POST /api/v1/orders over HTTP, in-process app on {version}");
    println!(
        "cashback 3 % in EUR, balance scope {}; {} accounts × {} members = {} cards",
        args.scope.as_str(),
        args.accounts,
        args.members,
        args.accounts * args.members
    );
    println!(
        "{} clients (one keep-alive reqwest client), app pool {} connections, \
         synchronous_commit {sync_commit}",
        args.clients, args.pool
    );
    println!();
    println!(
        "orders booked              {} in {:.2} s (after {} in a {} s warm-up)",
        load.orders(),
        load.wall.as_secs_f64(),
        run.warm_up_orders,
        args.warm_up.max(1)
    );
    if load.replays > 0 {
        println!(
            "  of which NOT 201 Created {} (replays of new ids?)",
            load.replays
        );
    }
    println!("  orders/s                 {:.1}", load.per_second());
    println!(
        "  latency p50 / p95 / p99  {:.2} / {:.2} / {:.2} ms  (mean {:.2}, max {:.2})",
        load.percentile_ms(0.50),
        load.percentile_ms(0.95),
        load.percentile_ms(0.99),
        load.mean_ms(),
        load.percentile_ms(1.0)
    );
    report_costs(run);
}

fn report_costs(run: &ServiceRun) {
    let orders = run.load.orders() as f64;
    let per_order_us = |s: f64| s * 1e6 / orders;
    println!();
    println!("where an order's cost goes (measured run)");
    match run.cpu.process_s {
        Some(s) => println!(
            "  this process CPU         {:.0} µs/order  (app + load clients, {s:.2} s)",
            per_order_us(s)
        ),
        None => println!("  this process CPU         unavailable (/proc/self/stat)"),
    }
    match run.cpu.backends_s {
        Some(s) => println!(
            "  PostgreSQL backends CPU  {:.0} µs/order  ({s:.2} s)",
            per_order_us(s)
        ),
        None => println!("  PostgreSQL backends CPU  unavailable (server not on this machine)"),
    }
    if let Some((busy, steal)) = run.cpu.machine_busy {
        println!(
            "  machine                  {:.0} % of {} CPUs busy, {:.1} % stolen by the hypervisor",
            busy * 100.0,
            std::thread::available_parallelism().map_or(0, usize::from),
            steal * 100.0
        );
    }
    let db = &run.db;
    let all = (run.load.orders() + run.warm_up_orders) as f64;
    let per = |n: i64| n as f64 / all;
    println!("pg_stat_database per order (warm-up + measured, {all} orders)");
    println!(
        "  transactions             {:.2} committed, {:.3} rolled back, {} deadlocks",
        per(db.xact_commit),
        per(db.xact_rollback),
        db.deadlocks
    );
    println!(
        "  rows                     {:.1} inserted, {:.1} updated, {:.1} deleted, \
         {:.1} fetched, {:.1} returned",
        per(db.tup_inserted),
        per(db.tup_updated),
        per(db.tup_deleted),
        per(db.tup_fetched),
        per(db.tup_returned)
    );
    println!(
        "  buffer blocks            {:.1} hit, {:.2} read",
        per(db.blks_hit),
        per(db.blks_read)
    );
}

fn report_pgbench(args: &Args, orders_per_s: f64, tps: Option<f64>) {
    println!();
    println!(
        "pgbench TPC-B-like, scale {}, {} clients, {} threads, {} s",
        args.pgbench_scale(),
        args.clients,
        args.clients.min(2),
        args.seconds
    );
    let Some(tps) = tps else {
        println!("  skipped: pgbench is not on PATH (Debian: apt-get install postgresql-contrib,");
        println!("  or postgresql-client-15, which ships /usr/bin/pgbench)");
        return;
    };
    println!("  tps                      {tps:.1}  (without initial connection time)");
    let ratio = orders_per_s / tps;
    let verdict = if ratio >= TARGET_RATIO {
        "PASS"
    } else {
        "FAIL"
    };
    println!();
    println!("ratio orders/s ÷ pgbench tps (target ≥ {TARGET_RATIO})");
    println!("  {ratio:.3}  {verdict}");
}

// ---------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    args.check()?;
    let mut server = Server::connect().await?;
    let version = server.show("server_version").await?;
    let sync_commit = server.show("synchronous_commit").await?;

    let (name, url) = server.create_database("wcb").await?;
    let run = run_service(&args, &mut server, &name, &url).await;
    server.drop_database(&name).await?;
    let run = run?;
    report_service(&args, &run, &format!("PostgreSQL {version}"), &sync_commit);

    let (name, url) = server.create_database("wcb_pgbench").await?;
    eprintln!("book_orders: pgbench on {name}");
    let tps = pgbench_tps(&url, args.clients, args.seconds, args.pgbench_scale()).await;
    server.drop_database(&name).await?;
    report_pgbench(&args, run.load.per_second(), tps?);
    ensure!(
        run.load.replays == 0,
        "{} orders with new external ids were answered as replays, not 201 Created",
        run.load.replays
    );
    Ok(())
}
