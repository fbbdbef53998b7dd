//! Money in integer minor units of an ISO 4217 currency, and percentages in basis points.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The largest size of any money input, in minor units: ±10^13 (a hundred billion in a
/// two-decimal currency). Sums of many such amounts stay far inside `i64`, so the ledger's
/// arithmetic cannot overflow on what a caller sends.
pub const MAX_MINOR: i64 = 10_000_000_000_000;

/// Checks a money input (order and refund amounts, adjustments, redemptions, rule thresholds)
/// against [`MAX_MINOR`] either way; `field` names it in the error.
pub fn check_minor(field: &str, amount: i64) -> Result<i64, FieldError> {
    if (-MAX_MINOR..=MAX_MINOR).contains(&amount) {
        Ok(amount)
    } else {
        Err(FieldError::with_code(
            "invalid_amount",
            field,
            format!("must be between -{MAX_MINOR} and {MAX_MINOR} (10^13) minor units"),
        ))
    }
}

/// ISO 4217 currencies whose minor unit is not 1/100. Every other active code in
/// [`ACTIVE_CODES`] has two decimals.
const EXPONENTS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes for money (no precious metals or testing codes).
const ACTIVE_CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB \
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES \
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK \
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR \
SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI \
UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code, validated against the active list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Option<Self> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        let known = bytes.iter().all(u8::is_ascii_uppercase)
            && ACTIVE_CODES.split_ascii_whitespace().any(|c| c == code);
        known.then_some(Self(bytes))
    }

    pub fn code(&self) -> &str {
        // The bytes were checked to be ASCII upper-case letters in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimals of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u8 {
        EXPONENTS
            .iter()
            .find(|(c, _)| *c == self.code())
            .map_or(2, |(_, e)| *e)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("`{s}` is not an active ISO 4217 currency code"))
        })
    }
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// The amount in major units, for formats that want a number (Apple's `currencyCode`
    /// fields). Exact for every amount below 2^53 minor units.
    pub fn major_f64(&self) -> f64 {
        self.minor as f64 / 10f64.powi(i32::from(self.currency.exponent()))
    }

    /// Whole and fractional digits, e.g. `(-1234, "05")` for -1 234.05 in EUR.
    pub fn split(&self) -> (bool, u64, String) {
        let exp = u32::from(self.currency.exponent());
        let abs = self.minor.unsigned_abs();
        let unit = 10u64.pow(exp);
        let frac = if exp == 0 {
            String::new()
        } else {
            format!("{:0width$}", abs % unit, width = exp as usize)
        };
        (self.minor < 0, abs / unit, frac)
    }
}

/// Basis points: 1 % = 100, 100 % = 10 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bps(pub u32);

impl Bps {
    pub const FULL: Bps = Bps(10_000);

    /// `floor(amount × bps / 10 000)`: how credits to the holder round.
    pub fn share_floor(self, amount_minor: i64) -> i64 {
        let v = i128::from(amount_minor) * i128::from(self.0);
        i64::try_from(v.div_euclid(10_000)).unwrap_or(i64::MAX)
    }

    /// Percent text without trailing zeros: 500 → "5", 750 → "7.5", 1234 → "12.34".
    pub fn percent_text(self) -> String {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_inputs_are_bounded_either_way_without_wrapping() {
        assert_eq!(check_minor("a", MAX_MINOR), Ok(MAX_MINOR));
        assert_eq!(check_minor("a", -MAX_MINOR), Ok(-MAX_MINOR));
        for bad in [MAX_MINOR + 1, -MAX_MINOR - 1, i64::MIN, i64::MAX] {
            let e = check_minor("amount", bad).expect_err("out of bound");
            assert_eq!((e.code, e.field.as_str()), ("invalid_amount", "amount"));
        }
    }

    #[test]
    fn currencies_know_their_minor_unit() {
        assert_eq!(Currency::parse("EUR").map(|c| c.exponent()), Some(2));
        assert_eq!(Currency::parse("JPY").map(|c| c.exponent()), Some(0));
        assert_eq!(Currency::parse("KWD").map(|c| c.exponent()), Some(3));
        assert!(Currency::parse("eur").is_none());
        assert!(Currency::parse("XYZ").is_none());
        assert!(Currency::parse("EURO").is_none());
    }

    #[test]
    fn credits_round_down_even_for_negative_amounts() {
        assert_eq!(Bps(300).share_floor(47_000), 1_410);
        assert_eq!(Bps(300).share_floor(9_999), 299);
        assert_eq!(Bps(300).share_floor(-1), -1);
    }

    #[test]
    fn percent_text_drops_trailing_zeros() {
        assert_eq!(Bps(500).percent_text(), "5");
        assert_eq!(Bps(750).percent_text(), "7.5");
        assert_eq!(Bps(1234).percent_text(), "12.34");
        assert_eq!(Bps(5).percent_text(), "0.05");
    }

    #[test]
    fn money_splits_into_digits_by_exponent() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Money::new(-123_405, eur).split(), (true, 1234, "05".into()));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(500, jpy).split(), (false, 500, String::new()));
    }
}
