//! Development certificates: a WWDR-like root CA and a Pass Type ID certificate issued by it,
//! plus a throw-away Google service-account file, so the whole service runs without Apple or
//! Google accounts.
//!
//! Passes signed with these certificates pass our own checks and `openssl cms -verify`, but no
//! iPhone accepts them: the root says "not Apple" in its name and `Signer::is_development`
//! reports it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509Extension, X509Name, X509NameBuilder};
use rand::Rng;

use super::signer::PASS_TYPE_ID_EXTENSION_OID;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const ORGANIZATION: &str = "walletcards development";

/// In-memory identity: a WWDR-like root CA and a Pass Type ID cert issued by it.
pub struct DevIdentity {
    pub wwdr_cert: X509,
    pub wwdr_key: PKey<Private>,
    pub signer_cert: X509,
    pub signer_key: PKey<Private>,
}

impl DevIdentity {
    /// Generates fresh RSA-2048 keys; the root is valid 10 years, the signer 1 year, both
    /// back-dated one hour so a slightly slow clock elsewhere still accepts them.
    pub fn generate(pass_type_id: &str, team_id: &str) -> Result<Self, ErrorStack> {
        let now = Utc::now().timestamp();
        let wwdr_key = rsa_2048()?;
        let wwdr_cert = build_root(&wwdr_key, now - HOUR, now + 3652 * DAY)?;
        let signer_key = rsa_2048()?;
        let spec = LeafSpec::new(pass_type_id, team_id, now);
        let signer_cert = issue_leaf(&spec, &signer_key, &wwdr_cert, &wwdr_key)?;
        Ok(Self {
            wwdr_cert,
            wwdr_key,
            signer_cert,
            signer_key,
        })
    }
}

/// What goes into a Pass Type ID certificate. Crate-visible so the signer tests can build
/// deliberately broken certificates (expired, no Apple extension, wrong name).
pub(crate) struct LeafSpec {
    pub pass_type_id: String,
    pub team_id: String,
    pub common_name: String,
    /// Value of the Apple pass-type extension; `None` leaves the extension out.
    pub extension_value: Option<String>,
    pub not_before: i64,
    pub not_after: i64,
}

impl LeafSpec {
    pub fn new(pass_type_id: &str, team_id: &str, now: i64) -> Self {
        Self {
            pass_type_id: pass_type_id.to_owned(),
            team_id: team_id.to_owned(),
            common_name: format!("Pass Type ID: {pass_type_id}"),
            extension_value: Some(pass_type_id.to_owned()),
            not_before: now - HOUR,
            not_after: now + 365 * DAY,
        }
    }
}

pub(crate) fn rsa_2048() -> Result<PKey<Private>, ErrorStack> {
    PKey::from_rsa(Rsa::generate(2048)?)
}

/// 159 random bits: positive, at most 20 DER bytes (RFC 5280) and never repeated in practice.
fn random_serial() -> Result<openssl::asn1::Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(159, MsbOption::ONE, false)?;
    serial.to_asn1_integer()
}

fn builder(
    key: &PKey<Private>,
    not_before: i64,
    not_after: i64,
) -> Result<X509Builder, ErrorStack> {
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_pubkey(key)?;
    let (not_before, not_after) = (
        Asn1Time::from_unix(not_before)?,
        Asn1Time::from_unix(not_after)?,
    );
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    Ok(builder)
}

fn root_name() -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, "walletcards Development WWDR (not Apple)")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, "DEV")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, ORGANIZATION)?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "US")?;
    Ok(name.build())
}

pub(crate) fn build_root(
    key: &PKey<Private>,
    not_before: i64,
    not_after: i64,
) -> Result<X509, ErrorStack> {
    let name = root_name()?;
    let mut builder = builder(key, not_before, not_after)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    let usage = KeyUsage::new()
        .critical()
        .key_cert_sign()
        .crl_sign()
        .build()?;
    builder.append_extension(usage)?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}

/// Same attribute order as Apple's Pass Type ID certificates: UID, CN, OU, O, C.
fn leaf_name(spec: &LeafSpec) -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::USERID, &spec.pass_type_id)?;
    name.append_entry_by_nid(Nid::COMMONNAME, &spec.common_name)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, &spec.team_id)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, ORGANIZATION)?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "US")?;
    Ok(name.build())
}

