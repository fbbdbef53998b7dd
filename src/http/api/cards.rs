//! `/cards`: issue a card of a program to a member, read it (by id or by barcode code), change
//! its status, and download its signed pass.

use crate::audit::{Action, Actor};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::accounts::load_member;
use super::programs::load_program;
use crate::apple::package::PKPASS_MEDIA_TYPE;
use crate::cards::google_save_url;
use crate::domain::card::{CardBundle, face_of};
use crate::domain::codes::CardCode;
use crate::domain::face::CardFace;
use crate::domain::i18n::{Lang, Words};
use crate::domain::ids::AccountId;
use crate::domain::model::{Card, CardStatus};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, Staff};
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::http::passkit::http_date;
use crate::state::AppState;
use crate::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cards", post(issue_card))
        .route("/cards/{id}", get(get_card))
        .route("/cards/by-code/{code}", get(get_card_by_code))
        .route("/cards/{id}/pass.pkpass", get(download_pass))
        .route("/cards/{id}/suspend", post(suspend_card))
        .route("/cards/{id}/reactivate", post(reactivate_card))
        .route("/cards/{id}/revoke", post(revoke_card))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCard {
    program_id: String,
    member_id: String,
    /// Optional check: the member must belong to this account.
    account_id: Option<String>,
}

/// `?lang=`: the language of the card face's labels and values (`en`, `ru`, `zh-Hans`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceQuery {
    lang: Option<String>,
}

impl FaceQuery {
    fn lang(&self) -> ApiResult<Lang> {
        match self.lang.as_deref() {
            None => Ok(Lang::En),
            Some(tag) => Lang::from_tag(tag).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "lang must be one of en, ru, zh-Hans",
                )
                .field("lang")
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CardBody {
    id: String,
    program_id: String,
    member_id: String,
    account_id: String,
    serial: String,
    code: String,
    status: CardStatus,
    /// For the desk: who holds the card, of which company, in which program and currency.
    holder_name: String,
    company_name: String,
    program_name: String,
    currency: String,
    version: i64,
    updated_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    apple_pass_url: String,
    /// The "Add to Google Wallet" link, when the card has a Google object.
    #[serde(skip_serializing_if = "Option::is_none")]
    google_save_url: Option<String>,
    balance: Value,
    face: Value,
}

/// The face in `lang`, in the words of the card's design.
fn face_json(face: &CardFace, lang: Lang, words: &dyn Words) -> Value {
    let mut out = serde_json::Map::new();
    for (area, fields) in face.areas() {
        let list: Vec<Value> = fields
            .iter()
            .map(|f| {
                let label = words.say(lang, f.label);
                let value = f.value.text_with(lang, words);
                let mut v = json!({"key": f.key, "label": label, "value": value});
                if let Some(m) = f.change_message {
                    v["change_message"] = json!(m);
                }
                v
            })
            .collect();
        out.insert(area.to_owned(), Value::Array(list));
    }
    Value::Object(out)
}

fn card_body(state: &AppState, bundle: &CardBundle) -> CardBody {
    card_body_in(state, bundle, Lang::En)
}

fn card_body_in(state: &AppState, bundle: &CardBundle, lang: Lang) -> CardBody {
    let face = face_of(bundle);
    let words = state.designs.words(&bundle.program.design);
    let c = &bundle.card;
    CardBody {
        id: c.id.to_string(),
        program_id: c.program_id.to_string(),
        member_id: c.member_id.to_string(),
        account_id: c.account_id.to_string(),
        serial: c.serial.to_string(),
        code: c.code.display(),
        status: c.status,
        holder_name: bundle.member.name.clone(),
        company_name: bundle.account.name.clone(),
        program_name: bundle.program.name.clone(),
        currency: bundle.program.currency.code().to_owned(),
        version: c.version,
        updated_at: c.updated_at,
        created_at: c.created_at,
        apple_pass_url: format!("{}/api/v1/cards/{}/pass.pkpass", state.public_url, c.id),
        google_save_url: google_save_url(state, c),
        balance: serde_json::to_value(&bundle.balance).unwrap_or(Value::Null),
        face: face_json(&face, lang, &*words),
    }
}

async fn bundle(state: &AppState, card: Result<Card, StoreError>) -> ApiResult<CardBundle> {
    match card {
        Err(StoreError::NotFound) => Err(ApiError::not_found("card")),
        Err(e) => Err(e.into()),
        Ok(card) => Ok(state.store.card_bundle(card).await?),
    }
}

async fn load_card(state: &AppState, id: &str) -> ApiResult<CardBundle> {
    let card = crate::booking::card_by_id(&state.store, id).await?;
    Ok(state.store.card_bundle(card).await?)
}

async fn issue_card(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppJson(body): AppJson<NewCard>,
) -> ApiResult<(StatusCode, AppJson<CardBody>)> {
    let program = load_program(&state, &body.program_id)
        .await
        .map_err(|e| e.field("program_id"))?;
    let member = load_member(&state, &body.member_id)
        .await
        .map_err(|e| e.field("member_id"))?;
    if let Some(account) = &body.account_id {
        if AccountId::parse(account).as_ref() != Some(&member.account_id) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "member_not_in_account",
                "the member belongs to another account",
            )
            .field("member_id"));
        }
    }
    if state.store.member_erased_at(&member.id).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "member_erased",
            "this member's personal data was erased; enroll the person anew",
        )
        .field("member_id"));
    }
    let card = crate::cards::issue_card(&state, &program, &member).await?;
    let entry = by
        .did(Action::CardIssued, format!("card:{}", card.id))
        .account(&card.account_id)
        .card(&card.id)
        .details(json!({"program_id": program.id, "member_id": member.id}));
    super::record_audit(&state, entry).await;
    let bundle = state.store.card_bundle(card).await?;
    Ok((StatusCode::CREATED, AppJson(card_body(&state, &bundle))))
}

