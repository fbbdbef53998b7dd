//! What both wallets show besides the card face (`domain::card::face_of`): the designs of
//! `pass_templates/<name>/` — their words in each language, colours and images — and the link
//! to the holder's member page. Read, checked and hashed once at start; Apple packs them into
//! passes (`apple::template`), Google and the pages read the words and image URLs.
//!
//! Nothing here knows a wallet's format beyond the folder's own files.

mod load;
mod member_page;
pub mod stored;
pub mod strings;
pub mod upload;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::domain::i18n::{Lang, Words};

pub use member_page::{MEMBER_PAGE_LABEL, member_url};

#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    #[error("design folder {0}: {1}")]
    Invalid(String, String),
    #[error("design folder {0}: {1}")]
    Io(String, std::io::Error),
}

/// One image of a design.
#[derive(Debug, Clone)]
pub struct DesignImage {
    /// Its path in the folder and in a pass: `icon.png`, `logo@2x.png`, …
    pub path: String,
    /// Lowercase hex SHA-1 of `bytes`: what its public URL names.
    pub sha1: String,
    pub bytes: Arc<[u8]>,
}

/// One language's words of a design (`<lang>.lproj/pass.strings`).
#[derive(Debug, Clone)]
pub struct DesignStrings {
    pub lang: Lang,
    /// The file's text, decoded.
    pub text: String,
    pub entries: HashMap<String, String>,
}

/// A design: what it shows, as its folder has it.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    /// `pass.json`: the design's colours, logo text and flags (a program's branding overrides
    /// the colours and logo text); the card's own keys are set per pass.
    pub skeleton: Map<String, Value>,
    pub images: Vec<DesignImage>,
    pub strings: Vec<DesignStrings>,
}

/// Every design of the templates folder, by name.
#[derive(Debug, Clone, Default)]
pub struct Designs {
    by_name: HashMap<String, Arc<Design>>,
}

/// The files of `pass_templates/default`, compiled into the binary: `serve` starts with a
/// design wherever it runs, with no folder.
macro_rules! built_in {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates/default/", $file)))),*]
    };
}
const BUILT_IN_DEFAULT: &[(&str, &[u8])] = built_in!(
    "pass.json",
    "icon.png",
    "icon@2x.png",
    "icon@3x.png",
    "logo.png",
    "logo@2x.png",
    "logo@3x.png",
    "strip.png",
    "strip@2x.png",
    "strip@3x.png",
    "en.lproj/pass.strings",
    "ru.lproj/pass.strings",
    "zh-Hans.lproj/pass.strings",
);

impl Designs {
    /// The built-in `default` design, and every sub-folder of `dir` as a design (a folder
    /// named `default` replaces the built-in one). A missing `dir` leaves the built-in design
    /// alone; any broken design stops start-up.
    pub fn load(dir: &Path) -> Result<Designs, DesignError> {
        let mut by_name = HashMap::new();
        let default = load::design(&load::Source::BuiltIn(BUILT_IN_DEFAULT), "default".into())?;
        by_name.insert("default".to_owned(), Arc::new(default));
        if !dir.exists() {
            return Ok(Designs { by_name });
        }
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| DesignError::Io(shown.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| DesignError::Io(shown.clone(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !name.starts_with('.') {
                by_name.insert(name.clone(), Arc::new(Design::load(&entry.path(), name)?));
            }
        }
        Ok(Designs { by_name })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Design>> {
        self.by_name.get(name).cloned()
    }

    /// The labels and phrases of design `name` in each language; none when it is not loaded.
    pub fn words(&self, name: &str) -> Arc<dyn Words + Send + Sync> {
        match self.get(name) {
            Some(design) => design,
            None => Arc::new(()),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every design.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Design>> {
        self.by_name.values()
    }

    /// The PNG whose SHA-1 (lowercase hex) is `hash`, from any design: what the content-hashed
    /// image URLs serve.
    pub fn image(&self, hash: &str) -> Option<Vec<u8>> {
        self.by_name.values().find_map(|d| d.image(hash))
    }
}

impl Design {
    /// Reads and checks the design in folder `dir`.
    pub fn load(dir: &Path, name: String) -> Result<Design, DesignError> {
        load::design(&load::Source::Folder(dir), name)
    }

    /// The design's image whose SHA-1 (lowercase hex) is `hash`.
    pub fn image(&self, hash: &str) -> Option<Vec<u8>> {
        let image = self.images.iter().find(|i| i.sha1 == hash)?;
        Some(image.bytes.to_vec())
    }

    /// The SHA-1 of the design's image at `path`, as its public URL names it.
    pub fn image_hash(&self, path: &str) -> Option<&str> {
        self.images
            .iter()
            .find(|i| i.path == path)
            .map(|i| i.sha1.as_str())
    }

    /// The design's translation of `key` in `lang`, if it has one.
    pub fn translate(&self, lang: Lang, key: &str) -> Option<&str> {
        let s = self.strings.iter().find(|s| s.lang == lang)?;
        s.entries.get(key).map(String::as_str)
    }
}

impl Words for Design {
    fn word(&self, lang: Lang, english: &str) -> Option<&str> {
        self.translate(lang, english)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pass_templates")
    }

    #[test]
    fn without_a_folder_the_built_in_default_is_the_repositorys_default() {
        let built_in = Designs::load(Path::new("/nonexistent/pass_templates")).expect("loads");
        assert_eq!(built_in.names().collect::<Vec<_>>(), ["default"]);
        let default = built_in.get("default").expect("default");
        let from_folder =
            Design::load(&folder().join("default"), "default".into()).expect("folder");
        let paths = |d: &Design| {
            let mut v: Vec<(String, String)> = d
                .images
                .iter()
                .map(|i| (i.path.clone(), i.sha1.clone()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            paths(&default),
            paths(&from_folder),
            "every image, byte for byte"
        );
        assert_eq!(default.images.len(), 9);
        assert_eq!(default.skeleton, from_folder.skeleton);
        assert_eq!(default.strings.len(), 3, "en, ru, zh-Hans");
        assert_eq!(
            default.translate(Lang::Ru, "Your card online"),
            Some("Ваша карта онлайн")
        );
    }

    #[test]
    fn a_folder_design_named_default_replaces_the_built_in_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mine = dir.path().join("default");
        std::fs::create_dir(&mine).expect("folder");
        for file in ["pass.json", "icon.png"] {
            std::fs::copy(folder().join("default").join(file), mine.join(file)).expect("copy");
        }
        let designs = Designs::load(dir.path()).expect("loads");
        assert_eq!(designs.get("default").expect("default").images.len(), 1);
    }
}
