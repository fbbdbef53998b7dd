//! The Pass Type ID signer: the only code that signs Apple Wallet passes.
//!
//! Everything that can be wrong with the certificates is checked once in [`Signer::load`], at
//! start-up, with an error naming the file, the setting and the fix; signing a manifest then
//! only does the RSA operation and a little DER assembly (spec §2.3, §2.8).

mod signed_data;

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

/// Where the Pass Type ID certificate and its private key come from.
#[derive(Debug, Clone)]
pub enum SignerSource {
    Pem {
        cert: PathBuf,
        key: PathBuf,
        key_password: Option<SecretString>,
    },
    P12 {
        path: PathBuf,
        password: SecretString,
    },
}

/// A configured file and the setting that names it, so every error can say both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredFile {
    /// Boxed to keep `SignerError` small enough to return by value.
    pub path: Box<Path>,
    pub setting: &'static str,
}

impl ConfiguredFile {
    fn new(path: &Path, setting: &'static str) -> Self {
        Self {
            path: path.into(),
            setting,
        }
    }
}

impl fmt::Display for ConfiguredFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (setting {})", self.path.display(), self.setting)
    }
}

/// Which of the two certificates a validity error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRole {
    PassTypeId,
    Wwdr,
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertRole::PassTypeId => "Pass Type ID certificate",
            CertRole::Wwdr => "WWDR certificate",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("cannot read {file}: {source}; check the path and that the service user may read it")]
    Unreadable {
        file: ConfiguredFile,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is not a {expected} ({detail}); {hint}")]
    Unparseable {
        file: ConfiguredFile,
        expected: &'static str,
        hint: &'static str,
        detail: String,
    },
    #[error(
        "wrong password for {file}: set {SETTING_SIGNER_P12_PASSWORD} to the password chosen when the .p12 was exported"
    )]
    WrongP12Password { file: ConfiguredFile },
    #[error(
        "{file} uses legacy encryption (RC2/3DES, as exported by macOS Keychain) but OpenSSL's legacy provider could not be loaded ({detail}); install it (ossl-modules/legacy.so, or set OPENSSL_MODULES) or re-export the .p12 with AES: openssl pkcs12 -export"
    )]
    LegacyProviderUnavailable {
        file: ConfiguredFile,
        detail: String,
    },
    #[error(
        "{file} has no {missing}; export the Pass Type ID certificate together with its private key"
    )]
    P12Incomplete {
        file: ConfiguredFile,
        missing: &'static str,
    },
    #[error(
        "the private key in {file} is encrypted and the key password is missing or wrong; provide the right password or store the key unencrypted (openssl pkey -in key.pem -out key.pem)"
    )]
    KeyPassword { file: ConfiguredFile },
    #[error(
        "the private key {key} does not belong to the certificate {cert}; point both settings at the same identity (the key the certificate request was made with)"
    )]
    KeyMismatch {
        cert: ConfiguredFile,
        key: ConfiguredFile,
    },
    #[error(
        "the private key {file} is a {found} key, which cannot sign passes; Pass Type ID certificates have RSA keys (EC keys are accepted too)"
    )]
    UnsupportedKey { file: ConfiguredFile, found: String },
    #[error(
        "the {role} {file} expired on {not_after} (now {now}); {}",
        renew_hint(*role)
    )]
    Expired {
        role: CertRole,
        file: ConfiguredFile,
        not_after: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "the {role} {file} is not valid before {not_before} (now {now}); check the system clock or use a certificate that is already valid"
    )]
    NotYetValid {
        role: CertRole,
        file: ConfiguredFile,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "{file} is not a Pass Type ID certificate: subject CN is {found:?}, expected \"{CN_PREFIX}<pass type id>\" or \"{CN_PREFIX_NFC}<pass type id>\"; create a Pass Type ID certificate in the Apple Developer portal"
    )]
    NotPassTypeIdCertificate { file: ConfiguredFile, found: String },
    #[error(
        "{file} is for pass type id {found:?} but {SETTING_PASS_TYPE_ID} is {expected:?}; set {SETTING_PASS_TYPE_ID}={found} or use the certificate of {expected}"
    )]
    PassTypeIdMismatch {
        file: ConfiguredFile,
        expected: String,
        found: String,
    },
    #[error(
        "{file} is for team {found:?} (subject OU) but {SETTING_TEAM_ID} is {expected:?}; set {SETTING_TEAM_ID}={found} or use a certificate of team {expected}"
    )]
    TeamIdMismatch {
        file: ConfiguredFile,
        expected: String,
        found: String,
    },
    #[error(
        "{file} has no team id (subject OU is missing); Apple's Pass Type ID certificates carry it, so use one from the Apple Developer portal"
    )]
    MissingTeamId { file: ConfiguredFile },
    #[error(
        "{file} lacks Apple's pass type extension {PASS_TYPE_ID_EXTENSION_OID}; Wallet rejects passes signed with it, use a Pass Type ID certificate issued by Apple"
    )]
    MissingPassTypeExtension { file: ConfiguredFile },
    #[error(
        "in {file} the pass type extension {PASS_TYPE_ID_EXTENSION_OID} says {found:?} but the subject CN says {expected:?}; the certificate is not a genuine Pass Type ID certificate, issue a new one"
    )]
    PassTypeExtensionMismatch {
        file: ConfiguredFile,
        expected: String,
        found: String,
    },
    #[error(
        "{cert} was issued by \"{signer_issuer}\" but {wwdr} contains {wwdr_subjects}; set {SETTING_WWDR_CERT} to the intermediate that issued it (Apple WWDR G4 for Pass Type ID certificates made after 2022-01-27)"
    )]
    WrongIssuer {
        cert: ConfiguredFile,
        wwdr: ConfiguredFile,
        signer_issuer: String,
        wwdr_subjects: String,
    },
    #[error(
        "{cert} names the subject of {wwdr} as issuer but its signature does not verify with that certificate's key; {SETTING_WWDR_CERT} holds a different certificate with the same name, download the right intermediate"
    )]
    IssuerSignatureInvalid {
        cert: ConfiguredFile,
        wwdr: ConfiguredFile,
    },
    #[error("OpenSSL failed while {context}: {source}")]
    Crypto {
        context: &'static str,
        #[source]
        source: ErrorStack,
    },
    #[error("signing the manifest failed: {0}")]
    Sign(#[source] ErrorStack),
}

