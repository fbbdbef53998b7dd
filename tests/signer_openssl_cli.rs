//! Checks the signer against the `openssl` command line, an implementation independent of our
//! code: its signatures must verify with `openssl cms -verify`, and `.p12` files exported by
//! `openssl pkcs12` (legacy RC2 as from macOS Keychain, and modern AES) must load.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use secrecy::SecretString;
use walletcards::apple::devcerts::{DevCertPaths, write_dev_certs};
use walletcards::apple::signer::{Signer, SignerError, SignerSource};

const PASS_TYPE_ID: &str = "pass.com.example.loyalty";
const TEAM_ID: &str = "ABCDE12345";

fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openssl {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout + &stderr
}

fn dev_certs() -> (tempfile::TempDir, DevCertPaths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dev_certs(dir.path(), PASS_TYPE_ID, TEAM_ID, false).unwrap();
    (dir, paths)
}

fn pem_signer(paths: &DevCertPaths) -> Signer {
    let source = SignerSource::Pem {
        cert: paths.signer_cert.clone(),
        key: paths.signer_key.clone(),
        key_password: None,
    };
    Signer::load(
        &source,
        &paths.wwdr_cert,
        Some(PASS_TYPE_ID),
        Some(TEAM_ID),
        Utc::now(),
    )
    .unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn signature_verifies_with_openssl_cms_against_the_wwdr_and_has_one_signing_time() {
    let (dir, paths) = dev_certs();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        br#"{"pass.json":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}"#,
    )
    .unwrap();
    let signature = dir.path().join("signature");
    let der = pem_signer(&paths).sign_manifest(&std::fs::read(&manifest).unwrap());
    std::fs::write(&signature, der.unwrap()).unwrap();

    let verified = openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        s(&signature),
        "-content",
        s(&manifest),
        "-CAfile",
        s(&paths.wwdr_cert),
        "-out",
        "/dev/null",
    ]);
    assert!(verified.contains("Verification successful"), "{verified}");

    let printed = openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        s(&signature),
    ]);
    assert_eq!(
        printed.matches("object: signingTime").count(),
        1,
        "{printed}"
    );
    assert_eq!(
        printed.matches("object: messageDigest").count(),
        1,
        "{printed}"
    );
    assert_eq!(
        printed.matches("object: contentType").count(),
        1,
        "{printed}"
    );
    assert!(
        printed.contains("eContent: <ABSENT>"),
        "signature must be detached:\n{printed}"
    );
}

#[test]
fn signature_over_a_tampered_manifest_fails_openssl_cms_verify() {
    let (dir, paths) = dev_certs();
    let signature = dir.path().join("signature");
    std::fs::write(&signature, pem_signer(&paths).sign_manifest(b"{}").unwrap()).unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, b"{ }").unwrap();
    let status = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&signature),
        ])
        .args([
            "-content",
            s(&manifest),
            "-CAfile",
            s(&paths.wwdr_cert),
            "-out",
            "/dev/null",
        ])
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}

/// `legacy` true gives RC2-40 + 3DES, what macOS Keychain exports.
fn export_p12(dir: &Path, paths: &DevCertPaths, legacy: bool) -> PathBuf {
    let out = dir.join(if legacy { "legacy.p12" } else { "modern.p12" });
    let mut args = vec!["pkcs12", "-export", "-in", s(&paths.signer_cert)];
    args.extend([
        "-inkey",
        s(&paths.signer_key),
        "-passout",
        "pass:s3cret",
        "-out",
        s(&out),
    ]);
    if legacy {
        args.push("-legacy");
    }
    openssl(&args);
    out
}

fn load_p12(path: PathBuf, password: &str, wwdr: &Path) -> Result<Signer, SignerError> {
    let source = SignerSource::P12 {
        path,
        password: SecretString::from(password),
    };
    Signer::load(&source, wwdr, Some(PASS_TYPE_ID), Some(TEAM_ID), Utc::now())
}

#[test]
fn legacy_rc2_p12_as_exported_by_keychain_loads() {
    let (dir, paths) = dev_certs();
    let p12 = export_p12(dir.path(), &paths, true);
    let info = openssl(&[
        "pkcs12",
        "-info",
        "-noout",
        "-legacy",
        "-in",
        s(&p12),
        "-passin",
        "pass:s3cret",
    ]);
    assert!(
        info.contains("RC2"),
        "expected an RC2-encrypted p12:\n{info}"
    );
    let signer = load_p12(p12, "s3cret", &paths.wwdr_cert).unwrap();
    assert_eq!(signer.pass_type_id(), PASS_TYPE_ID);
    assert!(!signer.sign_manifest(b"{}").unwrap().is_empty());
}

#[test]
fn modern_aes_p12_loads() {
    let (dir, paths) = dev_certs();
    let p12 = export_p12(dir.path(), &paths, false);
    let info = openssl(&[
        "pkcs12",
        "-info",
        "-noout",
        "-in",
        s(&p12),
        "-passin",
        "pass:s3cret",
    ]);
    assert!(
        info.contains("AES-256-CBC"),
        "expected an AES-encrypted p12:\n{info}"
    );
    let signer = load_p12(p12, "s3cret", &paths.wwdr_cert).unwrap();
    assert_eq!(signer.team_id(), TEAM_ID);
}

#[test]
fn legacy_p12_with_a_wrong_password_is_rejected_as_such() {
    let (dir, paths) = dev_certs();
    let p12 = export_p12(dir.path(), &paths, true);
    let err = load_p12(p12, "wrong", &paths.wwdr_cert).unwrap_err();
    assert!(matches!(err, SignerError::WrongP12Password { .. }), "{err}");
}
