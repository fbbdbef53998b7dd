//! The DER of the detached CMS SignedData (RFC 5652) Wallet wants (spec §2.3), assembled from
//! parts encoded once when the signer loads.
//!
//! Only the signing time, the manifest's digest and the signature differ from one pass to the
//! next, so the structure is the encoded certificates and identifiers plus a few length headers.
//! The output is byte for byte what OpenSSL's `PKCS7_sign` with DETACHED | BINARY | NOSMIMECAP
//! makes (the signer tests compare the two); building, re-encoding and freeing that structure
//! per pass cost about a tenth of a pass's CPU.

use chrono::{DateTime, Datelike, Timelike, Utc};
use der::asn1::ObjectIdentifier;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0]`, constructed: SignedData's content, certificates and signedAttrs all use it.
const CONTEXT_0: u8 = 0xA0;

/// The digest of the manifest and of the signed attributes.
pub(super) type Sha256 = [u8; 32];

/// How the signer's key signs, which names the SignerInfo's signatureAlgorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyAlgorithm {
    /// PKCS#1 v1.5, written as rsaEncryption with NULL parameters as OpenSSL does.
    Rsa,
    Ecdsa,
}

/// Everything of the SignedData that is the same in every signature.
pub(super) struct SignedDataTemplate {
    /// SignedData's version, digestAlgorithms, encapContentInfo and certificates.
    signed_data_head: Vec<u8>,
    /// SignerInfo's version, sid and digestAlgorithm.
    signer_info_head: Vec<u8>,
    content_type_attribute: Vec<u8>,
    signing_time_oid: Vec<u8>,
    message_digest_oid: Vec<u8>,
    signature_algorithm: Vec<u8>,
    signed_data_oid: Vec<u8>,
}

/// The signed attributes as the `SET OF` whose digest is signed (RFC 5652 §5.4); in the
/// SignerInfo the same content goes under the `[0]` tag.
pub(super) struct SignedAttributes(Vec<u8>);

impl SignedAttributes {
    pub(super) fn as_der_set(&self) -> &[u8] {
        &self.0
    }
}

impl SignedDataTemplate {
    /// `certificates` are DER, the signer's first; `issuer_and_serial` is the DER
    /// IssuerAndSerialNumber of the signer's certificate.
    pub(super) fn new(
        certificates: &[Vec<u8>],
        issuer_and_serial: &[u8],
        algorithm: KeyAlgorithm,
    ) -> Self {
        let version = tlv(INTEGER, &[&[1]]);
        let sha256 = tlv(SEQUENCE, &[&oid(ID_SHA256), &tlv(NULL, &[])]);
        let certificates: Vec<&[u8]> = certificates.iter().map(Vec::as_slice).collect();
        let signed_data_head = [
            version.clone(),
            tlv(SET, &[&sha256]),
            tlv(SEQUENCE, &[&oid(ID_DATA)]),
            tlv(CONTEXT_0, &certificates),
        ]
        .concat();
        let signature_algorithm = match algorithm {
            KeyAlgorithm::Rsa => tlv(SEQUENCE, &[&oid(RSA_ENCRYPTION), &tlv(NULL, &[])]),
            KeyAlgorithm::Ecdsa => tlv(SEQUENCE, &[&oid(ECDSA_WITH_SHA256)]),
        };
        let content_type = tlv(SET, &[&oid(ID_DATA)]);
        Self {
            signed_data_head,
            signer_info_head: [version, issuer_and_serial.to_vec(), sha256].concat(),
            content_type_attribute: tlv(SEQUENCE, &[&oid(ID_CONTENT_TYPE), &content_type]),
            signing_time_oid: oid(ID_SIGNING_TIME),
            message_digest_oid: oid(ID_MESSAGE_DIGEST),
            signature_algorithm,
            signed_data_oid: oid(ID_SIGNED_DATA),
        }
    }

    /// contentType = id-data, signingTime, messageDigest: in this order, because DER sorts a
    /// SET OF by encoding and the three SEQUENCEs are 24, 28 (30 as GeneralizedTime) and 47
    /// bytes long with the same tag.
    pub(super) fn signed_attributes(
        &self,
        signing_time: DateTime<Utc>,
        message_digest: &Sha256,
    ) -> SignedAttributes {
        let time = time(signing_time);
        let signing_time = tlv(SEQUENCE, &[&self.signing_time_oid, &tlv(SET, &[&time])]);
        let digest = tlv(OCTET_STRING, &[message_digest]);
        let message_digest = tlv(SEQUENCE, &[&self.message_digest_oid, &tlv(SET, &[&digest])]);
        SignedAttributes(tlv(
            SET,
            &[&self.content_type_attribute, &signing_time, &message_digest],
        ))
    }

    /// The DER ContentInfo carrying the SignedData with one SignerInfo.
    pub(super) fn content_info(&self, attributes: &SignedAttributes, signature: &[u8]) -> Vec<u8> {
        let signed_attrs = attributes.as_der_set();
        let signer_info_len = self.signer_info_head.len()
            + signed_attrs.len()
            + self.signature_algorithm.len()
            + tlv_len(signature.len());
        let signer_infos_len = tlv_len(signer_info_len);
        let signed_data_len = self.signed_data_head.len() + tlv_len(signer_infos_len);
        let explicit_len = tlv_len(signed_data_len);
        let content_info_len = self.signed_data_oid.len() + tlv_len(explicit_len);

        let mut out = Vec::with_capacity(tlv_len(content_info_len));
        header(&mut out, SEQUENCE, content_info_len);
        out.extend_from_slice(&self.signed_data_oid);
        header(&mut out, CONTEXT_0, explicit_len);
        header(&mut out, SEQUENCE, signed_data_len);
        out.extend_from_slice(&self.signed_data_head);
        header(&mut out, SET, signer_infos_len);
        header(&mut out, SEQUENCE, signer_info_len);
        out.extend_from_slice(&self.signer_info_head);
        // signedAttrs is [0] IMPLICIT: the SET's encoding with the tag replaced.
        out.push(CONTEXT_0);
        out.extend_from_slice(&signed_attrs[1..]);
        out.extend_from_slice(&self.signature_algorithm);
        header(&mut out, OCTET_STRING, signature.len());
        out.extend_from_slice(signature);
        out
    }
}

fn oid(oid: ObjectIdentifier) -> Vec<u8> {
    tlv(OID, &[oid.as_bytes()])
}

/// UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC 5652 §11.3), as OpenSSL does.
fn time(at: DateTime<Utc>) -> Vec<u8> {
    let year = at.year();
    let utc_time = (1950..2050).contains(&year);
    let mut digits = Vec::with_capacity(15);
    if utc_time {
        push_digits(&mut digits, year.unsigned_abs() % 100, 2);
    } else {
        push_digits(&mut digits, year.unsigned_abs(), 4);
    }
    for part in [at.month(), at.day(), at.hour(), at.minute(), at.second()] {
        push_digits(&mut digits, part, 2);
    }
    digits.push(b'Z');
    tlv(
        if utc_time { UTC_TIME } else { GENERALIZED_TIME },
        &[&digits],
    )
}

fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    for place in (0..width).rev() {
        out.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
    }
}

fn tlv(tag: u8, content: &[&[u8]]) -> Vec<u8> {
    let len = content.iter().map(|part| part.len()).sum();
    let mut out = Vec::with_capacity(tlv_len(len));
    header(&mut out, tag, len);
    for part in content {
        out.extend_from_slice(part);
    }
    out
}

/// Length of a whole TLV whose content is `len` bytes long.
fn tlv_len(len: usize) -> usize {
    let long_form_bytes = if len < 0x80 {
        0
    } else {
        (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    };
    2 + long_form_bytes + len
}

/// Tag and DER definite length (short form below 128, else the fewest big-endian bytes).
fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_form_below_128_and_the_fewest_bytes_above() {
        let encoded = |len: usize| {
            let mut out = Vec::new();
            header(&mut out, OCTET_STRING, len);
            assert_eq!(out.len() + len, tlv_len(len), "{len}");
            out
        };
        assert_eq!(encoded(0), [0x04, 0x00]);
        assert_eq!(encoded(127), [0x04, 0x7F]);
        assert_eq!(encoded(128), [0x04, 0x81, 0x80]);
        assert_eq!(encoded(255), [0x04, 0x81, 0xFF]);
        assert_eq!(encoded(256), [0x04, 0x82, 0x01, 0x00]);
        assert_eq!(encoded(70_000), [0x04, 0x83, 0x01, 0x11, 0x70]);
    }

    #[test]
    fn signing_time_is_utc_time_until_2049_and_generalized_time_after() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(time(at("2026-03-04T05:06:07Z")), b"\x17\x0d260304050607Z");
        assert_eq!(time(at("2049-12-31T23:59:59Z")), b"\x17\x0d491231235959Z");
        assert_eq!(time(at("2050-01-01T00:00:00Z")), b"\x18\x0f20500101000000Z");
        assert_eq!(time(at("1949-12-31T23:59:59Z")), b"\x18\x0f19491231235959Z");
    }
}
