//! The signer against real certificates made on the fly: loading, every start-up check, and
//! signatures that openssl verifies.

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
    assert!(message.contains(SETTING_PASS_TYPE_ID) && message.contains("pass.com.example.other"));
}

#[test]
fn certificate_of_another_team_is_rejected() {
    let (files, _) = good_signer();
    let source = files.source();
    let err = Signer::load(&source, &files.wwdr, None, Some("ZZZZZ99999"), Utc::now()).unwrap_err();
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
