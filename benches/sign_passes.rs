//! Pass signing throughput: builds and signs N passes of the `default` design from a warm
//! signer, as `passes::PassMaker::render_pkpass` does it (zero balance → card face → pass.json,
//! localized strings, manifest, PKCS#7 signature, zip), and compares the rate with the rate of
//! bare RSA-2048 signatures measured the same way.
//!
//! Why CPU time: `openssl speed` divides its operation count by the CPU time it used, and this
//! VM loses 8–25 % of wall time to hypervisor steal, so a wall-clock rate would mostly measure
//! the neighbours. Every rate here is per CPU-second of the one thread doing the work, i.e. per
//! core, and the wall rate is printed only for context.
//!
//! The thread's CPU time is the kernel's own accounting of it, read from procfs:
//! `/proc/thread-self/schedstat` (on-CPU run time in ns, the precise user + system total) and
//! `/proc/thread-self/stat` (utime and stime in clock ticks: exactly what
//! `getrusage(RUSAGE_THREAD)` returns, at tick resolution, for the user/system split). Calling
//! `getrusage` itself needs `unsafe`, which the crate forbids for every target including this
//! one (`forbid` cannot be lowered by `allow` or `expect`), and procfs gives the same numbers.
//!
//! Measured, in one process and on one thread:
//! 1. 200 warm-up passes, then N passes (`WALLETCARDS_BENCH_PASSES`, default 5000), each with
//!    its own serial, authentication token and card code;
//! 2. `Signer::sign_manifest` alone over N manifests identical to those of step 1, so the time
//!    outside the signature is the difference;
//! 3. bare RSA-2048 PKCS#1 v1.5 SHA-256 signatures with the same key (the in-process
//!    reference);
//! 4. `openssl speed -seconds 3 rsa2048` if `openssl` is on PATH (the reference).
//!
//! Run: `cargo bench --bench sign_passes`.

use std::hint::black_box;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::Utc;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};
use walletcards::apple::devcerts::write_dev_certs;
use walletcards::apple::package::{PassContent, build_pkpass, pass_json};
use walletcards::apple::signer::{Signer, SignerSource};
use walletcards::apple::template::{PassTemplate, PassTemplates};
use walletcards::domain::balance::Balance;
use walletcards::domain::codes::{AuthToken, CardCode, SerialNumber};
use walletcards::domain::face::{CardFace, FaceInput, card_face};
use walletcards::domain::ids::ProgramId;
use walletcards::domain::model::{
    BalanceScope, Branding, CardStatus, Color, Program, ProgramStatus,
};
use walletcards::domain::money::Currency;
use walletcards::domain::rules::{Kind, Rules};

const PASS_TYPE_ID: &str = "pass.com.example.loyalty";
const TEAM_ID: &str = "ABCDE12345";
const WEB_SERVICE_URL: &str = "https://cards.example.com/passes";
const ORGANIZATION: &str = "Northwind Supply";
const WARM_UP: usize = 200;
const DEFAULT_PASSES: usize = 5000;
const PASSES_ENV: &str = "WALLETCARDS_BENCH_PASSES";
/// The target: passes per CPU-second ≥ 0.8 × RSA-2048 signatures per CPU-second.
const TARGET_RATIO: f64 = 0.8;
/// Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat on every mainstream ABI.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// The calling thread's CPU time as the kernel accounts it.
#[derive(Debug, Clone, Copy)]
struct ThreadCpu {
    /// sum_exec_runtime: user + system, in ns.
    run_ns: u64,
    user_ticks: u64,
    sys_ticks: u64,
}

fn thread_cpu() -> Result<ThreadCpu> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("reading /proc/thread-self/schedstat")?;
    let run_ns = schedstat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("unexpected /proc/thread-self/schedstat: {schedstat:?}"))?;
    let stat = std::fs::read_to_string("/proc/thread-self/stat")
        .context("reading /proc/thread-self/stat")?;
    // The command name may contain spaces and parentheses; the fields after the last `)`
    // start with field 3 (state), so utime (14) and stime (15) are at indices 11 and 12.
    let after_comm = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("unexpected /proc/thread-self/stat: {stat:?}"))?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let tick = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("unexpected /proc/thread-self/stat: {stat:?}"))
    };
    Ok(ThreadCpu {
        run_ns,
        user_ticks: tick(11)?,
        sys_ticks: tick(12)?,
    })
}

/// System-wide (total, steal) jiffies from /proc/stat, to show how much the hypervisor took.
fn steal_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = cpu
        .split_whitespace()
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice] — guest time is
    // already counted in user and nice.
    let total = values.iter().take(8).sum();
    Some((total, *values.get(7)?))
}

