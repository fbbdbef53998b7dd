//! Checklist rows M1–M2: `manifest.json` maps every other file to its SHA-1, and nothing else.

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use super::Report;
use super::archive::Archive;

/// M1 then M2. Both are E: Wallet recomputes every hash and refuses the pass on any mismatch.
pub(super) fn check(archive: &Archive, report: &mut Report) {
    let Some(bytes) = archive.get("manifest.json") else {
        return;
    };
    report.ran("M1");
    let Some(manifest) = parse(bytes, report) else {
        return;
    };
    check_coverage(archive, &manifest, report);
}

/// M1: a JSON object of path → 40 lowercase hex digits. Returns the usable entries.
fn parse(bytes: &[u8], report: &mut Report) -> Option<BTreeMap<String, String>> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            report.error("M1", format!("manifest.json is not valid UTF-8 JSON: {e}"));
            return None;
        }
    };
    let Some(object) = value.as_object() else {
        report.error("M1", "manifest.json is not a JSON object");
        return None;
    };
    let mut manifest = BTreeMap::new();
    for (path, hash) in object {
        match hash.as_str() {
            Some(h) if is_sha1_hex(h) => {
                manifest.insert(path.clone(), h.to_owned());
            }
            _ => report.error(
                "M1",
                format!(
                    "manifest entry {path:?} is not a 40-character lowercase hex SHA-1: {hash}"
                ),
            ),
        }
    }
    Some(manifest)
}

fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// M2: every archive file except manifest.json/signature is listed with the right hash, and
/// every listed file exists.
fn check_coverage(archive: &Archive, manifest: &BTreeMap<String, String>, report: &mut Report) {
    report.ran("M2");
    for entry in &archive.entries {
        if entry.name == "manifest.json" || entry.name == "signature" {
            continue;
        }
        let actual = hex::encode(Sha1::digest(&entry.data));
        match manifest.get(&entry.name) {
            None => report.error(
                "M2",
                format!(
                    "{:?} is in the archive but not in manifest.json",
                    entry.name
                ),
            ),
            Some(listed) if *listed != actual => report.error(
                "M2",
                format!(
                    "{:?} hashes to {actual} but manifest.json lists {listed}",
                    entry.name
                ),
            ),
            Some(_) => {}
        }
    }
    for path in manifest.keys() {
        if path == "manifest.json" || path == "signature" {
            report.error("M2", format!("manifest.json must not list {path:?}"));
        } else if archive.get(path).is_none() {
            report.error(
                "M2",
                format!("manifest.json lists {path:?}, which is not in the archive"),
            );
        }
    }
}
