//! The loyalty subset of the Wallet API's resources, as it goes on the wire (camelCase, unset
//! fields left out). Fields this service does not model survive a GET → PUT round trip in
//! `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A class or object id, `<issuer id>.<suffix>`: digits, a dot, then letters, digits, `.`,
/// `_` or `-` (spec §1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceId(String);

/// Why an id cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    #[error("`{0}` is not <issuer id>.<suffix> with a numeric issuer id")]
    Shape(String),
    #[error("`{0}`: the suffix may only hold letters, digits, `.`, `_` and `-`")]
    Characters(String),
}

impl ResourceId {
    /// The longest id accepted; Google does not document a limit, this keeps URLs sane.
    pub const MAX_LEN: usize = 255;

    /// Checks a full id.
    pub fn parse(id: &str) -> Result<Self, InvalidId> {
        let shape = || InvalidId::Shape(id.to_owned());
        let (issuer, suffix) = id.split_once('.').ok_or_else(shape)?;
        if issuer.is_empty()
            || !issuer.bytes().all(|b| b.is_ascii_digit())
            || id.len() > Self::MAX_LEN
        {
            return Err(shape());
        }
        if suffix.is_empty()
            || !suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(InvalidId::Characters(id.to_owned()));
        }
        Ok(Self(id.to_owned()))
    }

    /// `<issuer_id>.<suffix>`, checked.
    pub fn new(issuer_id: &str, suffix: &str) -> Result<Self, InvalidId> {
        Self::parse(&format!("{issuer_id}.{suffix}"))
    }

    /// The issuer id before the first dot.
    pub fn issuer_id(&self) -> &str {
        self.0.split_once('.').map_or("", |(issuer, _)| issuer)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ResourceId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> String {
        id.0
    }
}

/// A class's review state; this service always sends `UNDER_REVIEW` (spec §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    ReviewStatusUnspecified,
    UnderReview,
    Approved,
    Rejected,
    Draft,
}

/// An object's state; `EXPIRED` and `INACTIVE` move the card to "Expired passes".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ObjectState {
    Active,
    Completed,
    Expired,
    Inactive,
}

/// Whether a PATCH should notify the holder (ephemeral: send it on every PATCH that should).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyPreference {
    NotifyOnUpdate,
    NotificationSettingsForUpdatesUnspecified,
}

/// `TEXT` adds a message silently; `TEXT_AND_NOTIFY` also pushes it (3 per pass per 24 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    Text,
    TextAndNotify,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranslatedString {
    /// A BCP 47 tag: `en`, `ru`, `zh-Hans`.
    pub language: String,
    pub value: String,
}

/// A text with its translations; Google shows the one matching the phone's language, else
/// the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedString {
    pub default_value: TranslatedString,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translated_values: Vec<TranslatedString>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUri {
    pub uri: String,
}

/// An image Google fetches from a public URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub source_uri: ImageUri,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_description: Option<LocalizedString>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackOptions {
    pub url: String,
}

/// One program's card template (spec §1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyClass {
    pub id: ResourceId,
    pub issuer_name: String,
    pub program_name: String,
    pub program_logo: Image,
    /// Set to `UNDER_REVIEW` by the client on every insert and update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_status: Option<ReviewStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex_background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hero_image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_account_id_label: Option<LocalizedString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_account_name_label: Option<LocalizedString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards_tier_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewards_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_options: Option<CallbackOptions>,
    /// Fields not modelled here (and server-set ones such as `kind`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A balance: exactly one of the four kinds (spec §1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Balance {
    String(String),
    Int(i32),
    Double(f64),
    Money(Money),
}

/// An amount in millionths of the currency unit; int64 goes on the wire as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub micros: String,
    pub currency_code: String,
}

