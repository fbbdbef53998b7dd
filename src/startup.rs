//! Building the application from its settings: store and migrations, the pass signer (with
//! development certificates on first start when none are configured), the designs, the
//! bootstrap admin key and the listening socket; then serving until told to stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::apple::apns::ApnsClient;
use crate::apple::devcerts::{DevCertPaths, write_dev_certs};
use crate::apple::signer::{Signer, SignerSource};
use crate::apple::template::PassTemplates;
use crate::config::Settings;
use crate::designs::Designs;
use crate::http::auth::{create_api_key, hash_env_key};
use crate::jobs::dispatch::{Channel, Dispatcher, Policy};
use crate::passes::{PassCache, PassMaker};
use crate::program_designs::LiveDesigns;
use crate::state::AppState;
use crate::store::{Role, Store};

/// Pass type id and team id of development certificates when none are configured.
pub const DEV_PASS_TYPE_ID: &str = "pass.dev.walletcards.loyalty";
pub const DEV_TEAM_ID: &str = "DEVTEAM000";

/// What the in-process cache of signed passes may hold, in bytes.
pub const PASS_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A built application, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The Apple dispatcher's APNs connection, when this process dispatches.
    apns: Option<crate::jobs::apple::Apns>,
    /// Whether this process runs the outbox dispatchers.
    dispatch: bool,
    /// Where the mail dispatcher sends mails, when this process dispatches.
    mailer: Option<crate::mail::Mailer>,
    outbox: Policy,
    /// Days delivered outbox rows are kept (0: for ever).
    keep_done_days: u32,
    database_url: String,
    max_body_bytes: usize,
    timeouts: crate::http::serve::Timeouts,
    /// The bootstrap admin key created at this start, if one was (shown once).
    pub created_admin_key: Option<String>,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let store = Store::connect(&settings.database_url(), settings.database_max_connections)
            .await
            .context("connecting to the database (WALLETCARDS_DATABASE_URL)")?;
        store
            .migrate()
            .await
            .context("applying database migrations")?;
        let signer = load_signer(settings)?;
        let apns = if settings.outbox.dispatch {
            let client = ApnsClient::from_settings(&settings.apple, &signer)
                .context("setting up the APNs connection (WALLETCARDS_APPLE__APNS_*)")?;
            Some(crate::jobs::apple::Apns {
                client,
                topic: signer.pass_type_id().to_owned(),
            })
        } else {
            None
        };
        let mailer = match settings.outbox.dispatch {
            true => Some(
                crate::mail::Mailer::from_settings(&settings.mail, &settings.data_dir)
                    .context("setting up mail (WALLETCARDS_MAIL__*)")?,
            ),
            false => None,
        };
        let loading = || {
            format!(
                "loading pass designs from {}",
                settings.templates_dir.display()
            )
        };
        let designs = Designs::load(&settings.templates_dir).with_context(loading)?;
        let templates = PassTemplates::prepare(&designs).with_context(loading)?;
        let created_admin_key = bootstrap_admin_key(&store, settings).await?;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {} (WALLETCARDS_BIND)", settings.bind))?;
        let public_url = settings.public_url(listener.local_addr()?);
        let google = crate::google::Issuer::from_settings(&settings.google, &public_url)
            .context("setting up Google Wallet (WALLETCARDS_GOOGLE__*)")?;
        match &google {
            Some(issuer) => tracing::info!(
                issuer_id = issuer.client.issuer_id(),
                callbacks = issuer.callback_url.as_deref().unwrap_or("off"),
                "Google Wallet is on"
            ),
            None => tracing::info!(
                "Google Wallet is off: set WALLETCARDS_GOOGLE__ISSUER_ID and \
                 WALLETCARDS_GOOGLE__SERVICE_ACCOUNT to issue Google Wallet cards"
            ),
        }
        let signer = Arc::new(signer);
        let public_url: Arc<str> = public_url.into();
        let organization_name: Arc<str> = settings.organization_name.as_str().into();
        let designs = Arc::new(designs);
        let live = LiveDesigns::new(Arc::clone(&designs), templates, store.clone());
        let pass_maker = PassMaker {
            signer: Arc::clone(&signer),
            designs: Arc::new(live),
            public_url: Arc::clone(&public_url),
            organization_name: Arc::clone(&organization_name),
        };
        let state = AppState {
            store,
            signer,
            designs,
            public_url,
            organization_name,
            env_admin_key_hash: settings
                .admin_key
                .as_ref()
                .map(|k| hash_env_key(k.expose_secret())),
            webhook_secret: settings.webhook_secret.clone().map(Arc::new),
            webhook_previous_secret: settings.webhook_previous_secret.clone().map(Arc::new),
            metrics: Arc::default(),
            google: google.map(Arc::new),
            google_callbacks: google_callbacks(settings)?.map(Arc::new),
            passes: Arc::new(PassCache::new(pass_maker, PASS_CACHE_BYTES)),
            public_limit: Arc::new(crate::limit::PublicLimit::new(
                settings.public_requests_per_minute,
                settings.trusted_proxy_networks()?,
            )),
            mail_limits: crate::state::MailLimits {
                per_address_per_hour: settings.mail.per_address_per_hour,
                per_invite_per_hour: settings.mail.per_invite_per_hour,
            },
        };
        Ok(Application {
            listener,
            state,
            apns,
            dispatch: settings.outbox.dispatch,
            mailer,
            outbox: (&settings.outbox).into(),
            keep_done_days: settings.outbox.keep_done_days,
            database_url: settings.database_url(),
            max_body_bytes: settings.max_body_bytes,
            timeouts: (&settings.http).into(),
            created_admin_key,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled, then drains open requests for up to 10 seconds.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let app = crate::http::app(self.state.clone(), self.max_body_bytes);
        let served = tokio::spawn(crate::http::serve::serve(
            self.listener,
            app,
            self.timeouts,
            shutdown.clone(),
        ));
        let recompute = tokio::spawn(crate::jobs::recompute::run(
            self.state.store.clone(),
            shutdown.clone(),
        ));
        let mut workers = Vec::new();
        let store = &self.state.store;
        let metrics = &self.state.metrics;
        if let Some(apns) = self.apns {
            let apple = crate::jobs::apple::Apple {
                store: store.clone(),
                pusher: apns,
                metrics: Arc::clone(metrics),
            };
            workers.push(spawn_dispatcher(
                store,
                apple,
                &self.outbox,
                metrics,
                &shutdown,
            ));
        }
        if let (true, Some(google)) = (self.dispatch, &self.state.google) {
            let channel = crate::jobs::google::Google {
                store: store.clone(),
                api: google.client.clone(),
                issuer_id: google.client.issuer_id().to_owned(),
                callback_url: google.callback_url.clone(),
                public_url: Arc::clone(&self.state.public_url),
                organization_name: Arc::clone(&self.state.organization_name),
                designs: Arc::clone(&self.state.passes.maker().designs),
                known_classes: Default::default(),
            };
            workers.push(spawn_dispatcher(
                store,
                channel,
                &self.outbox,
                metrics,
                &shutdown,
            ));
        }
        if let Some(mailer) = self.mailer {
            if let Some(dir) = mailer.folder() {
                tracing::info!(mail.dir = %dir.display(), "no SMTP host configured (WALLETCARDS_MAIL__HOST): mails are written to files");
            }
            let channel = crate::jobs::mail::Mail { mailer };
            workers.push(spawn_dispatcher(
                store,
                channel,
                &self.outbox,
                metrics,
                &shutdown,
            ));
        }
        if self.dispatch {
            workers.push(tokio::spawn(crate::jobs::housekeeping::run(
                self.state.store.clone(),
                Arc::clone(&self.state.signer),
                self.keep_done_days,
                shutdown.clone(),
            )));
        }
        if self.dispatch && self.state.store.engine() == crate::store::Engine::Postgres {
            workers.push(tokio::spawn(crate::jobs::dispatch::listen(
                self.database_url.clone(),
                self.state.store.outbox_signals(),
                shutdown.clone(),
            )));
        }
        shutdown.cancelled().await;
        let _ = recompute.await;
        for worker in workers {
            let _ = worker.await;
        }
        match tokio::time::timeout(Duration::from_secs(10), served).await {
            Ok(joined) => joined.context("server task")?,
            Err(_) => tracing::warn!("open requests did not finish within 10 s; stopping anyway"),
        }
        self.state.store.close().await;
        Ok(())
    }
}

