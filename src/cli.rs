//! The command line: `serve`, `migrate`, `dev-certs`, `verify`, `import-orders`, `recompute`,
//! and `api-key`, `api-keys` and `revoke-api-key`.

mod import_orders;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::apple::devcerts::{DevCertPaths, write_dev_certs};
use crate::apple::verify::{VerifyOptions, verify_pkpass};
use crate::config::Settings;
use crate::startup::{Application, DEV_PASS_TYPE_ID, DEV_TEAM_ID, configured_wwdr};
use crate::store::{Role, Store};

#[derive(Debug, Parser)]
#[command(
    name = "walletcards",
    version,
    about = "Signed Apple Wallet loyalty cards for B2B suppliers"
)]
pub struct Cli {
    /// A TOML configuration file; `WALLETCARDS_*` variables override it.
    #[arg(long, global = true, env = "WALLETCARDS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the service (migrations first; development certificates on first start).
    Serve,
    /// Applies database migrations and exits.
    Migrate,
    /// Writes development certificates (a test root, a Pass Type ID certificate, a Google
    /// service account) that passes can be signed with but no device will install.
    DevCerts {
        /// Folder to write into (default: the configured certs folder, `./certs`).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = DEV_PASS_TYPE_ID)]
        pass_type_id: String,
        #[arg(long, default_value = DEV_TEAM_ID)]
        team_id: String,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Checks a .pkpass against the validator checklist; exits 1 when an E check fails.
    Verify {
        file: PathBuf,
        /// Also trust this WWDR certificate (PEM); repeatable. The configured WWDR
        /// (`certs/apple/wwdr.pem` by default) is trusted when it exists.
        #[arg(long)]
        wwdr: Vec<PathBuf>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Books orders from a CSV file whose header names the fields of `POST /api/v1/orders`;
    /// exits 2 when some rows were rejected. Re-running a file books nothing twice.
    ImportOrders {
        /// The CSV file; `-` reads standard input.
        file: PathBuf,
        /// Print the summary and the rejected rows as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Applies the time-based balance changes that are due (moved windows, expired cashback
    /// and rewards) and exits; `serve` does the same every 30 seconds.
    Recompute,
    /// Creates an API key and prints it once.
    ApiKey {
        #[arg(long, value_parser = ["admin", "desk", "erp-webhook"])]
        role: String,
        #[arg(long)]
        name: String,
    },
    /// Lists the API keys (never their secrets), revoked ones too.
    ApiKeys,
    /// Revokes an API key and ends the staff sessions signed in with it. The last admin key
    /// is kept unless `WALLETCARDS_ADMIN_KEY` is set.
    RevokeApiKey {
        /// The key's id: the part of its token before the dot (`key_…`).
        id: String,
    },
}

/// Runs the command line; the binary's `main` only calls this.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve => serve(&settings).await?,
        Command::Migrate => {
            let store = Store::connect(&settings.database_url(), 1).await?;
            store.migrate().await?;
            println!("migrations applied to {}", store_kind(&settings));
        }
        Command::DevCerts {
            dir,
            pass_type_id,
            team_id,
            force,
        } => {
            let dir = dir.unwrap_or_else(|| settings.certs_dir.clone());
            let paths = write_dev_certs(&dir, &pass_type_id, &team_id, force)?;
            print_dev_certs(&paths);
        }
        Command::Verify { file, wwdr, json } => return verify(&settings, &file, &wwdr, json),
        Command::ImportOrders { file, json } => {
            return import_orders::run(&settings, &file, json).await;
        }
        Command::Recompute => {
            let store = Store::connect(&settings.database_url(), 1).await?;
            store.migrate().await?;
            let done = crate::jobs::recompute::run_once(&store, crate::store::now()).await?;
            println!(
                "recomputed {} holder(s); {} card(s) changed",
                done.holders, done.cards
            );
        }
        Command::ApiKey { role, name } => {
            let store = Store::connect(&settings.database_url(), 1).await?;
            store.migrate().await?;
            let role = Role::parse(&role).context("unknown role")?;
            let key = crate::http::auth::create_api_key(&store, &name, role).await?;
            println!("{key}");
        }
        Command::ApiKeys => {
            let store = Store::connect(&settings.database_url(), 1).await?;
            store.migrate().await?;
            list_api_keys(&store).await?;
        }
        Command::RevokeApiKey { id } => {
            let store = Store::connect(&settings.database_url(), 1).await?;
            store.migrate().await?;
            return revoke_api_key(&store, &settings, &id).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list_api_keys(store: &Store) -> anyhow::Result<()> {
    println!(
        "{:<36}  {:<11}  {:<7}  {:<20}  {:<20}  name",
        "id", "role", "status", "created", "last used"
    );
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_api_keys(after.as_deref(), 500).await?;
        for k in &page.items {
            let status = if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            };
            let used = k.last_used_at.map_or_else(|| "never".to_owned(), time);
            println!(
                "{:<36}  {:<11}  {:<7}  {:<20}  {:<20}  {}",
                k.id.as_str(),
                k.role.as_str(),
                status,
                time(k.created_at),
                used,
                k.name
            );
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

async fn revoke_api_key(store: &Store, settings: &Settings, id: &str) -> anyhow::Result<ExitCode> {
    use crate::store::RevokeError;
    let Some(key_id) = crate::domain::ids::ApiKeyId::parse(id) else {
        eprintln!("`{id}` is not an API key id (key_ and 32 hex digits)");
        return Ok(ExitCode::FAILURE);
    };
    match store
        .revoke_api_key(&key_id, crate::store::now(), settings.admin_key.is_some())
        .await
    {
        Ok(key) => {
            println!("revoked {} ({}, {})", key.id, key.role.as_str(), key.name);
            Ok(ExitCode::SUCCESS)
        }
        Err(RevokeError::NotFound) => {
            eprintln!("no API key {id}");
            Ok(ExitCode::FAILURE)
        }
        Err(RevokeError::LastAdmin) => {
            eprintln!(
                "{id} is the last admin key; create another first: walletcards api-key --role admin --name <who>"
            );
            Ok(ExitCode::FAILURE)
        }
        Err(RevokeError::Store(e)) => Err(e.into()),
    }
}

fn store_kind(settings: &Settings) -> &'static str {
    if settings.database_url().starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    let addr = app.local_addr()?;
    tracing::info!(listen = %addr, public_url = app.public_url(), database = store_kind(settings), "walletcards is serving");
    println!(
        "walletcards is listening on http://{addr} (public URL {})",
        app.public_url()
    );
    match &app.created_admin_key {
        Some(key) => println!(
            "\nBootstrap admin API key (shown once, store it now):\n\n    {key}\n\nUse it as `Authorization: Bearer <key>` on {}/api/v1/…\n",
            app.public_url()
        ),
        None if settings.admin_key.is_some() => {
            println!("admin API key: the one in WALLETCARDS_ADMIN_KEY")
        }
        None => println!(
            "admin API key: created at first start; make another with `walletcards api-key --role admin --name <who>`"
        ),
    }
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    app.run_until(shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn print_dev_certs(paths: &DevCertPaths) {
    println!("development certificates written (they sign passes no device will install):");
    for (what, p) in [
        ("WWDR-like test root", &paths.wwdr_cert),
        ("its key", &paths.wwdr_key),
        ("Pass Type ID certificate", &paths.signer_cert),
        ("its key", &paths.signer_key),
        ("Google service account", &paths.google_service_account),
    ] {
        println!("  {what:<26} {}", p.display());
    }
}

fn verify(
    settings: &Settings,
    file: &Path,
    wwdr: &[PathBuf],
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut trusted = Vec::new();
    let configured = configured_wwdr(settings);
    let extra = configured.is_file().then_some(configured);
    for path in wwdr.iter().chain(extra.as_ref()) {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let certs = openssl::x509::X509::stack_from_pem(&pem)
            .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
        trusted.extend(certs);
    }
    let report = verify_pkpass(
        &bytes,
        &VerifyOptions {
            trusted_wwdr: trusted,
            now: chrono::Utc::now(),
        },
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