impl From<crate::domain::money::Money> for Money {
    /// Minor units scaled by the currency's exponent (2 for EUR, 0 for JPY, 3 for KWD).
    fn from(money: crate::domain::money::Money) -> Self {
        let exponent = u32::from(money.currency.exponent()).min(6);
        Self {
            micros: (i128::from(money.minor) * 10i128.pow(6 - exponent)).to_string(),
            currency_code: money.currency.code().to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyPoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_label: Option<LocalizedString>,
    pub balance: Balance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Barcode {
    /// `QR_CODE`, `CODE_128`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_text: Option<String>,
}

/// `id` may hold letters, digits, `_` and `-` (no dots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextModule {
    pub id: String,
    pub header: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_header: Option<LocalizedString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_body: Option<LocalizedString>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkUri {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localized_description: Option<LocalizedString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksModule {
    pub uris: Vec<LinkUri>,
}

/// A message on the back of the pass; at most 10 per object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub header: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
}

/// One holder's card (spec §1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyObject {
    pub id: ResourceId,
    pub class_id: ResourceId,
    pub state: ObjectState,
    /// What the card shows.
    #[serde(flatten)]
    pub fields: ObjectFields,
    /// Fields not modelled here (and server-set ones such as `kind`, `hasUsers`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An object's content, shared by insert and PATCH; unset fields are left out (and so left
/// as they are by a PATCH). Lists are replaced whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty_points: Option<LoyaltyPoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_loyalty_points: Option<LoyaltyPoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<Barcode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hero_image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_modules_data: Option<Vec<TextModule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links_module_data: Option<LinksModule>,
    /// At most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
}

/// A PATCH of an object: the state and the fields to change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyObjectPatch {
    /// `INACTIVE` or `EXPIRED` revokes the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ObjectState>,
    #[serde(flatten)]
    pub fields: ObjectFields,
    /// `NOTIFY_ON_UPDATE` asks Google to notify the holder (counts against 3 per 24 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_preference: Option<NotifyPreference>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_issuer_dot_suffix_with_allowed_characters() {
        for good in ["3388000000012345678.acme-2026", "1.a.b_c-D"] {
            assert_eq!(ResourceId::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "acme.x", ".x", "1.", "1", "12.a b", "12.a/b", "12.ä", "12.a?b",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
        let long = format!("1.{}", "a".repeat(ResourceId::MAX_LEN));
        assert!(ResourceId::parse(&long).is_err());
        assert_eq!(ResourceId::new("12", "x").unwrap().issuer_id(), "12");
    }

    fn eur(minor: i64) -> Money {
        let currency = crate::domain::money::Currency::parse("EUR").unwrap();
        crate::domain::money::Money::new(minor, currency).into()
    }

    #[test]
    fn money_is_micros_by_the_currency_exponent() {
        use crate::domain::money::{Currency, Money as Domain};
        let jpy = Money::from(Domain::new(1_500, Currency::parse("JPY").unwrap()));
        assert_eq!(jpy.micros, "1500000000");
        let kwd = Money::from(Domain::new(-1_500, Currency::parse("KWD").unwrap()));
        assert_eq!(
            (kwd.micros.as_str(), kwd.currency_code.as_str()),
            ("-1500000", "KWD")
        );
    }

    #[test]
    fn balances_and_money_have_the_wire_shape() {
        let points = LoyaltyPoints {
            label: Some("Cashback".into()),
            localized_label: None,
            balance: Balance::Money(eur(12_550)),
        };
        assert_eq!(
            serde_json::to_value(&points).unwrap(),
            serde_json::json!({"label": "Cashback",
                "balance": {"money": {"micros": "125500000", "currencyCode": "EUR"}}})
        );
        let int: Balance = serde_json::from_value(serde_json::json!({"int": 800})).unwrap();
        assert_eq!(int, Balance::Int(800));
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = serde_json::json!({"id": "1.o", "classId": "1.c", "state": "ACTIVE",
            "kind": "walletobjects#loyaltyObject", "hasUsers": false});
        let object: LoyaltyObject = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&object).unwrap(), json);
        let json = serde_json::json!({"id": "1.o", "classId": "1.c", "state": "ACTIVE",
            "accountName": "Jane", "loyaltyPoints": {"balance": {"string": "7/10"}},
            "kind": "walletobjects#loyaltyObject"});
        let object: LoyaltyObject = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(object.fields.account_name.as_deref(), Some("Jane"));
        assert!(
            !object.extra.contains_key("accountName"),
            "{:?}",
            object.extra
        );
        assert_eq!(object.extra.len(), 1);
        assert_eq!(serde_json::to_value(&object).unwrap(), json);
    }
}
