//! `/invites`: enrollment links of a client company into programs, with their QR codes. The
//! token (the secret in the link) is shown once, in the answer to `POST /invites`; the QR
//! images, which encode the link, stay available to admins.

use crate::audit::Action;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::accounts::load_account;
use super::programs::load_program;
use super::{ListPage, ListQuery};
use crate::domain::codes::InviteToken;
use crate::domain::ids::InviteId;
use crate::domain::invites::{
    Invite, InviteStatus, MAX_PROGRAMS, check_expires_at, check_max_uses,
};
use crate::domain::model::ProgramStatus;
use crate::enroll::join_url;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::render::qr::{MAX_MODULE_PX, qr_png, qr_svg};
use crate::state::AppState;
use crate::store::{StoreError, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invites", get(list_all_invites).post(create_invite))
        .route("/invites/{id}", get(get_invite))
        .route("/invites/{id}/enrollments", get(list_enrollments))
        .route("/invites/{id}/revoke", post(revoke_invite))
        .route("/invites/{id}/qr.png", get(invite_qr_png))
        .route("/invites/{id}/qr.svg", get(invite_qr_svg))
        .route("/accounts/{id}/invites", get(list_invites))
        .route("/members/{id}/send-card", post(send_card))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendCardQuery {
    /// The mail's language (`en`, `ru`, `zh-Hans`); default `en`.
    lang: Option<String>,
}

/// A personal invite: mails member `id` a one-time link (valid 72 hours) that opens their
/// cards. 202: the mail is queued (the outbox sends it); 429 `too_many_mails` past the
/// per-address limit of the hour.
async fn send_card(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<SendCardQuery>,
) -> ApiResult<Response> {
    let lang = match q.lang.as_deref() {
        None => crate::domain::i18n::Lang::En,
        Some(tag) => crate::domain::i18n::Lang::from_tag(tag)
            .ok_or_else(|| ApiError::invalid("lang", "must be en, ru or zh-Hans"))?,
    };
    let member = super::accounts::load_member(&state, &id).await?;
    match crate::enroll::send_card_link(&state, &member.id, lang).await {
        Ok(crate::enroll::Mailed::Queued) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({"member_id": member.id, "status": "queued"})),
        )
            .into_response()),
        Ok(crate::enroll::Mailed::Limited) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_mails",
            "this address was sent as many links this hour as it may be; try again later",
        )),
        Err(crate::enroll::EnrollError::Invalid { field, message }) => {
            Err(ApiError::invalid(field, message))
        }
        Err(crate::enroll::EnrollError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    account_id: String,
    program_ids: Vec<String>,
    max_uses: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    /// Pixels a module of the PNG.
    px: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct InviteBody {
    id: String,
    /// Only in the answer that created the invite.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    qr_png_url: String,
    qr_svg_url: String,
    account_id: String,
    program_ids: Vec<String>,
    status: InviteStatus,
    max_uses: i64,
    uses: i64,
    uses_left: i64,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

fn invite_body(state: &AppState, i: &Invite, with_token: bool) -> InviteBody {
    let api = format!("{}/api/v1/invites/{}", state.public_url, i.id);
    InviteBody {
        id: i.id.to_string(),
        token: with_token.then(|| i.token.expose().to_owned()),
        url: with_token.then(|| join_url(&state.public_url, &i.token)),
        qr_png_url: format!("{api}/qr.png"),
        qr_svg_url: format!("{api}/qr.svg"),
        account_id: i.account_id.to_string(),
        program_ids: i.program_ids.iter().map(ToString::to_string).collect(),
        status: i.status(now()),
        max_uses: i.max_uses,
        uses: i.uses,
        uses_left: i.uses_left(),
        expires_at: i.expires_at,
        created_at: i.created_at,
        revoked_at: i.revoked_at,
    }
}

async fn load_invite(state: &AppState, id: &str) -> ApiResult<Invite> {
    let id = InviteId::parse(id).ok_or_else(|| ApiError::not_found("invite"))?;
    match state.store.get_invite(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::not_found("invite")),
        other => Ok(other?),
    }
}

/// The programs' ids, each an active program, none twice, 1 to [`MAX_PROGRAMS`] of them.
async fn check_programs(
    state: &AppState,
    ids: &[String],
) -> ApiResult<Vec<crate::domain::ids::ProgramId>> {
    if ids.is_empty() || ids.len() > MAX_PROGRAMS {
        let message = format!("must name 1 to {MAX_PROGRAMS} programs");
        return Err(ApiError::invalid("program_ids", message));
    }
    let mut checked = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let field = format!("program_ids[{i}]");
        let program = load_program(state, id).await.map_err(|e| e.field(&field))?;
        if program.status == ProgramStatus::Ended {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "program_ended",
                "the program has ended; no new cards",
            )
            .field(field));
        }
        if checked.contains(&program.id) {
            return Err(ApiError::invalid(field, "names a program already named"));
        }
        checked.push(program.id);
    }
    Ok(checked)
}

