//! A program's design as saved from the designer: the logo text's translations, label
//! wordings per language and uploaded images by path, over the program's named design (a
//! folder's, or the built-in default). [`merge`] makes one [`Design`] of both, the kind passes
//! are built from; colours and the English logo text are the program's `branding`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha1::{Digest, Sha1};

use super::{Design, DesignImage, DesignStrings};
pub use crate::domain::design::{DesignTexts, StoredDesign};
use crate::domain::i18n::Lang;

/// The slot of an image path: `logo@2x.png` → `logo`.
fn slot_of(path: &str) -> &str {
    path.split(['@', '.']).next().unwrap_or(path)
}

/// `base` with `stored`'s images (bytes by SHA-256 in `bytes`) and words; `logo_text` is the
/// English logo text, the key its translations are looked up by on a device.
pub fn merge(
    base: &Design,
    name: String,
    stored: &StoredDesign,
    logo_text: Option<&str>,
    bytes: &HashMap<String, Arc<[u8]>>,
) -> Design {
    let apple: Vec<(&String, &String)> = stored
        .images
        .iter()
        .filter(|(path, _)| !path.starts_with("google/"))
        .collect();
    let replaced: Vec<&str> = apple.iter().map(|(p, _)| slot_of(p)).collect();
    let mut images: Vec<DesignImage> = base
        .images
        .iter()
        .filter(|i| !replaced.contains(&slot_of(&i.path)))
        .cloned()
        .collect();
    for (path, sha256) in apple {
        if let Some(bytes) = bytes.get(sha256) {
            images.push(DesignImage {
                path: path.clone(),
                sha1: hex::encode(Sha1::digest(bytes)),
                bytes: Arc::clone(bytes),
            });
        }
    }
    Design {
        name,
        skeleton: base.skeleton.clone(),
        images,
        strings: merged_strings(base, &stored.texts, logo_text),
    }
}

fn merged_strings(
    base: &Design,
    texts: &DesignTexts,
    logo_text: Option<&str>,
) -> Vec<DesignStrings> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let own = base.strings.iter().find(|s| s.lang == lang);
        let labels = texts.labels.get(lang.tag());
        let logo = logo_text.zip(texts.logo_text.get(lang.tag()));
        if own.is_none() && labels.is_none() && logo.is_none() {
            continue;
        }
        let mut entries: HashMap<String, String> =
            own.map(|s| s.entries.clone()).unwrap_or_default();
        for (english, text) in labels.into_iter().flatten() {
            entries.insert(english.clone(), text.clone());
        }
        if let Some((english, text)) = logo {
            entries.insert(english.to_owned(), text.clone());
        }
        out.push(DesignStrings {
            lang,
            text: strings_text(&entries),
            entries,
        });
    }
    out
}

/// `"key" = "value";` lines, sorted by key.
fn strings_text(entries: &HashMap<String, String>) -> String {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let sorted: BTreeMap<&String, &String> = entries.iter().collect();
    sorted
        .into_iter()
        .map(|(k, v)| format!("\"{}\" = \"{}\";\n", escape(k), escape(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::designs::{Designs, strings};

    #[test]
    fn a_stored_design_replaces_whole_slots_and_overrides_words() {
        let designs = Designs::load(std::path::Path::new("/nonexistent")).expect("built-in");
        let base = designs.get("default").expect("default");
        let logo: Arc<[u8]> = Arc::from(&b"\x89PNG new logo"[..]);
        let mut stored = StoredDesign::default();
        stored.images.insert("logo.png".into(), "aa".into());
        stored.images.insert("google/logo.png".into(), "bb".into());
        stored
            .texts
            .logo_text
            .insert("ru".into(), "Акме \"Опт\"".into());
        let ru = BTreeMap::from([("Discount".to_owned(), "Скидка партнёра".to_owned())]);
        stored.texts.labels.insert("ru".into(), ru);
        let bytes = HashMap::from([("aa".to_owned(), logo)]);
        let design = merge(&base, "p".into(), &stored, Some("Acme"), &bytes);
        let logos: Vec<&str> = design
            .images
            .iter()
            .filter(|i| i.path.starts_with("logo"))
            .map(|i| i.path.as_str())
            .collect();
        assert_eq!(logos, ["logo.png"], "no @2x/@3x of the old logo left");
        assert_eq!(
            design.images.len(),
            7,
            "icons and strips kept, no Google image"
        );
        assert_eq!(
            design.translate(Lang::Ru, "Discount"),
            Some("Скидка партнёра")
        );
        assert_eq!(design.translate(Lang::Ru, "Acme"), Some("Акме \"Опт\""));
        assert_eq!(
            design.translate(Lang::Ru, "Stamps"),
            base.translate(Lang::Ru, "Stamps")
        );
        let ru = design
            .strings
            .iter()
            .find(|s| s.lang == Lang::Ru)
            .expect("ru");
        assert_eq!(strings::parse(&ru.text).expect("parses"), ru.entries);
    }
}
