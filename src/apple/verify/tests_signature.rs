//! Tests for the signature and trust rows (S1–S8): one broken pass per failure class.

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::MessageDigest;
use openssl::pkcs7::Pkcs7Flags;
use openssl::sign::Signer;
use openssl::stack::Stack;
use serde_json::json;
use x509_cert::attr::Attribute;

use super::Severity::Error;
use super::testkit::{
    Creds, Pass, SignerKind, assert_only, creds, opts, pass_json, sign_bytes, verify,
};
use super::{VerifyOptions, verify_pkpass};

#[test]
fn a_signature_over_other_bytes_is_s2() {
    let mut pass = Pass::valid();
    pass.signature = sign_bytes(
        b"{}",
        creds(SignerKind::Standard),
        true,
        Pkcs7Flags::empty(),
    );
    assert_only(&verify(&pass), "S2", Error);
}

#[test]
fn a_signer_named_by_subject_key_identifier_is_accepted() {
    let mut pass = Pass::valid();
    let c = creds(SignerKind::Standard);
    let mut certs = Stack::new().unwrap();
    certs.push(c.wwdr.clone()).unwrap();
    let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::USE_KEYID;
    let cms = CmsContentInfo::sign(
        Some(&c.signer),
        Some(&c.key),
        Some(&certs),
        Some(&pass.manifest),
        flags,
    );
    pass.signature = cms.unwrap().to_der().unwrap();
    let report = verify(&pass);
    assert!(report.findings.is_empty(), "{}", report.render_text());
}

#[test]
fn a_signature_that_is_not_cms_is_s1() {
    let mut pass = Pass::valid();
    pass.signature = b"not DER".to_vec();
    assert_only(&verify(&pass), "S1", Error);
}

#[test]
fn a_signature_without_signing_time_is_s3() {
    let mut pass = Pass::valid();
    // NOATTR drops all signed attributes, signingTime included; the signature still verifies.
    pass.sign(creds(SignerKind::Standard), true, Pkcs7Flags::NOATTR);
    let report = verify(&pass);
    assert_only(&report, "S3", Error);
    assert!(report.findings[0].message.contains("signing date"));
}

#[test]
fn a_signature_with_two_signing_times_is_s3() {
    let mut pass = Pass::valid();
    pass.signature = with_second_signing_time(&pass.signature, creds(SignerKind::Standard));
    let report = verify(&pass);
    assert_only(&report, "S3", Error);
    assert!(report.findings[0].message.contains("2 signingTime"));
}

/// Adds a second signingTime attribute (a different instant, so the SET OF stays valid DER)
/// and re-signs the attributes with the signer's key, so only S3 can object.
fn with_second_signing_time(sig: &[u8], creds: &Creds) -> Vec<u8> {
    let info = ContentInfo::from_der(sig).unwrap();
    let mut sd: SignedData = info.content.decode_as().unwrap();
    let mut si = sd.signer_infos.0.iter().next().unwrap().clone();
    let time = UtcTime::from_unix_duration(Duration::from_secs(1_000_000_000)).unwrap();
    let extra = Attribute {
        oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5"),
        values: SetOfVec::try_from(vec![Any::encode_from(&time).unwrap()]).unwrap(),
    };
    let mut attrs = si.signed_attrs.take().unwrap();
    attrs.insert(extra).unwrap();
    let digest = match si.digest_alg.oid.to_string().as_str() {
        "1.3.14.3.2.26" => MessageDigest::sha1(),
        _ => MessageDigest::sha256(),
    };
    let mut signer = Signer::new(digest, &creds.key).unwrap();
    signer.update(&attrs.to_der().unwrap()).unwrap();
    si.signature = OctetString::new(signer.sign_to_vec().unwrap()).unwrap();
    si.signed_attrs = Some(attrs);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(vec![si]).unwrap());
    let info = ContentInfo {
        content_type: info.content_type,
        content: Any::encode_from(&sd).unwrap(),
    };
    info.to_der().unwrap()
}

#[test]
fn a_signature_without_the_wwdr_is_s4() {
    let mut pass = Pass::valid();
    pass.sign(creds(SignerKind::Standard), false, Pkcs7Flags::empty());
    let report = verify(&pass);
    assert_only(&report, "S4", Error);
    assert!(report.findings[0].message.contains("not included"));
}

#[test]
fn an_untrusted_wwdr_is_s4() {
    let untrusting = VerifyOptions {
        trusted_wwdr: Vec::new(),
        ..opts()
    };
    let report = verify_pkpass(&Pass::valid().zip(), &untrusting);
    assert_only(&report, "S4", Error);
    assert!(report.findings[0].message.contains("Test WWDR"));
}

#[test]
fn an_expired_signer_is_s5_and_names_the_expiry_date() {
    let mut pass = Pass::valid();
    pass.sign(creds(SignerKind::Expired), true, Pkcs7Flags::empty());
    let report = verify(&pass);
    assert_only(&report, "S5", Error);
    let expected = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        report.findings[0].message.contains(&expected),
        "{}",
        report.render_text()
    );
}

#[test]
fn a_pass_type_id_other_than_the_certificates_is_s6() {
    let mut json = pass_json();
    json["passTypeIdentifier"] = json!("pass.other.example");
    let report = verify(&Pass::from_json(json));
    assert_only(&report, "S6", Error);
    assert_eq!(report.findings.len(), 2, "CN and extension both mismatch");
}

#[test]
fn a_team_id_other_than_the_certificates_ou_is_s7() {
    let mut json = pass_json();
    json["teamIdentifier"] = json!("OTHERTEAM1");
    assert_only(&verify(&Pass::from_json(json)), "S7", Error);
}

#[test]
fn an_nfc_pass_signed_without_an_nfc_certificate_is_s8() {
    let mut json = pass_json();
    json["nfc"] = json!({"message": "member-123", "encryptionPublicKey": p256_spki_base64()});
    let report = verify(&Pass::from_json(json.clone()));
    assert_only(&report, "S8", Error);

    let mut pass = Pass::from_json(json);
    pass.sign(creds(SignerKind::Nfc), true, Pkcs7Flags::empty());
    assert!(
        verify(&pass).findings.is_empty(),
        "an NFC certificate satisfies S8"
    );
}

fn p256_spki_base64() -> String {
    use base64::Engine as _;
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::ec::EcKey::generate(&group).unwrap();
    base64::engine::general_purpose::STANDARD.encode(key.public_key_to_der().unwrap())
}
