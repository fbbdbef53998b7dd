//! The card designer's API: `GET/PUT /programs/{id}/design` (colours, logo text and label
//! wordings in each language, uploaded images by path) and `POST /images?slot=` (an upload,
//! resized on the server to every size the wallets want). Saving gives every card of the
//! program a new version, with its pushes and Google updates, in one transaction.

use crate::audit::Action;
use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::programs::load_program;
use crate::designs::stored::{DesignTexts, StoredDesign};
use crate::designs::upload::{MAX_UPLOAD_BYTES, Slot, UploadError, process, size_of_path};
use crate::domain::i18n::Lang;
use crate::domain::model::{Branding, Color, Program};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::render::image_url;
use crate::state::AppState;
use crate::store::NewImage;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/programs/{id}/design", get(get_design).put(save_design))
        .route("/images", post(upload_image))
}

/// A design as the designer edits it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignInput {
    #[serde(default)]
    pub background_color: Option<Color>,
    #[serde(default)]
    pub foreground_color: Option<Color>,
    #[serde(default)]
    pub label_color: Option<Color>,
    /// By language tag (`en`, `ru`, `zh-Hans`).
    #[serde(default)]
    pub logo_text: BTreeMap<String, String>,
    /// By language tag, then by English label.
    #[serde(default)]
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// SHA-256 of each image (from `POST /images`) by path.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// The version the edit started from: a save is refused when another was saved since.
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Debug, Serialize)]
struct DesignBody {
    program_id: String,
    version: i64,
    background_color: Option<Color>,
    foreground_color: Option<Color>,
    label_color: Option<Color>,
    logo_text: BTreeMap<String, String>,
    labels: BTreeMap<String, BTreeMap<String, String>>,
    images: BTreeMap<String, String>,
    image_urls: BTreeMap<String, String>,
    /// The labels and phrases a design may word, in English.
    words: Vec<String>,
    /// How the program's named design words them, by language then English text.
    standard_labels: Labels,
    /// How many cards a save gives a new version (all but revoked ones).
    cards_to_update: i64,
}

/// The English words of the program's named design: what `labels` may word.
fn words_of(state: &AppState, program: &Program) -> Vec<String> {
    let mut words: Vec<String> = state
        .designs
        .get(&program.design)
        .and_then(|d| d.strings.iter().find(|s| s.lang == Lang::En).cloned())
        .map(|s| s.entries.into_keys().collect())
        .unwrap_or_default();
    words.sort();
    words
}

/// The named design's own wording of its words in each language.
fn standard_labels(state: &AppState, program: &Program) -> Labels {
    let Some(design) = state.designs.get(&program.design) else {
        return Labels::new();
    };
    design
        .strings
        .iter()
        .map(|s| {
            let words = s.entries.iter().map(|(k, v)| (k.clone(), v.clone()));
            (s.lang.tag().to_owned(), words.collect())
        })
        .collect()
}

/// Checks `input` against the program: the branding and design a save writes.
pub async fn parse_input(
    state: &AppState,
    program: &Program,
    input: DesignInput,
) -> ApiResult<(Branding, StoredDesign)> {
    let mut logo_text = BTreeMap::new();
    for (tag, text) in &input.logo_text {
        let field = format!("logo_text.{tag}");
        Lang::from_tag(tag).ok_or_else(|| ApiError::invalid(&field, "use en, ru or zh-Hans"))?;
        let text = super::optional_text(&field, Some(text), 64)?;
        logo_text.extend(text.map(|t| (tag.clone(), t)));
    }
    let english = logo_text.remove("en");
    if english.is_none() && !logo_text.is_empty() {
        let why = "a translated logo text needs the English one, which devices look it up by";
        return Err(ApiError::invalid("logo_text.en", why));
    }
    let labels = parse_labels(&words_of(state, program), &input.labels)?;
    check_images(state, &input.images).await?;
    let branding = Branding {
        background_color: input.background_color,
        foreground_color: input.foreground_color,
        label_color: input.label_color,
        logo_text: english,
        organization_name: program.branding.organization_name.clone(),
    };
    let texts = DesignTexts { logo_text, labels };
    let design = StoredDesign {
        version: 0,
        texts,
        images: input.images,
    };
    Ok((branding, design))
}

type Labels = BTreeMap<String, BTreeMap<String, String>>;

fn parse_labels(words: &[String], given: &Labels) -> ApiResult<Labels> {
    let mut out = Labels::new();
    for (tag, labels) in given {
        Lang::from_tag(tag)
            .ok_or_else(|| ApiError::invalid(format!("labels.{tag}"), "use en, ru or zh-Hans"))?;
        for (english, text) in labels {
            let field = format!("labels.{tag}.{english}");
            if !words.contains(english) {
                return Err(ApiError::invalid(
                    &field,
                    "not a label or phrase of the design",
                ));
            }
            let Some(text) = super::optional_text(&field, Some(text), 64)? else {
                continue;
            };
            if english.contains("%@") != text.contains("%@") {
                return Err(ApiError::invalid(
                    &field,
                    "keep the %@ where the value goes",
                ));
            }
            out.entry(tag.clone())
                .or_default()
                .insert(english.clone(), text);
        }
    }
    Ok(out)
}