fn renew_hint(role: CertRole) -> &'static str {
    match role {
        CertRole::PassTypeId => {
            "renew the Pass Type ID certificate in the Apple Developer portal and update the signer settings"
        }
        CertRole::Wwdr => {
            "download the current Apple WWDR intermediate (G4) and set WALLETCARDS_APPLE__WWDR_CERT to it"
        }
    }
}

fn crypto(context: &'static str) -> impl FnOnce(ErrorStack) -> SignerError {
    move |source| SignerError::Crypto { context, source }
}

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

/// The signer certificate and its key, read and matched.
struct Identity {
    cert: X509,
    key: PKey<Private>,
    algorithm: KeyAlgorithm,
    cert_file: ConfiguredFile,
}

/// Identity fields read from the signer certificate by the start-up checks.
struct CertIdentity {
    pass_type_id: String,
    team_id: String,
    nfc_enabled: bool,
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

fn is_apple_wwdr_g4(wwdr: &X509) -> Result<bool, SignerError> {
    let serial = wwdr
        .serial_number()
        .to_bn()
        .and_then(|bn| bn.to_hex_str().map(|hex| hex.to_string()))
        .map_err(crypto("reading the WWDR serial number"))?;
    Ok(serial.eq_ignore_ascii_case(APPLE_WWDR_G4_SERIAL))
}

fn read_file(file: &ConfiguredFile) -> Result<Vec<u8>, SignerError> {
    std::fs::read(&file.path).map_err(|source| SignerError::Unreadable {
        file: file.clone(),
        source,
    })
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

fn load_identity(source: &SignerSource) -> Result<Identity, SignerError> {
    let (cert, key, cert_file, key_file) = match source {
        SignerSource::Pem {
            cert,
            key,
            key_password,
        } => {
            let cert_file = ConfiguredFile::new(cert, SETTING_SIGNER_CERT);
            let key_file = ConfiguredFile::new(key, SETTING_SIGNER_KEY);
            let cert = read_signer_certificate(&cert_file)?;
            let key = read_private_key(&key_file, key_password.as_ref())?;
            (cert, key, cert_file, key_file)
        }
        SignerSource::P12 { path, password } => {
            let file = ConfiguredFile::new(path, SETTING_SIGNER_P12);
            let (cert, key) = read_p12(&file, password)?;
            (cert, key, file.clone(), file)
        }
    };
    let public = cert
        .public_key()
        .map_err(crypto("reading the certificate's public key"))?;
    if !public.public_eq(&key) {
        return Err(SignerError::KeyMismatch {
            cert: cert_file,
            key: key_file,
        });
    }
    let algorithm = match key.id() {
        Id::RSA => KeyAlgorithm::Rsa,
        Id::EC => KeyAlgorithm::Ecdsa,
        other => {
            let found = Nid::from_raw(other.as_raw())
                .short_name()
                .unwrap_or("unknown");
            return Err(SignerError::UnsupportedKey {
                file: key_file,
                found: found.to_owned(),
            });
        }
    };
    Ok(Identity {
        cert,
        key,
        algorithm,
        cert_file,
    })
}

const CERT_HINT: &str = "it must be the Pass Type ID certificate as PEM or DER (a .p12 goes in WALLETCARDS_APPLE__SIGNER_P12 instead)";

fn read_signer_certificate(file: &ConfiguredFile) -> Result<X509, SignerError> {
    let bytes = read_file(file)?;
    let parsed = if is_pem(&bytes) {
        X509::from_pem(&bytes)
    } else {
        X509::from_der(&bytes)
    };
    parsed.map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "PEM or DER X.509 certificate",
        hint: CERT_HINT,
        detail: err.to_string(),
    })
}

/// Every certificate in the WWDR file: a PEM bundle (e.g. G1 + G4) is allowed, the issuer of
/// the signer is picked from it.
fn read_certificates(file: &ConfiguredFile) -> Result<Vec<X509>, SignerError> {
    let bytes = read_file(file)?;
    let parsed = if is_pem(&bytes) {
        X509::stack_from_pem(&bytes)
    } else {
        X509::from_der(&bytes).map(|cert| vec![cert])
    };
    match parsed {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        other => Err(SignerError::Unparseable {
            file: file.clone(),
            expected: "PEM or DER X.509 certificate",
            hint: "download Apple's WWDR G4 intermediate (AppleWWDRCAG4.cer) from apple.com/certificateauthority",
            detail: other
                .err()
                .map_or("no certificate found".into(), |e| e.to_string()),
        }),
    }
}

fn read_private_key(
    file: &ConfiguredFile,
    password: Option<&SecretString>,
) -> Result<PKey<Private>, SignerError> {
    let bytes = read_file(file)?;
    if !is_pem(&bytes) {
        return PKey::private_key_from_der(&bytes).map_err(|err| key_unparseable(file, err));
    }
    // An explicit callback, because OpenSSL's default one prompts on the terminal for the
    // password of an encrypted key, which would hang a service.
    let parsed = PKey::private_key_from_pem_callback(&bytes, |buf| {
        let secret = password.map_or(&[][..], |p| p.expose_secret().as_bytes());
        let len = if secret.len() <= buf.len() {
            secret.len()
        } else {
            0
        };
        buf[..len].copy_from_slice(&secret[..len]);
        Ok(len)
    });
    parsed.map_err(|err| {
        let encrypted = bytes.windows(9).any(|window| window == b"ENCRYPTED");
        if encrypted {
            SignerError::KeyPassword { file: file.clone() }
        } else {
            key_unparseable(file, err)
        }
    })
}

