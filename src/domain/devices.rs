//! What a wallet app tells the PassKit web service about itself: its device library
//! identifier, its push token, and the scheme of its `Authorization` header (Apple Wallet and
//! the wallets for Android that speak the same protocol).

use std::fmt;

/// The scheme of `Authorization: <scheme> <authenticationToken>`, which names the wallet app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletScheme {
    /// Apple Wallet; the only scheme pushed through APNs.
    ApplePass,
    /// Wallet Passes for Android (pushes through its own service).
    AndroidPass,
    /// WalletUnion on Google services.
    WalletUnionPass,
    /// WalletUnion on Huawei services.
    WalletUnionHmsPass,
}

impl WalletScheme {
    pub const ALL: [WalletScheme; 4] = [
        WalletScheme::ApplePass,
        WalletScheme::AndroidPass,
        WalletScheme::WalletUnionPass,
        WalletScheme::WalletUnionHmsPass,
    ];

    /// As sent in the header and stored on the device.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletScheme::ApplePass => "ApplePass",
            WalletScheme::AndroidPass => "AndroidPass",
            WalletScheme::WalletUnionPass => "WalletUnionPass",
            WalletScheme::WalletUnionHmsPass => "WalletUnionHMSPass",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Splits `Authorization: <scheme> <token>`; `None` for another scheme or an empty token.
pub fn parse_authorization(header: &str) -> Option<(WalletScheme, &str)> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    let scheme = WalletScheme::parse(scheme)?;
    (!token.is_empty()).then_some((scheme, token))
}

/// Printable ASCII without spaces or slashes, `1..=max` characters.
fn is_plain(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// The `deviceLibraryIdentifier`: Wallet's id of one device's pass library, and the shared
/// secret of the list endpoint. Apple's are hex; other wallets' are only known to be short.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceLibraryId(String);

impl DeviceLibraryId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Option<Self> {
        is_plain(s, Self::MAX_LEN).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceLibraryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceLibraryId(..)")
    }
}

/// The push token a device registers with. Apple Wallet's are APNs device tokens, which go
/// into the APNs request path: hex, 32 bytes today (64 digits) and up to 100 bytes, as Apple
/// warns they may grow. Other wallets' tokens (FCM, HMS) never reach APNs and are only known
/// to be printable and short.
#[derive(Clone, PartialEq, Eq)]
pub struct PushToken(String);

impl PushToken {
    pub const MAX_LEN: usize = 512;
    /// Hex digits of an APNs device token: 32 to 100 bytes.
    pub const APNS_HEX_LEN: std::ops::RangeInclusive<usize> = 64..=200;

    /// A token as a wallet of `scheme` registers it; `None` for one that wallet cannot send.
    pub fn parse(scheme: WalletScheme, s: &str) -> Option<Self> {
        let s = s.trim();
        let valid = match scheme {
            WalletScheme::ApplePass => {
                Self::APNS_HEX_LEN.contains(&s.len())
                    && s.len() % 2 == 0
                    && s.bytes().all(|b| b.is_ascii_hexdigit())
            }
            _ => is_plain(s, Self::MAX_LEN),
        };
        valid.then(|| Self(s.to_owned()))
    }

    /// A token as stored: registrations made before tokens were checked per scheme are still
    /// read (an APNs token that is not hex is never sent: see `apple::apns::request`).
    pub fn from_stored(s: &str) -> Option<Self> {
        is_plain(s, Self::MAX_LEN).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wallet_scheme_is_read_from_the_authorization_header() {
        for scheme in WalletScheme::ALL {
            let header = format!("{} token-123", scheme.as_str());
            assert_eq!(parse_authorization(&header), Some((scheme, "token-123")));
        }
        for bad in [
            "Bearer abc",
            "ApplePass",
            "ApplePass  ",
            "applepass abc",
            "",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn device_ids_and_push_tokens_are_short_plain_ascii() {
        assert!(DeviceLibraryId::parse("a1b2c3").is_some());
        assert!(DeviceLibraryId::parse("").is_none());
        assert!(DeviceLibraryId::parse("a/b").is_none());
        assert!(DeviceLibraryId::parse(&"a".repeat(129)).is_none());
        let apple = WalletScheme::ApplePass;
        assert!(PushToken::parse(apple, &"f".repeat(64)).is_some());
        assert!(PushToken::parse(apple, &"0A".repeat(50)).is_some());
        for bad in [
            "has space".to_owned(),
            "f".repeat(62),
            "f".repeat(65),
            "f".repeat(202),
            format!("{}zz", "f".repeat(62)),
            format!("{}/..", "f".repeat(64)),
        ] {
            assert!(PushToken::parse(apple, &bad).is_none(), "{bad}");
        }
        let fcm = "dQw4w9WgXcQ:APA91bH-some_token";
        assert!(PushToken::parse(WalletScheme::AndroidPass, fcm).is_some());
        assert!(PushToken::parse(WalletScheme::AndroidPass, "has space").is_none());
        let token = PushToken::parse(apple, &"f".repeat(64)).unwrap();
        assert!(format!("{token:?}").contains(".."));
    }
}
