//! The member page, `GET /m/{serial}?t=<card token>`: what the holder's card shows (balance,
//! tier progress, stamps, rewards) and the history of their orders, in their language; and
//! `GET /m/{serial}/pass.pkpass?t=…`, the holder's own pass download. The card's
//! authentication token (the one in the pass) makes the link unguessable.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{PageError, lang_of, render, texts::Texts};
use crate::designs::member_url;
use crate::domain::card::{CardBundle, face_of};
use crate::domain::codes::SerialNumber;
use crate::domain::i18n::{self, Lang};
use crate::domain::ledger::EntryKind;
use crate::domain::money::Money;
use crate::http::extract::{AppPath, AppQuery};
use crate::state::AppState;
use crate::store::Holder;
use crate::tokens::same_secret;

/// History entries shown on the page (the newest).
const HISTORY: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m/{serial}", get(member_page))
        .route("/m/{serial}/pass.pkpass", get(member_pass))
        .route("/m/{serial}/qr.svg", get(member_qr))
}

/// Which wallet buttons a device gets: an iPhone or iPad only Apple's, an Android phone only
/// Google's, anything else (a desktop) both and a QR code to continue on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Apple,
    Android,
    Other,
}

impl Device {
    pub fn of(headers: &HeaderMap) -> Device {
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if agent.contains("iPhone") || agent.contains("iPad") || agent.contains("iPod") {
            Device::Apple
        } else if agent.contains("Android") {
            Device::Android
        } else {
            Device::Other
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct MemberQuery {
    t: Option<String>,
    lang: Option<String>,
}

pub(super) struct Row {
    pub(super) label: String,
    pub(super) value: String,
}

struct Entry {
    date: String,
    what: String,
    amount: String,
}

/// One card as the holder's pages show it: what it shows and how to add it to a wallet.
pub(super) struct CardPanel {
    /// What the panel's element ids end with: empty on a card's own page, `-1`, `-2`, … where
    /// a page shows several cards.
    pub key: String,
    pub(super) program: String,
    pub(super) holder: String,
    pub(super) company: String,
    pub(super) status: String,
    pub(super) rows: Vec<Row>,
    pub(super) pass_url: String,
    pub(super) google_save_url: Option<String>,
    /// The card's own page (its history), with the card token.
    pub(super) page_url: String,
    /// The card page's address as a QR code, for a desktop visitor's phone.
    pub(super) qr_url: String,
    pub(super) show_apple: bool,
    pub(super) show_google: bool,
    pub(super) show_qr: bool,
}

/// `bundle`'s panel in `lang` for `device`. A card issued while Google Wallet was off gets
/// its object first, so its holder can save it.
pub(super) async fn card_panel(
    state: &AppState,
    bundle: &mut CardBundle,
    lang: Lang,
    device: Device,
    key: String,
) -> Result<CardPanel, PageError> {
    crate::cards::ensure_google_object(state, &mut bundle.card).await?;
    let t = Texts::of(lang);
    // The program's words as saved in the designer, as its passes show them.
    let words: std::sync::Arc<dyn crate::domain::i18n::Words + Send + Sync> = match state
        .passes
        .maker()
        .designs
        .for_program(&bundle.program)
        .await
    {
        Ok(resolved) => Arc::clone(&resolved.design) as _,
        Err(_) => state.designs.words(&bundle.program.design),
    };
    let face = face_of(bundle);
    let rows = face
        .fields()
        .filter(|f| !matches!(f.key, "member" | "company"))
        .map(|f| Row {
            label: words.say(lang, f.label).to_owned(),
            value: f.value.text_with(lang, &*words),
        })
        .collect();
    let (serial, token) = (&bundle.card.serial, bundle.card.auth_token.expose());
    Ok(CardPanel {
        key,
        program: bundle.program.name.clone(),
        holder: bundle.member.name.clone(),
        company: bundle.account.name.clone(),
        status: t.status(bundle.card.status).to_owned(),
        rows,
        pass_url: format!("/m/{serial}/pass.pkpass?t={token}"),
        google_save_url: crate::cards::google_save_url(state, &bundle.card),
        page_url: format!("/m/{serial}?t={token}&lang={}", lang.tag()),
        qr_url: format!("/m/{serial}/qr.svg?t={token}"),
        show_apple: device != Device::Android,
        show_google: device != Device::Apple,
        show_qr: device == Device::Other,
    })
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    card: CardPanel,
    history: Vec<Entry>,
    /// The card token again, for the language links.
    token_param: &'a str,
}

/// The card of `serial`, if `token` is its token (else "not found", telling nothing).
async fn card_for(
    state: &AppState,
    serial: &str,
    token: Option<&str>,
) -> Result<CardBundle, PageError> {
    let missing = || PageError::new(StatusCode::NOT_FOUND, "This card link is not valid.");
    let serial = SerialNumber::parse(serial).ok_or_else(missing)?;
    let card = match state.store.get_card_by_serial(&serial).await {
        Ok(card) => card,
        Err(crate::store::StoreError::NotFound) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if !token.is_some_and(|t| same_secret(t, card.auth_token.expose())) {
        return Err(missing());
    }
    Ok(state.store.card_bundle(card).await?)
}

async fn member_page(
    State(state): State<AppState>,
    AppPath(serial): AppPath<String>,
    AppQuery(q): AppQuery<MemberQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let mut bundle = card_for(&state, &serial, q.t.as_deref()).await?;
    let lang = lang_of(q.lang.as_deref(), &headers);
    let t = Texts::of(lang);
    let card = card_panel(
        &state,
        &mut bundle,
        lang,
        Device::of(&headers),
        String::new(),
    )
    .await?;
    let program = &bundle.program;
    let holder = Holder::of(
        program,
        &bundle.card.account_id,
        Some(&bundle.card.member_id),
    );
    let mut entries = state
        .store
        .latest_history(program.id.as_str(), holder.key(), HISTORY)
        .await?;
    entries.reverse();
    let history = entries
        .iter()
        .map(|e| {
            let kind = EntryKind::parse(&e.kind);
            Entry {
                date: i18n::date(lang, e.effective_at, program.time_zone),
                what: t.entry(kind).to_owned(),
                amount: match kind.is_some_and(EntryKind::is_money) {
                    true => i18n::money(lang, Money::new(e.amount, program.currency)),
                    false => e.amount.to_string(),
                },
            }
        })
        .collect();
    let page = MemberPage {
        t,
        lang: lang.tag(),
        card,
        history,
        token_param: bundle.card.auth_token.expose(),
    };
    Ok(render(&page))
}

async fn member_pass(
    State(state): State<AppState>,
    AppPath(serial): AppPath<String>,
    AppQuery(q): AppQuery<MemberQuery>,
) -> Result<Response, PageError> {
    let bundle = card_for(&state, &serial, q.t.as_deref()).await?;
    let filename = format!("card-{}.pkpass", bundle.card.code.as_str());
    let bytes = state.passes.signed_pass(bundle).await.map_err(|e| {
        tracing::error!(error = %e, "signing a member's pass failed");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The pass could not be made right now.",
        )
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::apple::package::PKPASS_MEDIA_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, bytes).into_response())
}

/// The member page's address as a QR code (SVG), for a desktop visitor's phone camera.
async fn member_qr(
    State(state): State<AppState>,
    AppPath(serial): AppPath<String>,
    AppQuery(q): AppQuery<MemberQuery>,
) -> Result<Response, PageError> {
    let bundle = card_for(&state, &serial, q.t.as_deref()).await?;
    let url = member_url(&state.public_url, &bundle.card);
    let svg = crate::render::qr::qr_svg(&url).map_err(|e| {
        tracing::error!(error = %e, "drawing a member QR code failed");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The QR code could not be drawn.",
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}