/// Runs `channel`'s dispatcher in its own task until `shutdown`.
fn spawn_dispatcher<C: Channel>(
    store: &Store,
    channel: C,
    policy: &Policy,
    metrics: &Arc<crate::metrics::Metrics>,
    shutdown: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let dispatcher = Dispatcher::new(store.clone(), channel, policy.clone(), Arc::clone(metrics));
    tokio::spawn(Arc::new(dispatcher).run(shutdown.clone()))
}

/// The verifier of Google Wallet callbacks when an issuer id and root keys are configured.
fn google_callbacks(
    settings: &Settings,
) -> anyhow::Result<Option<crate::google::callback::CallbackVerifier>> {
    use crate::google::callback::{CallbackVerifier, RootKeySource};
    let g = &settings.google;
    let Some(issuer_id) = &g.issuer_id else {
        return Ok(None);
    };
    let roots = match (&g.callback_keys_file, &g.callback_keys_url) {
        (Some(file), _) => RootKeySource::from_file(file)
            .map_err(|e| anyhow::anyhow!("WALLETCARDS_GOOGLE__CALLBACK_KEYS_FILE: {e}"))?,
        (None, Some(url)) => RootKeySource::from_url(url.clone()),
        (None, None) => return Ok(None),
    };
    Ok(Some(CallbackVerifier {
        issuer_id: issuer_id.clone(),
        roots,
    }))
}

