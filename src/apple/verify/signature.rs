//! Checklist rows S1–S3: the `signature` file is a detached CMS SignedData over manifest.json,
//! whose signature verifies and which carries exactly one signingTime.
//!
//! Structure is walked with the `cms` crate (strict DER); the cryptographic check uses OpenSSL's
//! CMS_verify rather than PKCS7_verify because only the CMS code accepts a SubjectKeyIdentifier
//! signer id, which dotnet-passbook produces and Wallet accepts.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use x509_cert::Certificate;
use x509_cert::time::Time;

use super::Report;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// What S4–S8 need from the signature: the embedded certificates and which one signed.
pub(super) struct Signed {
    pub certs: Vec<Certificate>,
    /// Index into `certs` of the certificate the SignerInfo names, if it is embedded.
    pub signer: Option<usize>,
}

/// Runs S1–S3; returns the parsed certificates when the structure was readable (S1 passed far
/// enough to find a SignerInfo), so the trust rows can run.
pub(super) fn check(sig: &[u8], manifest: &[u8], report: &mut Report) -> Option<Signed> {
    report.ran("S1");
    let signed_data = decode_signed_data(sig, report)?;
    check_structure(&signed_data, report);
    check_crypto(sig, manifest, report);
    let signer_info = signed_data.signer_infos.0.iter().next()?;
    check_digest_alg(signer_info, report);
    check_signing_time(signer_info, report);

    let certs: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let signer = certs.iter().position(|c| names_signer(&signer_info.sid, c));
    Some(Signed { certs, signer })
}

/// S1 (E): DER ContentInfo of type signedData.
fn decode_signed_data(sig: &[u8], report: &mut Report) -> Option<SignedData> {
    let content_info = match ContentInfo::from_der(sig) {
        Ok(ci) => ci,
        Err(e) => {
            report.error("S1", format!("signature is not a DER CMS ContentInfo: {e}"));
            return None;
        }
    };
    if content_info.content_type != ID_SIGNED_DATA {
        report.error(
            "S1",
            format!(
                "signature content type is {}, not signedData",
                content_info.content_type
            ),
        );
        return None;
    }
    match content_info.content.decode_as::<SignedData>() {
        Ok(sd) => Some(sd),
        Err(e) => {
            report.error("S1", format!("signature SignedData cannot be decoded: {e}"));
            None
        }
    }
}

/// S1 (E): detached (no eContent), eContentType id-data, exactly one SignerInfo.
fn check_structure(sd: &SignedData, report: &mut Report) {
    let encap = &sd.encap_content_info;
    if encap.econtent_type != ID_DATA {
        report.error(
            "S1",
            format!("eContentType is {}, not id-data", encap.econtent_type),
        );
    }
    if encap.econtent.is_some() {
        report.error(
            "S1",
            "signature embeds its content; Apple requires a detached signature",
        );
    }
    match sd.signer_infos.0.len() {
        1 => {}
        0 => report.error("S1", "signature has no SignerInfo"),
        n => report.error(
            "S1",
            format!("signature has {n} SignerInfos; exactly one is expected"),
        ),
    }
}

/// S2 (E): the signature verifies over the exact manifest.json bytes. Chain trust is S4/S5's
/// job, hence NOVERIFY; BINARY stops OpenSSL from canonicalising line endings.
///
/// CMS_verify also rejects attribute sets that break RFC 5652 multiplicity (two signingTimes);
/// that is S3's finding, so a CMS failure is confirmed with PKCS7_verify, which checks only the
/// cryptography, before S2 reports it.
fn check_crypto(sig: &[u8], manifest: &[u8], report: &mut Report) {
    report.ran("S2");
    let cms = CmsContentInfo::from_der(sig).and_then(|mut cms| {
        cms.verify(
            None,
            None,
            Some(manifest),
            None,
            CMSOptions::NOVERIFY | CMSOptions::BINARY,
        )
    });
    let Err(e) = cms else { return };
    if !pkcs7_verifies(sig, manifest) {
        report.error(
            "S2",
            format!("signature does not verify over manifest.json: {e}"),
        );
    }
}

fn pkcs7_verifies(sig: &[u8], manifest: &[u8]) -> bool {
    let flags = Pkcs7Flags::NOVERIFY | Pkcs7Flags::BINARY;
    let (Ok(p7), Ok(certs), Ok(store)) =
        (Pkcs7::from_der(sig), Stack::new(), X509StoreBuilder::new())
    else {
        return false;
    };
    p7.verify(&certs, &store.build(), Some(manifest), None, flags)
        .is_ok()
}

/// S2 (E): SHA-1 and SHA-256 are the digests working generators use; anything else is
/// untested with Wallet.
fn check_digest_alg(si: &SignerInfo, report: &mut Report) {
    let oid = si.digest_alg.oid;
    if oid != ID_SHA1 && oid != ID_SHA256 {
        report.error(
            "S2",
            format!("digest algorithm {oid} is neither SHA-1 nor SHA-256"),
        );
    }
}

/// S3: exactly one signingTime signed attribute with exactly one decodable value. Missing or
/// undecodable are E (device logs quoted in the spec); a GeneralizedTime for a date UTCTime
/// can express is W (RFC 5652 requires UTCTime there; Wallet's tolerance is unknown).
/// Identical duplicate attributes make the SET OF undecodable, so those surface under S1.
fn check_signing_time(si: &SignerInfo, report: &mut Report) {
    report.ran("S3");
    let values: Vec<_> = si
        .signed_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .filter(|a| a.oid == ID_SIGNING_TIME)
        .flat_map(|a| a.values.iter())
        .collect();
    let value = match values.as_slice() {
        [] => return report.error("S3", "signature has no signingTime attribute; Wallet logs \"Signature must contain a signing date\""),
        [one] => *one,
        many => return report.error("S3", format!("signature has {} signingTime values; exactly one is required", many.len())),
    };
    // Time is a CHOICE, which decodes from a whole TLV rather than from a value.
    match value.to_der().and_then(|der| Time::from_der(&der)) {
        Ok(Time::UtcTime(_)) => {}
        Ok(Time::GeneralTime(t)) if t.to_date_time().year() < 2050 => {
            report.warn(
                "S3",
                "signingTime is a GeneralizedTime; RFC 5652 requires UTCTime before 2050",
            );
        }
        Ok(Time::GeneralTime(_)) => {}
        Err(e) => report.error("S3", format!("signingTime cannot be decoded: {e}")),
    }
}

/// Whether `cert` is the one a SignerInfo's sid names (issuer+serial or subject key id).
fn names_signer(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            let Ok(wanted) = ski.to_der() else {
                return false;
            };
            tbs.extensions.iter().flatten().any(|ext| {
                ext.extn_id == ID_SUBJECT_KEY_ID && ext.extn_value.as_bytes() == wanted.as_slice()
            })
        }
    }
}
