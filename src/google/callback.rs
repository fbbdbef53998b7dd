//! Save and delete callbacks: Google POSTs a message signed with the `ECv2SigningOnly`
//! protocol whenever a holder adds or removes a pass (spec google-wallet.md §1.8). There is
//! no Tink for Rust, so the check is written out here:
//!
//! 1. An intermediate signing key, signed by one of Google's root keys (from
//!    `https://pay.google.com/gp/m/issuer/keys`, configurable) over
//!    `[sender, protocol, signedKey]`;
//! 2. that key not expired;
//! 3. the message signed by the intermediate key over `[sender, recipient, protocol,
//!    signedMessage]`, the recipient being our issuer id;
//! 4. the message not expired.
//!
//! Each part is length-prefixed (4-byte little-endian length, then the bytes); signatures are
//! ECDSA P-256 with SHA-256 in DER, keys base64 SubjectPublicKeyInfo.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Public};
use openssl::sha::sha256;
use serde::Deserialize;

/// Who signs Google Wallet callbacks.
pub const SENDER: &str = "GooglePayPasses";
pub const PROTOCOL: &str = "ECv2SigningOnly";

/// The most intermediate-key signatures a callback may carry. Google signs with its current
/// root key, and with the next one too while it rotates them; each signature is checked
/// against every root key, so an unbounded list would let anyone make us spend CPU.
pub const MAX_SIGNATURES: usize = 10;

/// Why a callback is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback is not valid JSON of the ECv2SigningOnly shape: {0}")]
    Malformed(String),
    #[error("protocol {0} is not ECv2SigningOnly")]
    Protocol(String),
    #[error("no root key signed the intermediate signing key")]
    IntermediateNotSigned,
    #[error("the intermediate signing key expired")]
    IntermediateExpired,
    #[error("the message's signature does not verify for this issuer")]
    BadSignature,
    #[error("the message expired")]
    MessageExpired,
}

/// One of Google's root signing keys (the keys file's `keys[]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootKey {
    /// Base64 SubjectPublicKeyInfo of a P-256 key.
    pub key_value: String,
    pub protocol_version: String,
    /// Milliseconds since the epoch, as a string; absent: does not expire.
    #[serde(default)]
    pub key_expiration: Option<String>,
}

/// The root keys file as Google publishes it.
#[derive(Debug, Clone, Deserialize)]
pub struct RootKeys {
    pub keys: Vec<RootKey>,
}

/// What a verified callback says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackEvent {
    pub class_id: String,
    pub object_id: String,
    /// `save` or `del`.
    pub event_type: String,
    /// Unique per event: Google may deliver one event more than once.
    pub nonce: String,
    #[serde(deserialize_with = "millis")]
    pub exp_time_millis: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    signature: String,
    intermediate_signing_key: IntermediateKey,
    protocol_version: String,
    signed_message: String,
}

#[derive(Deserialize)]
struct IntermediateKey {
    #[serde(rename = "signedKey")]
    signed_key: String,
    signatures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedKey {
    key_value: String,
    #[serde(deserialize_with = "millis")]
    key_expiration: i64,
}

/// Where the root keys come from: a file read at start, or Google's URL, fetched when first
/// needed and kept for an hour.
#[derive(Debug)]
pub enum RootKeySource {
    Fixed(Vec<RootKey>),
    Url {
        client: reqwest::Client,
        url: String,
        cached: tokio::sync::Mutex<Option<(std::time::Instant, Vec<RootKey>)>>,
    },
}

/// How long fetched root keys are kept (Google rotates them with weeks of overlap).
const KEYS_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

impl RootKeySource {
    /// Reads a keys file (`{"keys": [...]}`, as Google publishes it).
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let keys: RootKeys =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(RootKeySource::Fixed(keys.keys))
    }

