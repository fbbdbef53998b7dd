//! What the designer shows while editing, from the code the real cards are built with:
//! `…/design/preview?lang=` (the Apple pass's front and back and the Google card's class and
//! object) and `…/design/sample.pkpass` (a signed pass). `GET` shows the saved design, `POST`
//! the draft in its body; both show a sample card of the program's kind with sample balances,
//! or a real card of the program with `?card=`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::designs::{DesignInput, parse_input};
use super::programs::load_program;
use crate::apple::package::PKPASS_MEDIA_TYPE;
use crate::designs::member_url;
use crate::domain::balance::Balance;
use crate::domain::card::{CardBundle, face_of};
use crate::domain::codes::{AuthToken, CardCode, SerialNumber};
use crate::domain::face::CardFace;
use crate::domain::i18n::{Lang, Words};
use crate::domain::ids::{AccountId, CardId, MemberId};
use crate::domain::model::{Account, Card, CardStatus, Member, Program};
use crate::error::{ApiError, ApiResult};
use crate::google::mapping::{ObjectInput, object_fields};
use crate::google::model::ResourceId;
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::passes::pass_face;
use crate::program_designs::Resolved;
use crate::render::stamp_grid_url;
use crate::render::stamps::Grid;
use crate::state::AppState;
use crate::store::{StoreError, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/programs/{id}/design/preview",
            get(saved_preview).post(draft_preview),
        )
        .route(
            "/programs/{id}/design/sample.pkpass",
            get(saved_sample).post(draft_sample),
        )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    lang: Option<String>,
    /// A card of the program to show instead of the sample card.
    card: Option<String>,
}

/// The program (with the draft's colours and logo text, if any), its design and the card.
async fn prepare(
    state: &AppState,
    id: &str,
    q: &PreviewQuery,
    draft: Option<DesignInput>,
) -> ApiResult<(Arc<Resolved>, CardBundle)> {
    let mut program = load_program(state, id).await?;
    let designs = &state.passes.maker().designs;
    let resolved = match draft {
        Some(input) => {
            let (branding, stored) = parse_input(state, &program, input).await?;
            program.branding = branding;
            designs.with(&program, &stored).await
        }
        None => designs.for_program(&program).await,
    }
    .map_err(|e| ApiError::internal(&e))?;
    let bundle = match &q.card {
        Some(card) => real_card(state, &program, card).await?,
        None => sample_card(program),
    };
    Ok((resolved, bundle))
}

async fn real_card(state: &AppState, program: &Program, id: &str) -> ApiResult<CardBundle> {
    let not_found = || ApiError::not_found("card").field("card");
    let id = CardId::parse(id).ok_or_else(not_found)?;
    let card = match state.store.get_card(&id).await {
        Err(StoreError::NotFound) => return Err(not_found()),
        other => other?,
    };
    if card.program_id != program.id {
        return Err(not_found());
    }
    let mut bundle = state.store.card_bundle(card).await?;
    bundle.program = program.clone();
    Ok(bundle)
}

/// A card of `program` with sample holder, company and balances of the program's kind.
fn sample_card(program: Program) -> CardBundle {
    let at = now();
    let day = at.duration_trunc(TimeDelta::days(1)).unwrap_or(at);
    let balance = sample_balance(&program, day);
    // Named by the program, so a preview and a sample pass show the same card.
    let seed = Sha256::digest(program.id.as_str().as_bytes());
    let (member, account) = sample_holder(day);
    let card = Card {
        id: CardId::generate(),
        program_id: program.id.clone(),
        member_id: member.id.clone(),
        account_id: account.id.clone(),
        serial: SerialNumber::from_db(hex::encode(&seed[..16])),
        auth_token: AuthToken::from_db(hex::encode(&seed[16..])),
        code: CardCode::from_db("SAMP1E000001".into()),
        status: CardStatus::Active,
        version: 1,
        updated_at: day,
        created_at: day,
        notify: None,
        google_object_id: None,
    };
    CardBundle {
        card,
        program,
        member,
        account,
        balance,
    }
}

/// Balances that fill every field of the program's kind.
fn sample_balance(program: &Program, day: DateTime<Utc>) -> Balance {
    let mut balance = Balance::zero(&program.rules);
    match &mut balance {
        Balance::Discount(b) => b.spend_minor = 1_234_500,
        Balance::CumulativeDiscount(b) => b.spend_minor = 1_234_500,
        Balance::Cashback(b) => {
            b.cashback_minor = 4_250;
            b.last_credit_minor = Some(1_250);
            b.last_credit_at = Some(day - TimeDelta::days(3));
        }
        Balance::Stamp(b) => b.stamps = (b.stamps_required / 2).max(1),
    }
    balance
}

fn sample_holder(day: DateTime<Utc>) -> (Member, Account) {
    let account = Account {
        id: AccountId::generate(),
        name: "Sample Trading Ltd".into(),
        external_id: None,
        created_at: day,
        updated_at: day,
    };
    let member = Member {
        id: MemberId::generate(),
        account_id: account.id.clone(),
        name: "Alex Sample".into(),
        role: None,
        email: None,
        phone: None,
        external_id: None,
        created_at: day,
        updated_at: day,
    };
    (member, account)
}