async fn get_card(
    State(state): State<AppState>,
    _: Staff,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<FaceQuery>,
) -> ApiResult<AppJson<CardBody>> {
    let lang = q.lang()?;
    let bundle = load_card(&state, &id).await?;
    Ok(AppJson(card_body_in(&state, &bundle, lang)))
}

async fn get_card_by_code(
    State(state): State<AppState>,
    _: Staff,
    AppPath(code): AppPath<String>,
    AppQuery(q): AppQuery<FaceQuery>,
) -> ApiResult<AppJson<CardBody>> {
    let lang = q.lang()?;
    let code = CardCode::parse(&code).ok_or_else(|| ApiError::not_found("card"))?;
    let bundle = bundle(&state, state.store.get_card_by_code(&code).await).await?;
    Ok(AppJson(card_body_in(&state, &bundle, lang)))
}

async fn download_pass(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<Response> {
    let bundle = load_card(&state, &id).await?;
    let modified = bundle.card.updated_at;
    let filename = format!("card-{}.pkpass", bundle.card.code.as_str());
    let bytes = state
        .passes
        .signed_pass(bundle)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state.passes.metrics.served(true);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PKPASS_MEDIA_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::LAST_MODIFIED, http_date(modified));
    Ok((headers, bytes).into_response())
}

async fn change_status(
    state: &AppState,
    by: &Actor,
    id: &str,
    to: CardStatus,
) -> ApiResult<AppJson<CardBody>> {
    let mut bundle = load_card(state, id).await?;
    if bundle.card.status == to {
        return Ok(AppJson(card_body(state, &bundle)));
    }
    if !bundle.card.status.can_become(to) {
        let message = format!(
            "a {} card cannot become {}",
            bundle.card.status.as_str(),
            to.as_str()
        );
        return Err(ApiError::conflict("invalid_status_change", message).field("status"));
    }
    bundle.card = match state.store.set_card_status(&bundle.card, to).await {
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::conflict(
                "concurrent_change",
                "the card's status changed meanwhile; read it again",
            )
            .field("status"));
        }
        other => other?,
    };
    let action = match to {
        CardStatus::Active => Action::CardReactivated,
        CardStatus::Suspended => Action::CardSuspended,
        CardStatus::Revoked => Action::CardRevoked,
    };
    let card = &bundle.card;
    let entry = by
        .did(action, format!("card:{}", card.id))
        .account(&card.account_id)
        .card(&card.id)
        .details(json!({"status": to.as_str()}));
    super::record_audit(state, entry).await;
    Ok(AppJson(card_body(state, &bundle)))
}

async fn suspend_card(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<CardBody>> {
    change_status(&state, &by, &id, CardStatus::Suspended).await
}

async fn reactivate_card(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<CardBody>> {
    change_status(&state, &by, &id, CardStatus::Active).await
}

async fn revoke_card(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<CardBody>> {
    change_status(&state, &by, &id, CardStatus::Revoked).await
}
