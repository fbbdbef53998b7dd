//! Reading a design: `pass.json`, the images at every scale, the `.lproj` strings, from a
//! folder or from the built-in default compiled into the binary. Each file is size-limited and
//! checked, so a broken design stops start-up naming what is wrong.

use std::path::{Path, PathBuf};
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

/// Where a design's files come from.
pub(super) enum Source<'a> {
    Folder(&'a Path),
    /// `(file, bytes)` compiled into the binary.
    BuiltIn(&'static [(&'static str, &'static [u8])]),
}

impl Source<'_> {
    /// How the design is named in errors.
    fn shown(&self) -> String {
        match self {
            Source::Folder(dir) => dir.display().to_string(),
            Source::BuiltIn(_) => "(built-in default)".into(),
        }
    }

    /// The file's bytes; `None` when the design has no such file.
    fn read(&self, file: &str) -> Option<std::io::Result<Vec<u8>>> {
        match self {
            Source::Folder(dir) => {
                let path: PathBuf = dir.join(file);
                path.is_file().then(|| read_limited(&path))
            }
            Source::BuiltIn(files) => files
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, bytes)| Ok(bytes.to_vec())),
        }
    }
}

/// The design in `source`.
pub(super) fn design(source: &Source, name: String) -> Result<Design, DesignError> {
    let shown = source.shown();
    let invalid = |m: String| DesignError::Invalid(shown.clone(), m);
    let skeleton = read_skeleton(source).map_err(&invalid)?;
    let mut images = Vec::new();
    for image in IMAGES {
        for scale in SCALES {
            let file = format!("{image}{scale}.png");
            if let Some(read) = source.read(&file) {
                let bytes = read.map_err(|e| DesignError::Io(shown.clone(), e))?;
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
    let strings = load_strings(source).map_err(&invalid)?;
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

fn read_skeleton(source: &Source) -> Result<Map<String, Value>, String> {
    let bytes = source
        .read("pass.json")
        .unwrap_or_else(|| Err(std::io::ErrorKind::NotFound.into()))
        .map_err(|e| format!("pass.json: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("pass.json must be a JSON object".into()),
        Err(e) => Err(format!("pass.json: {e}")),
    }
}

fn load_strings(source: &Source) -> Result<Vec<DesignStrings>, String> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let file = format!("{}.lproj/pass.strings", lang.tag());
        let Some(read) = source.read(&file) else {
            continue;
        };
        let bytes = read.map_err(|e| format!("{file}: {e}"))?;
        let text =
            strings::decode(&bytes).ok_or_else(|| format!("{file}: not UTF-8 or UTF-16 text"))?;
        let entries = strings::parse(&text).map_err(|e| format!("{file}: {e}"))?;
        out.push(DesignStrings {
            lang,
            text,
            entries,
        });
    }
    Ok(out)
}