/// No extended key usage on purpose: `openssl cms -verify` checks the S/MIME signing purpose,
/// which accepts a leaf without EKU but rejects one whose EKU lacks emailProtection.
pub(crate) fn issue_leaf(
    spec: &LeafSpec,
    key: &PKey<Private>,
    issuer: &X509,
    issuer_key: &PKey<Private>,
) -> Result<X509, ErrorStack> {
    let mut builder = builder(key, spec.not_before, spec.not_after)?;
    let subject = leaf_name(spec)?;
    builder.set_subject_name(&subject)?;
    builder.set_issuer_name(issuer.subject_name())?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(Some(issuer), None))?;
    builder.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&builder.x509v3_context(Some(issuer), None))?;
    builder.append_extension(aki)?;
    if let Some(value) = &spec.extension_value {
        builder.append_extension(pass_type_extension(value)?)?;
    }
    builder.sign(issuer_key, MessageDigest::sha256())?;
    Ok(builder.build())
}

fn pass_type_extension(pass_type_id: &str) -> Result<X509Extension, ErrorStack> {
    let oid = Asn1Object::from_str(PASS_TYPE_ID_EXTENSION_OID)?;
    let value = Asn1OctetString::new_from_bytes(&der_utf8_string(pass_type_id))?;
    X509Extension::new_from_der(&oid, false, &value)
}

/// DER UTF8String (tag 12) with short- or long-form length, as Apple encodes the extension.
fn der_utf8_string(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = vec![0x0c];
    let len = bytes.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let len_bytes = len.to_be_bytes();
        let skip = len_bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (len_bytes.len() - skip) as u8);
        out.extend_from_slice(&len_bytes[skip..]);
    }
    out.extend_from_slice(bytes);
    out
}

/// Where `write_dev_certs` puts each file below the chosen directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCertPaths {
    pub wwdr_cert: PathBuf,
    pub wwdr_key: PathBuf,
    pub signer_cert: PathBuf,
    pub signer_key: PathBuf,
    pub google_service_account: PathBuf,
}

impl DevCertPaths {
    pub fn in_dir(dir: &Path) -> Self {
        let apple = dir.join("apple");
        Self {
            wwdr_cert: apple.join("wwdr.pem"),
            wwdr_key: apple.join("wwdr.key"),
            signer_cert: apple.join("pass.pem"),
            signer_key: apple.join("pass.key"),
            google_service_account: dir.join("google").join("service-account.json"),
        }
    }

    fn all(&self) -> [&Path; 5] {
        [
            &self.wwdr_cert,
            &self.wwdr_key,
            &self.signer_cert,
            &self.signer_key,
            &self.google_service_account,
        ]
    }
}

/// Writes all of them (dirs created, private keys mode 0600). Refuses to overwrite existing
/// files unless `overwrite`; the check runs before anything is written, so a refusal leaves
/// the directory as it was.
pub fn write_dev_certs(
    dir: &Path,
    pass_type_id: &str,
    team_id: &str,
    overwrite: bool,
) -> anyhow::Result<DevCertPaths> {
    let paths = DevCertPaths::in_dir(dir);
    let existing: Vec<String> = (paths.all().into_iter())
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !overwrite && !existing.is_empty() {
        anyhow::bail!(
            "development certificates already exist ({}); delete them or pass overwrite to replace them",
            existing.join(", ")
        );
    }
    let identity = DevIdentity::generate(pass_type_id, team_id)
        .context("generating the development WWDR and Pass Type ID certificates")?;
    let service_account = google_service_account_json()?;
    let files: [(&Path, Vec<u8>, bool); 5] = [
        (&paths.wwdr_cert, identity.wwdr_cert.to_pem()?, false),
        (
            &paths.wwdr_key,
            identity.wwdr_key.private_key_to_pem_pkcs8()?,
            true,
        ),
        (&paths.signer_cert, identity.signer_cert.to_pem()?, false),
        (
            &paths.signer_key,
            identity.signer_key.private_key_to_pem_pkcs8()?,
            true,
        ),
        (&paths.google_service_account, service_account, true),
    ];
    for (path, contents, secret) in files {
        write_file(path, &contents, secret)
            .with_context(|| format!("writing development file {}", path.display()))?;
    }
    Ok(paths)
}