/// CPU and wall time of one measured section.
#[derive(Debug, Clone, Copy)]
struct Sample {
    cpu: Duration,
    user_s: f64,
    sys_s: f64,
    wall: Duration,
    /// Share of all CPUs' time the hypervisor stole meanwhile, if /proc/stat says.
    steal: Option<f64>,
}

impl Sample {
    fn cpu_s(&self) -> f64 {
        self.cpu.as_secs_f64()
    }

    fn per_cpu_s(&self, ops: usize) -> f64 {
        ops as f64 / self.cpu_s()
    }

    fn us_per_op(&self, ops: usize) -> f64 {
        self.cpu_s() * 1e6 / ops as f64
    }

    fn per_wall_s(&self, ops: usize) -> f64 {
        ops as f64 / self.wall.as_secs_f64()
    }

    fn describe(&self) -> String {
        let steal = self
            .steal
            .map_or_else(String::new, |s| format!(", steal {:.1} %", s * 100.0));
        format!(
            "CPU {:.3} s (user {:.2} s + sys {:.2} s), wall {:.3} s{steal}",
            self.cpu_s(),
            self.user_s,
            self.sys_s,
            self.wall.as_secs_f64()
        )
    }
}

/// Runs `f` on this thread and measures it.
fn measure<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Sample)> {
    let steal_before = steal_jiffies();
    let cpu_before = thread_cpu()?;
    let started = Instant::now();
    let out = f()?;
    let wall = started.elapsed();
    let cpu_after = thread_cpu()?;
    let steal = match (steal_before, steal_jiffies()) {
        (Some((t0, s0)), Some((t1, s1))) if t1 > t0 => Some((s1 - s0) as f64 / (t1 - t0) as f64),
        _ => None,
    };
    let ticks = |after: u64, before: u64| after.saturating_sub(before) as f64 / CLOCK_TICKS_PER_SEC;
    Ok((
        out,
        Sample {
            cpu: Duration::from_nanos(cpu_after.run_ns - cpu_before.run_ns),
            user_s: ticks(cpu_after.user_ticks, cpu_before.user_ticks),
            sys_s: ticks(cpu_after.sys_ticks, cpu_before.sys_ticks),
            wall,
            steal,
        },
    ))
}

/// A cumulative-discount program with three tiers over a rolling year, branded, as an
/// operator would create it through the admin API.
fn program() -> Result<Program> {
    let rules = json!({
        "tiers": [
            {"name": "Bronze", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Silver", "min_spend_minor": 500_000, "percent_bps": 500},
            {"name": "Gold", "min_spend_minor": 2_000_000, "percent_bps": 800}
        ],
        "window": {"rolling_days": 365}
    });
    let rules = Rules::parse(Kind::CumulativeDiscount, &rules).map_err(|e| anyhow!("{e}"))?;
    let now = Utc::now();
    Ok(Program {
        id: ProgramId::generate(),
        name: "Northwind Partner Discount".into(),
        rules,
        currency: Currency::parse("EUR").context("EUR")?,
        time_zone: chrono_tz::Europe::Berlin,
        balance_scope: BalanceScope::Member,
        design: "default".into(),
        branding: Branding {
            background_color: Some(Color(18, 52, 86)),
            foreground_color: Some(Color(255, 255, 255)),
            label_color: Some(Color(176, 200, 232)),
            logo_text: Some("Northwind".into()),
            organization_name: Some(ORGANIZATION.into()),
        },
        status: ProgramStatus::Active,
        created_at: now,
        updated_at: now,
    })
}

/// What the store holds for one card.
struct Card {
    serial: SerialNumber,
    auth_token: AuthToken,
    code: CardCode,
    code_display: String,
    holder: &'static str,
    company: &'static str,
}

fn cards(n: usize) -> Vec<Card> {
    const HOLDERS: [&str; 4] = [
        "Anna Schmidt",
        "Jörg Weiß",
        "Мария Иванова",
        "Li Wei-Ling Thompson",
    ];
    const COMPANIES: [&str; 3] = [
        "Bäckerei Müller GmbH",
        "ООО «Северный ветер»",
        "Harbour Street Café & Bistro Ltd",
    ];
    (0..n)
        .map(|i| {
            let code = CardCode::generate();
            Card {
                serial: SerialNumber::generate(),
                auth_token: AuthToken::generate(),
                code_display: code.display(),
                code,
                holder: HOLDERS[i % HOLDERS.len()],
                company: COMPANIES[i % COMPANIES.len()],
            }
        })
        .collect()
}

/// The face `domain::card::face_of` computes for a freshly issued card.
fn face(program: &Program, card: &Card) -> CardFace {
    let balance = Balance::zero(&program.rules);
    card_face(&FaceInput {
        program,
        holder_name: card.holder,
        company_name: card.company,
        code: &card.code,
        status: CardStatus::Active,
        balance: &balance,
        notify: None,
    })
}

fn content<'a>(program: &'a Program, card: &'a Card, face: &'a CardFace) -> PassContent<'a> {
    PassContent {
        serial: card.serial.as_str(),
        auth_token: card.auth_token.expose(),
        barcode_message: card.code.as_str(),
        barcode_alt_text: &card.code_display,
        organization_name: program
            .branding
            .organization_name
            .as_deref()
            .unwrap_or(ORGANIZATION),
        description: &program.name,
        branding: &program.branding,
        web_service_url: WEB_SERVICE_URL,
        voided: false,
        face,
    }
}

