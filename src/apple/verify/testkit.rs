//! Test support: builds valid passes at run time (a WWDR-like RSA root, a Pass Type ID signer it
//! issued, a PKCS#7 detached signature, a zip) so each test can break exactly one thing.

use std::io::{Cursor, Write};
use std::sync::OnceLock;

use chrono::Utc;
use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{BasicConstraints, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Extension, X509Name};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::{Report, Severity, VerifyOptions, verify_pkpass};

pub const PASS_TYPE_ID: &str = "pass.test.example";
pub const TEAM_ID: &str = "TEAMID1234";

/// A signing identity: the WWDR-like root, a signer it issued, and the signer's key.
pub struct Creds {
    pub wwdr: X509,
    pub signer: X509,
    pub key: PKey<Private>,
}

#[derive(Clone, Copy)]
pub enum SignerKind {
    Standard,
    Nfc,
    Expired,
}

fn root() -> &'static (X509, PKey<Private>) {
    static ROOT: OnceLock<(X509, PKey<Private>)> = OnceLock::new();
    ROOT.get_or_init(|| {
        let key = rsa_key();
        let name = x509_name(&[("CN", "Test WWDR (not Apple)"), ("O", "Test"), ("C", "US")]);
        let cert = certificate(&name, &name, &key, &key, (-1, 3650), None, true);
        (cert, key)
    })
}

/// Credentials are cached per kind: RSA key generation dominates test time otherwise.
pub fn creds(kind: SignerKind) -> &'static Creds {
    static CACHE: [OnceLock<Creds>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, prefix, days) = match kind {
        SignerKind::Standard => (0, "Pass Type ID: ", (-1, 365)),
        SignerKind::Nfc => (1, "Pass Type ID with NFC: ", (-1, 365)),
        SignerKind::Expired => (2, "Pass Type ID: ", (-30, -1)),
    };
    CACHE[slot].get_or_init(|| {
        let (wwdr, wwdr_key) = root();
        let key = rsa_key();
        let cn = format!("{prefix}{PASS_TYPE_ID}");
        let subject = x509_name(&[
            ("UID", PASS_TYPE_ID),
            ("CN", &cn),
            ("OU", TEAM_ID),
            ("O", "Test"),
            ("C", "US"),
        ]);
        let signer = certificate(
            &subject,
            wwdr.subject_name(),
            &key,
            wwdr_key,
            days,
            Some(PASS_TYPE_ID),
            false,
        );
        Creds {
            wwdr: wwdr.clone(),
            signer,
            key,
        }
    })
}

fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn x509_name(entries: &[(&str, &str)]) -> X509Name {
    let mut name = X509Name::builder().unwrap();
    for (field, value) in entries {
        name.append_entry_by_text(field, value).unwrap();
    }
    name.build()
}

/// `days` is (not before, not after) relative to now; `pass_type` adds Apple's extension.
fn certificate(
    subject: &openssl::x509::X509NameRef,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
    issuer_key: &PKey<Private>,
    days: (i64, i64),
    pass_type: Option<&str>,
    is_ca: bool,
) -> X509 {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    b.set_subject_name(subject).unwrap();
    b.set_issuer_name(issuer).unwrap();
    b.set_pubkey(key).unwrap();
    let at = |d: i64| Asn1Time::from_unix(Utc::now().timestamp() + d * 86_400).unwrap();
    b.set_not_before(&at(days.0)).unwrap();
    b.set_not_after(&at(days.1)).unwrap();
    if is_ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    }
    if !is_ca {
        // dotnet-passbook names the signer by subject key id; tests sign that way too.
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .unwrap();
        b.append_extension(ski).unwrap();
    }
    if let Some(id) = pass_type {
        let oid = Asn1Object::from_str("1.2.840.113635.100.6.1.16").unwrap();
        let value = der::Encode::to_der(&der::asn1::Utf8StringRef::new(id).unwrap()).unwrap();
        let value = Asn1OctetString::new_from_bytes(&value).unwrap();
        b.append_extension(X509Extension::new_from_der(&oid, false, &value).unwrap())
            .unwrap();
    }
    b.sign(issuer_key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// A PNG header (signature + IHDR) of the given size; enough for the validator.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    out
}

