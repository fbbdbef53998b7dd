//! pass.json, serialized straight from the design's skeleton, the pass's content and its face,
//! borrowing every string instead of building a `serde_json::Value` per pass.
//!
//! Keys come out sorted at every level, as a `serde_json::Map` writes them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::PassContent;
use crate::apple::signer::Signer;
use crate::apple::template::PassTemplate;
use crate::domain::face::{FaceField, FaceValue};
use crate::domain::i18n::Lang;

/// The English text of a field's value, `None` for numbers (written as JSON numbers). It is
/// pass.json's value and, for localized sentences, the key of their translations.
pub(super) fn english(value: &FaceValue) -> Option<Cow<'_, str>> {
    match value {
        FaceValue::Money(_) | FaceValue::Count(_) => None,
        FaceValue::Text(text) => Some(Cow::Borrowed(text)),
        FaceValue::Phrase(phrase) => Some(Cow::Borrowed(phrase)),
        other => Some(Cow::Owned(other.text(Lang::En))),
    }
}

/// pass.json for `content` on `template`; `english` holds [`english`] of every face field, in
/// `CardFace::fields` order.
pub(super) fn serialize(
    signer: &Signer,
    template: &PassTemplate,
    content: &PassContent<'_>,
    english: &[Option<Cow<'_, str>>],
) -> Vec<u8> {
    let mut pass: BTreeMap<&str, Entry<'_>> = template
        .design
        .skeleton
        .iter()
        .map(|(key, value)| (key.as_str(), Entry::Skeleton(value)))
        .collect();
    let mut set = |key, entry| {
        pass.insert(key, entry);
    };
    set("formatVersion", Entry::Number(1));
    set("passTypeIdentifier", Entry::Text(signer.pass_type_id()));
    set("teamIdentifier", Entry::Text(signer.team_id()));
    set("serialNumber", Entry::Text(content.serial));
    set("organizationName", Entry::Text(content.organization_name));
    set("description", Entry::Text(content.description));
    set("authenticationToken", Entry::Text(content.auth_token));
    set("webServiceURL", Entry::Text(content.web_service_url));
    let barcode = Barcode {
        alt_text: content.barcode_alt_text,
        format: "PKBarcodeFormatQR",
        message: content.barcode_message,
        message_encoding: "iso-8859-1",
    };
    set("barcodes", Entry::Barcodes([barcode]));
    let b = content.branding;
    for (key, color) in [
        ("backgroundColor", b.background_color),
        ("foregroundColor", b.foreground_color),
        ("labelColor", b.label_color),
    ] {
        if let Some(c) = color {
            set(key, Entry::Owned(c.to_string()));
        }
    }
    if let Some(text) = &b.logo_text {
        set("logoText", Entry::Text(text));
    }
    if content.voided {
        set("voided", Entry::Flag(true));
    }
    set("storeCard", Entry::StoreCard(store_card(content, english)));
    // Borrowed strings, numbers and JSON values always serialize.
    serde_json::to_vec(&pass).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Skeleton(&'a Value),
    Text(&'a str),
    Owned(String),
    Number(u8),
    Flag(bool),
    Barcodes([Barcode<'a>; 1]),
    StoreCard(BTreeMap<String, Vec<Field<'a>>>),
}

/// Fields in key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Barcode<'a> {
    alt_text: &'a str,
    format: &'static str,
    message: &'a str,
    message_encoding: &'static str,
}

/// Fields in key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Field<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    change_message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'a str>,
    key: &'static str,
    label: &'static str,
    value: FieldValue<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum FieldValue<'a> {
    Amount(f64),
    Count(i64),
    Text(&'a str),
}

fn store_card<'a>(
    content: &PassContent<'a>,
    english: &'a [Option<Cow<'a, str>>],
) -> BTreeMap<String, Vec<Field<'a>>> {
    let mut texts = english.iter();
    let mut card = BTreeMap::new();
    for (area, fields) in content.face.areas() {
        let list: Vec<Field<'a>> = fields
            .iter()
            .zip(texts.by_ref())
            .map(|(f, text)| field(f, text.as_deref()))
            .collect();
        if !list.is_empty() {
            card.insert(format!("{area}Fields"), list);
        }
    }
    card
}

fn field<'a>(f: &'a FaceField, english: Option<&'a str>) -> Field<'a> {
    let (value, currency_code) = match (&f.value, english) {
        (FaceValue::Money(money), _) => (
            FieldValue::Amount(money.major_f64()),
            Some(money.currency.code()),
        ),
        (FaceValue::Count(n), _) => (FieldValue::Count(*n), None),
        (_, text) => (FieldValue::Text(text.unwrap_or_default()), None),
    };
    Field {
        change_message: f.change_message,
        currency_code,
        key: f.key,
        label: f.label,
        value,
    }
}
