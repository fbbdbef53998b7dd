//! Designs made ready for Apple passes, once at start: each design's images packed into a
//! template zip of stored entries whose CRCs and SHA-1s are known, and its strings encoded as
//! Wallet reads them and hashed, so building a pass copies those bytes once and hashes only
//! what is per pass. The designs themselves (words, colours, images) are `crate::designs`.

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;

use sha1::{Digest, Sha1};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::strings;
use crate::designs::{Design, DesignError, DesignImage, Designs};
use crate::domain::i18n::Lang;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error("packing design {0}: {1}")]
    Zip(String, zip::result::ZipError),
}

/// One language's strings of a design, as a pass carries them.
#[derive(Debug, Clone)]
pub struct PassStrings {
    pub lang: Lang,
    /// `<lang>.lproj/pass.strings`, its path in a pass.
    pub path: String,
    /// The file's text (ending in a newline) encoded once as UTF-16 LE with BOM; each pass
    /// writes its own lines after it.
    pub utf16: Vec<u8>,
    /// SHA-1 state after `utf16`, so a pass hashes only its own lines.
    pub utf16_sha1: Sha1,
}

/// A design, ready to build passes from.
#[derive(Debug, Clone)]
pub struct PassTemplate {
    /// The design: its pass.json skeleton, images and words.
    pub design: Arc<Design>,
    pub strings: Vec<PassStrings>,
    /// The images as a zip of stored entries, parsed once and merged into every pass.
    pub images_zip: SharedZip,
    /// Length of `images_zip`, headers included.
    pub images_zip_len: usize,
}

/// A zip held in memory, parsed once and cloned cheaply (the bytes are shared).
pub type SharedZip = ZipArchive<Cursor<Arc<[u8]>>>;

/// The pass template of every design, by name.
#[derive(Debug, Clone, Default)]
pub struct PassTemplates {
    by_name: HashMap<String, Arc<PassTemplate>>,
}

impl PassTemplates {
    /// The template of each of `designs`.
    pub fn prepare(designs: &Designs) -> Result<PassTemplates, TemplateError> {
        let by_name = designs
            .iter()
            .map(|d| {
                Ok((
                    d.name.clone(),
                    Arc::new(PassTemplate::prepare(Arc::clone(d))?),
                ))
            })
            .collect::<Result<_, TemplateError>>()?;
        Ok(PassTemplates { by_name })
    }

    /// The templates of the designs in folder `dir` (see [`Designs::load`]).
    pub fn load(dir: &Path) -> Result<PassTemplates, TemplateError> {
        Self::prepare(&Designs::load(dir)?)
    }

    pub fn get(&self, name: &str) -> Option<Arc<PassTemplate>> {
        self.by_name.get(name).cloned()
    }
}

impl PassTemplate {
    /// Packs the images of `design` and encodes its strings.
    pub fn prepare(design: Arc<Design>) -> Result<PassTemplate, TemplateError> {
        let (images_zip, images_zip_len) =
            pack(&design.images).map_err(|e| TemplateError::Zip(design.name.clone(), e))?;
        let strings = design
            .strings
            .iter()
            .map(|s| {
                let utf16 = strings::encode_utf16le(&format!("{}\n", s.text.trim_end()));
                PassStrings {
                    lang: s.lang,
                    path: format!("{}.lproj/pass.strings", s.lang.tag()),
                    utf16_sha1: Sha1::new_with_prefix(&utf16),
                    utf16,
                }
            })
            .collect();
        Ok(PassTemplate {
            design,
            strings,
            images_zip,
            images_zip_len,
        })
    }
}

fn pack(images: &[DesignImage]) -> Result<(SharedZip, usize), zip::result::ZipError> {
    let data: usize = images.iter().map(|i| i.bytes.len()).sum();
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(data + 4096)));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for image in images {
        zip.start_file(image.path.as_str(), options)?;
        zip.write_all(&image.bytes)?;
    }
    let bytes: Arc<[u8]> = zip.finish()?.into_inner().into();
    let len = bytes.len();
    Ok((ZipArchive::new(Cursor::new(bytes))?, len))
}
