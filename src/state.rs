//! The application state every handler receives: cheap to clone, built once at start.

use std::sync::Arc;

use crate::apple::signer::Signer;
use crate::designs::Designs;
use crate::passes::PassCache;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub signer: Arc<Signer>,
    pub designs: Arc<Designs>,
    /// Public base URL without trailing slash.
    pub public_url: Arc<str>,
    pub organization_name: Arc<str>,
    /// SHA-256 of the bootstrap admin key given by `WALLETCARDS_ADMIN_KEY`, if any.
    pub env_admin_key_hash: Option<[u8; 32]>,
    /// The ERP webhook's shared secret; unset turns the webhook off.
    pub webhook_secret: Option<Arc<secrecy::SecretString>>,
    /// The secret being rotated out, accepted beside `webhook_secret`.
    pub webhook_previous_secret: Option<Arc<secrecy::SecretString>>,
    /// Google Wallet, when it is on (issuer id and service account configured).
    pub google: Option<Arc<crate::google::Issuer>>,
    /// Verifies Google Wallet save/delete callbacks; `None` when they are not configured.
    pub google_callbacks: Option<Arc<crate::google::callback::CallbackVerifier>>,
    /// Counters of this process, shared with its workers.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The per-address request limit of the public pages.
    pub public_limit: Arc<crate::limit::PublicLimit>,
    /// Signed passes by card version, and the counters of the pass pipeline.
    pub passes: Arc<PassCache>,
    /// How many one-time links may be mailed to one address and through one invite an hour.
    pub mail_limits: MailLimits,
}

/// How many one-time links may be mailed within an hour (`WALLETCARDS_MAIL__PER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    pub per_address_per_hour: u32,
    pub per_invite_per_hour: u32,
}
