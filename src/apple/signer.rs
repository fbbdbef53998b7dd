//! The Pass Type ID signer: the only code that signs Apple Wallet passes.
//!
//! Everything that can be wrong with the certificates is checked once in [`Signer::load`], at
//! start-up, with an error naming the file, the setting and the fix; signing a manifest then
//! only does the RSA operation and a little DER assembly (spec §2.3, §2.8).

mod checks;
mod credentials;
mod error;
mod signed_data;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use openssl::error::ErrorStack;
use openssl::md::Md;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::provider::Provider;
use openssl::rsa::Padding;
use openssl::sha::sha256;
use openssl::x509::{X509, X509NameRef};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use x509_cert::der::{Any, Decode, Encode, Tag, Tagged};

use checks::*;
pub use credentials::SignerSource;
use credentials::*;
use error::crypto;
pub use error::{CertRole, ConfiguredFile, SignerError};
use signed_data::{KeyAlgorithm, SignedDataTemplate};

/// Apple's extension carrying the pass type identifier in Pass Type ID certificates.
pub const PASS_TYPE_ID_EXTENSION_OID: &str = "1.2.840.113635.100.6.1.16";
/// Serial number of Apple's WWDR G4 intermediate, the one that issues Pass Type ID certificates.
pub const APPLE_WWDR_G4_SERIAL: &str = "13DC77955271E53DC632E8CCFFE521F3CCC5CED2";

pub const SETTING_SIGNER_CERT: &str = "WALLETCARDS_APPLE__SIGNER_CERT";
pub const SETTING_SIGNER_KEY: &str = "WALLETCARDS_APPLE__SIGNER_KEY";
pub const SETTING_SIGNER_P12: &str = "WALLETCARDS_APPLE__SIGNER_P12";
pub const SETTING_SIGNER_P12_PASSWORD: &str = "WALLETCARDS_APPLE__SIGNER_P12_PASSWORD";
pub const SETTING_WWDR_CERT: &str = "WALLETCARDS_APPLE__WWDR_CERT";
pub const SETTING_PASS_TYPE_ID: &str = "WALLETCARDS_APPLE__PASS_TYPE_ID";
pub const SETTING_TEAM_ID: &str = "WALLETCARDS_APPLE__TEAM_ID";

const CN_PREFIX: &str = "Pass Type ID: ";
const CN_PREFIX_NFC: &str = "Pass Type ID with NFC: ";

