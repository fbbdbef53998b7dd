//! What machines do, in the console: `GET/POST /console/keys` (API keys: list, create, the
//! new key shown once in the answer to its POST and never in an address, revoke) and
//! `GET /console/dead-letters` (deliveries refused for good, each with a retry).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::machine_texts::MachineTexts;
use super::{Console, Section};
use crate::domain::ids::ApiKeyId;
use crate::http::api::keys::{create_recorded, revoke_recorded};
use crate::http::api::outbox::retry_recorded;
use crate::http::extract::{AppForm, AppPath, AppQuery};
use crate::http::pages::{PageError, RequestParts, render};
use crate::state::AppState;
use crate::store::{ApiKeyRecord, DeadLetter, RevokeError, Role, StoreError};

const KEYS: (&[Role], Section) = (&[Role::Admin], Section::Keys);
const DEAD: (&[Role], Section) = (&[Role::Admin], Section::DeadLetters);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/keys", get(keys_page).post(create_key))
        .route("/console/keys/{id}/revoke", post(revoke_key))
        .route("/console/dead-letters", get(dead_page))
        .route("/console/dead-letters/{id}/retry", post(retry))
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage<'a> {
    c: Console,
    m: &'static MachineTexts,
    keys: Vec<ApiKeyRecord>,
    token: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
struct DeadPage {
    c: Console,
    m: &'static MachineTexts,
    letters: Vec<Letter>,
    retried: bool,
    more: Option<String>,
}

/// A dead letter as the page shows it: a push token is cut short (it identifies a phone).
struct Letter {
    id: i64,
    kind: String,
    to: String,
    card: String,
    attempts: i32,
    error: String,
    when: String,
}

impl From<DeadLetter> for Letter {
    fn from(d: DeadLetter) -> Self {
        let to = match d.kind.as_str() {
            "apple_push" => format!("{}…", d.target.chars().take(8).collect::<String>()),
            _ => d.target,
        };
        Letter {
            id: d.id,
            kind: d.kind,
            to,
            card: d.card_id.unwrap_or_default(),
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
            when: d
                .updated_at
                .unwrap_or(d.created_at)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeadQuery {
    after: Option<i64>,
    retried: Option<String>,
}

fn page_failure(e: StoreError) -> Response {
    PageError::from(e).into_response()
}

async fn show_keys(
    state: &AppState,
    c: Console,
    token: Option<&str>,
    error: Option<&str>,
) -> Result<Response, Response> {
    let keys = state
        .store
        .list_api_keys(None, 500)
        .await
        .map_err(page_failure)?
        .items;
    let m = MachineTexts::of(c.language);
    let status = match (token, error) {
        (Some(_), _) => StatusCode::CREATED,
        (_, Some(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let mut response = render(&KeysPage {
        c,
        m,
        keys,
        token,
        error,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn keys_page(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
) -> Result<Response, Response> {
    let c = Console::open(&parts, &state, KEYS.0, KEYS.1).await?;
    show_keys(&state, c, None, None).await
}

async fn create_key(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppForm(form): AppForm<NewKeyForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, KEYS, &form.csrf).await?;
    let name = match crate::domain::contact::text("name", &form.name, 200) {
        Ok(name) => name,
        Err(e) => return show_keys(&state, c, None, Some(&e.message)).await,
    };
    let Some(role) = Role::parse(&form.role) else {
        return show_keys(&state, c, None, Some("role")).await;
    };
    let (_, token) = create_recorded(&state, &c.actor, &name, role)
        .await
        .map_err(page_failure)?;
    show_keys(&state, c, Some(&token), None).await
}

async fn revoke_key(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
    AppForm(form): AppForm<CsrfForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, KEYS, &form.csrf).await?;
    let missing = || PageError::new(StatusCode::NOT_FOUND, "No such key.").into_response();
    let id = ApiKeyId::parse(&id).ok_or_else(missing)?;
    match revoke_recorded(&state, &c.actor, &id).await {
        Ok(_) => Ok(Redirect::to("/console/keys").into_response()),
        Err(RevokeError::NotFound) => Err(missing()),
        Err(RevokeError::LastAdmin) => {
            let m = MachineTexts::of(c.language);
            show_keys(&state, c, None, Some(m.last_admin_key)).await
        }
        Err(RevokeError::Store(e)) => Err(page_failure(e)),
    }
}

async fn dead_page(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppQuery(q): AppQuery<DeadQuery>,
) -> Result<Response, Response> {
    let c = Console::open(&parts, &state, DEAD.0, DEAD.1).await?;
    let page = state
        .store
        .dead_letters(q.after.unwrap_or(0), 100)
        .await
        .map_err(page_failure)?;
    let m = MachineTexts::of(c.language);
    Ok(render(&DeadPage {
        c,
        m,
        letters: page.items.into_iter().map(Letter::from).collect(),
        retried: q.retried.is_some(),
        more: page.next_after,
    }))
}

async fn retry(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<i64>,
    AppForm(form): AppForm<CsrfForm>,
) -> Result<Response, Response> {
    let c = Console::posted(&parts, &state, DEAD, &form.csrf).await?;
    retry_recorded(&state, &c.actor, id)
        .await
        .map_err(page_failure)?;
    Ok(Redirect::to("/console/dead-letters?retried=1").into_response())
}
