//! APNs push throughput over ONE HTTP/2 connection: the real `ApnsClient` (token auth) against
//! the loopback fake of the tests, in one process.
//!
//! The fake runs on its own OS thread with a single-threaded runtime; the client on another
//! runtime with `WALLETCARDS_BENCH_CLIENT_THREADS` workers (default 1), so on this 2-core
//! machine each side has a core. For each in-flight level N (`WALLETCARDS_BENCH_INFLIGHT`,
//! default `1,16,64,256`), N tasks push `WALLETCARDS_BENCH_PUSHES` (default 20000) pushes to
//! distinct device tokens after a warm-up, and it prints pushes/s (wall), p50/p99 of the
//! client-measured latency, and CPU µs per push: the whole process, the fake's thread (from
//! `/proc/thread-self/schedstat`) and the difference, which is the client's share.
//! Process CPU comes from `/proc/self/stat` (all threads, clock ticks); the crate forbids the
//! `unsafe` that `getrusage` would need.
//!
//! Run: `cargo bench --bench apns_push`. Target: ≥ 5,000 pushes/s.

#[path = "../tests/common/apns_fake.rs"]
#[expect(dead_code, reason = "the bench uses part of the tests' fake")]
mod apns_fake;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use apns_fake::{ApnsFake, FakeAuth};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use tokio::sync::{mpsc, oneshot};
use walletcards::apple::apns::{ApnsClient, ApnsConfig, ApnsCredential, PushOutcome};

const TOPIC: &str = "pass.com.example.loyalty";
const TEAM_ID: &str = "ABCDE12345";
const KEY_ID: &str = "KEY1234567";
const TARGET_PER_S: f64 = 5000.0;
/// Linux's USER_HZ, the unit of utime/stime in /proc/self/stat.
const TICKS_PER_S: f64 = 100.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(text) => text.parse().ok().with_context(|| format!("{name}={text}")),
        Err(_) => Ok(default),
    }
}

/// utime + stime of every thread of this process, in seconds.
fn process_cpu_s() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').context("/proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / TICKS_PER_S)
}

/// The calling thread's on-CPU time in seconds (ns precision).
fn thread_cpu_s() -> Result<f64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns: u64 = schedstat
        .split_whitespace()
        .next()
        .context("schedstat")?
        .parse()?;
    Ok(ns as f64 / 1e9)
}

/// The fake on its own thread; answers CPU-time queries from that thread.
struct FakeThread {
    base_url: String,
    ca_pem: Vec<u8>,
    cpu: mpsc::Sender<oneshot::Sender<f64>>,
}

fn start_fake(public_key_pem: Vec<u8>) -> Result<FakeThread> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("apns-fake".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake runtime");
            runtime.block_on(async move {
                let fake = ApnsFake::start(FakeAuth::Token {
                    public_key_pem,
                    key_id: KEY_ID.into(),
                    team_id: TEAM_ID.into(),
                })
                .await;
                let (cpu_tx, mut cpu_rx) = mpsc::channel::<oneshot::Sender<f64>>(1);
                let thread = FakeThread {
                    base_url: fake.base_url.clone(),
                    ca_pem: fake.ca_pem().to_vec(),
                    cpu: cpu_tx,
                };
                ready_tx.send(thread).expect("bench alive");
                while let Some(reply) = cpu_rx.recv().await {
                    let _ = reply.send(thread_cpu_s().unwrap_or(f64::NAN));
                }
                drop(fake);
            });
        })?;
    Ok(ready_rx.recv()?)
}

impl FakeThread {
    async fn cpu_s(&self) -> Result<f64> {
        let (tx, rx) = oneshot::channel();
        self.cpu.send(tx).await?;
        Ok(rx.await?)
    }
}

struct Level {
    in_flight: usize,
    pushes: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    process_cpu_s: f64,
    fake_cpu_s: f64,
}

impl Level {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    fn per_s(&self) -> f64 {
        self.pushes as f64 / self.wall.as_secs_f64()
    }

    fn print(&self) {
        let per_push = |s: f64| s * 1e6 / self.pushes as f64;
        println!(
            "{:>9} {:>10.0} {:>9.0} {:>9.0} {:>12.1} {:>9.1} {:>9.1}",
            self.in_flight,
            self.per_s(),
            self.percentile(0.50).as_secs_f64() * 1e6,
            self.percentile(0.99).as_secs_f64() * 1e6,
            per_push(self.process_cpu_s),
            per_push(self.fake_cpu_s),
            per_push(self.process_cpu_s - self.fake_cpu_s),
        );
    }
}

/// `pushes` pushes from `in_flight` tasks, each to its own device token.
async fn run(
    client: &ApnsClient,
    in_flight: usize,
    pushes: usize,
    offset: usize,
) -> Result<Vec<Duration>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, next) = (client.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= pushes {
                    return Ok(latencies);
                }
                let token = format!("{:064x}", offset + n);
                let report = client.push(&token, TOPIC).await;
                if !matches!(report.outcome, PushOutcome::Delivered { .. }) {
                    bail!("push {n} not delivered: {report:?}");
                }
                latencies.push(report.latency);
            }
        });
    }
    let mut all = Vec::with_capacity(pushes);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    all.sort();
    Ok(all)
}

async fn bench() -> Result<()> {
    let pushes: usize = env_or("WALLETCARDS_BENCH_PUSHES", 20_000)?;
    let levels: String = env_or("WALLETCARDS_BENCH_INFLIGHT", "1,16,64,256".to_owned())?;
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let fake = start_fake(key.public_key_to_pem()?)?;
    let client = ApnsClient::new(ApnsConfig {
        base_url: fake.base_url.clone(),
        credential: ApnsCredential::Token {
            key_p8_pem: key.private_key_to_pem_pkcs8()?.into(),
            key_id: KEY_ID.into(),
            team_id: TEAM_ID.into(),
        },
        extra_root_pem: Some(fake.ca_pem.clone()),
        request_timeout: Duration::from_secs(10),
    })?;
    run(&client, 64, 2000, usize::MAX / 2).await?;
    println!("APNs pushes over one HTTP/2 connection (token auth), {pushes} pushes per level");
    println!(
        "{:>9} {:>10} {:>9} {:>9} {:>12} {:>9} {:>9}",
        "in-flight", "pushes/s", "p50 µs", "p99 µs", "CPU µs/push", "fake", "client"
    );
    let mut best: f64 = 0.0;
    for (i, in_flight) in levels.split(',').enumerate() {
        let in_flight: usize = in_flight.trim().parse().context("in-flight level")?;
        ensure!(in_flight > 0, "in-flight levels must be positive");
        let (cpu0, fake0, started) = (process_cpu_s()?, fake.cpu_s().await?, Instant::now());
        let latencies = run(&client, in_flight, pushes, i * pushes).await?;
        let wall = started.elapsed();
        let level = Level {
            in_flight,
            pushes,
            wall,
            latencies,
            process_cpu_s: process_cpu_s()? - cpu0,
            fake_cpu_s: fake.cpu_s().await? - fake0,
        };
        level.print();
        best = best.max(level.per_s());
    }
    let verdict = if best >= TARGET_PER_S {
        "met"
    } else {
        "NOT met"
    };
    println!("best {best:.0} pushes/s; target {TARGET_PER_S:.0}/s {verdict}");
    Ok(())
}

fn main() -> Result<()> {
    let threads: usize = env_or("WALLETCARDS_BENCH_CLIENT_THREADS", 1)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(bench())
}
