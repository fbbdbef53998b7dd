//! The console: where a supplier's staff run the service in the browser. Every console page
//! starts with [`Console::open`], which checks the staff session and its role and gives the
//! page what its layout (`console/layout.html`: navigation, sign-out, language) needs. The
//! pages are server-rendered; forms post either to the page's own handler (POST-redirect-GET,
//! with the session's CSRF token in a hidden `csrf` field) or, from the page's script, to the
//! admin API with the session cookie and the `X-CSRF-Token` header, so the API's validation
//! and audit apply to both.

pub mod audit;
pub mod card_views;
pub mod companies;
pub mod companies_texts;
pub mod designer;
mod designer_texts;
pub mod forms;
pub mod home;
pub mod invites;
pub mod invites_texts;
pub mod machine_texts;
pub mod machines;
pub mod people;
pub mod programs;
pub mod programs_texts;
pub mod staff_texts;
pub mod staff_users;
pub mod texts;

use axum::Router;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::session::require;
use super::{PageError, lang_of};
use crate::audit::Actor;
use crate::domain::i18n::Lang;
use crate::http::auth::session_actor;
use crate::state::AppState;
use crate::store::{Role, WebSession};
use crate::tokens::same_secret;
pub use texts::ConsoleTexts;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(programs::router())
        .merge(companies::router())
        .merge(people::router())
        .merge(invites::router())
        .merge(staff_users::router())
        .merge(audit::router())
        .merge(machines::router())
        .merge(designer::router())
}

/// The parts of the console, for the navigation's "you are here".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Programs,
    Companies,
    Invites,
    DeadLetters,
    Keys,
    Users,
    Audit,
}

/// What every console page's layout needs: the session's CSRF token, the language, who is
/// signed in and where in the console the page is.
pub struct Console {
    pub csrf: String,
    /// The page's language.
    pub language: Lang,
    pub lang: &'static str,
    pub t: &'static ConsoleTexts,
    pub role: Role,
    /// The signed-in person's name (or the key's, for a session opened with a key).
    pub who: String,
    pub section: Section,
    /// Who acts, for the audit trail.
    pub actor: Actor,
    pub session: WebSession,
}

impl Console {
    /// The console of the signed-in staff member, if their role is one of `roles`; else the
    /// answer to give instead (a redirect to sign-in, or a 403 page).
    pub async fn open(
        parts: &Parts,
        state: &AppState,
        roles: &[Role],
        section: Section,
    ) -> Result<Console, Response> {
        let session = require(parts, state, roles).await?;
        let lang = lang_of(None, &parts.headers);
        let actor = session_actor(&session);
        Ok(Console {
            csrf: session.csrf.clone(),
            language: lang,
            lang: lang.tag(),
            t: ConsoleTexts::of(lang),
            role: session.role,
            who: actor.name.clone(),
            section,
            actor,
            session,
        })
    }

    /// The console of a posted form: [`Console::open`], and the form's `csrf` field must be
    /// the session's CSRF token.
    pub async fn posted(
        parts: &Parts,
        state: &AppState,
        (roles, section): (&[Role], Section),
        csrf: &str,
    ) -> Result<Console, Response> {
        let c = Console::open(parts, state, roles, section).await?;
        c.check_form(csrf).map_err(IntoResponse::into_response)?;
        Ok(c)
    }

    /// Refuses a posted form that lacks this session's CSRF token.
    pub fn check_form(&self, posted: &str) -> Result<(), PageError> {
        if same_secret(posted, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::new(
                axum::http::StatusCode::FORBIDDEN,
                "This form expired or was not sent from this site. Open the page again.",
            ))
        }
    }

    /// Whether the signed-in person is an admin (the navigation shows admins everything).
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the page is in `section` (for the navigation).
    pub fn is(&self, section: Section) -> bool {
        self.section == section
    }
}
