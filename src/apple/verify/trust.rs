//! Checklist rows S4–S8: the certificates embedded in the signature — a trusted WWDR, a signer
//! it issued, and a signer whose names match pass.json. All rows are E: each failure produces
//! Wallet's "passTypeIdentifier or teamIdentifier … may not match your certificate, or the
//! certificate trust chain could not be verified".
//!
//! Trust model: a WWDR counts when it is Apple's WWDR G4 by serial and subject, or when it is
//! byte-for-byte (DER) one of `VerifyOptions::trusted_wwdr`. Only the serial and subject of G4
//! are checked, not its key, because Apple's certificate is not embedded in this crate; S5's
//! signature check is what ties the signer to whichever WWDR was accepted.

use chrono::{DateTime, Utc};
use der::asn1::ObjectIdentifier;
use der::{Any, Decode, Encode, Tag, Tagged};
use openssl::x509::X509;
use x509_cert::Certificate;
use x509_cert::name::Name;

use super::archive::Archive;
use super::pass_json::PassJson;
use super::signature::Signed;
use super::{Report, VerifyOptions};

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// Apple's Pass Type ID extension; its value is an ASN.1 string holding the pass type id.
const OID_PASS_TYPE_ID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113635.100.6.1.16");

const G4_SERIAL: &str = "13DC77955271E53DC632E8CCFFE521F3CCC5CED2";
const WWDR_CN: &str = "Apple Worldwide Developer Relations Certification Authority";
const CN_PREFIX: &str = "Pass Type ID: ";
const CN_PREFIX_NFC: &str = "Pass Type ID with NFC: ";

/// The pass.json values the certificate rows compare against.
pub(super) struct PassIds {
    pub pass_type_id: Option<String>,
    pub team_id: Option<String>,
    /// Why an NFC-enabled certificate is needed, if it is.
    pub nfc_reason: Option<&'static str>,
}

impl PassIds {
    pub fn from_pass(pass: Option<&PassJson>, archive: &Archive) -> Self {
        let text = |key| {
            pass.and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let nfc_reason = if pass.is_some_and(|p| p.contains_key("nfc")) {
            Some("pass.json has an nfc dictionary")
        } else if archive.get("personalization.json").is_some() {
            Some("the pass contains personalization.json")
        } else {
            None
        };
        PassIds {
            pass_type_id: text("passTypeIdentifier"),
            team_id: text("teamIdentifier"),
            nfc_reason,
        }
    }
}

/// S4–S8.
pub(super) fn check(signed: &Signed, ids: &PassIds, opts: &VerifyOptions, report: &mut Report) {
    report.ran("S4");
    let signer = signed.signer.and_then(|i| signed.certs.get(i));
    if signer.is_none() {
        report.error(
            "S4",
            "the signer's certificate is not embedded in the signature",
        );
    }
    let wwdr = find_wwdr(signed, signer, opts, report);
    let Some(signer) = signer else {
        return;
    };
    if let Some(wwdr) = wwdr {
        check_issued(signer, wwdr, opts.now, report);
    }
    check_names(signer, ids, report);
}

/// S4: picks the trusted WWDR, preferring the one that issued the signer.
fn find_wwdr<'a>(
    signed: &'a Signed,
    signer: Option<&Certificate>,
    opts: &VerifyOptions,
    report: &mut Report,
) -> Option<&'a Certificate> {
    let trusted_ders: Vec<Vec<u8>> = opts
        .trusted_wwdr
        .iter()
        .filter_map(|c| c.to_der().ok())
        .collect();
    let is_trusted =
        |c: &Certificate| is_apple_g4(c) || c.to_der().is_ok_and(|der| trusted_ders.contains(&der));
    let candidates: Vec<&Certificate> = signed
        .certs
        .iter()
        .filter(|c| Some(*c) != signer && is_trusted(c))
        .collect();
    let issuer = signer.map(|s| &s.tbs_certificate.issuer);
    let chosen = candidates
        .iter()
        .find(|c| Some(&c.tbs_certificate.subject) == issuer)
        .or(candidates.first())
        .copied();
    if chosen.is_none() {
        report.error("S4", missing_wwdr_message(signed, signer));
    }
    chosen
}

fn missing_wwdr_message(signed: &Signed, signer: Option<&Certificate>) -> String {
    let others: Vec<String> = signed
        .certs
        .iter()
        .filter(|c| Some(*c) != signer)
        .map(|c| c.tbs_certificate.subject.to_string())
        .collect();
    if others.is_empty() {
        return "the WWDR intermediate certificate is not included in the signature".into();
    }
    let hint = if others
        .iter()
        .any(|s| s.contains(WWDR_CN) && !s.contains("OU=G4"))
    {
        " (an Apple WWDR other than G4: G1 expired in 2023 and G3 is wrong for passes)"
    } else {
        ""
    };
    format!(
        "no trusted WWDR certificate in the signature{hint}; found: {}",
        others.join("; ")
    )
}

fn is_apple_g4(cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    let serial = hex::encode_upper(tbs.serial_number.as_bytes());
    serial.trim_start_matches('0') == G4_SERIAL
        && attr_strings(&tbs.subject, OID_CN) == [WWDR_CN]
        && attr_strings(&tbs.subject, OID_OU) == ["G4"]
        && attr_strings(&tbs.subject, OID_O) == ["Apple Inc."]
        && attr_strings(&tbs.subject, OID_C) == ["US"]
}

