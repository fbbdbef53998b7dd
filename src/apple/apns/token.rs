//! Provider tokens for APNs token auth: an ES256 JWT (`{"alg":"ES256","kid":<key id>}`,
//! `{"iss":<team id>,"iat":<unix secs>}`) signed with the team's `.p8` key, cached and
//! renewed inside the hour Apple accepts it.
//!
//! Apple answers `429 TooManyProviderTokenUpdates` to a provider that renews more often than
//! every 20 minutes, and `403 ExpiredProviderToken` to a token older than an hour; so the cache
//! renews after [`RENEW_AFTER`] and, when APNs calls the token expired anyway (a clock step, a
//! suspended host), once at once — deduplicated, so a burst of 403s from many in-flight pushes
//! makes one new token, not one each.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use reqwest::header::HeaderValue;

use super::ApnsError;

/// A scheduled renewal: well inside Apple's hour, well past its 20-minute minimum.
pub const RENEW_AFTER: Duration = Duration::from_secs(45 * 60);
/// Forced renewals (after `ExpiredProviderToken`) at most this often, so a host whose clock APNs
/// disagrees with cannot turn every push into a token update.
pub const MIN_FORCED_RENEWAL_GAP: Duration = Duration::from_secs(60);

/// Signs provider tokens with the `.p8` key (PKCS#8, EC P-256).
pub struct TokenSigner {
    key: PKey<Private>,
    key_id: String,
    team_id: String,
}

