//! What can be wrong with the signing credentials, each error naming the file, the setting
//! and the fix.

use super::*;

/// A configured file and the setting that names it, so every error can say both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredFile {
    /// Boxed to keep `SignerError` small enough to return by value.
    pub path: Box<Path>,
    pub setting: &'static str,
}

impl ConfiguredFile {
    pub(super) fn new(path: &Path, setting: &'static str) -> Self {
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

pub(super) fn renew_hint(role: CertRole) -> &'static str {
    match role {
        CertRole::PassTypeId => {
            "renew the Pass Type ID certificate in the Apple Developer portal and update the signer settings"
        }
        CertRole::Wwdr => {
            "download the current Apple WWDR intermediate (G4) and set WALLETCARDS_APPLE__WWDR_CERT to it"
        }
    }
}

pub(super) fn crypto(context: &'static str) -> impl FnOnce(ErrorStack) -> SignerError {
    move |source| SignerError::Crypto { context, source }
}