async fn create_invite(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppJson(body): AppJson<NewInvite>,
) -> ApiResult<(StatusCode, AppJson<InviteBody>)> {
    let at = now();
    let max_uses = check_max_uses(body.max_uses)?;
    // Stored at microseconds, so the answer equals what is read back later.
    let asked = body
        .expires_at
        .map(|t| t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t));
    let expires_at = check_expires_at(asked, at)?;
    let account = load_account(&state, &body.account_id)
        .await
        .map_err(|e| e.field("account_id"))?;
    let program_ids = check_programs(&state, &body.program_ids).await?;
    let invite = Invite {
        id: InviteId::generate(),
        token: InviteToken::generate(),
        account_id: account.id,
        program_ids,
        max_uses,
        uses: 0,
        expires_at,
        created_at: at,
        revoked_at: None,
    };
    state.store.insert_invite(&invite).await?;
    let entry = by
        .did(Action::InviteCreated, format!("invite:{}", invite.id))
        .account(&invite.account_id)
        .details(serde_json::json!({"program_ids": invite.program_ids,
                                    "max_uses": invite.max_uses,
                                    "expires_at": invite.expires_at}));
    super::record_audit(&state, entry).await;
    Ok((
        StatusCode::CREATED,
        AppJson(invite_body(&state, &invite, true)),
    ))
}

async fn get_invite(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<InviteBody>> {
    let invite = load_invite(&state, &id).await?;
    Ok(AppJson(invite_body(&state, &invite, false)))
}

async fn list_invites(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<InviteBody>>> {
    let account = load_account(&state, &id).await?;
    let page = state
        .store
        .list_invites(&account.id, q.after.as_deref(), q.limit()?)
        .await?;
    Ok(AppJson(ListPage::map(page, |i| {
        invite_body(&state, &i, false)
    })))
}

/// Every company's invites, oldest first.
async fn list_all_invites(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<InviteBody>>> {
    let page = state
        .store
        .all_invites(q.after.as_deref(), q.limit()?)
        .await?;
    Ok(AppJson(ListPage::map(page, |i| {
        invite_body(&state, &i, false)
    })))
}

#[derive(Debug, Serialize)]
pub struct EnrollmentsBody {
    items: Vec<crate::store::Enrolled>,
}

/// Who enrolled through the invite, in the order they did.
async fn list_enrollments(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<EnrollmentsBody>> {
    let invite = load_invite(&state, &id).await?;
    let items = state.store.invite_enrollments(&invite.id).await?;
    Ok(AppJson(EnrollmentsBody { items }))
}

async fn revoke_invite(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<InviteBody>> {
    let invite = load_invite(&state, &id).await?;
    let was_open = invite.revoked_at.is_none();
    let invite = state.store.revoke_invite(&invite.id, now()).await?;
    if was_open {
        let entry = by
            .did(Action::InviteRevoked, format!("invite:{}", invite.id))
            .account(&invite.account_id);
        super::record_audit(&state, entry).await;
    }
    Ok(AppJson(invite_body(&state, &invite, false)))
}

/// An image of the invite's QR code, drawn on the blocking pool. Not cached anywhere: it
/// encodes the invite's secret link.
async fn qr_image(
    state: &AppState,
    id: &str,
    media_type: &'static str,
    draw: impl FnOnce(&str) -> Result<Vec<u8>, qrcode::types::QrError> + Send + 'static,
) -> ApiResult<Response> {
    let invite = load_invite(state, id).await?;
    let url = join_url(&state.public_url, &invite.token);
    let span = tracing::Span::current();
    let drawn = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        draw(&url)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&e))?;
    let headers = [
        (header::CONTENT_TYPE, media_type),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, drawn).into_response())
}

async fn invite_qr_png(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
    AppQuery(q): AppQuery<QrQuery>,
) -> ApiResult<Response> {
    let px = match q.px {
        None => 8,
        Some(px @ 1..=MAX_MODULE_PX) => px,
        Some(_) => {
            let message = format!("px must be between 1 and {MAX_MODULE_PX}");
            return Err(
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).field("px"),
            );
        }
    };
    qr_image(&state, &id, "image/png", move |url| qr_png(url, px)).await
}

async fn invite_qr_svg(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<Response> {
    qr_image(&state, &id, "image/svg+xml", |url| {
        qr_svg(url).map(String::into_bytes)
    })
    .await
}
