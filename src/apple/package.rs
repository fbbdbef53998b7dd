//! Builds a signed `.pkpass` from a card face: pass.json, per-pass localized strings, the
//! manifest of SHA-1s, the detached signature and the zip. The design's images were hashed
//! and packed at start, so the only real cost per pass is the signature.

use std::io::{Cursor, Write};

use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::signer::{Signer, SignerError};
use super::strings;
use super::template::Design;
use crate::domain::face::{CardFace, FaceField, FaceValue};
use crate::domain::i18n::Lang;
use crate::domain::model::Branding;

/// The media type Wallet needs to open a pass from Safari.
pub const PKPASS_MEDIA_TYPE: &str = "application/vnd.apple.pkpass";

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("signing the manifest: {0}")]
    Sign(#[from] SignerError),
    #[error("writing the pass archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the pass archive: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything that differs from one pass to the next.
pub struct PassContent<'a> {
    pub serial: &'a str,
    pub auth_token: &'a str,
    /// Canonical card code (barcode message) and its grouped form (shown under it).
    pub barcode_message: &'a str,
    pub barcode_alt_text: &'a str,
    pub organization_name: &'a str,
    pub description: &'a str,
    pub branding: &'a Branding,
    /// `{public_url}/passes`; devices append `/v1/…`.
    pub web_service_url: &'a str,
    pub voided: bool,
    pub face: &'a CardFace,
}

/// pass.json for `content` on `design`, as bytes (serialized once, hashed and zipped as is).
pub fn pass_json(signer: &Signer, design: &Design, content: &PassContent<'_>) -> Vec<u8> {
    let mut pass: Map<String, Value> = design.skeleton.clone();
    let mut set = |k: &str, v: Value| {
        pass.insert(k.to_owned(), v);
    };
    set("formatVersion", json!(1));
    set("passTypeIdentifier", json!(signer.pass_type_id()));
    set("teamIdentifier", json!(signer.team_id()));
    set("serialNumber", json!(content.serial));
    set("organizationName", json!(content.organization_name));
    set("description", json!(content.description));
    set("authenticationToken", json!(content.auth_token));
    set("webServiceURL", json!(content.web_service_url));
    set(
        "barcodes",
        json!([{
            "format": "PKBarcodeFormatQR",
            "message": content.barcode_message,
            "messageEncoding": "iso-8859-1",
            "altText": content.barcode_alt_text,
        }]),
    );
    let b = content.branding;
    for (key, color) in [
        ("backgroundColor", b.background_color),
        ("foregroundColor", b.foreground_color),
        ("labelColor", b.label_color),
    ] {
        if let Some(c) = color {
            set(key, json!(c.to_string()));
        }
    }
    if let Some(text) = &b.logo_text {
        set("logoText", json!(text));
    }
    if content.voided {
        set("voided", json!(true));
    }
    set("storeCard", store_card(content.face));
    // A map of plain JSON values always serializes.
    serde_json::to_vec(&Value::Object(pass)).unwrap_or_default()
}

fn store_card(face: &CardFace) -> Value {
    let mut card = Map::new();
    for (area, fields) in face.areas() {
        if !fields.is_empty() {
            let list: Vec<Value> = fields.iter().map(field_json).collect();
            card.insert(format!("{area}Fields"), Value::Array(list));
        }
    }
    Value::Object(card)
}

fn field_json(f: &FaceField) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), json!(f.key));
    m.insert("label".into(), json!(f.label));
    match &f.value {
        FaceValue::Money(money) => {
            m.insert("value".into(), json!(money.major_f64()));
            m.insert("currencyCode".into(), json!(money.currency.code()));
        }
        FaceValue::Count(n) => {
            m.insert("value".into(), json!(n));
        }
        other => {
            m.insert("value".into(), json!(other.text(Lang::En)));
        }
    }
    if let Some(message) = f.change_message {
        m.insert("changeMessage".into(), json!(message));
    }
    Value::Object(m)
}

/// Each language's pass.strings: the design's text plus translations of this pass's
/// sentences (their English text is the key, so a device in another language shows English).
fn localized_strings(design: &Design, face: &CardFace) -> Vec<(String, Vec<u8>)> {
    let sentences: Vec<(&FaceValue, String)> = face
        .fields()
        .map(|f| &f.value)
        .filter(|v| v.is_localized_sentence())
        .map(|v| (v, strings::escape(&v.text(Lang::En))))
        .collect();
    design
        .strings
        .iter()
        .map(|s| {
            let mut lines = String::new();
            for (value, key) in &sentences {
                let translated = strings::escape(&value.text(s.lang));
                lines.push_str(&format!("\"{key}\" = \"{translated}\";\n"));
            }
            let mut bytes = s.utf16.clone();
            strings::append_utf16le(&mut bytes, &lines);
            (format!("{}.lproj/pass.strings", s.lang.tag()), bytes)
        })
        .collect()
}

/// The complete signed pass.
pub fn build_pkpass(
    signer: &Signer,
    design: &Design,
    content: &PassContent<'_>,
) -> Result<Vec<u8>, PassError> {
    let pass_json = pass_json(signer, design, content);
    let lproj = localized_strings(design, content.face);
    let mut manifest = Map::new();
    for (path, sha1) in &design.image_hashes {
        manifest.insert(path.clone(), json!(sha1));
    }
    manifest.insert(
        "pass.json".into(),
        json!(hex::encode(Sha1::digest(&pass_json))),
    );
    for (path, bytes) in &lproj {
        manifest.insert(path.clone(), json!(hex::encode(Sha1::digest(bytes))));
    }
    let manifest = serde_json::to_vec(&Value::Object(manifest)).unwrap_or_default();
    let signature = signer.sign_manifest(&manifest)?;

    let capacity = design.images_bytes + pass_json.len() + manifest.len() + signature.len() + 4096;
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    let mut images = design.images_zip.clone();
    for i in 0..images.len() {
        zip.raw_copy_file(images.by_index_raw(i)?)?;
    }
    // Everything is stored, not deflated: the entries are small, the images are already
    // compressed PNGs, and each deflate stream allocates ~300 KB of compressor state, which
    // cost more CPU per pass than the signature.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("pass.json", stored)?;
    zip.write_all(&pass_json)?;
    for (path, bytes) in &lproj {
        zip.start_file(path.as_str(), stored)?;
        zip.write_all(bytes)?;
    }
    zip.start_file("manifest.json", stored)?;
    zip.write_all(&manifest)?;
    zip.start_file("signature", stored)?;
    zip.write_all(&signature)?;
    Ok(zip.finish()?.into_inner())
}