impl TokenSigner {
    /// Parses the `.p8` PEM and checks it is a P-256 key, so a wrong file fails at start-up.
    pub fn new(key_p8_pem: &[u8], key_id: &str, team_id: &str) -> Result<Self, ApnsError> {
        let bad_key = |detail: String| ApnsError::BadTokenKey { detail };
        let key = PKey::private_key_from_pem(key_p8_pem).map_err(|e| bad_key(e.to_string()))?;
        let curve = key
            .ec_key()
            .ok()
            .and_then(|ec: EcKey<Private>| ec.group().curve_name());
        if curve != Some(Nid::X9_62_PRIME256V1) {
            return Err(bad_key("not an EC P-256 key (APNs .p8 keys are)".into()));
        }
        for (value, what) in [(key_id, "key id"), (team_id, "team id")] {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ApnsError::BadTokenIdentity { what });
            }
        }
        Ok(Self {
            key,
            key_id: key_id.to_owned(),
            team_id: team_id.to_owned(),
        })
    }

    /// The compact JWS for `iat` (Unix seconds).
    pub fn sign(&self, iat: u64) -> Result<String, ApnsError> {
        let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, self.key_id);
        let claims = format!(r#"{{"iss":"{}","iat":{iat}}}"#, self.team_id);
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = self
            .es256(signing_input.as_bytes())
            .map_err(|e| ApnsError::Sign(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// JWS wants the raw `r || s` (32 + 32 bytes), openssl gives an ASN.1 DER `ECDSA-Sig-Value`.
    fn es256(&self, input: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key)?;
        let der = signer.sign_oneshot_to_vec(input)?;
        let sig = EcdsaSig::from_der(&der)?;
        let mut raw = sig.r().to_vec_padded(32)?;
        raw.extend(sig.s().to_vec_padded(32)?);
        Ok(raw)
    }
}

/// One issued token, as the `authorization` header value.
#[derive(Debug)]
pub struct ProviderToken {
    pub bearer: HeaderValue,
    issued: Instant,
    generation: u64,
}

struct State {
    current: Arc<ProviderToken>,
    last_forced: Option<Instant>,
}

/// The cached token, shared by every push of one client.
pub struct TokenCache {
    signer: TokenSigner,
    state: RwLock<State>,
}

impl TokenCache {
    /// Signs the first token at once, which proves the key works.
    pub fn new(signer: TokenSigner) -> Result<Self, ApnsError> {
        let first = issue(&signer, 0)?;
        Ok(Self {
            signer,
            state: RwLock::new(State {
                current: Arc::new(first),
                last_forced: None,
            }),
        })
    }

    /// The token to send now, renewed first when it is older than [`RENEW_AFTER`].
    pub fn current(&self) -> Result<Arc<ProviderToken>, ApnsError> {
        {
            let state = self.state.read().map_err(|_| ApnsError::Poisoned)?;
            if state.current.issued.elapsed() < RENEW_AFTER {
                return Ok(state.current.clone());
            }
        }
        let mut state = self.state.write().map_err(|_| ApnsError::Poisoned)?;
        if state.current.issued.elapsed() >= RENEW_AFTER {
            state.current = Arc::new(issue(&self.signer, state.current.generation + 1)?);
        }
        Ok(state.current.clone())
    }

    /// After APNs answered `ExpiredProviderToken` to `rejected`: a new token, unless another push
    /// already replaced it (then that one) or a forced renewal happened within
    /// [`MIN_FORCED_RENEWAL_GAP`] (then the current one, and the push is retried later).
    pub fn renew_rejected(
        &self,
        rejected: &ProviderToken,
    ) -> Result<Arc<ProviderToken>, ApnsError> {
        let mut state = self.state.write().map_err(|_| ApnsError::Poisoned)?;
        let recently_forced = state
            .last_forced
            .is_some_and(|at| at.elapsed() < MIN_FORCED_RENEWAL_GAP);
        if state.current.generation == rejected.generation && !recently_forced {
            state.current = Arc::new(issue(&self.signer, rejected.generation + 1)?);
            state.last_forced = Some(Instant::now());
        }
        Ok(state.current.clone())
    }
}

fn issue(signer: &TokenSigner, generation: u64) -> Result<ProviderToken, ApnsError> {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let jwt = signer.sign(iat)?;
    let bearer = HeaderValue::try_from(format!("bearer {jwt}"))
        .map_err(|e| ApnsError::Sign(e.to_string()))?;
    Ok(ProviderToken {
        bearer: sensitive(bearer),
        issued: Instant::now(),
        generation,
    })
}

fn sensitive(mut value: HeaderValue) -> HeaderValue {
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use openssl::ec::EcGroup;

    use super::*;

    fn p8() -> Vec<u8> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        key.private_key_to_pem_pkcs8().unwrap()
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn jwt_has_es256_header_team_claims_and_a_raw_signature_that_verifies() {
        let pem = p8();
        let jwt = TokenSigner::new(&pem, "KEY1234567", "TEAM123456")
            .unwrap()
            .sign(1_700_000_000)
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode(parts[0]),
            serde_json::json!({"alg": "ES256", "kid": "KEY1234567"})
        );
        assert_eq!(
            decode(parts[1]),
            serde_json::json!({"iss": "TEAM123456", "iat": 1_700_000_000})
        );
        let raw = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(raw.len(), 64, "r || s, not DER");
        let sig = EcdsaSig::from_private_components(
            openssl::bn::BigNum::from_slice(&raw[..32]).unwrap(),
            openssl::bn::BigNum::from_slice(&raw[32..]).unwrap(),
        )
        .unwrap();
        let private = PKey::private_key_from_pem(&pem).unwrap();
        let public = PKey::public_key_from_pem(&private.public_key_to_pem().unwrap()).unwrap();
        let digest = openssl::sha::sha256(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert!(sig.verify(&digest, &public.ec_key().unwrap()).unwrap());
    }

    #[test]
    fn keys_other_than_p256_and_odd_ids_are_refused() {
        let rsa = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let rsa_pem = rsa.private_key_to_pem_pkcs8().unwrap();
        let err = TokenSigner::new(&rsa_pem, "KEY", "TEAM").err().unwrap();
        assert!(matches!(err, ApnsError::BadTokenKey { .. }), "{err}");
        assert!(TokenSigner::new(b"not a key", "KEY", "TEAM").is_err());
        let err = TokenSigner::new(&p8(), "KEY\"", "TEAM").err().unwrap();
        assert!(matches!(err, ApnsError::BadTokenIdentity { .. }), "{err}");
    }

    #[test]
    fn a_burst_of_expired_answers_renews_once() {
        let signer = TokenSigner::new(&p8(), "KEY", "TEAM").unwrap();
        let cache = TokenCache::new(signer).unwrap();
        let first = cache.current().unwrap();
        let renewed = cache.renew_rejected(&first).unwrap();
        assert_ne!(renewed.bearer, first.bearer);
        for _ in 0..10 {
            let again = cache.renew_rejected(&first).unwrap();
            assert_eq!(again.bearer, renewed.bearer, "already replaced");
        }
        let still = cache.renew_rejected(&renewed).unwrap();
        assert_eq!(
            still.bearer, renewed.bearer,
            "forced renewals are rate-limited"
        );
        assert_eq!(cache.current().unwrap().bearer, renewed.bearer);
    }
}
