//! `/programs`: create, list, read and update loyalty programs.

use crate::audit::Action;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::json;

use super::{ListPage, ListQuery, text};
use crate::domain::ids::ProgramId;
use crate::domain::model::{BalanceScope, Branding, Program, ProgramStatus};
use crate::domain::money::Currency;
use crate::domain::rules::{Kind, Rules};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Admin;
use crate::http::extract::{AppJson, AppPath, AppQuery};
use crate::state::AppState;
use crate::store::{StoreError, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/programs", get(list_programs).post(create_program))
        .route("/programs/{id}", get(get_program).patch(update_program))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProgram {
    name: String,
    kind: Kind,
    currency: String,
    time_zone: String,
    balance_scope: BalanceScope,
    rules: Value,
    #[serde(default = "default_design")]
    design: String,
    #[serde(default)]
    branding: Branding,
}

fn default_design() -> String {
    "default".to_owned()
}

/// Every field optional; `kind`, `currency` and `balance_scope` cannot change once cards
/// may hold balances in them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProgram {
    name: Option<String>,
    kind: Option<Value>,
    currency: Option<Value>,
    balance_scope: Option<Value>,
    time_zone: Option<String>,
    rules: Option<Value>,
    design: Option<String>,
    branding: Option<Branding>,
    status: Option<ProgramStatus>,
}

#[derive(Debug, Serialize)]
pub struct ProgramBody {
    id: String,
    name: String,
    kind: Kind,
    currency: String,
    time_zone: String,
    balance_scope: BalanceScope,
    rules: Value,
    design: String,
    branding: Branding,
    status: ProgramStatus,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Program> for ProgramBody {
    fn from(p: Program) -> Self {
        ProgramBody {
            kind: p.kind(),
            rules: p.rules.to_json(),
            currency: p.currency.code().to_owned(),
            time_zone: p.time_zone.name().to_owned(),
            id: p.id.to_string(),
            name: p.name,
            balance_scope: p.balance_scope,
            design: p.design,
            branding: p.branding,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn parse_time_zone(tz: &str) -> ApiResult<Tz> {
    tz.parse().map_err(|_| {
        ApiError::invalid(
            "time_zone",
            format!("`{tz}` is not an IANA time zone such as Europe/Berlin"),
        )
    })
}

fn check_design(state: &AppState, design: &str) -> ApiResult<String> {
    match state.designs.get(design) {
        Some(_) => Ok(design.to_owned()),
        None => {
            let mut known: Vec<&str> = state.designs.names().collect();
            known.sort_unstable();
            Err(ApiError::invalid(
                "design",
                format!("no design `{design}`; known: {}", known.join(", ")),
            ))
        }
    }
}

fn parse_rules(kind: Kind, rules: &Value) -> ApiResult<Rules> {
    Rules::parse(kind, rules).map_err(|e| ApiError::from(e.under("rules")))
}

async fn create_program(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppJson(body): AppJson<NewProgram>,
) -> ApiResult<(StatusCode, AppJson<ProgramBody>)> {
    let name = text("name", &body.name, 100)?;
    let currency = Currency::parse(&body.currency).ok_or_else(|| {
        ApiError::invalid(
            "currency",
            format!(
                "`{}` is not an active ISO 4217 code such as EUR",
                body.currency
            ),
        )
    })?;
    let time_zone = parse_time_zone(&body.time_zone)?;
    let rules = parse_rules(body.kind, &body.rules)?;
    let design = check_design(&state, &body.design)?;
    body.branding
        .validate()
        .map_err(|e| ApiError::from(e.under("branding")))?;
    let at = now();
    let program = Program {
        id: ProgramId::generate(),
        name,
        rules,
        currency,
        time_zone,
        balance_scope: body.balance_scope,
        design,
        branding: body.branding,
        status: ProgramStatus::Active,
        created_at: at,
        updated_at: at,
    };
    state.store.insert_program(&program).await?;
    let entry = by
        .did(Action::ProgramCreated, format!("program:{}", program.id))
        .details(json!({"after": program_summary(&program)}));
    super::record_audit(&state, entry).await;
    Ok((StatusCode::CREATED, AppJson(program.into())))
}

/// What the trail keeps of a program.
fn program_summary(p: &Program) -> Value {
    json!({"name": p.name, "kind": p.kind().as_str(), "status": p.status,
           "rules": p.rules.to_json(), "design": p.design, "branding": p.branding,
           "time_zone": p.time_zone.name()})
}

async fn list_programs(
    State(state): State<AppState>,
    _: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<ListPage<ProgramBody>>> {
    let page = state
        .store
        .list_programs(q.after.as_deref(), q.limit()?)
        .await?;
    Ok(AppJson(ListPage::map(page, ProgramBody::from)))
}

pub(super) async fn load_program(state: &AppState, id: &str) -> ApiResult<Program> {
    let id = ProgramId::parse(id).ok_or_else(|| ApiError::not_found("program"))?;
    match state.store.get_program(&id).await {
        Err(StoreError::NotFound) => Err(ApiError::not_found("program")),
        other => Ok(other?),
    }
}

async fn get_program(
    State(state): State<AppState>,
    _: Admin,
    AppPath(id): AppPath<String>,
) -> ApiResult<AppJson<ProgramBody>> {
    Ok(AppJson(load_program(&state, &id).await?.into()))
}

/// What of a program its cards show; a change of it gives every card a new version.
fn shown_on_cards(p: &Program) -> (String, Rules, Tz, String, Branding) {
    (
        p.name.clone(),
        p.rules.clone(),
        p.time_zone,
        p.design.clone(),
        p.branding.clone(),
    )
}

fn reject_immutable(field: &str, given: Option<&Value>, current: &str) -> ApiResult<()> {
    match given {
        Some(v) if v.as_str() != Some(current) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "immutable_field",
            format!(
                "`{field}` cannot change after a program is created; create a new program instead"
            ),
        )
        .field(field)),
        _ => Ok(()),
    }
}

async fn update_program(
    State(state): State<AppState>,
    Admin(by): Admin,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UpdateProgram>,
) -> ApiResult<AppJson<ProgramBody>> {
    let mut p = load_program(&state, &id).await?;
    let before = program_summary(&p);
    reject_immutable("kind", body.kind.as_ref(), p.kind().as_str())?;
    reject_immutable("currency", body.currency.as_ref(), p.currency.code())?;
    reject_immutable(
        "balance_scope",
        body.balance_scope.as_ref(),
        p.balance_scope.as_str(),
    )?;
    let (face_before, status_before) = (shown_on_cards(&p), p.status);
    if let Some(name) = &body.name {
        p.name = text("name", name, 100)?;
    }
    if let Some(tz) = &body.time_zone {
        p.time_zone = parse_time_zone(tz)?;
    }
    if let Some(rules) = &body.rules {
        p.rules = parse_rules(p.kind(), rules)?;
    }
    if let Some(design) = &body.design {
        p.design = check_design(&state, design)?;
    }
    if let Some(branding) = body.branding {
        branding
            .validate()
            .map_err(|e| ApiError::from(e.under("branding")))?;
        p.branding = branding;
    }
    if let Some(status) = body.status {
        p.status = status;
    }
    let cards_change = shown_on_cards(&p) != face_before;
    if cards_change || p.status != status_before {
        p.updated_at = now();
        state.store.update_program(&p, cards_change).await?;
        let entry = by
            .did(Action::ProgramChanged, format!("program:{}", p.id))
            .details(json!({"before": before, "after": program_summary(&p)}));
        super::record_audit(&state, entry).await;
    }
    Ok(AppJson(p.into()))
}