fn lang_of(q: &PreviewQuery) -> ApiResult<Lang> {
    match q.lang.as_deref() {
        None => Ok(Lang::En),
        Some(tag) => {
            Lang::from_tag(tag).ok_or_else(|| ApiError::invalid("lang", "use en, ru or zh-Hans"))
        }
    }
}

/// Each area of `face` in `lang`: what Wallet shows on a device set to that language.
fn areas_json(face: &CardFace, lang: Lang, words: &dyn Words) -> Value {
    let mut out = serde_json::Map::new();
    for (area, fields) in face.areas() {
        let list = fields
            .iter()
            .map(|f| {
                let label = words.say(lang, f.label);
                json!({"key": f.key, "label": label, "value": f.value.text_with(lang, words)})
            })
            .collect();
        out.insert(area.to_owned(), Value::Array(list));
    }
    Value::Object(out)
}

fn preview_json(state: &AppState, design: &Resolved, bundle: &CardBundle, lang: Lang) -> Value {
    let public_url = &state.public_url;
    let words = design.design.as_ref();
    let face = pass_face(bundle, member_url(public_url, &bundle.card));
    let b = &bundle.program.branding;
    let skeleton = |key: &str| {
        design
            .design
            .skeleton
            .get(key)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let color = |c: Option<crate::domain::model::Color>, key: &str| {
        c.map_or_else(|| skeleton(key), |c| json!(c.to_string()))
    };
    let logo_text = b
        .logo_text
        .as_deref()
        .map(|t| words.say(lang, t).to_owned());
    let image = |path: &str| design.image_url(public_url, path);
    let apple = json!({
        "background_color": color(b.background_color, "backgroundColor"),
        "foreground_color": color(b.foreground_color, "foregroundColor"),
        "label_color": color(b.label_color, "labelColor"),
        "logo_text": logo_text.or_else(|| skeleton("logoText").as_str().map(str::to_owned)),
        "logo": image("logo@2x.png"),
        "icon": image("icon@2x.png"),
        "strip": image("strip@2x.png"),
        "organization_name": b.organization_name.as_deref().unwrap_or(&state.organization_name),
        "barcode": bundle.card.code.display(),
        "fields": areas_json(&face, lang, words),
    });
    json!({
        "lang": lang.tag(),
        "serial": bundle.card.serial.as_str(),
        "apple": apple,
        "google": google_json(state, design, bundle),
    })
}

/// The Google class and object exactly as the Google delivery builds them.
fn google_json(state: &AppState, design: &Resolved, bundle: &CardBundle) -> Value {
    let program = &bundle.program;
    let public_url = &state.public_url;
    let issuer = state.google.as_ref().map_or("0", |g| g.client.issuer_id());
    let class_id = ResourceId::new(issuer, program.id.as_str()).ok();
    let class = class_id.and_then(|id| {
        design.google_class(program, id, &state.organization_name, public_url, None)
    });
    let hero = match &bundle.balance {
        Balance::Stamp(s) => Some(stamp_grid_url(
            public_url,
            &Grid::new(
                s.stamps,
                s.stamps_required,
                program.branding.background_color,
                program.branding.foreground_color,
            ),
        )),
        _ => None,
    };
    let member_url = member_url(public_url, &bundle.card);
    let input = ObjectInput {
        code: &bundle.card.code,
        holder_name: &bundle.member.name,
        member_url: Some(&member_url),
        hero_image_url: hero.as_deref(),
        words: design.design.as_ref(),
    };
    let object = object_fields(&face_of(bundle), &input);
    json!({"class": class, "object": object})
}

async fn saved_preview(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<PreviewQuery>,
) -> ApiResult<AppJson<Value>> {
    let lang = lang_of(&q)?;
    let (design, bundle) = prepare(&state, &id, &q, None).await?;
    Ok(AppJson(preview_json(&state, &design, &bundle, lang)))
}

async fn draft_preview(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<PreviewQuery>,
    AppJson(draft): AppJson<DesignInput>,
) -> ApiResult<AppJson<Value>> {
    let lang = lang_of(&q)?;
    let (design, bundle) = prepare(&state, &id, &q, Some(draft)).await?;
    Ok(AppJson(preview_json(&state, &design, &bundle, lang)))
}

async fn sample(state: &AppState, design: &Resolved, bundle: CardBundle) -> ApiResult<Response> {
    let template = Arc::clone(&design.template);
    let maker = state.passes.maker();
    let pass = maker
        .render_with(bundle, template)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(PKPASS_MEDIA_TYPE),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"sample.pkpass\""),
        ),
    ];
    Ok((headers, pass).into_response())
}

async fn saved_sample(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<PreviewQuery>,
) -> ApiResult<Response> {
    let (design, bundle) = prepare(&state, &id, &q, None).await?;
    sample(&state, &design, bundle).await
}

async fn draft_sample(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<PreviewQuery>,
    AppJson(draft): AppJson<DesignInput>,
) -> ApiResult<Response> {
    let (design, bundle) = prepare(&state, &id, &q, Some(draft)).await?;
    sample(&state, &design, bundle).await
}
