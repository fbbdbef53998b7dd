//! A program's design as passes are built now: its saved design from the database over its
//! named design, or the named design alone. Every instance reads the saved design's version
//! before it builds (one indexed look-up), so a design saved on one instance is used by all at
//! once, with no restart; a version already seen is served from memory.
//!
//! It joins the store, the designs and what each wallet makes of a design (Apple's pass
//! template, Google's class), as `passes` joins a card with its pass; `passes`, the Google
//! delivery and the designer's preview use it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::apple::template::{PassTemplate, PassTemplates, TemplateError};
use crate::designs::stored::merge;
use crate::designs::{Design, Designs};
use crate::domain::design::StoredDesign;
use crate::domain::model::Program;
use crate::google::mapping::loyalty_class;
use crate::google::model::{Image, ImageUri, LoyaltyClass, ResourceId};
use crate::render::image_url;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("program {program} names design `{design}`, which is not loaded")]
    MissingDesign { program: String, design: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("preparing a design: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A program's design, ready to build both wallets' cards from.
#[derive(Debug)]
pub struct Resolved {
    pub design: Arc<Design>,
    pub template: Arc<PassTemplate>,
    /// The saved design's SHA-256 of each uploaded image by path (empty without one).
    pub uploaded: BTreeMap<String, String>,
    /// The saved design's version; 0 for a named design alone.
    pub version: i64,
}

impl Resolved {
    /// The public URL of the image at `path` (`logo@2x.png`, `google/hero.png`), if any.
    pub fn image_url(&self, public_url: &str, path: &str) -> Option<String> {
        match self.uploaded.get(path) {
            Some(sha256) => Some(image_url(public_url, sha256)),
            None => self
                .design
                .image_hash(path)
                .map(|sha1| image_url(public_url, sha1)),
        }
    }

    /// The program's Google class in this design; `None` without a logo, which a class needs.
    pub fn google_class(
        &self,
        program: &Program,
        id: ResourceId,
        issuer_name: &str,
        public_url: &str,
        callback_url: Option<&str>,
    ) -> Option<LoyaltyClass> {
        let logo = self.google_logo_url(public_url)?;
        let words = self.design.as_ref();
        let mut class = loyalty_class(program, id, issuer_name, &logo, callback_url, words);
        class.hero_image = self
            .image_url(public_url, "google/hero.png")
            .map(|uri| Image {
                source_uri: ImageUri { uri },
                content_description: None,
            });
        Some(class)
    }

    /// The logo of a Google class: the uploaded square, else the design's largest logo.
    pub fn google_logo_url(&self, public_url: &str) -> Option<String> {
        match self.uploaded.get("google/logo.png") {
            Some(sha256) => Some(image_url(public_url, sha256)),
            None => crate::render::logo_url(public_url, &self.design),
        }
    }
}

/// The designs of every program, from the folder (or built in) and from the database.
pub struct LiveDesigns {
    pub files: Arc<Designs>,
    templates: PassTemplates,
    store: Store,
    /// The last resolved saved design of each program, by program id, with what it was
    /// resolved from (see [`fingerprint`]).
    saved: Mutex<HashMap<String, (String, Arc<Resolved>)>>,
}

impl LiveDesigns {
    pub fn new(files: Arc<Designs>, templates: PassTemplates, store: Store) -> Self {
        LiveDesigns {
            files,
            templates,
            store,
            saved: Mutex::default(),
        }
    }

    /// The program's design as it is saved now.
    pub async fn for_program(&self, program: &Program) -> Result<Arc<Resolved>, LiveError> {
        let Some(version) = self.store.design_version(&program.id).await? else {
            return self.named(program);
        };
        let key = fingerprint(program, version);
        if let Some(known) = self.known(program, &key) {
            return Ok(known);
        }
        let Some(stored) = self.store.program_design(&program.id).await? else {
            return self.named(program);
        };
        // A save between the two reads: the design read is the newer one, named as such.
        let key = fingerprint(program, stored.version);
        let resolved = self.with(program, &stored).await?;
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        saved.insert(program.id.to_string(), (key, Arc::clone(&resolved)));
        Ok(resolved)
    }

    fn known(&self, program: &Program, key: &str) -> Option<Arc<Resolved>> {
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        saved
            .get(program.id.as_str())
            .filter(|(k, _)| k == key)
            .map(|(_, r)| Arc::clone(r))
    }

    /// The program's named design alone.
    pub fn named(&self, program: &Program) -> Result<Arc<Resolved>, LiveError> {
        let missing = || LiveError::MissingDesign {
            program: program.id.to_string(),
            design: program.design.clone(),
        };
        let template = self.templates.get(&program.design).ok_or_else(missing)?;
        Ok(Arc::new(Resolved {
            design: Arc::clone(&template.design),
            template,
            uploaded: BTreeMap::new(),
            version: 0,
        }))
    }

    /// The program's named design with `stored` over it (saved, or a draft being previewed);
    /// images `stored` names that do not exist are left out.
    pub async fn with(
        &self,
        program: &Program,
        stored: &StoredDesign,
    ) -> Result<Arc<Resolved>, LiveError> {
        let base = self.named(program)?;
        let hashes: Vec<&str> = stored.images.values().map(String::as_str).collect();
        let bytes: HashMap<String, Arc<[u8]>> = self
            .store
            .images(&hashes)
            .await?
            .into_iter()
            .map(|i| (i.sha256, Arc::from(i.bytes)))
            .collect();
        let name = format!(
            "program {} v{} over {}",
            program.id, stored.version, program.design
        );
        let logo_text = program.branding.logo_text.as_deref();
        let design = merge(&base.design, name, stored, logo_text, &bytes);
        let design = Arc::new(design);
        let template = tokio::task::spawn_blocking({
            let design = Arc::clone(&design);
            move || PassTemplate::prepare(design)
        })
        .await??;
        Ok(Arc::new(Resolved {
            design,
            template: Arc::new(template),
            uploaded: stored.images.clone(),
            version: stored.version,
        }))
    }
}

/// What a resolved saved design depends on besides the saved row: the named design under it
/// and the English logo text its translations are keyed by (both program fields).
fn fingerprint(program: &Program, version: i64) -> String {
    format!(
        "{version}\u{1f}{}\u{1f}{:?}",
        program.design, program.branding.logo_text
    )
}
