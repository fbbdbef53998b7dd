//! RS256 JSON Web Tokens signed with the service-account key: the OAuth2 assertion and the
//! save-link JWT. The only place in the Google module that touches openssl for signing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde::Serialize;

/// Why a JWT could not be made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("encoding the JWT claims: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("signing the JWT with RS256: {0}")]
    Sign(#[from] openssl::error::ErrorStack),
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// `base64url(header).base64url(claims).base64url(RS256 signature)`, unpadded (RFC 7515),
/// with header `{"alg":"RS256","typ":"JWT"}` plus `kid` when given.
pub fn sign_rs256<C: Serialize>(
    key: &PKey<Private>,
    key_id: Option<&str>,
    claims: &C,
) -> Result<String, JwtError> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: key_id,
    };
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
    let mut signer = Signer::new(MessageDigest::sha256(), key)?;
    signer.update(token.as_bytes())?;
    let signature = signer.sign_to_vec()?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

#[cfg(test)]
mod tests {
    use openssl::rsa::Rsa;
    use openssl::sign::Verifier;

    use super::*;

    #[test]
    fn the_signature_covers_header_and_claims_and_verifies_with_the_public_key() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let token = sign_rs256(&key, Some("kid1"), &serde_json::json!({"a": 1})).unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let header = signed.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"RS256","typ":"JWT","kid":"kid1"}"#
        );
        let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
        verifier.update(signed.as_bytes()).unwrap();
        assert!(
            verifier
                .verify(&URL_SAFE_NO_PAD.decode(signature).unwrap())
                .unwrap()
        );
    }
}
