//! Reading a design folder: `pass.json`, the images at every scale, the `.lproj` strings. Each
//! file is size-limited and checked, so a broken design stops start-up naming what is wrong.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::{Design, DesignError, DesignImage, DesignStrings, strings};
use crate::domain::i18n::Lang;

/// Images a store card may carry, at every scale.
const IMAGES: [&str; 3] = ["icon", "logo", "strip"];
const SCALES: [&str; 3] = ["", "@2x", "@3x"];
/// Largest design file accepted; Apple passes should stay well under a few hundred KB.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// The design in folder `dir`.
pub(super) fn design(dir: &Path, name: String) -> Result<Design, DesignError> {
    let shown = dir.display().to_string();
    let invalid = |m: String| DesignError::Invalid(shown.clone(), m);
    let skeleton = read_skeleton(dir).map_err(&invalid)?;
    let mut images = Vec::new();
    for image in IMAGES {
        for scale in SCALES {
            let file = format!("{image}{scale}.png");
            let path = dir.join(&file);
            if path.is_file() {
                let bytes = read_limited(&path).map_err(|e| DesignError::Io(shown.clone(), e))?;
                if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                    return Err(invalid(format!("{file} is not a PNG")));
                }
                images.push(DesignImage {
                    sha1: hex::encode(Sha1::digest(&bytes)),
                    path: file,
                    bytes: Arc::from(bytes),
                });
            }
        }
    }
    if !images.iter().any(|i| i.path == "icon.png") {
        return Err(invalid("icon.png is required".into()));
    }
    let strings = load_strings(dir).map_err(&invalid)?;
    Ok(Design {
        name,
        skeleton,
        images,
        strings,
    })
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "{} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        )));
    }
    std::fs::read(path)
}

fn read_skeleton(dir: &Path) -> Result<Map<String, Value>, String> {
    let bytes = read_limited(&dir.join("pass.json")).map_err(|e| format!("pass.json: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("pass.json must be a JSON object".into()),
        Err(e) => Err(format!("pass.json: {e}")),
    }
}

fn load_strings(dir: &Path) -> Result<Vec<DesignStrings>, String> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let path = dir.join(format!("{}.lproj/pass.strings", lang.tag()));
        if !path.is_file() {
            continue;
        }
        let bytes = read_limited(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = strings::decode(&bytes)
            .ok_or_else(|| format!("{}: not UTF-8 or UTF-16 text", path.display()))?;
        let entries = strings::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(DesignStrings {
            lang,
            text,
            entries,
        });
    }
    Ok(out)
}