fn key_unparseable(file: &ConfiguredFile, err: ErrorStack) -> SignerError {
    SignerError::Unparseable {
        file: file.clone(),
        expected: "PEM or DER private key",
        hint: "it must be the private key of the Pass Type ID certificate",
        detail: err.to_string(),
    }
}

/// The default and legacy providers, loaded once and kept for the life of the process.
static PROVIDERS: OnceLock<Result<[Provider; 2], String>> = OnceLock::new();

/// macOS Keychain exports .p12 files with RC2-40, which OpenSSL 3 only has in its legacy
/// provider. Loading a provider explicitly switches off the implicit default one, so both are
/// loaded together.
fn ensure_legacy_provider() -> Result<(), String> {
    let loaded = PROVIDERS.get_or_init(|| {
        let default = Provider::try_load(None, "default", true).map_err(|e| e.to_string())?;
        let legacy = Provider::try_load(None, "legacy", true).map_err(|e| e.to_string())?;
        Ok([default, legacy])
    });
    loaded.as_ref().map(|_| ()).map_err(Clone::clone)
}

fn read_p12(
    file: &ConfiguredFile,
    password: &SecretString,
) -> Result<(X509, PKey<Private>), SignerError> {
    let bytes = read_file(file)?;
    let p12 = Pkcs12::from_der(&bytes).map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "PKCS#12 (.p12) file",
        hint: "export the Pass Type ID certificate with its private key from Keychain Access as .p12, or use WALLETCARDS_APPLE__SIGNER_CERT and __SIGNER_KEY for PEM files",
        detail: err.to_string(),
    })?;
    let password = password.expose_secret();
    // The openssl crate panics on an interior NUL; no real password contains one.
    if password.contains('\0') {
        return Err(SignerError::WrongP12Password { file: file.clone() });
    }
    let legacy = ensure_legacy_provider();
    let parsed = p12
        .parse2(password)
        .map_err(|err| p12_error(file, err, legacy))?;
    let missing = |what| SignerError::P12Incomplete {
        file: file.clone(),
        missing: what,
    };
    let cert = parsed.cert.ok_or_else(|| missing("certificate"))?;
    let key = parsed.pkey.ok_or_else(|| missing("private key"))?;
    Ok((cert, key))
}

fn p12_error(file: &ConfiguredFile, err: ErrorStack, legacy: Result<(), String>) -> SignerError {
    let reasons: Vec<&str> = err.errors().iter().filter_map(|e| e.reason()).collect();
    if reasons.iter().any(|r| r.contains("mac verify failure")) {
        return SignerError::WrongP12Password { file: file.clone() };
    }
    match legacy {
        Err(detail) => SignerError::LegacyProviderUnavailable {
            file: file.clone(),
            detail,
        },
        Ok(()) => SignerError::Unparseable {
            file: file.clone(),
            expected: "readable PKCS#12 (.p12) file",
            hint: "re-export it from Keychain Access, or convert it with openssl pkcs12",
            detail: err.to_string(),
        },
    }
}

fn decode(cert: &X509, file: &ConfiguredFile) -> Result<x509_cert::Certificate, SignerError> {
    let der = cert.to_der().map_err(crypto("encoding a certificate"))?;
    x509_cert::Certificate::from_der(&der).map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "well-formed DER X.509 certificate",
        hint: "the certificate does not follow DER strictly; download it again",
        detail: err.to_string(),
    })
}

/// The parts of every signature that do not change: `certificates` (signer, WWDR) and the
/// SignerInfo's sid, the issuer and serial number of the signer (`decoded`, read from `file`).
fn signed_data_template(
    certificates: [&X509; 2],
    decoded: &x509_cert::Certificate,
    file: &ConfiguredFile,
    algorithm: KeyAlgorithm,
) -> Result<SignedDataTemplate, SignerError> {
    let tbs = &decoded.tbs_certificate;
    let sid = cms::cert::IssuerAndSerialNumber {
        issuer: tbs.issuer.clone(),
        serial_number: tbs.serial_number.clone(),
    };
    let sid = sid.to_der().map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "well-formed DER X.509 certificate",
        hint: "its issuer or serial number cannot be re-encoded; download it again",
        detail: err.to_string(),
    })?;
    let certificates = certificates
        .map(|c| c.to_der().map_err(crypto("encoding a certificate")))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedDataTemplate::new(&certificates, &sid, algorithm))
}

fn to_chrono(time: x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Returns (not_before, not_after) when `now` lies inside them.
fn check_validity(
    role: CertRole,
    file: &ConfiguredFile,
    cert: &x509_cert::Certificate,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), SignerError> {
    let validity = &cert.tbs_certificate.validity;
    let not_before = to_chrono(validity.not_before);
    let not_after = to_chrono(validity.not_after);
    let file = file.clone();
    if now < not_before {
        return Err(SignerError::NotYetValid {
            role,
            file,
            not_before,
            now,
        });
    }
    if now > not_after {
        return Err(SignerError::Expired {
            role,
            file,
            not_after,
            now,
        });
    }
    Ok((not_before, not_after))
}

fn name_entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    let entry = name.entries_by_nid(nid).next()?;
    entry.data().to_string().ok()
}

fn pass_type_id_from_cn(cn: &str) -> Option<(&str, bool)> {
    let (id, nfc) = match cn.strip_prefix(CN_PREFIX_NFC) {
        Some(id) => (id, true),
        None => (cn.strip_prefix(CN_PREFIX)?, false),
    };
    (!id.is_empty()).then_some((id, nfc))
}