    pub fn from_url(url: String) -> Self {
        RootKeySource::Url {
            client: reqwest::Client::new(),
            url,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The current root keys; an error when they cannot be fetched.
    pub async fn keys(&self) -> Result<Vec<RootKey>, String> {
        let (client, url, cached) = match self {
            RootKeySource::Fixed(keys) => return Ok(keys.clone()),
            RootKeySource::Url {
                client,
                url,
                cached,
            } => (client, url, cached),
        };
        let mut cache = cached.lock().await;
        if let Some((at, keys)) = cache.as_ref() {
            if at.elapsed() < KEYS_TTL {
                return Ok(keys.clone());
            }
        }
        let response = client.get(url).send().await.map_err(|e| e.to_string())?;
        let bytes = response
            .error_for_status()
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let keys: RootKeys = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        *cache = Some((std::time::Instant::now(), keys.keys.clone()));
        Ok(keys.keys)
    }
}

/// Verifies callbacks for one issuer.
#[derive(Debug)]
pub struct CallbackVerifier {
    pub issuer_id: String,
    pub roots: RootKeySource,
}

/// Milliseconds given as a string (as Google sends them) or a number.
fn millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(i64),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// `len(part) (4 bytes, little endian) ‖ part` for each part.
pub fn length_prefixed(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn public_key(spki_base64: &str) -> Option<PKey<Public>> {
    let der = STANDARD.decode(spki_base64).ok()?;
    PKey::public_key_from_der(&der).ok()
}

/// ECDSA P-256 with SHA-256 over `data`, the signature in DER and base64.
fn verifies(key: &PKey<Public>, data: &[u8], signature_base64: &str) -> bool {
    let Ok(der) = STANDARD.decode(signature_base64) else {
        return false;
    };
    let (Ok(sig), Ok(ec)) = (EcdsaSig::from_der(&der), key.ec_key()) else {
        return false;
    };
    sig.verify(&sha256(data), &ec).unwrap_or(false)
}

/// Verifies a callback body for `issuer_id` at `now_ms` against `roots`.
pub fn verify(
    body: &[u8],
    roots: &[RootKey],
    issuer_id: &str,
    now_ms: i64,
) -> Result<CallbackEvent, CallbackError> {
    let malformed = |e: serde_json::Error| CallbackError::Malformed(e.to_string());
    let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
    if envelope.protocol_version != PROTOCOL {
        return Err(CallbackError::Protocol(envelope.protocol_version));
    }
    let key = &envelope.intermediate_signing_key;
    if key.signatures.len() > MAX_SIGNATURES {
        return Err(CallbackError::Malformed(format!(
            "more than {MAX_SIGNATURES} signatures of the intermediate signing key"
        )));
    }
    let signed_key_data = length_prefixed(&[SENDER, PROTOCOL, &key.signed_key]);
    let live_roots = roots.iter().filter(|r| {
        r.protocol_version == PROTOCOL
            && r.key_expiration
                .as_deref()
                .and_then(|e| e.parse::<i64>().ok())
                .is_none_or(|e| e > now_ms)
    });
    let signed_by_root = live_roots
        .filter_map(|r| public_key(&r.key_value))
        .any(|root| {
            key.signatures
                .iter()
                .any(|s| verifies(&root, &signed_key_data, s))
        });
    if !signed_by_root {
        return Err(CallbackError::IntermediateNotSigned);
    }
    let intermediate: SignedKey = serde_json::from_str(&key.signed_key).map_err(malformed)?;
    if intermediate.key_expiration <= now_ms {
        return Err(CallbackError::IntermediateExpired);
    }
    let intermediate_key =
        public_key(&intermediate.key_value).ok_or(CallbackError::IntermediateNotSigned)?;
    let message_data = length_prefixed(&[SENDER, issuer_id, PROTOCOL, &envelope.signed_message]);
    if !verifies(&intermediate_key, &message_data, &envelope.signature) {
        return Err(CallbackError::BadSignature);
    }
    let event: CallbackEvent = serde_json::from_str(&envelope.signed_message).map_err(malformed)?;
    if event.exp_time_millis <= now_ms {
        return Err(CallbackError::MessageExpired);
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "3388000000012345678";
    const NOW: i64 = 1_763_942_400_000;

    fn key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey")
    }

    fn spki(k: &PKey<Private>) -> String {
        STANDARD.encode(k.public_key_to_der().expect("SPKI"))
    }

    fn sign(k: &PKey<Private>, data: &[u8]) -> String {
        let ec = k.ec_key().expect("EC");
        let sig = EcdsaSig::sign(&sha256(data), &ec).expect("sign");
        STANDARD.encode(sig.to_der().expect("DER"))
    }

    /// A callback as Google builds it: root → intermediate → message.
    fn callback(
        root: &PKey<Private>,
        recipient: &str,
        key_expiration: i64,
        exp_time: i64,
    ) -> Vec<u8> {
        let intermediate = key();
        let signed_key =
            json!({"keyValue": spki(&intermediate), "keyExpiration": key_expiration.to_string()})
                .to_string();
        let signed_message =
            json!({"classId": format!("{ISSUER}.prg"), "objectId": format!("{ISSUER}.crd"),
            "eventType": "save", "nonce": "n-1", "expTimeMillis": exp_time})
            .to_string();
        let key_sig = sign(root, &length_prefixed(&[SENDER, PROTOCOL, &signed_key]));
        let sig = sign(
            &intermediate,
            &length_prefixed(&[SENDER, recipient, PROTOCOL, &signed_message]),
        );
        json!({"signature": sig, "intermediateSigningKey": {"signedKey": signed_key, "signatures": [key_sig]},
               "protocolVersion": PROTOCOL, "signedMessage": signed_message})
        .to_string()
        .into_bytes()
    }

    fn roots(root: &PKey<Private>) -> Vec<RootKey> {
        vec![RootKey {
            key_value: spki(root),
            protocol_version: PROTOCOL.into(),
            key_expiration: None,
        }]
    }

    #[test]
    fn a_correctly_signed_save_event_verifies() {
        let root = key();
        let body = callback(&root, ISSUER, NOW + 60_000, NOW + 60_000);
        let event = verify(&body, &roots(&root), ISSUER, NOW).expect("verifies");
        assert_eq!(event.event_type, "save");
        assert_eq!(event.nonce, "n-1");
        assert_eq!(event.object_id, format!("{ISSUER}.crd"));
    }

    #[test]
    fn forged_expired_or_misaddressed_callbacks_are_refused() {
        let root = key();
        let ok = |body: &[u8]| verify(body, &roots(&root), ISSUER, NOW);
        let other_root = callback(&key(), ISSUER, NOW + 60_000, NOW + 60_000);
        assert_eq!(ok(&other_root), Err(CallbackError::IntermediateNotSigned));
        let expired_key = callback(&root, ISSUER, NOW - 1, NOW + 60_000);
        assert_eq!(ok(&expired_key), Err(CallbackError::IntermediateExpired));
        let other_issuer = callback(&root, "3388000000099999999", NOW + 60_000, NOW + 60_000);
        assert_eq!(ok(&other_issuer), Err(CallbackError::BadSignature));
        let old = callback(&root, ISSUER, NOW + 60_000, NOW - 1);
        assert_eq!(ok(&old), Err(CallbackError::MessageExpired));
        let mut tampered: serde_json::Value =
            serde_json::from_slice(&callback(&root, ISSUER, NOW + 60_000, NOW + 60_000))
                .expect("JSON");
        tampered["signedMessage"] = json!(
            tampered["signedMessage"]
                .as_str()
                .expect("a string")
                .replace("save", "del")
        );
        let tampered = tampered.to_string().into_bytes();
        assert_eq!(ok(&tampered), Err(CallbackError::BadSignature));
        assert!(matches!(ok(b"{}"), Err(CallbackError::Malformed(_))));
        let mut expired_root = roots(&root);
        expired_root[0].key_expiration = Some((NOW - 1).to_string());
        let body = callback(&root, ISSUER, NOW + 60_000, NOW + 60_000);
        assert_eq!(
            verify(&body, &expired_root, ISSUER, NOW),
            Err(CallbackError::IntermediateNotSigned)
        );
    }

    #[test]
    fn parts_are_length_prefixed_little_endian() {
        assert_eq!(
            length_prefixed(&["ab", ""]),
            b"\x02\0\0\0ab\0\0\0\0".to_vec()
        );
    }
}
