//! A card's signed Apple pass: the one place that joins a card bundle, its face and its design
//! with the Apple package, shared by the admin API, the member page and the PassKit web
//! service. It takes what signing needs (the signer, each program's design as saved now, the
//! public URL, the supplier's name), not the application state. Signed passes are cached per
//! (card, version) in process, so the storm of fetches that follows a push signs each version
//! once; a saved design gives every card of its program a new version.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use quick_cache::Weighter;

use crate::apple::package::{PassContent, PassError, build_pkpass};
use crate::apple::signer::Signer;
use crate::apple::template::PassTemplate;
use crate::designs::{MEMBER_PAGE_LABEL, member_url};
use crate::domain::card::{CardBundle, face_of};
use crate::domain::face::{CardFace, FaceField, FaceValue};
use crate::domain::ids::CardId;
use crate::domain::model::CardStatus;
use crate::program_designs::{LiveDesigns, LiveError};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Design(#[from] LiveError),
    #[error(transparent)]
    Pass(#[from] PassError),
    #[error("signing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What signing a card's pass takes.
pub struct PassMaker {
    pub signer: Arc<Signer>,
    /// Each program's design as saved now (database, folder or built in).
    pub designs: Arc<LiveDesigns>,
    /// Public base URL without trailing slash.
    pub public_url: Arc<str>,
    /// The supplier's name on passes whose program names none.
    pub organization_name: Arc<str>,
}

impl PassMaker {
    /// Builds and signs the card's pass in its program's design as saved now.
    pub async fn render_pkpass(&self, bundle: CardBundle) -> Result<Vec<u8>, RenderError> {
        let design = self.designs.for_program(&bundle.program).await?;
        self.render_with(bundle, Arc::clone(&design.template)).await
    }

    /// Builds and signs the card's pass on `template` on the blocking pool (signing is CPU
    /// work): the card's own design, or a draft's for a sample.
    pub async fn render_with(
        &self,
        bundle: CardBundle,
        template: Arc<PassTemplate>,
    ) -> Result<Vec<u8>, RenderError> {
        let signer = Arc::clone(&self.signer);
        let web_service_url = format!("{}/passes", self.public_url);
        let member_page = member_url(&self.public_url, &bundle.card);
        let organization = Arc::clone(&self.organization_name);
        let span = tracing::Span::current();
        let bytes = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let face = pass_face(&bundle, member_page);
            let b = &bundle;
            let content = PassContent {
                serial: b.card.serial.as_str(),
                auth_token: b.card.auth_token.expose(),
                barcode_message: b.card.code.as_str(),
                barcode_alt_text: &b.card.code.display(),
                organization_name: b
                    .program
                    .branding
                    .organization_name
                    .as_deref()
                    .unwrap_or(&organization),
                description: &b.program.name,
                branding: &b.program.branding,
                web_service_url: &web_service_url,
                voided: b.card.status == CardStatus::Revoked,
                face: &face,
            };
            build_pkpass(&signer, &template, &content)
        })
        .await??;
        Ok(bytes)
    }
}

/// What a card's pass shows: its face, with the link to the member page (`member_url`) on
/// the back, which Wallet turns into a tap target. The designer's preview shows the same.
pub fn pass_face(bundle: &CardBundle, member_url: String) -> CardFace {
    let mut face = face_of(bundle);
    face.back.push(FaceField {
        key: "member_page",
        label: MEMBER_PAGE_LABEL,
        value: FaceValue::Text(member_url),
        change_message: None,
    });
    face
}

/// Counters of the pass pipeline, read by `/metrics`. Relaxed atomics: each is a count on its
/// own, no two are read as one snapshot.
#[derive(Debug, Default)]
pub struct PassMetrics {
    /// Passes served from the cache (a fetch that waited for another's signing counts here).
    pub cache_hits: AtomicU64,
    /// Fetches that found no signed pass of the card's version.
    pub cache_misses: AtomicU64,
    /// Passes signed.
    pub signed: AtomicU64,
    /// Pass downloads answered with the pass (200), device and admin endpoints together.
    pub served_full: AtomicU64,
    /// Device fetches answered 304 Not Modified.
    pub served_not_modified: AtomicU64,
}

impl PassMetrics {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one answer to a pass download: the pass itself, or 304.
    pub fn served(&self, full: bool) {
        Self::add(if full {
            &self.served_full
        } else {
            &self.served_not_modified
        });
    }
}

/// Weighs a cached pass by its size, so the cache is bounded in bytes.
#[derive(Debug, Clone, Copy)]
struct ByteSize;

impl Weighter<(CardId, i64), Bytes> for ByteSize {
    fn weight(&self, _key: &(CardId, i64), pass: &Bytes) -> u64 {
        u64::try_from(pass.len()).unwrap_or(u64::MAX).max(1)
    }
}

/// Signed passes by (card id, card version), and the maker that signs the missing ones. A
/// version's pass never changes (every change of what a card shows, its status or its program,
/// member or company bumps the version), so entries need no expiry; the least useful go when
/// the byte budget is spent.
pub struct PassCache {
    maker: PassMaker,
    passes: quick_cache::sync::Cache<(CardId, i64), Bytes, ByteSize>,
    pub metrics: PassMetrics,
}

impl PassCache {
    /// A cache of the passes `maker` signs, holding at most about `max_bytes` of them.
    pub fn new(maker: PassMaker, max_bytes: u64) -> Self {
        // A pass is ~10 kB to ~500 kB depending on its images.
        let estimated_items = usize::try_from(max_bytes / 50_000).unwrap_or(1024).max(16);
        Self {
            maker,
            passes: quick_cache::sync::Cache::with_weighter(estimated_items, max_bytes, ByteSize),
            metrics: PassMetrics::default(),
        }
    }

    /// What signs the passes: for a sample pass outside the cache.
    pub fn maker(&self) -> &PassMaker {
        &self.maker
    }

    /// The signed pass of the card's current version: from the cache, or signed once while
    /// concurrent fetches of the same version wait for it.
    pub async fn signed_pass(&self, bundle: CardBundle) -> Result<Bytes, RenderError> {
        let key = (bundle.card.id.clone(), bundle.card.version);
        match self.passes.get_value_or_guard_async(&key).await {
            Ok(pass) => {
                PassMetrics::add(&self.metrics.cache_hits);
                Ok(pass)
            }
            Err(guard) => {
                PassMetrics::add(&self.metrics.cache_misses);
                let pass = Bytes::from(self.maker.render_pkpass(bundle).await?);
                PassMetrics::add(&self.metrics.signed);
                // Fails only if the placeholder was removed meanwhile; nothing here removes any.
                let _ = guard.insert(pass.clone());
                Ok(pass)
            }
        }
    }
}
