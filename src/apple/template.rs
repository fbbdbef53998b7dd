//! Pass designs (`pass_templates/<name>/`): read, checked and hashed once at start. The
//! images are packed once into a template zip of stored entries whose CRCs and SHA-1s are
//! known, and the static strings are encoded and hashed once, so building a pass copies those
//! bytes once and hashes only what is per pass.

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::strings;
use crate::domain::i18n::Lang;

/// Images a store card may carry, at every scale.
const IMAGES: [&str; 3] = ["icon", "logo", "strip"];
const SCALES: [&str; 3] = ["", "@2x", "@3x"];
/// Largest design file accepted; Apple passes should stay well under a few hundred KB.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    #[error("design folder {0}: {1}")]
    Invalid(String, String),
    #[error("design folder {0}: {1}")]
    Io(String, std::io::Error),
    #[error("packing design {0}: {1}")]
    Zip(String, zip::result::ZipError),
}

/// One language's static strings of a design.
#[derive(Debug, Clone)]
pub struct DesignStrings {
    pub lang: Lang,
    /// `<lang>.lproj/pass.strings`, its path in a pass.
    pub path: String,
    /// The file's text (ending in a newline) encoded once as UTF-16 LE with BOM; each pass
    /// writes its own lines after it.
    pub utf16: Vec<u8>,
    /// SHA-1 state after `utf16`, so a pass hashes only its own lines.
    pub utf16_sha1: Sha1,
    pub entries: HashMap<String, String>,
}

/// A design, ready to build passes from.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    /// pass.json skeleton: colours, logoText, flags; card keys are set per pass.
    pub skeleton: Map<String, Value>,
    /// (path in the pass, lowercase hex SHA-1) of every image.
    pub image_hashes: Vec<(String, String)>,
    pub strings: Vec<DesignStrings>,
    /// The images as a zip of stored entries, parsed once and merged into every pass.
    pub images_zip: SharedZip,
    /// Length of `images_zip`, headers included.
    pub images_zip_len: usize,
}

/// A zip held in memory, parsed once and cloned cheaply (the bytes are shared).
pub type SharedZip = ZipArchive<Cursor<Arc<[u8]>>>;

/// Every design of the templates folder, by name.
#[derive(Debug, Clone, Default)]
pub struct Designs {
    by_name: HashMap<String, Arc<Design>>,
}

impl Designs {
    /// Loads every sub-folder of `dir` as a design; any broken design stops start-up.
    pub fn load(dir: &Path) -> Result<Designs, DesignError> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| DesignError::Io(shown.clone(), e))?;
        let mut by_name = HashMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| DesignError::Io(shown.clone(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !name.starts_with('.') {
                by_name.insert(name.clone(), Arc::new(Design::load(&entry.path(), name)?));
            }
        }
        if !by_name.contains_key("default") {
            return Err(DesignError::Invalid(
                shown,
                "no `default` design folder".into(),
            ));
        }
        Ok(Designs { by_name })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Design>> {
        self.by_name.get(name).cloned()
    }

    /// The labels and phrases of design `name` in each language; none when it is not loaded.
    pub fn words(&self, name: &str) -> Arc<dyn crate::domain::i18n::Words + Send + Sync> {
        match self.get(name) {
            Some(design) => design,
            None => Arc::new(()),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The PNG whose SHA-1 (lowercase hex) is `hash`, from any design: what the content-hashed
    /// image URLs serve.
    pub fn image(&self, hash: &str) -> Option<Vec<u8>> {
        self.by_name.values().find_map(|d| d.image(hash))
    }
}

impl Design {
    pub fn load(dir: &Path, name: String) -> Result<Design, DesignError> {
        let shown = dir.display().to_string();
        let invalid = |m: String| DesignError::Invalid(shown.clone(), m);
        let skeleton = read_skeleton(dir).map_err(&invalid)?;
        let mut images = Vec::new();
        for image in IMAGES {
            for scale in SCALES {
                let file = format!("{image}{scale}.png");
                let path = dir.join(&file);
                if path.is_file() {
                    let bytes =
                        read_limited(&path).map_err(|e| DesignError::Io(shown.clone(), e))?;
                    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                        return Err(invalid(format!("{file} is not a PNG")));
                    }
                    images.push((file, bytes));
                }
            }
        }
        if !images.iter().any(|(f, _)| f == "icon.png") {
            return Err(invalid("icon.png is required".into()));
        }
        let strings = load_strings(dir).map_err(&invalid)?;
        let (images_zip, images_zip_len) =
            pack(&images).map_err(|e| DesignError::Zip(name.clone(), e))?;
        let image_hashes = images
            .iter()
            .map(|(f, b)| (f.clone(), hex::encode(Sha1::digest(b))))
            .collect();
        Ok(Design {
            name,
            skeleton,
            image_hashes,
            strings,
            images_zip,
            images_zip_len,
        })
    }

    /// The design's image whose SHA-1 (lowercase hex) is `hash`.
    pub fn image(&self, hash: &str) -> Option<Vec<u8>> {
        let (path, _) = self.image_hashes.iter().find(|(_, h)| h == hash)?;
        self.image_at(path)
    }

    /// The design's image at `path` in the pass (`logo@2x.png`, …).
    pub fn image_at(&self, path: &str) -> Option<Vec<u8>> {
        let mut zip = self.images_zip.clone();
        let mut file = zip.by_name(path).ok()?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).ok()?;
        Some(bytes)
    }

    /// The SHA-1 of the design's image at `path`, as its public URL names it.
    pub fn image_hash(&self, path: &str) -> Option<&str> {
        self.image_hashes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h.as_str())
    }

    /// The design's translation of `key` in `lang`, if it has one.
    pub fn translate(&self, lang: Lang, key: &str) -> Option<&str> {
        let s = self.strings.iter().find(|s| s.lang == lang)?;
        s.entries.get(key).map(String::as_str)
    }
}

impl crate::domain::i18n::Words for Design {
    fn word(&self, lang: Lang, english: &str) -> Option<&str> {
        self.translate(lang, english)
    }
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
        let utf16 = strings::encode_utf16le(&format!("{}\n", text.trim_end()));
        out.push(DesignStrings {
            lang,
            path: format!("{}.lproj/pass.strings", lang.tag()),
            utf16_sha1: Sha1::new_with_prefix(&utf16),
            utf16,
            entries,
        });
    }
    Ok(out)
}

fn pack(images: &[(String, Vec<u8>)]) -> Result<(SharedZip, usize), zip::result::ZipError> {
    let data: usize = images.iter().map(|(_, b)| b.len()).sum();
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(data + 4096)));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (file, bytes) in images {
        zip.start_file(file.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    let bytes: Arc<[u8]> = zip.finish()?.into_inner().into();
    let len = bytes.len();
    Ok((ZipArchive::new(Cursor::new(bytes))?, len))
}