/// Every path is one a slot makes, names an uploaded image of the right size, and a slot's
/// images come all together.
async fn check_images(state: &AppState, images: &BTreeMap<String, String>) -> ApiResult<()> {
    let hashes: Vec<&str> = images.values().map(String::as_str).collect();
    let found: HashMap<String, (i64, i64)> = state
        .store
        .images(&hashes)
        .await?
        .into_iter()
        .map(|i| (i.sha256, (i.width, i.height)))
        .collect();
    for (path, hash) in images {
        let field = format!("images.{path}");
        let (slot, size) = size_of_path(path)
            .ok_or_else(|| ApiError::invalid(&field, "not an image path of a design"))?;
        let (w, h) = *found
            .get(hash)
            .ok_or_else(|| ApiError::invalid(&field, "no uploaded image has this hash"))?;
        let fits = u32::try_from(w).ok().zip(u32::try_from(h).ok());
        if !fits.is_some_and(|(w, h)| size.fits(w, h)) {
            return Err(ApiError::invalid(
                &field,
                "the image is not of this path's size",
            ));
        }
        if let Some((missing, _)) = slot.outputs().iter().find(|(p, _)| !images.contains_key(p)) {
            let why = format!(
                "a {} comes with all its sizes; {missing} is missing",
                slot.as_str()
            );
            return Err(ApiError::invalid(&field, why));
        }
    }
    Ok(())
}

async fn design_body(state: &AppState, program: &Program) -> ApiResult<DesignBody> {
    let stored = state
        .store
        .program_design(&program.id)
        .await?
        .unwrap_or_default();
    let b = &program.branding;
    let mut logo_text = stored.texts.logo_text.clone();
    logo_text.extend(b.logo_text.clone().map(|t| ("en".to_owned(), t)));
    let image_urls = stored
        .images
        .iter()
        .map(|(path, hash)| (path.clone(), image_url(&state.public_url, hash)))
        .collect();
    Ok(DesignBody {
        program_id: program.id.to_string(),
        version: stored.version,
        background_color: b.background_color,
        foreground_color: b.foreground_color,
        label_color: b.label_color,
        logo_text,
        labels: stored.texts.labels,
        images: stored.images,
        image_urls,
        words: words_of(state, program),
        standard_labels: standard_labels(state, program),
        cards_to_update: state.store.cards_shown_in(&program.id).await?,
    })
}

async fn get_design(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<DesignBody>> {
    let program = load_program(&state, &id).await?;
    Ok(AppJson(design_body(&state, &program).await?))
}

async fn save_design(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
    AppJson(input): AppJson<DesignInput>,
) -> ApiResult<AppJson<DesignBody>> {
    let mut program = load_program(&state, &id).await?;
    let started_from = input.version;
    let (branding, design) = parse_input(&state, &program, input).await?;
    let saved = state.store.program_design(&program.id).await?;
    let current = saved.as_ref().map_or(0, |s| s.version);
    if started_from.is_some_and(|v| v != current) {
        let why = format!(
            "the design was saved by someone else since (version {current}); reload and edit again"
        );
        return Err(ApiError::conflict("design_changed", why).field("version"));
    }
    let unchanged = saved.is_some_and(|s| s.texts == design.texts && s.images == design.images)
        && branding == program.branding;
    // Saving the same design again would push every card for nothing.
    if !unchanged {
        let store = &state.store;
        let version = store.save_design(&program.id, &branding, &design).await?;
        let entry = by
            .did(Action::DesignChanged, format!("program:{}", program.id))
            .details(serde_json::json!({
                "version": version,
                "before": {"branding": program.branding},
                "after": {"branding": branding, "images": design.images.len(),
                          "texts": design.texts},
            }));
        super::record_audit(&state, entry).await;
        program.branding = branding;
    }
    Ok(AppJson(design_body(&state, &program).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    slot: String,
}

#[derive(Debug, Serialize)]
struct Uploaded {
    slot: &'static str,
    /// SHA-256 of each image made, by path: what `images` of a design takes.
    images: BTreeMap<String, String>,
    sizes: Vec<MadeSize>,
}

#[derive(Debug, Serialize)]
struct MadeSize {
    path: String,
    width: u32,
    height: u32,
    url: String,
}

fn upload_error(e: UploadError) -> ApiError {
    let status = match e {
        UploadError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UploadError::NotAnImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string()).field("file")
}

async fn upload_image(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, AppJson<Uploaded>)> {
    let slot = Slot::parse(&q.slot)
        .ok_or_else(|| ApiError::invalid("slot", "use logo, icon, strip or hero"))?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if kind.is_some_and(|k| k.starts_with("multipart/")) {
        let why = "send the image itself as the body (Content-Type image/png, image/jpeg or \
                   image/webp), not a form";
        let e = ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image", why);
        return Err(e.field("file"));
    }
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| upload_error(UploadError::TooLarge))?;
    let made = tokio::task::spawn_blocking(move || process(slot, &bytes))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(upload_error)?;
    let mut answer = Uploaded {
        slot: slot.as_str(),
        images: BTreeMap::new(),
        sizes: Vec::new(),
    };
    for m in made {
        let image = NewImage {
            sha256: &m.sha256,
            content_type: "image/png",
            bytes: &m.png,
            width: m.width,
            height: m.height,
        };
        state.store.insert_image(&image).await?;
        answer.sizes.push(MadeSize {
            url: image_url(&state.public_url, &m.sha256),
            path: m.path.clone(),
            width: m.width,
            height: m.height,
        });
        answer.images.insert(m.path, m.sha256);
    }
    Ok((StatusCode::CREATED, AppJson(answer)))
}
