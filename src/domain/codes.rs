//! The secrets and codes a card carries, all drawn from the operating system's CSPRNG:
//! the pass serial, the web-service authentication token and the short barcode code; and the
//! token of an invite's enrollment link.

use std::fmt;

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Crockford's base32: no I, L, O, U, so a code read aloud or typed cannot be mistaken.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn random_bytes<const N: usize>() -> [u8; N] {
    // ThreadRng is a CSPRNG (ChaCha12) seeded and periodically reseeded from the OS.
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The pass's `serialNumber`: 128 random bits as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    pub fn generate() -> Self {
        Self(hex::encode(random_bytes::<16>()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn from_db(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pass's `authenticationToken`: 256 random bits, base64url (43 characters). It never
/// changes for the life of a card, as Apple requires.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn generate() -> Self {
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    pub fn from_db(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so response timing says nothing about the token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(..)")
    }
}

/// The short code in the barcode and under it: 12 Crockford base32 characters (60 random
/// bits), shown as `XXXX-XXXX-XXXX`. Not the serial, so the barcode reveals nothing that
/// authorises pass downloads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardCode(String);

impl CardCode {
    pub const LEN: usize = 12;

    pub fn generate() -> Self {
        let bytes = random_bytes::<{ CardCode::LEN }>();
        Self(
            bytes
                .iter()
                .map(|b| char::from(CROCKFORD[usize::from(b & 31)]))
                .collect(),
        )
    }

    /// Normalises what a scanner or a person typed: case, dashes and spaces are ignored and
    /// the look-alikes O→0, I/L→1 are mapped, as Crockford's alphabet intends.
    pub fn parse(input: &str) -> Option<Self> {
        let mut code = String::with_capacity(Self::LEN);
        for c in input.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !CROCKFORD.contains(&u8::try_from(c).ok()?) {
                return None;
            }
            code.push(c);
        }
        (code.len() == Self::LEN).then_some(Self(code))
    }

    pub fn from_db(s: String) -> Self {
        Self(s)
    }

    /// The canonical form stored and put in the barcode.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The grouped form printed under the barcode.
    pub fn display(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }
}

/// The secret of an invite's enrollment link (`/join/{token}`): 160 random bits, base64url
/// (27 characters), so links cannot be guessed or enumerated. A bearer capability like a
/// card's [`AuthToken`]; `Debug` does not show it, so it stays out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteToken(String);

impl InviteToken {
    pub const LEN: usize = 27;

    pub fn generate() -> Self {
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<20>()))
    }

    /// Accepts only what [`InviteToken::generate`] makes, so junk from a URL never reaches the
    /// database.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == Self::LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn from_db(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_codes_survive_human_retyping() {
        let code = CardCode::generate();
        let typed = code.display().to_lowercase();
        assert_eq!(CardCode::parse(&typed), Some(code.clone()));
        assert_eq!(
            CardCode::parse("ABCD EFGH JKMN").map(|c| c.display()),
            Some("ABCD-EFGH-JKMN".into())
        );
        assert_eq!(
            CardCode::parse("oooo-iiii-llll").map(|c| c.0),
            Some("000011111111".into())
        );
        assert!(CardCode::parse("ABCD-EFGH-JKM").is_none());
        assert!(CardCode::parse("ABCD-EFGH-JKMU").is_none());
        assert!(CardCode::parse("ABCD-EFGH-JKMÜ").is_none());
    }

    #[test]
    fn secrets_are_long_enough_for_apple_and_distinct() {
        let (a, b) = (AuthToken::generate(), AuthToken::generate());
        assert!(a.expose().len() >= 32);
        assert!(!a.matches(b.expose()));
        assert!(a.matches(a.expose()));
        let s = SerialNumber::generate();
        assert_eq!(SerialNumber::parse(s.as_str()), Some(s.clone()));
        assert_ne!(s, SerialNumber::generate());
    }

    #[test]
    fn invite_tokens_are_url_safe_parse_back_and_hide_in_logs() {
        let token = InviteToken::generate();
        assert_eq!(token.expose().len(), InviteToken::LEN);
        assert_eq!(InviteToken::parse(token.expose()), Some(token.clone()));
        assert_ne!(token, InviteToken::generate());
        assert!(!format!("{token:?}").contains(token.expose()));
        assert!(InviteToken::parse("short").is_none());
        assert!(InviteToken::parse(&"a/".repeat(14)[..27]).is_none());
        assert!(InviteToken::parse(&format!("{}a", "é".repeat(13))).is_none());
    }
}
