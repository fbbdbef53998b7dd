//! The start-up checks of the certificates: validity dates, the Pass Type ID and team in the
//! subject, Apple's pass type extension, the issuer chain to the WWDR.

use super::*;

/// Identity fields read from the signer certificate by the start-up checks.
pub(super) struct CertIdentity {
    pub(super) pass_type_id: String,
    pub(super) team_id: String,
    pub(super) nfc_enabled: bool,
}

pub(super) fn is_apple_wwdr_g4(wwdr: &X509) -> Result<bool, SignerError> {
    let serial = wwdr
        .serial_number()
        .to_bn()
        .and_then(|bn| bn.to_hex_str().map(|hex| hex.to_string()))
        .map_err(crypto("reading the WWDR serial number"))?;
    Ok(serial.eq_ignore_ascii_case(APPLE_WWDR_G4_SERIAL))
}

pub(super) fn to_chrono(time: x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Returns (not_before, not_after) when `now` lies inside them.
pub(super) fn check_validity(
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

pub(super) fn name_entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    let entry = name.entries_by_nid(nid).next()?;
    entry.data().to_string().ok()
}

pub(super) fn pass_type_id_from_cn(cn: &str) -> Option<(&str, bool)> {
    let (id, nfc) = match cn.strip_prefix(CN_PREFIX_NFC) {
        Some(id) => (id, true),
        None => (cn.strip_prefix(CN_PREFIX)?, false),
    };
    (!id.is_empty()).then_some((id, nfc))
}

pub(super) fn check_identity(
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
pub(super) fn check_team_id(
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
pub(super) fn check_pass_type_extension(
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
pub(super) fn extension_text(der: &[u8]) -> Option<String> {
    let value = Any::from_der(der).ok()?;
    let string_tag = matches!(
        value.tag(),
        Tag::Utf8String | Tag::Ia5String | Tag::PrintableString
    );
    string_tag
        .then(|| String::from_utf8(value.value().to_vec()).ok())
        .flatten()
}

pub(super) fn pick_issuer(
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
pub(super) fn name_text(name: &X509NameRef) -> String {
    name.to_der()
        .ok()
        .and_then(|der| x509_cert::name::Name::from_der(&der).ok())
        .map_or_else(|| "<unreadable name>".to_owned(), |name| name.to_string())
}
