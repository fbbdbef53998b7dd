//! A program's design as the designer saves it: the words and uploaded images it changes of
//! the program's named design (`crate::designs`). Colours and the English logo text are the
//! program's `Branding`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The designer's words: `logo_text` by language tag (the English one is the program's
/// `branding.logo_text`) and `labels` by language tag, then by English label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignTexts {
    #[serde(default)]
    pub logo_text: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// A saved (or draft) design of a program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDesign {
    /// Grows by one on every save; 0 for a draft never saved.
    pub version: i64,
    pub texts: DesignTexts,
    /// SHA-256 of each uploaded image, by its path in a pass (`logo@2x.png`) or `google/…`.
    pub images: BTreeMap<String, String>,
}