/// S5: issuer name, signature by the WWDR key, and validity of both at `now`.
fn check_issued(signer: &Certificate, wwdr: &Certificate, now: DateTime<Utc>, report: &mut Report) {
    report.ran("S5");
    let (Some(signer_x), Some(wwdr_x)) = (to_openssl(signer), to_openssl(wwdr)) else {
        return report.error("S5", "OpenSSL cannot parse the signer or WWDR certificate");
    };
    let same_issuer = signer_x.issuer_name().try_cmp(wwdr_x.subject_name());
    if !matches!(same_issuer, Ok(std::cmp::Ordering::Equal)) {
        report.error(
            "S5",
            format!(
                "signer certificate is issued by \"{}\", not by the WWDR \"{}\"",
                signer.tbs_certificate.issuer, wwdr.tbs_certificate.subject
            ),
        );
    }
    let verified = wwdr_x.public_key().and_then(|key| signer_x.verify(&key));
    if !matches!(verified, Ok(true)) {
        report.error(
            "S5",
            "signer certificate's signature does not verify with the WWDR's public key",
        );
    }
    check_validity("signer certificate", signer, now, report);
    check_validity("WWDR certificate", wwdr, now, report);
}

fn to_openssl(cert: &Certificate) -> Option<X509> {
    cert.to_der().ok().and_then(|der| X509::from_der(&der).ok())
}

fn check_validity(what: &str, cert: &Certificate, now: DateTime<Utc>, report: &mut Report) {
    let validity = &cert.tbs_certificate.validity;
    let to_chrono = |d: std::time::Duration| {
        i64::try_from(d.as_secs())
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
    };
    let not_before = to_chrono(validity.not_before.to_unix_duration());
    let not_after = to_chrono(validity.not_after.to_unix_duration());
    if let Some(end) = not_after.filter(|end| *end < now) {
        let end = end.format("%Y-%m-%d %H:%M:%S UTC");
        report.error("S5", format!("{what} expired on {end}"));
    }
    if let Some(start) = not_before.filter(|start| *start > now) {
        let start = start.format("%Y-%m-%d %H:%M:%S UTC");
        report.error("S5", format!("{what} is not valid before {start}"));
    }
}

/// S6, S7, S8: the signer's names agree with pass.json.
fn check_names(signer: &Certificate, ids: &PassIds, report: &mut Report) {
    let subject = &signer.tbs_certificate.subject;
    let cns = attr_strings(subject, OID_CN);
    let cn = cns.first().map(String::as_str).unwrap_or_default();
    let cn_id = cn
        .strip_prefix(CN_PREFIX_NFC)
        .or_else(|| cn.strip_prefix(CN_PREFIX));
    report.ran("S6");
    match (cn_id, ids.pass_type_id.as_deref()) {
        (None, _) => report.error(
            "S6",
            format!("signer CN {cn:?} is not a Pass Type ID certificate name"),
        ),
        (Some(got), Some(want)) if got != want => report.error(
            "S6",
            format!("signer CN names {got:?} but pass.json passTypeIdentifier is {want:?}"),
        ),
        _ => {}
    }
    check_pass_type_extension(signer, ids.pass_type_id.as_deref(), report);

    report.ran("S7");
    let ous = attr_strings(subject, OID_OU);
    if let Some(team) = ids
        .team_id
        .as_deref()
        .filter(|t| !ous.iter().any(|ou| ou == t))
    {
        report.error(
            "S7",
            format!("signer OU {ous:?} does not match pass.json teamIdentifier {team:?}"),
        );
    }

    report.ran("S8");
    if let Some(reason) = ids.nfc_reason.filter(|_| !cn.starts_with(CN_PREFIX_NFC)) {
        report.error("S8", format!("{reason}, so it must be signed with an NFC-enabled Pass Type ID certificate (CN \"{CN_PREFIX_NFC}…\"); the signer is {cn:?}"));
    }
}

/// S6: the 1.2.840.113635.100.6.1.16 extension is present and holds the pass type id.
fn check_pass_type_extension(signer: &Certificate, want: Option<&str>, report: &mut Report) {
    let ext = signer
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OID_PASS_TYPE_ID);
    let Some(ext) = ext else {
        return report.error(
            "S6",
            format!("signer certificate lacks the Pass Type ID extension {OID_PASS_TYPE_ID}"),
        );
    };
    let bytes = ext.extn_value.as_bytes();
    // Apple encodes an ASN.1 string; pkpassvalidator just skips a 2-byte header, so fall back to
    // that for encodings we do not recognise.
    let value = Any::from_der(bytes)
        .ok()
        .and_then(|any| any_string(&any))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(bytes.get(2..).unwrap_or_default()).into_owned()
        });
    if let Some(want) = want.filter(|w| *w != value) {
        report.error(
            "S6",
            format!("signer certificate's Pass Type ID extension holds {value:?}, not {want:?}"),
        );
    }
}

/// The string values of one attribute type in a distinguished name, in order.
fn attr_strings(name: &Name, oid: ObjectIdentifier) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .filter_map(|atv| any_string(&atv.value))
        .collect()
}

fn any_string(any: &Any) -> Option<String> {
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            String::from_utf8(any.value().to_vec()).ok()
        }
        Tag::BmpString => {
            let units: Vec<u16> = any
                .value()
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}
