//! The console: where a supplier's staff run the service in the browser. Every console page
//! starts with [`Console::open`], which checks the staff session and its role and gives the
//! page what its layout (`console/layout.html`: navigation, sign-out, language) needs. The
//! pages are server-rendered; forms post either to the page's own handler (POST-redirect-GET,
//! with the session's CSRF token in a hidden `csrf` field) or, from the page's script, to the
//! admin API with the session cookie and the `X-CSRF-Token` header, so the API's validation
//! and audit apply to both.

pub mod designer;
mod designer_texts;
pub mod home;
pub mod texts;

use axum::Router;
use axum::http::request::Parts;
use axum::response::Response;

use super::lang_of;
use super::session::require;
use crate::state::AppState;
use crate::store::Role;
pub use texts::ConsoleTexts;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
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
    pub lang: &'static str,
    pub t: &'static ConsoleTexts,
    pub role: Role,
    /// The signed-in person's name (or the key's, for a session opened with a key).
    pub who: String,
    pub section: Section,
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
        Ok(Console {
            csrf: session.csrf,
            lang: lang.tag(),
            t: ConsoleTexts::of(lang),
            role: session.role,
            who: session.role.as_str().to_owned(),
            section,
        })
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