/// Replaces the file rather than truncating it, so a key file always gets mode 0600 even if an
/// older copy had looser permissions.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Same shape as a key file downloaded from the Google Cloud console, with a fresh key.
fn google_service_account_json() -> anyhow::Result<Vec<u8>> {
    let key = rsa_2048().context("generating the Google service-account key")?;
    let pem = key.private_key_to_pem_pkcs8()?;
    let mut rng = rand::rng();
    let key_id: [u8; 20] = rng.random();
    let client_id: String = std::iter::once(rng.random_range(1..=9u8))
        .chain((0..20).map(|_| rng.random_range(0..=9u8)))
        .map(|digit| char::from(b'0' + digit))
        .collect();
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "walletcards-dev",
        "private_key_id": hex::encode(key_id),
        "private_key": String::from_utf8(pem)?,
        "client_email": "walletcards-dev@walletcards-dev.iam.gserviceaccount.com",
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    Ok(serde_json::to_vec_pretty(&json)?)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use x509_cert::der::asn1::Utf8StringRef;
    use x509_cert::der::{Decode, Encode};
    use x509_cert::ext::pkix::{BasicConstraints as BcExt, KeyUsage as KuExt};

    use super::*;

    const PASS_TYPE_ID: &str = "pass.com.example.loyalty";
    const TEAM_ID: &str = "ABCDE12345";

    fn decoded(cert: &X509) -> x509_cert::Certificate {
        x509_cert::Certificate::from_der(&cert.to_der().unwrap()).unwrap()
    }

    fn extension<'a>(cert: &'a x509_cert::Certificate, oid: &str) -> &'a x509_cert::ext::Extension {
        let oid = x509_cert::der::oid::ObjectIdentifier::new_unwrap(oid);
        let extensions = cert.tbs_certificate.extensions.as_ref().unwrap();
        extensions.iter().find(|ext| ext.extn_id == oid).unwrap()
    }

    fn lifetime_days(cert: &x509_cert::Certificate) -> u64 {
        let validity = &cert.tbs_certificate.validity;
        let secs = validity.not_after.to_unix_duration() - validity.not_before.to_unix_duration();
        secs.as_secs() / 86_400
    }

    #[test]
    fn signer_certificate_has_apple_shaped_subject_and_extensions() {
        let identity = DevIdentity::generate(PASS_TYPE_ID, TEAM_ID).unwrap();
        let cert = decoded(&identity.signer_cert);
        let subject = cert.tbs_certificate.subject.to_string();
        let expected = format!(
            "C=US,O=walletcards development,OU={TEAM_ID},CN=Pass Type ID: {PASS_TYPE_ID},UID={PASS_TYPE_ID}"
        );
        assert_eq!(subject, expected, "RFC 4514 prints the last RDN first");
        let apple = extension(&cert, PASS_TYPE_ID_EXTENSION_OID);
        assert!(!apple.critical);
        let value = Utf8StringRef::from_der(apple.extn_value.as_bytes()).unwrap();
        assert_eq!(value.as_str(), PASS_TYPE_ID);
        let bc = extension(&cert, "2.5.29.19");
        assert!(bc.critical && !BcExt::from_der(bc.extn_value.as_bytes()).unwrap().ca);
        let ku = KuExt::from_der(extension(&cert, "2.5.29.15").extn_value.as_bytes()).unwrap();
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        extension(&cert, "2.5.29.14");
        extension(&cert, "2.5.29.35");
        assert_eq!(lifetime_days(&cert), 365);
    }

    #[test]
    fn root_is_a_self_signed_ca_that_does_not_pretend_to_be_apple() {
        let identity = DevIdentity::generate(PASS_TYPE_ID, TEAM_ID).unwrap();
        let root = &identity.wwdr_cert;
        assert!(root.verify(&identity.wwdr_key).unwrap());
        let cert = decoded(root);
        assert_eq!(
            cert.tbs_certificate.subject.to_string(),
            "C=US,O=walletcards development,OU=DEV,CN=walletcards Development WWDR (not Apple)"
        );
        let bc = extension(&cert, "2.5.29.19");
        assert!(bc.critical && BcExt::from_der(bc.extn_value.as_bytes()).unwrap().ca);
        let ku = KuExt::from_der(extension(&cert, "2.5.29.15").extn_value.as_bytes()).unwrap();
        assert!(ku.key_cert_sign() && ku.crl_sign());
        extension(&cert, "2.5.29.14");
        assert_eq!(lifetime_days(&cert), 3652);
    }

    #[test]
    fn signer_certificate_is_issued_by_the_root_and_matches_its_key() {
        let identity = DevIdentity::generate(PASS_TYPE_ID, TEAM_ID).unwrap();
        assert!(identity.signer_cert.verify(&identity.wwdr_key).unwrap());
        let issued = identity.wwdr_cert.issued(&identity.signer_cert);
        assert_eq!(issued, openssl::x509::X509VerifyResult::OK);
        let public = identity.signer_cert.public_key().unwrap();
        assert!(public.public_eq(&identity.signer_key));
        assert_eq!(identity.signer_key.bits(), 2048);
    }

    #[test]
    fn each_identity_gets_fresh_serials_and_keys() {
        let a = DevIdentity::generate(PASS_TYPE_ID, TEAM_ID).unwrap();
        let b = DevIdentity::generate(PASS_TYPE_ID, TEAM_ID).unwrap();
        let serial = |cert: &X509| {
            cert.serial_number()
                .to_bn()
                .unwrap()
                .to_hex_str()
                .unwrap()
                .to_string()
        };
        assert_ne!(serial(&a.wwdr_cert), serial(&b.wwdr_cert));
        assert_ne!(serial(&a.signer_cert), serial(&b.signer_cert));
        assert!(!a.signer_key.public_eq(&b.signer_key));
    }

    #[test]
    fn utf8_string_encoding_matches_der_for_short_and_long_values() {
        for len in [0, 1, 127, 128, 300, 70_000] {
            let text = "p".repeat(len);
            let expected = Utf8StringRef::new(&text).unwrap().to_der().unwrap();
            assert_eq!(der_utf8_string(&text), expected, "length {len}");
        }
    }

    #[test]
    fn written_files_have_private_keys_readable_by_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap();
        assert_eq!(paths, DevCertPaths::in_dir(dir.path()));
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.wwdr_key), 0o600);
        assert_eq!(mode(&paths.signer_key), 0o600);
        assert_eq!(mode(&paths.google_service_account), 0o600);
        assert_eq!(mode(&paths.signer_cert), 0o644);
        assert!(paths.signer_cert.ends_with("apple/pass.pem"));
        assert!(
            paths
                .google_service_account
                .ends_with("google/service-account.json")
        );
    }

    #[test]
    fn existing_files_are_kept_unless_overwrite_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap();
        let before = fs::read(&paths.signer_cert).unwrap();
        let err = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap_err();
        assert!(err.to_string().contains("already exist"), "{err}");
        assert_eq!(fs::read(&paths.signer_cert).unwrap(), before);
        fs::set_permissions(&paths.signer_key, fs::Permissions::from_mode(0o644)).unwrap();
        write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, true).unwrap();
        assert_ne!(fs::read(&paths.signer_cert).unwrap(), before);
        let mode = fs::metadata(&paths.signer_key)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn google_service_account_file_has_the_console_shape_and_a_usable_key() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(&paths.google_service_account).unwrap()).unwrap();
        assert_eq!(json["type"], "service_account");
        assert_eq!(json["project_id"], "walletcards-dev");
        assert_eq!(
            json["client_email"],
            "walletcards-dev@walletcards-dev.iam.gserviceaccount.com"
        );
        assert_eq!(json["token_uri"], "https://oauth2.googleapis.com/token");
        assert_eq!(
            json["auth_uri"],
            "https://accounts.google.com/o/oauth2/auth"
        );
        let key_id = json["private_key_id"].as_str().unwrap();
        assert!(key_id.len() == 40 && key_id.chars().all(|c| c.is_ascii_hexdigit()));
        let client_id = json["client_id"].as_str().unwrap();
        assert!(client_id.len() == 21 && client_id.chars().all(|c| c.is_ascii_digit()));
        let pem = json["private_key"].as_str().unwrap();
        // An unencrypted PKCS#8 key; the label is split so this file holds no key marker.
        assert!(pem.starts_with(concat!("-----BEGIN ", "PRIVATE KEY-----")));
        assert_eq!(
            PKey::private_key_from_pem(pem.as_bytes()).unwrap().bits(),
            2048
        );
    }
}