/// What `PassMaker::render_pkpass` does on the blocking pool for one card.
fn render(
    signer: &Signer,
    design: &PassTemplate,
    program: &Program,
    card: &Card,
) -> Result<Vec<u8>> {
    let face = face(program, card);
    Ok(build_pkpass(
        signer,
        design,
        &content(program, card, &face),
    )?)
}

fn zip_entry(pkpass: &[u8], name: &str) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(pkpass))?;
    let mut bytes = Vec::new();
    archive.by_name(name)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The manifest of `card`'s pass. Only pass.json differs from card to card (the localized
/// strings depend on the face, which is the same for every zero-balance card here), so it is
/// `template` with the pass.json hash replaced.
fn manifest_of(
    template: &Map<String, Value>,
    signer: &Signer,
    design: &PassTemplate,
    program: &Program,
    card: &Card,
) -> Result<Vec<u8>> {
    let face = face(program, card);
    let json = pass_json(signer, design, &content(program, card, &face));
    let mut manifest = template.clone();
    manifest.insert("pass.json".into(), json!(hex::encode(Sha1::digest(&json))));
    Ok(serde_json::to_vec(&Value::Object(manifest))?)
}

/// RSA-2048 PKCS#1 v1.5 signature over SHA-256 of `message`, as openssl's EVP API makes it.
fn rsa_sign(key: &PKey<Private>, message: &[u8]) -> Result<Vec<u8>> {
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key)?;
    signer.set_rsa_padding(Padding::PKCS1)?;
    signer.update(message)?;
    Ok(signer.sign_to_vec()?)
}

/// `openssl speed -seconds 3 rsa2048`: its RSA-2048 sign/s (per CPU-second, one process).
fn openssl_speed() -> Result<(f64, String)> {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .output()
        .context("running openssl speed")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "openssl speed failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("rsa") && l.contains("2048 bits"))
        .ok_or_else(|| anyhow!("no `rsa 2048 bits` line in openssl speed output:\n{stdout}"))?;
    // `rsa 2048 bits 0.000727s 0.000021s   1375.3  47224.4` (3.0) or with encrypt/decrypt
    // columns (3.2+): the timings end in `s`, the first plain number is sign/s.
    let (_, after_bits) = line
        .split_once("bits")
        .ok_or_else(|| anyhow!("unexpected line {line:?}"))?;
    let sign_per_s = after_bits
        .split_whitespace()
        .filter(|t| !t.ends_with('s'))
        .find_map(|t| t.parse::<f64>().ok())
        .ok_or_else(|| anyhow!("no sign/s figure in {line:?}"))?;
    Ok((sign_per_s, line.trim().to_owned()))
}

fn passes_from_env() -> Result<usize> {
    match std::env::var(PASSES_ENV) {
        Ok(v) => {
            let n: usize = v
                .trim()
                .parse()
                .with_context(|| format!("{PASSES_ENV}={v:?} is not a count"))?;
            ensure!(n > 0, "{PASSES_ENV} must be at least 1");
            Ok(n)
        }
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PASSES),
        Err(e) => bail!("{PASSES_ENV}: {e}"),
    }
}

fn verdict(ratio: f64) -> &'static str {
    if ratio >= TARGET_RATIO {
        "PASS"
    } else {
        "FAIL"
    }
}