/// How long before a certificate's expiry `serve` starts warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The checked signing identity, parsed once and shared (it is `Send + Sync`).
pub struct Signer {
    key: PKey<Private>,
    algorithm: KeyAlgorithm,
    /// The signature's fixed parts, including the signer and WWDR certificates, which are sent
    /// along so devices can build the chain to Apple's root.
    template: SignedDataTemplate,
    pass_type_id: String,
    team_id: String,
    not_after: DateTime<Utc>,
    wwdr_not_after: DateTime<Utc>,
    development: bool,
    nfc_enabled: bool,
    cert_pem: Vec<u8>,
    key_pem: SecretSlice<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("pass_type_id", &self.pass_type_id)
            .field("team_id", &self.team_id)
            .field("not_after", &self.not_after)
            .field("development", &self.development)
            .field("nfc_enabled", &self.nfc_enabled)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads and checks once at start. `expected_*` None = take it from the certificate.
    pub fn load(
        source: &SignerSource,
        wwdr_pem: &Path,
        expected_pass_type_id: Option<&str>,
        expected_team_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Signer, SignerError> {
        let Identity {
            cert,
            key,
            algorithm,
            cert_file,
        } = load_identity(source)?;
        let wwdr_file = ConfiguredFile::new(wwdr_pem, SETTING_WWDR_CERT);
        let wwdr_candidates = read_certificates(&wwdr_file)?;
        let decoded = decode(&cert, &cert_file)?;
        let (_, not_after) = check_validity(CertRole::PassTypeId, &cert_file, &decoded, now)?;
        let identity = check_identity(
            &cert,
            &decoded,
            &cert_file,
            expected_pass_type_id,
            expected_team_id,
        )?;
        let wwdr = pick_issuer(&cert, &cert_file, wwdr_candidates, &wwdr_file)?;
        let (_, wwdr_not_after) =
            check_validity(CertRole::Wwdr, &wwdr_file, &decode(&wwdr, &wwdr_file)?, now)?;
        let template = signed_data_template([&cert, &wwdr], &decoded, &cert_file, algorithm)?;
        Ok(Signer {
            development: !is_apple_wwdr_g4(&wwdr)?,
            cert_pem: cert.to_pem().map_err(crypto("encoding the certificate"))?,
            key_pem: key
                .private_key_to_pem_pkcs8()
                .map_err(crypto("encoding the private key"))?
                .into(),
            key,
            algorithm,
            template,
            pass_type_id: identity.pass_type_id,
            team_id: identity.team_id,
            not_after,
            wwdr_not_after,
            nfc_enabled: identity.nfc_enabled,
        })
    }

    /// Detached PKCS#7 SignedData in DER over `manifest`: certificates = signer + WWDR, signed
    /// attributes contentType, messageDigest (SHA-256) and exactly one signingTime (now).
    pub fn sign_manifest(&self, manifest: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sign_manifest_at(manifest, Utc::now())
    }

    fn sign_manifest_at(
        &self,
        manifest: &[u8],
        signing_time: DateTime<Utc>,
    ) -> Result<Vec<u8>, SignerError> {
        let attributes = self
            .template
            .signed_attributes(signing_time, &sha256(manifest));
        let signature = self
            .sign_digest(&sha256(attributes.as_der_set()))
            .map_err(SignerError::Sign)?;
        Ok(self.template.content_info(&attributes, &signature))
    }

    /// PKCS#1 v1.5 (RSA) or ECDSA over an already computed SHA-256 digest. The context is made
    /// per call because an OpenSSL context may not be shared between threads.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, ErrorStack> {
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.sign_init()?;
        if self.algorithm == KeyAlgorithm::Rsa {
            ctx.set_rsa_padding(Padding::PKCS1)?;
        }
        ctx.set_signature_md(Md::sha256())?;
        let mut signature = Vec::new();
        ctx.sign_to_vec(digest, &mut signature)?;
        Ok(signature)
    }

    pub fn pass_type_id(&self) -> &str {
        &self.pass_type_id
    }

    pub fn team_id(&self) -> &str {
        &self.team_id
    }

    /// When each certificate the passes carry stops being valid: `pass_type_id` (yearly:
    /// renew it in the Apple Developer portal; with certificate auth it is APNs's too) and
    /// `wwdr`. After that, devices refuse new and updated passes.
    pub fn expiries(&self) -> [(&'static str, DateTime<Utc>); 2] {
        [
            ("pass_type_id", self.not_after),
            ("wwdr", self.wwdr_not_after),
        ]
    }

    /// The certificates that expire within [`EXPIRY_WARNING_DAYS`] of `now`, logged as
    /// warnings (at start and by the hourly housekeeping of `serve`).
    pub fn warn_of_expiry(&self, now: DateTime<Utc>) -> usize {
        let soon = now + chrono::TimeDelta::days(EXPIRY_WARNING_DAYS);
        let expiring: Vec<_> = self
            .expiries()
            .into_iter()
            .filter(|(_, at)| *at <= soon)
            .collect();
        for (certificate, at) in &expiring {
            tracing::warn!(
                certificate,
                expires_at = %at,
                days_left = (*at - now).num_days(),
                "a signing certificate expires soon: after that, devices refuse new and updated passes; \
                 renew it (see certs.example/README.md) and restart"
            );
        }
        expiring.len()
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// true when the WWDR is not Apple's G4 (serial 13DC77955271E53DC632E8CCFFE521F3CCC5CED2): dev certs.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// true for "Pass Type ID with NFC" certificates, required for passes with an `nfc`
    /// dictionary or `personalization.json` (spec §2.3).
    pub fn is_nfc_enabled(&self) -> bool {
        self.nfc_enabled
    }

    pub fn certificate_pem(&self) -> Vec<u8> {
        self.cert_pem.clone()
    }

    /// Unencrypted PKCS#8 PEM; for the APNs TLS client, which needs the same identity.
    pub fn private_key_pem(&self) -> Vec<u8> {
        self.key_pem.expose_secret().to_vec()
    }
}