/// The configured signer, or development certificates under the certs folder (made on first
/// start) when no signer is configured.
fn load_signer(settings: &Settings) -> anyhow::Result<Signer> {
    let a = &settings.apple;
    let dev = DevCertPaths::in_dir(&settings.certs_dir);
    let wwdr = configured_wwdr(settings);
    let source = if let Some(p12) = &a.signer_p12 {
        let password = a
            .signer_p12_password
            .clone()
            .unwrap_or_else(|| String::new().into());
        SignerSource::P12 {
            path: p12.clone(),
            password,
        }
    } else if let (Some(cert), Some(key)) = (&a.signer_cert, &a.signer_key) {
        SignerSource::Pem {
            cert: cert.clone(),
            key: key.clone(),
            key_password: a.signer_key_password.clone(),
        }
    } else {
        if !dev.signer_cert.exists() && !dev.signer_key.exists() && a.wwdr_cert.is_none() {
            let pass_type_id = a.pass_type_id.as_deref().unwrap_or(DEV_PASS_TYPE_ID);
            let team_id = a.team_id.as_deref().unwrap_or(DEV_TEAM_ID);
            write_dev_certs(&settings.certs_dir, pass_type_id, team_id, false)
                .context("writing development certificates")?;
            tracing::warn!(certs.dir = %settings.certs_dir.display(), "no Apple signer configured: generated DEVELOPMENT certificates");
        }
        SignerSource::Pem {
            cert: dev.signer_cert.clone(),
            key: dev.signer_key.clone(),
            key_password: None,
        }
    };
    let signer = Signer::load(
        &source,
        &wwdr,
        a.pass_type_id.as_deref(),
        a.team_id.as_deref(),
        chrono::Utc::now(),
    )?;
    if signer.is_development() {
        tracing::warn!(
            pass_type_id = signer.pass_type_id(),
            "passes are signed with DEVELOPMENT certificates: they are structurally complete and verify against \
             the development root, but no iPhone will install them. See certs.example/README.md for real credentials."
        );
    }
    signer.warn_of_expiry(chrono::Utc::now());
    Ok(signer)
}

/// The WWDR certificate the service signs with: the configured one, else the certs folder's.
pub fn configured_wwdr(settings: &Settings) -> std::path::PathBuf {
    let default = || DevCertPaths::in_dir(&settings.certs_dir).wwdr_cert;
    settings.apple.wwdr_cert.clone().unwrap_or_else(default)
}

/// Makes sure an admin can get in: the key from `WALLETCARDS_ADMIN_KEY` works as is; without
/// it, the first start creates a key and returns it to be shown once.
async fn bootstrap_admin_key(store: &Store, settings: &Settings) -> anyhow::Result<Option<String>> {
    if settings.admin_key.is_some() || store.count_api_keys(Role::Admin).await? > 0 {
        return Ok(None);
    }
    Ok(Some(
        create_api_key(store, "bootstrap admin", Role::Admin).await?,
    ))
}