fn main() -> Result<()> {
    let n = passes_from_env()?;

    // Set-up, not measured: dev certificates, a warm signer, the design, the cards.
    let dir = tempfile::tempdir()?;
    let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false)?;
    let source = SignerSource::Pem {
        cert: paths.signer_cert.clone(),
        key: paths.signer_key.clone(),
        key_password: None,
    };
    let signer = Signer::load(&source, &paths.wwdr_cert, None, None, Utc::now())?;
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("pass_templates");
    let designs = PassTemplates::load(&templates)?;
    let design = designs.get("default").context("no default design")?;
    let program = program()?;
    let warm_up = cards(WARM_UP);
    let cards = cards(n);

    // 1. Warm-up, then N passes.
    let mut sample_pass = Vec::new();
    for card in &warm_up {
        sample_pass = render(&signer, &design, &program, card)?;
    }
    let (bytes, passes) = measure(|| {
        let mut bytes = 0usize;
        for card in &cards {
            let pkpass = render(&signer, &design, &program, card)?;
            bytes += pkpass.len();
            black_box(pkpass);
        }
        Ok(bytes)
    })?;

    // 2. sign_manifest alone over the same manifests (built outside the measurement).
    let last_card = warm_up.last().context("no warm-up card")?;
    let real_manifest = zip_entry(&sample_pass, "manifest.json")?;
    let template: Map<String, Value> = serde_json::from_slice(&real_manifest)?;
    let rebuilt = manifest_of(&template, &signer, &design, &program, last_card)?;
    ensure!(
        rebuilt == real_manifest,
        "reconstructed manifest differs from the one in the pass"
    );
    let manifests: Vec<Vec<u8>> = cards
        .iter()
        .map(|card| manifest_of(&template, &signer, &design, &program, card))
        .collect::<Result<_>>()?;
    let signature_bytes = signer.sign_manifest(&manifests[0])?.len();
    let ((), signing) = measure(|| {
        for manifest in &manifests {
            black_box(signer.sign_manifest(manifest)?);
        }
        Ok(())
    })?;

    // 3. Bare RSA-2048 signatures with the same key.
    let key = PKey::private_key_from_pem(&std::fs::read(&paths.signer_key)?)?;
    ensure!(
        key.rsa().map(|r| r.size() * 8)? == 2048,
        "the signer key is not RSA-2048"
    );
    for manifest in manifests.iter().take(WARM_UP) {
        black_box(rsa_sign(&key, manifest)?);
    }
    let ((), rsa) = measure(|| {
        for manifest in &manifests {
            black_box(rsa_sign(&key, manifest)?);
        }
        Ok(())
    })?;

    // 4. openssl speed, same run.
    let speed = openssl_speed();

    let pass_rate = passes.per_cpu_s(n);
    let rsa_rate = rsa.per_cpu_s(n);
    let pass_us = passes.us_per_op(n);
    let sign_us = signing.us_per_op(n);
    let rsa_us = rsa.us_per_op(n);

    println!();
    println!(
        "walletcards sign_passes: `default` design, cumulative discount (3 tiers), warm signer"
    );
    println!(
        "CPU time = this thread's user + sys (kernel accounting, as getrusage(RUSAGE_THREAD))"
    );
    println!();
    println!("passes built and signed    {n} (after {WARM_UP} warm-up)");
    println!("  measured                 {}", passes.describe());
    println!("  passes per CPU-second    {pass_rate:.1}  (one core)");
    println!("  CPU per pass             {pass_us:.1} µs");
    println!("  wall passes/s            {:.1}", passes.per_wall_s(n));
    println!(
        "  bytes per pass           {:.0}  (signature {signature_bytes} B)",
        bytes as f64 / n as f64
    );
    println!();
    println!("where a pass's CPU goes");
    println!(
        "  sign_manifest alone      {sign_us:.1} µs  ({:.1} /CPU-s; {})",
        signing.per_cpu_s(n),
        signing.describe()
    );
    println!("    of which RSA-2048      {rsa_us:.1} µs  (in-process reference below)");
    println!(
        "    PKCS#7 around it       {:.1} µs  (attributes, digests, certificates, DER)",
        sign_us - rsa_us
    );
    println!(
        "  outside the signature    {:.1} µs  (face, pass.json, strings, manifest, zip)",
        pass_us - sign_us
    );
    println!();
    println!("RSA-2048 PKCS#1 v1.5 SHA-256 sign/s, per CPU-second, one core");
    println!(
        "  in-process (openssl crate, same key)  {rsa_rate:.1}  ({})",
        rsa.describe()
    );
    match &speed {
        Ok((rate, line)) => {
            println!("  openssl speed -seconds 3 rsa2048      {rate:.1}  ({line})");
        }
        Err(e) => println!("  openssl speed -seconds 3 rsa2048      unavailable: {e:#}"),
    }
    println!();
    println!("ratio passes/s ÷ RSA sign/s (target ≥ {TARGET_RATIO})");
    if let Ok((rate, _)) = &speed {
        let ratio = pass_rate / rate;
        println!("  vs openssl speed         {ratio:.3}  {}", verdict(ratio));
    }
    let ratio = pass_rate / rsa_rate;
    println!("  vs in-process RSA        {ratio:.3}  {}", verdict(ratio));
    Ok(())
}