fn check_identity(
    cert: &X509,
    decoded: &x509_cert::Certificate,
    file: &ConfiguredFile,
    expected_pass_type_id: Option<&str>,
    expected_team_id: Option<&str>,
) -> Result<CertIdentity, SignerError> {
    let cn = name_entry(cert.subject_name(), Nid::COMMONNAME).unwrap_or_default();
    let Some((pass_type_id, nfc_enabled)) = pass_type_id_from_cn(&cn) else {
        return Err(SignerError::NotPassTypeIdCertificate {
            file: file.clone(),
            found: cn,
        });
    };
    if let Some(expected) = expected_pass_type_id.filter(|e| *e != pass_type_id) {
        return Err(SignerError::PassTypeIdMismatch {
            file: file.clone(),
            expected: expected.to_owned(),
            found: pass_type_id.to_owned(),
        });
    }
    let team_id = check_team_id(cert, file, expected_team_id)?;
    check_pass_type_extension(decoded, file, pass_type_id)?;
    Ok(CertIdentity {
        pass_type_id: pass_type_id.to_owned(),
        team_id,
        nfc_enabled,
    })
}

/// Apple puts the team identifier in the subject OU; pass.json's teamIdentifier must equal it.
fn check_team_id(
    cert: &X509,
    file: &ConfiguredFile,
    expected: Option<&str>,
) -> Result<String, SignerError> {
    let Some(team_id) = name_entry(cert.subject_name(), Nid::ORGANIZATIONALUNITNAME) else {
        return Err(SignerError::MissingTeamId { file: file.clone() });
    };
    if let Some(expected) = expected.filter(|e| *e != team_id) {
        return Err(SignerError::TeamIdMismatch {
            file: file.clone(),
            expected: expected.to_owned(),
            found: team_id,
        });
    }
    Ok(team_id)
}

/// Reads the extension with `der` because openssl's safe API cannot look up an arbitrary
/// extension by OID.
fn check_pass_type_extension(
    cert: &x509_cert::Certificate,
    file: &ConfiguredFile,
    pass_type_id: &str,
) -> Result<(), SignerError> {
    let oid = x509_cert::der::oid::ObjectIdentifier::new_unwrap(PASS_TYPE_ID_EXTENSION_OID);
    let extensions = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let Some(extension) = extensions.iter().find(|ext| ext.extn_id == oid) else {
        return Err(SignerError::MissingPassTypeExtension { file: file.clone() });
    };
    let found = extension_text(extension.extn_value.as_bytes());
    if found.as_deref() != Some(pass_type_id) {
        return Err(SignerError::PassTypeExtensionMismatch {
            file: file.clone(),
            expected: pass_type_id.to_owned(),
            found: found.unwrap_or_else(|| hex::encode(extension.extn_value.as_bytes())),
        });
    }
    Ok(())
}

/// The extension value is an ASN.1 string; Apple uses UTF8String, the others are accepted
/// because they encode ASCII identifiers identically.
fn extension_text(der: &[u8]) -> Option<String> {
    let value = Any::from_der(der).ok()?;
    let string_tag = matches!(
        value.tag(),
        Tag::Utf8String | Tag::Ia5String | Tag::PrintableString
    );
    string_tag
        .then(|| String::from_utf8(value.value().to_vec()).ok())
        .flatten()
}

