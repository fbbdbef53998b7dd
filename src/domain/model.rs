//! Programs, accounts, members and cards as the rest of the crate sees them, with the small
//! value types they are made of (colours, statuses, scopes).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FieldError;
use super::codes::{AuthToken, CardCode, SerialNumber};
use super::ids::{AccountId, CardId, MemberId, ProgramId};
use super::money::Currency;
use super::rules::{Kind, Rules};

/// Whose balance a program keeps: each decision-maker's, or the whole client company's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceScope {
    Member,
    Account,
}

impl BalanceScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceScope::Member => "member",
            BalanceScope::Account => "account",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "account" => Some(Self::Account),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramStatus {
    Active,
    Ended,
}

impl ProgramStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProgramStatus::Active => "active",
            ProgramStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    Suspended,
    Revoked,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Suspended => "suspended",
            CardStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }

    /// Which status changes a desk or an admin may make. Revocation is final.
    pub fn can_become(self, next: CardStatus) -> bool {
        matches!(
            (self, next),
            (CardStatus::Active, CardStatus::Suspended)
                | (CardStatus::Suspended, CardStatus::Active)
                | (
                    CardStatus::Active | CardStatus::Suspended,
                    CardStatus::Revoked
                )
        )
    }
}

/// An sRGB colour; accepted as `#rgb`, `#rrggbb` or `rgb(r, g, b)`, written the way Apple
/// documents pass colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(hex) = s.strip_prefix('#') {
            return parse_hex(hex);
        }
        let inner = s.strip_prefix("rgb(")?.strip_suffix(')')?;
        let parts: Vec<u8> = inner
            .split(',')
            .map(|p| p.trim().parse::<u8>().ok())
            .collect::<Option<_>>()?;
        match parts[..] {
            [r, g, b] => Some(Color(r, g, b)),
            _ => None,
        }
    }

    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

fn parse_hex(hex: &str) -> Option<Color> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
    match hex.len() {
        3 => Some(Color(
            digit(0, 1)? * 17,
            digit(1, 1)? * 17,
            digit(2, 1)? * 17,
        )),
        6 => Some(Color(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        _ => None,
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rgb({}, {}, {})", self.0, self.1, self.2)
    }
}

impl Serialize for Color {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Color::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a colour: use #rrggbb, #rgb or rgb(r, g, b)"
            ))
        })
    }
}

/// What a program changes of its design folder's look. Unset values keep the folder's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreground_color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_color: Option<Color>,
    /// Text Wallet draws next to the logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_text: Option<String>,
    /// The supplier's name on the pass; defaults to the service's `organization_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
}

impl Branding {
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, text) in [
            ("logo_text", &self.logo_text),
            ("organization_name", &self.organization_name),
        ] {
            if text.as_ref().is_some_and(|t| t.chars().count() > 64) {
                return Err(FieldError::new(field, "must be at most 64 characters"));
            }
        }
        Ok(())
    }
}

/// A loyalty program of the supplier.
#[derive(Debug, Clone)]
pub struct Program {
    pub id: ProgramId,
    pub name: String,
    pub rules: Rules,
    pub currency: Currency,
    pub time_zone: chrono_tz::Tz,
    pub balance_scope: BalanceScope,
    pub design: String,
    pub branding: Branding,
    pub status: ProgramStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Program {
    pub fn kind(&self) -> Kind {
        self.rules.kind()
    }
}

/// A client company of the supplier.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// The ERP's customer number.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A decision-maker of a client company.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: MemberId,
    pub account_id: AccountId,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The ERP's contact id.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One member's card in one program.
#[derive(Debug, Clone)]
pub struct Card {
    pub id: CardId,
    pub program_id: ProgramId,
    pub member_id: MemberId,
    pub account_id: AccountId,
    pub serial: SerialNumber,
    pub auth_token: AuthToken,
    pub code: CardCode,
    pub status: CardStatus,
    /// Bumped on every change of what the card shows.
    pub version: i64,
    /// When what the card shows last changed, in whole seconds and strictly increasing per
    /// card: the pass's `Last-Modified`.
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Why this version is worth a lock-screen message, if it is.
    pub notify: Option<crate::domain::face::Notify>,
    /// The card's Google Wallet object (`<issuer id>.<card id>`), when Google Wallet was on
    /// at issue.
    pub google_object_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_every_documented_form() {
        assert_eq!(Color::parse("#16345c"), Some(Color(22, 52, 92)));
        assert_eq!(Color::parse("#fff"), Some(Color(255, 255, 255)));
        assert_eq!(Color::parse("rgb(22, 52,92)"), Some(Color(22, 52, 92)));
        assert_eq!(Color(22, 52, 92).to_string(), "rgb(22, 52, 92)");
        for bad in [
            "#12345",
            "rgb(1,2)",
            "rgb(256,0,0)",
            "blue",
            "#ggg",
            "rgb(1,2,3,4)",
        ] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn revocation_is_final() {
        assert!(CardStatus::Active.can_become(CardStatus::Suspended));
        assert!(CardStatus::Suspended.can_become(CardStatus::Revoked));
        assert!(!CardStatus::Revoked.can_become(CardStatus::Active));
        assert!(!CardStatus::Revoked.can_become(CardStatus::Suspended));
    }
}
