//! Builds a signed `.pkpass` from a card face: pass.json, per-pass localized strings, the
//! manifest of SHA-1s, the detached signature and the zip. The design's images and static
//! strings were hashed and packed at start, so the only real cost per pass is the signature.

mod pass_json;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use sha1::{Digest, Sha1};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::signer::{Signer, SignerError};
use super::strings;
use super::template::{PassStrings, PassTemplate};
use crate::domain::face::{CardFace, FaceValue};
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

/// pass.json for `content` on `template`, as bytes (serialized once, hashed and zipped as is).
pub fn pass_json(signer: &Signer, template: &PassTemplate, content: &PassContent<'_>) -> Vec<u8> {
    pass_json::serialize(signer, template, content, &english_texts(content.face))
}

/// [`pass_json::english`] of every field, in `CardFace::fields` order: rendered once per pass
/// for pass.json and the strings keys.
fn english_texts(face: &CardFace) -> Vec<Option<Cow<'_, str>>> {
    face.fields()
        .map(|f| pass_json::english(&f.value))
        .collect()
}

/// One language's pass.strings: the design's text, then translations of this pass's sentences
/// (their English text is the key, so a device in another language shows English).
struct LocalizedStrings<'a> {
    design: &'a PassStrings,
    /// This pass's lines, UTF-16 LE, written after `design.utf16`.
    lines: Vec<u8>,
    sha1: String,
}

fn localized_strings<'a>(
    template: &'a PassTemplate,
    face: &CardFace,
    english: &[Option<Cow<'_, str>>],
) -> Vec<LocalizedStrings<'a>> {
    // Each sentence's key, escaped and encoded once for every language.
    let sentences: Vec<(&FaceValue, Vec<u8>)> = face
        .fields()
        .zip(english)
        .filter(|(f, _)| f.value.is_localized_sentence())
        .filter_map(|(f, text)| {
            let mut key = Vec::new();
            strings::append_escaped_utf16le(&mut key, text.as_deref()?);
            Some((&f.value, key))
        })
        .collect();
    template
        .strings
        .iter()
        .map(|s| {
            let mut lines = Vec::new();
            for (value, key) in &sentences {
                strings::append_utf16le(&mut lines, "\"");
                lines.extend_from_slice(key);
                strings::append_utf16le(&mut lines, "\" = \"");
                match s.lang {
                    Lang::En => lines.extend_from_slice(key),
                    lang => strings::append_escaped_utf16le(&mut lines, &value.text(lang)),
                }
                strings::append_utf16le(&mut lines, "\";\n");
            }
            let sha1 = s.utf16_sha1.clone().chain_update(&lines).finalize();
            LocalizedStrings {
                design: s,
                lines,
                sha1: hex::encode(sha1),
            }
        })
        .collect()
}

/// The complete signed pass.
pub fn build_pkpass(
    signer: &Signer,
    template: &PassTemplate,
    content: &PassContent<'_>,
) -> Result<Vec<u8>, PassError> {
    let english = english_texts(content.face);
    let pass_json = pass_json::serialize(signer, template, content, &english);
    let lproj = localized_strings(template, content.face, &english);
    let pass_json_sha1 = hex::encode(Sha1::digest(&pass_json));
    let mut manifest: BTreeMap<&str, &str> = template
        .design
        .images
        .iter()
        .map(|image| (image.path.as_str(), image.sha1.as_str()))
        .collect();
    manifest.insert("pass.json", &pass_json_sha1);
    for strings in &lproj {
        manifest.insert(&strings.design.path, &strings.sha1);
    }
    // A map of strings always serializes.
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    let signature = signer.sign_manifest(&manifest)?;
    let lproj = lproj
        .iter()
        .map(|s| (s.design.path.as_str(), [&s.design.utf16[..], &s.lines]));
    let files = std::iter::once(("pass.json", [&pass_json[..], &[]]))
        .chain(lproj)
        .chain([
            ("manifest.json", [&manifest[..], &[]]),
            ("signature", [&signature[..], &[]]),
        ]);
    write_zip(template, files.collect())
}

/// The template's images, then `files` (path, its bytes in two parts), all stored: the entries are
/// small, the images are already compressed PNGs, and each deflate stream allocates ~300 KB of
/// compressor state, which cost more CPU per pass than the signature.
fn write_zip(
    template: &PassTemplate,
    files: Vec<(&str, [&[u8]; 2])>,
) -> Result<Vec<u8>, PassError> {
    // Room for every entry's local and central headers, so the buffer is never moved.
    let capacity = files
        .iter()
        .fold(template.images_zip_len, |sum, (path, parts)| {
            sum + 128 + 2 * path.len() + parts[0].len() + parts[1].len()
        });
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    zip.merge_archive(template.images_zip.clone())?;
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (path, parts) in files {
        zip.start_file(path, stored)?;
        for part in parts {
            zip.write_all(part)?;
        }
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests;