fn pick_issuer(
    cert: &X509,
    cert_file: &ConfiguredFile,
    candidates: Vec<X509>,
    wwdr_file: &ConfiguredFile,
) -> Result<X509, SignerError> {
    let issuer = cert.issuer_name();
    let same_name = |c: &X509| c.subject_name().try_cmp(issuer).is_ok_and(|o| o.is_eq());
    let subjects: Vec<String> = candidates
        .iter()
        .map(|c| name_text(c.subject_name()))
        .collect();
    let Some(wwdr) = candidates.into_iter().find(same_name) else {
        return Err(SignerError::WrongIssuer {
            cert: cert_file.clone(),
            wwdr: wwdr_file.clone(),
            signer_issuer: name_text(issuer),
            wwdr_subjects: subjects
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let verified = wwdr.public_key().and_then(|key| cert.verify(&key));
    if !verified.unwrap_or(false) {
        return Err(SignerError::IssuerSignatureInvalid {
            cert: cert_file.clone(),
            wwdr: wwdr_file.clone(),
        });
    }
    Ok(wwdr)
}

/// RFC 4514 text of a name, for error messages.
fn name_text(name: &X509NameRef) -> String {
    name.to_der()
        .ok()
        .and_then(|der| x509_cert::name::Name::from_der(&der).ok())
        .map_or_else(|| "<unreadable name>".to_owned(), |name| name.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use openssl::cms::{CMSOptions, CmsContentInfo};
    use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
    use openssl::pkcs12::Pkcs12;
    use openssl::stack::Stack;
    use openssl::symm::Cipher;
    use openssl::x509::store::X509StoreBuilder;
    use tempfile::TempDir;
    use x509_cert::der::Encode;

    use super::*;
    use crate::apple::devcerts::{LeafSpec, build_root, issue_leaf, rsa_2048, write_dev_certs};

    const PASS_TYPE_ID: &str = "pass.com.example.loyalty";
    const TEAM_ID: &str = "ABCDE12345";
    const YEAR: i64 = 365 * 24 * 3600;

    /// RSA key generation dominates test time, so the tests share three keys.
    fn keys() -> &'static [PKey<Private>; 3] {
        static KEYS: OnceLock<[PKey<Private>; 3]> = OnceLock::new();
        KEYS.get_or_init(|| {
            [
                rsa_2048().unwrap(),
                rsa_2048().unwrap(),
                rsa_2048().unwrap(),
            ]
        })
    }

    fn now_ts() -> i64 {
        Utc::now().timestamp()
    }

    struct Files {
        _dir: TempDir,
        cert: PathBuf,
        key: PathBuf,
        wwdr: PathBuf,
    }

    impl Files {
        fn source(&self) -> SignerSource {
            SignerSource::Pem {
                cert: self.cert.clone(),
                key: self.key.clone(),
                key_password: None,
            }
        }

        fn load(&self) -> Result<Signer, SignerError> {
            let source = self.source();
            Signer::load(
                &source,
                &self.wwdr,
                Some(PASS_TYPE_ID),
                Some(TEAM_ID),
                Utc::now(),
            )
        }
    }

    fn write_pem(cert: &X509, key: &PKey<Private>, wwdr: &X509) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            cert: dir.path().join("pass.pem"),
            key: dir.path().join("pass.key"),
            wwdr: dir.path().join("wwdr.pem"),
            _dir: dir,
        };
        std::fs::write(&files.cert, cert.to_pem().unwrap()).unwrap();
        std::fs::write(&files.key, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::write(&files.wwdr, wwdr.to_pem().unwrap()).unwrap();
        files
    }

    fn root() -> X509 {
        build_root(&keys()[0], now_ts() - 3600, now_ts() + 10 * YEAR).unwrap()
    }

    fn leaf(tweak: impl FnOnce(&mut LeafSpec), issuer: &X509) -> X509 {
        let mut spec = LeafSpec::new(PASS_TYPE_ID, TEAM_ID, now_ts());
        tweak(&mut spec);
        issue_leaf(&spec, &keys()[1], issuer, &keys()[0]).unwrap()
    }

    fn files_with(tweak: impl FnOnce(&mut LeafSpec)) -> Files {
        let root = root();
        write_pem(&leaf(tweak, &root), &keys()[1], &root)
    }

    /// A good certificate for `key` instead of the shared RSA key.
    fn files_for_key(key: &PKey<Private>) -> Files {
        let root = root();
        let spec = LeafSpec::new(PASS_TYPE_ID, TEAM_ID, now_ts());
        write_pem(
            &issue_leaf(&spec, key, &root, &keys()[0]).unwrap(),
            key,
            &root,
        )
    }

    fn good_signer() -> (Files, Signer) {
        let files = files_with(|_| {});
        let signer = files.load().unwrap();
        (files, signer)
    }

    #[test]
    fn dev_certificates_written_to_disk_load_from_pem_files() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap();
        let source = SignerSource::Pem {
            cert: paths.signer_cert,
            key: paths.signer_key,
            key_password: None,
        };
        let signer = Signer::load(&source, &paths.wwdr_cert, None, None, Utc::now()).unwrap();
        assert_eq!(signer.pass_type_id(), PASS_TYPE_ID);
        assert_eq!(signer.team_id(), TEAM_ID);
        assert!(signer.is_development());
        assert!(!signer.is_nfc_enabled());
        let days_left = (signer.not_after() - Utc::now()).num_days();
        assert!((363..=365).contains(&days_left), "{days_left}");
        assert_eq!(signer.warn_of_expiry(Utc::now()), 0, "a year is far enough");
        let soon = signer.not_after() - chrono::TimeDelta::days(29);
        assert_eq!(
            signer.warn_of_expiry(soon),
            1,
            "29 days before, the Pass Type ID one warns"
        );
        assert_eq!(signer.expiries()[0], ("pass_type_id", signer.not_after()));
    }

    #[test]
    fn der_encoded_certificate_and_key_load_too() {
        let (files, _) = good_signer();
        let cert = X509::from_pem(&std::fs::read(&files.cert).unwrap()).unwrap();
        std::fs::write(&files.cert, cert.to_der().unwrap()).unwrap();
        std::fs::write(&files.key, keys()[1].private_key_to_der().unwrap()).unwrap();
        files.load().unwrap();
    }

    #[test]
    fn signer_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Signer>();
    }

    #[test]
    fn debug_output_does_not_contain_the_private_key() {
        let (_, signer) = good_signer();
        let debug = format!("{signer:?}");
        assert!(debug.contains(PASS_TYPE_ID));
        assert!(!debug.contains("PRIVATE"));
    }

    #[test]
    fn exported_pems_are_the_loaded_identity() {
        let (_, signer) = good_signer();
        let key = PKey::private_key_from_pem(&signer.private_key_pem()).unwrap();
        let cert = X509::from_pem(&signer.certificate_pem()).unwrap();
        assert!(cert.public_key().unwrap().public_eq(&key));
        assert!(key.public_eq(&keys()[1]));
    }

    /// Both of OpenSSL's verifiers, with the dev root as the only trust anchor.
    fn verify_in_process(signer_wwdr: &Path, signature: &[u8], manifest: &[u8]) {
        let wwdr = X509::from_pem(&std::fs::read(signer_wwdr).unwrap()).unwrap();
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(wwdr).unwrap();
        let store = store.build();
        let pkcs7 = Pkcs7::from_der(signature).unwrap();
        let no_extra = Stack::new().unwrap();
        pkcs7
            .verify(&no_extra, &store, Some(manifest), None, Pkcs7Flags::BINARY)
            .unwrap();
        let mut cms = CmsContentInfo::from_der(signature).unwrap();
        cms.verify(None, Some(&store), Some(manifest), None, CMSOptions::BINARY)
            .unwrap();
    }

    /// What OpenSSL's PKCS7_sign, which signed passes before, makes for the same identity.
    fn pkcs7_sign(files: &Files, key: &PKey<Private>, manifest: &[u8]) -> Vec<u8> {
        let read = |path: &Path| X509::from_pem(&std::fs::read(path).unwrap()).unwrap();
        let mut chain = Stack::new().unwrap();
        chain.push(read(&files.wwdr)).unwrap();
        let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY | Pkcs7Flags::NOSMIMECAP;
        let signed = Pkcs7::sign(&read(&files.cert), key, &chain, manifest, flags).unwrap();
        signed.to_der().unwrap()
    }

    fn signed_data(signature: &[u8]) -> cms::signed_data::SignedData {
        let info = cms::content_info::ContentInfo::from_der(signature).unwrap();
        info.content.decode_as().unwrap()
    }

    fn signing_time(signature: &[u8]) -> DateTime<Utc> {
        let oid = x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
        let signer_info = signed_data(signature).signer_infos.0.into_vec().remove(0);
        let attrs = signer_info.signed_attrs.unwrap();
        let attr = attrs.iter().find(|attr| attr.oid == oid).unwrap();
        let value = attr.values.get(0).unwrap().to_der().unwrap();
        to_chrono(x509_cert::time::Time::from_der(&value).unwrap())
    }

    /// The SignedData with the signature value emptied, to compare randomized signatures.
    fn without_signature_value(signature: &[u8]) -> Vec<u8> {
        let mut signed = signed_data(signature);
        let mut infos = signed.signer_infos.0.into_vec();
        infos[0].signature = x509_cert::der::asn1::OctetString::new(Vec::new()).unwrap();
        signed.signer_infos = cms::signed_data::SignerInfos(infos.try_into().unwrap());
        signed.to_der().unwrap()
    }

    #[test]
    fn rsa_signature_is_byte_for_byte_what_pkcs7_sign_makes() {
        let (files, signer) = good_signer();
        let manifest = br#"{"pass.json":"0123456789abcdef0123456789abcdef01234567"}"#;
        let reference = pkcs7_sign(&files, &keys()[1], manifest);
        // PKCS#1 v1.5 is deterministic: the same signing time gives the same bytes.
        let signature = signer
            .sign_manifest_at(manifest, signing_time(&reference))
            .unwrap();
        assert_eq!(hex::encode(signature), hex::encode(reference));
    }

    #[test]
    fn ec_key_signs_like_pkcs7_sign_and_verifies() {
        use openssl::ec::{EcGroup, EcKey};
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let files = files_for_key(&key);
        let signer = files.load().unwrap();
        let manifest = b"{}";
        let reference = pkcs7_sign(&files, &key, manifest);
        let signature = signer
            .sign_manifest_at(manifest, signing_time(&reference))
            .unwrap();
        verify_in_process(&files.wwdr, &signature, manifest);
        assert_eq!(
            without_signature_value(&signature),
            without_signature_value(&reference)
        );
    }

    #[test]
    fn signing_time_from_2050_on_is_generalized_time_and_verifies() {
        let (files, signer) = good_signer();
        let at = DateTime::parse_from_rfc3339("2051-02-03T04:05:06Z").unwrap();
        let signature = signer.sign_manifest_at(b"{}", at.to_utc()).unwrap();
        verify_in_process(&files.wwdr, &signature, b"{}");
        assert_eq!(signing_time(&signature), at);
        assert_eq!(signed_attributes(&signature).len(), 3);
    }

    #[test]
    fn key_that_is_neither_rsa_nor_ec_is_rejected() {
        let key = PKey::generate_ed25519().unwrap();
        let files = files_for_key(&key);
        let err = files.load().unwrap_err();
        assert!(
            matches!(&err, SignerError::UnsupportedKey { found, .. } if found == "ED25519"),
            "{err}"
        );
    }

    fn signed_attributes(signature: &[u8]) -> Vec<String> {
        let info = cms::content_info::ContentInfo::from_der(signature).unwrap();
        let signed: cms::signed_data::SignedData = info.content.decode_as().unwrap();
        assert!(
            signed.encap_content_info.econtent.is_none(),
            "must be detached"
        );
        assert_eq!(signed.certificates.unwrap().0.len(), 2);
        let infos = signed.signer_infos.0.into_vec();
        assert_eq!(infos.len(), 1);
        let attrs = infos[0].signed_attrs.clone().unwrap().into_vec();
        attrs
            .iter()
            .inspect(|attr| assert_eq!(attr.values.len(), 1))
            .map(|attr| attr.oid.to_string())
            .collect()
    }

    #[test]
    fn signature_is_detached_verifies_and_has_exactly_one_signing_time() {
        let (files, signer) = good_signer();
        let manifest = br#"{"pass.json":"0123456789abcdef0123456789abcdef01234567"}"#;
        let signature = signer.sign_manifest(manifest).unwrap();
        verify_in_process(&files.wwdr, &signature, manifest);
        let mut oids = signed_attributes(&signature);
        oids.sort();
        let expected = [
            "1.2.840.113549.1.9.3", // contentType
            "1.2.840.113549.1.9.4", // messageDigest
            "1.2.840.113549.1.9.5", // signingTime
        ];
        assert_eq!(oids, expected);
    }

    #[test]
    fn signature_over_other_bytes_does_not_verify() {
        let (files, signer) = good_signer();
        let signature = signer.sign_manifest(b"{}").unwrap();
        let wwdr = X509::from_pem(&std::fs::read(&files.wwdr).unwrap()).unwrap();
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(wwdr).unwrap();
        let pkcs7 = Pkcs7::from_der(&signature).unwrap();
        let no_extra = Stack::new().unwrap();
        let result = pkcs7.verify(
            &no_extra,
            &store.build(),
            Some(b"{ }"),
            None,
            Pkcs7Flags::BINARY,
        );
        assert!(result.is_err());
    }

    /// A stand-in carrying the G4 serial; `is_development` looks at nothing else.
    fn root_with_apple_g4_serial() -> X509 {
        use openssl::asn1::Asn1Time;
        use openssl::bn::BigNum;
        use openssl::hash::MessageDigest;
        let dev_root = root();
        let mut builder = openssl::x509::X509Builder::new().unwrap();
        builder.set_version(2).unwrap();
        let serial = BigNum::from_hex_str(APPLE_WWDR_G4_SERIAL).unwrap();
        builder
            .set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(dev_root.subject_name()).unwrap();
        builder.set_issuer_name(dev_root.subject_name()).unwrap();
        builder.set_pubkey(&keys()[0]).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        // The dev leaf's authorityKeyIdentifier needs the issuer's subjectKeyIdentifier.
        let ski = openssl::x509::extension::SubjectKeyIdentifier::new();
        let ski = ski.build(&builder.x509v3_context(None, None)).unwrap();
        builder.append_extension(ski).unwrap();
        builder.sign(&keys()[0], MessageDigest::sha256()).unwrap();
        builder.build()
    }

    #[test]
    fn wwdr_with_apple_g4_serial_is_not_development() {
        let root = root_with_apple_g4_serial();
        let files = write_pem(&leaf(|_| {}, &root), &keys()[1], &root);
        assert!(!files.load().unwrap().is_development());
    }

    #[test]
    fn expected_ids_default_to_the_certificate() {
        let (files, _) = good_signer();
        let signer = Signer::load(&files.source(), &files.wwdr, None, None, Utc::now()).unwrap();
        assert_eq!(
            (signer.pass_type_id(), signer.team_id()),
            (PASS_TYPE_ID, TEAM_ID)
        );
    }

    #[test]
    fn nfc_certificate_is_recognised() {
        let files = files_with(|spec| spec.common_name = format!("{CN_PREFIX_NFC}{PASS_TYPE_ID}"));
        let signer = files.load().unwrap();
        assert!(signer.is_nfc_enabled());
        assert_eq!(signer.pass_type_id(), PASS_TYPE_ID);
    }

    #[test]
    fn expired_signer_certificate_is_rejected() {
        let files = files_with(|spec| {
            spec.not_before = now_ts() - 2 * YEAR;
            spec.not_after = now_ts() - YEAR;
        });
        let err = files.load().unwrap_err();
        assert!(
            matches!(
                err,
                SignerError::Expired {
                    role: CertRole::PassTypeId,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("renew"), "{err}");
    }

    #[test]
    fn signer_certificate_not_yet_valid_is_rejected() {
        let files = files_with(|spec| spec.not_before = now_ts() + 3600);
        let err = files.load().unwrap_err();
        assert!(
            matches!(
                err,
                SignerError::NotYetValid {
                    role: CertRole::PassTypeId,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn expired_wwdr_certificate_is_rejected() {
        let root = build_root(&keys()[0], now_ts() - 2 * YEAR, now_ts() - 60).unwrap();
        let files = write_pem(&leaf(|_| {}, &root), &keys()[1], &root);
        let err = files.load().unwrap_err();
        assert!(
            matches!(
                err,
                SignerError::Expired {
                    role: CertRole::Wwdr,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(SETTING_WWDR_CERT), "{err}");
    }

    #[test]
    fn validity_is_judged_at_the_given_time() {
        let (files, _) = good_signer();
        let later = Utc::now() + chrono::Duration::days(400);
        let err = Signer::load(&files.source(), &files.wwdr, None, None, later).unwrap_err();
        assert!(matches!(err, SignerError::Expired { .. }), "{err}");
    }

    #[test]
    fn certificate_for_another_pass_type_id_is_rejected() {
        let (files, _) = good_signer();
        let source = files.source();
        let err = Signer::load(
            &source,
            &files.wwdr,
            Some("pass.com.example.other"),
            None,
            Utc::now(),
        )
        .unwrap_err();
        let SignerError::PassTypeIdMismatch {
            expected, found, ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(
            (expected.as_str(), found.as_str()),
            ("pass.com.example.other", PASS_TYPE_ID)
        );
        let message = err.to_string();
        assert!(
            message.contains(SETTING_PASS_TYPE_ID) && message.contains("pass.com.example.other")
        );
    }

    #[test]
    fn certificate_of_another_team_is_rejected() {
        let (files, _) = good_signer();
        let source = files.source();
        let err =
            Signer::load(&source, &files.wwdr, None, Some("ZZZZZ99999"), Utc::now()).unwrap_err();
        assert!(
            matches!(&err, SignerError::TeamIdMismatch { found, .. } if found == TEAM_ID),
            "{err}"
        );
        assert!(err.to_string().contains(SETTING_TEAM_ID), "{err}");
    }

    #[test]
    fn certificate_without_pass_type_id_common_name_is_rejected() {
        let files = files_with(|spec| spec.common_name = "Apple Push Services: x".into());
        let err = files.load().unwrap_err();
        assert!(
            matches!(err, SignerError::NotPassTypeIdCertificate { .. }),
            "{err}"
        );
    }

    #[test]
    fn certificate_without_apple_extension_is_rejected() {
        let files = files_with(|spec| spec.extension_value = None);
        let err = files.load().unwrap_err();
        assert!(
            matches!(err, SignerError::MissingPassTypeExtension { .. }),
            "{err}"
        );
    }

    #[test]
    fn certificate_whose_extension_names_another_pass_type_is_rejected() {
        let files = files_with(|spec| spec.extension_value = Some("pass.com.example.other".into()));
        let err = files.load().unwrap_err();
        assert!(
            matches!(&err, SignerError::PassTypeExtensionMismatch { found, .. } if found == "pass.com.example.other"),
            "{err}"
        );
    }

    #[test]
    fn certificate_issued_by_another_ca_name_is_rejected() {
        let root = root();
        let cert = leaf(|_| {}, &root);
        // The leaf itself as "WWDR": a certificate whose subject is not the leaf's issuer.
        let files = write_pem(&cert, &keys()[1], &cert);
        let err = files.load().unwrap_err();
        assert!(matches!(err, SignerError::WrongIssuer { .. }), "{err}");
        assert!(
            err.to_string().contains("walletcards Development WWDR"),
            "{err}"
        );
    }

    #[test]
    fn certificate_from_a_lookalike_ca_with_the_same_name_is_rejected() {
        let cert = leaf(|_| {}, &root());
        let lookalike = build_root(&keys()[2], now_ts() - 3600, now_ts() + YEAR).unwrap();
        let files = write_pem(&cert, &keys()[1], &lookalike);
        let err = files.load().unwrap_err();
        assert!(
            matches!(err, SignerError::IssuerSignatureInvalid { .. }),
            "{err}"
        );
    }

    #[test]
    fn wwdr_bundle_with_several_certificates_picks_the_issuer() {
        let (files, _) = good_signer();
        let other = build_root(&keys()[2], now_ts() - 3600, now_ts() + YEAR).unwrap();
        let mut bundle = leaf(|_| {}, &other).to_pem().unwrap();
        bundle.extend(std::fs::read(&files.wwdr).unwrap());
        std::fs::write(&files.wwdr, bundle).unwrap();
        files.load().unwrap();
    }

    #[test]
    fn key_of_another_certificate_is_rejected() {
        let (files, _) = good_signer();
        std::fs::write(&files.key, keys()[2].private_key_to_pem_pkcs8().unwrap()).unwrap();
        let err = files.load().unwrap_err();
        assert!(matches!(err, SignerError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains(SETTING_SIGNER_KEY), "{err}");
    }

    #[test]
    fn encrypted_key_loads_with_its_password_and_fails_without() {
        let (files, _) = good_signer();
        let encrypted = keys()[1]
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"s3cret")
            .unwrap();
        std::fs::write(&files.key, encrypted).unwrap();
        let err = files.load().unwrap_err();
        assert!(matches!(err, SignerError::KeyPassword { .. }), "{err}");
        let source = SignerSource::Pem {
            cert: files.cert.clone(),
            key: files.key.clone(),
            key_password: Some(SecretString::from("s3cret")),
        };
        Signer::load(&source, &files.wwdr, None, None, Utc::now()).unwrap();
    }

    #[test]
    fn missing_file_is_reported_with_its_setting() {
        let (files, _) = good_signer();
        std::fs::remove_file(&files.wwdr).unwrap();
        let err = files.load().unwrap_err();
        assert!(
            matches!(&err, SignerError::Unreadable { file, .. } if file.setting == SETTING_WWDR_CERT)
        );
        assert!(err.to_string().contains("wwdr.pem"), "{err}");
    }

    #[test]
    fn file_that_is_not_a_certificate_is_rejected() {
        let (files, _) = good_signer();
        std::fs::write(&files.cert, b"hello").unwrap();
        let err = files.load().unwrap_err();
        assert!(
            matches!(&err, SignerError::Unparseable { file, .. } if file.setting == SETTING_SIGNER_CERT)
        );
    }

    fn write_p12(files: &Files, password: &str) -> PathBuf {
        let cert = X509::from_pem(&std::fs::read(&files.cert).unwrap()).unwrap();
        let p12 = Pkcs12::builder()
            .name("pass")
            .pkey(&keys()[1])
            .cert(&cert)
            .build2(password);
        let path = files.cert.with_extension("p12");
        std::fs::write(&path, p12.unwrap().to_der().unwrap()).unwrap();
        path
    }

    #[test]
    fn p12_loads_with_the_right_password() {
        let (files, _) = good_signer();
        let path = write_p12(&files, "pw");
        let source = SignerSource::P12 {
            path,
            password: SecretString::from("pw"),
        };
        let signer = Signer::load(
            &source,
            &files.wwdr,
            Some(PASS_TYPE_ID),
            Some(TEAM_ID),
            Utc::now(),
        );
        assert_eq!(signer.unwrap().team_id(), TEAM_ID);
    }

    #[test]
    fn p12_with_a_wrong_password_is_rejected() {
        let (files, _) = good_signer();
        let path = write_p12(&files, "right");
        let source = SignerSource::P12 {
            path,
            password: SecretString::from("wrong"),
        };
        let err = Signer::load(&source, &files.wwdr, None, None, Utc::now()).unwrap_err();
        assert!(matches!(err, SignerError::WrongP12Password { .. }), "{err}");
        assert!(
            err.to_string().contains(SETTING_SIGNER_P12_PASSWORD),
            "{err}"
        );
    }

    #[test]
    fn garbage_p12_is_rejected_as_unparseable() {
        let (files, _) = good_signer();
        let source = SignerSource::P12 {
            path: files.cert.clone(),
            password: SecretString::from("x"),
        };
        let err = Signer::load(&source, &files.wwdr, None, None, Utc::now()).unwrap_err();
        assert!(
            matches!(&err, SignerError::Unparseable { file, .. } if file.setting == SETTING_SIGNER_P12)
        );
    }

    #[test]
    fn extension_text_accepts_the_ascii_string_types_only() {
        let utf8 = x509_cert::der::asn1::Utf8StringRef::new("a.b")
            .unwrap()
            .to_der()
            .unwrap();
        let ia5 = x509_cert::der::asn1::Ia5StringRef::new("a.b")
            .unwrap()
            .to_der()
            .unwrap();
        let octets = x509_cert::der::asn1::OctetStringRef::new(b"a.b")
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(extension_text(&utf8).as_deref(), Some("a.b"));
        assert_eq!(extension_text(&ia5).as_deref(), Some("a.b"));
        assert_eq!(extension_text(&octets), None);
    }

    #[test]
    fn common_name_prefixes_are_parsed() {
        assert_eq!(
            pass_type_id_from_cn("Pass Type ID: pass.a"),
            Some(("pass.a", false))
        );
        assert_eq!(
            pass_type_id_from_cn("Pass Type ID with NFC: pass.a"),
            Some(("pass.a", true))
        );
        assert_eq!(pass_type_id_from_cn("Pass Type ID: "), None);
        assert_eq!(pass_type_id_from_cn("pass.a"), None);
    }
}
