//! `GET /console/programs/{id}/design`: the card designer (admins). The page is a form and an
//! empty preview; its script (`assets/designer.js`) loads the design from the admin API, uploads
//! images, redraws the preview from `…/design/preview` as the admin edits, downloads a sample
//! pass and saves after showing how many cards the save updates.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::designer_texts::DesignerTexts;
use super::{Console, Section};
use crate::domain::i18n::Lang;
use crate::domain::ids::ProgramId;
use crate::http::extract::AppPath;
use crate::http::pages::{PageError, RequestParts, render};
use crate::state::AppState;
use crate::store::{Role, StoreError};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/programs/{id}/design", get(designer))
}

/// An image slot of the form: its name in the API and its words.
struct SlotField {
    slot: &'static str,
    name: &'static str,
    hint: &'static str,
}

#[derive(Template)]
#[template(path = "console/designer.html")]
struct DesignerPage {
    c: Console,
    t: &'static DesignerTexts,
    program_id: String,
    program_name: String,
    slots: [SlotField; 4],
    langs: [(&'static str, &'static str); 3],
}

/// Each language's tag and its own name.
const LANGS: [(&str, &str); 3] = [
    ("en", "English"),
    ("ru", "Русский"),
    ("zh-Hans", "简体中文"),
];

async fn designer(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
) -> Response {
    let c = match Console::open(&parts, &state, &[Role::Admin], Section::Programs).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let not_found = || PageError::new(StatusCode::NOT_FOUND, "There is no such program.");
    let Some(id) = ProgramId::parse(&id) else {
        return not_found().into_response();
    };
    let program = match state.store.get_program(&id).await {
        Ok(program) => program,
        Err(StoreError::NotFound) => return not_found().into_response(),
        Err(e) => {
            tracing::error!(error = %e, "loading a program for the designer failed");
            let message = "Something went wrong on our side.";
            return PageError::new(StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
        }
    };
    let t = DesignerTexts::of(Lang::from_tag(c.lang).unwrap_or(Lang::En));
    let slot = |slot, name, hint| SlotField { slot, name, hint };
    render(&DesignerPage {
        t,
        program_id: program.id.to_string(),
        program_name: program.name,
        slots: [
            slot("logo", t.logo, t.logo_hint),
            slot("icon", t.icon, t.icon_hint),
            slot("strip", t.strip, t.strip_hint),
            slot("hero", t.hero, t.hero_hint),
        ],
        langs: LANGS,
        c,
    })
}