pub fn pass_json() -> Value {
    json!({
        "formatVersion": 1,
        "passTypeIdentifier": PASS_TYPE_ID,
        "serialNumber": "0123456789abcdef0123",
        "teamIdentifier": TEAM_ID,
        "organizationName": "Test",
        "description": "Test card",
        "foregroundColor": "rgb(255, 255, 255)",
        "backgroundColor": "rgb(0,0,0)",
        "webServiceURL": "https://example.test/passes/",
        "authenticationToken": "0123456789abcdef0123",
        "expirationDate": "2099-01-01T00:00+01:00",
        "barcodes": [{"format": "PKBarcodeFormatQR", "message": "123", "messageEncoding": "iso-8859-1"}],
        "storeCard": {
            "headerFields": [{"key": "points", "label": "POINTS", "value": 120, "changeMessage": "Points: %@"}],
            "primaryFields": [{"key": "balance", "label": "balance_label", "value": 12.5, "currencyCode": "EUR"}],
            "secondaryFields": [{"key": "name", "label": "MEMBER", "value": "Ada", "textAlignment": "PKTextAlignmentRight"}],
            "backFields": [{"key": "since", "label": "SINCE", "value": "2024-05-01T10:00Z", "dateStyle": "PKDateStyleShort", "timeStyle": "PKDateStyleNone"}]
        }
    })
}

/// The pieces of a pass, kept apart so a test can break one and rebuild the others.
pub struct Pass {
    pub files: Vec<(String, Vec<u8>)>,
    pub manifest: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Pass {
    pub fn valid() -> Pass {
        Pass::from_json(pass_json())
    }

    pub fn from_json(pass: Value) -> Pass {
        let utf16: Vec<u8> =
            "\u{feff}\"balance_label\" = \"Guthaben\";\n/* c */ \"terms\" = \"\\\"x\\\"\";\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
        let files = vec![
            ("pass.json".to_owned(), serde_json::to_vec(&pass).unwrap()),
            ("icon.png".to_owned(), png(29, 29)),
            ("icon@2x.png".to_owned(), png(58, 58)),
            ("icon@3x.png".to_owned(), png(87, 87)),
            ("logo@2x.png".to_owned(), png(320, 100)),
            ("strip@3x.png".to_owned(), png(1125, 432)),
            ("de.lproj/pass.strings".to_owned(), utf16),
            (
                "en.lproj/pass.strings".to_owned(),
                b"// en\n\"balance_label\" = \"Balance\";\n\"terms\" = \"a\\nb\";\n".to_vec(),
            ),
        ];
        let mut p = Pass {
            files,
            manifest: Vec::new(),
            signature: Vec::new(),
        };
        p.rebuild();
        p
    }

    /// Replaces or adds a file (not yet in the manifest: call `rebuild` for that).
    pub fn put(&mut self, name: &str, data: Vec<u8>) {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_owned(), data));
    }

    pub fn remove(&mut self, name: &str) {
        self.files.retain(|(n, _)| n != name);
    }

    /// Recomputes manifest.json from the files and signs it with the standard signer.
    pub fn rebuild(&mut self) {
        let manifest: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(n, d)| (n.clone(), Value::String(hex::encode(Sha1::digest(d)))))
            .collect();
        self.manifest = serde_json::to_vec(&manifest).unwrap();
        self.sign(creds(SignerKind::Standard), true, Pkcs7Flags::empty());
    }

    /// Signs the current manifest; `extra` adds flags such as NOATTR.
    pub fn sign(&mut self, creds: &Creds, include_wwdr: bool, extra: Pkcs7Flags) {
        self.signature = sign_bytes(&self.manifest, creds, include_wwdr, extra);
    }

    pub fn zip(&self) -> Vec<u8> {
        let mut all = self.files.clone();
        all.push(("manifest.json".to_owned(), self.manifest.clone()));
        all.push(("signature".to_owned(), self.signature.clone()));
        zip_entries(&all)
    }
}

pub fn sign_bytes(data: &[u8], creds: &Creds, include_wwdr: bool, extra: Pkcs7Flags) -> Vec<u8> {
    let mut certs = Stack::new().unwrap();
    if include_wwdr {
        certs.push(creds.wwdr.clone()).unwrap();
    }
    let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY | extra;
    Pkcs7::sign(&creds.signer, &creds.key, &certs, data, flags)
        .unwrap()
        .to_der()
        .unwrap()
}

pub fn zip_entries(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub fn opts() -> VerifyOptions {
    VerifyOptions {
        trusted_wwdr: vec![root().0.clone()],
        now: Utc::now(),
    }
}

pub fn verify(pass: &Pass) -> Report {
    verify_pkpass(&pass.zip(), &opts())
}

/// Asserts that every finding has this id and severity, and that there is at least one.
#[track_caller]
pub fn assert_only(report: &Report, id: &str, severity: Severity) {
    let text = report.render_text();
    assert!(
        !report.findings.is_empty(),
        "expected {id}, got no findings:\n{text}"
    );
    for f in &report.findings {
        assert!(
            f.id == id && f.severity == severity,
            "expected only {id} {severity:?}, got:\n{text}"
        );
    }
}
