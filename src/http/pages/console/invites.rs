//! `/console/invites`: every company's invites, a new invite's form (company, programs, uses,
//! expiry) and an invite's page with its QR code, link (copy, print), revocation and the
//! people who enrolled through it. The form and the revocation go through `console.js` to
//! the admin API.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::forms::{FormTexts, not_found, open_admin, store_failed};
use super::invites_texts::InviteTexts;
use super::{Console, Section};
use crate::domain::i18n::{self, Lang};
use crate::domain::ids::InviteId;
use crate::domain::invites::{DEFAULT_MAX_USES, Invite, InviteStatus};
use crate::domain::model::{Account, ProgramStatus};
use crate::enroll::join_url;
use crate::http::extract::{AppPath, AppQuery};
use crate::http::pages::{RequestParts, render};
use crate::state::AppState;
use crate::store::{Enrolled, StoreResult, now};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/invites", get(list_invites))
        .route("/console/invites/new", get(new_invite))
        .route("/console/invites/{id}", get(show_invite))
}

fn status_text(t: &InviteTexts, s: InviteStatus) -> &'static str {
    match s {
        InviteStatus::Active => t.active,
        InviteStatus::Revoked => t.revoked,
        InviteStatus::Expired => t.expired,
        InviteStatus::UsedUp => t.used_up,
    }
}

/// "3 of 50 · until 2026-12-31 · Open": an invite in one line.
pub fn invite_summary(lang: Lang, i: &Invite) -> String {
    let t = InviteTexts::of(lang);
    format!(
        "{} {} {} · {} {} · {}",
        i.uses,
        t.of,
        i.max_uses,
        t.until,
        i18n::date(lang, i.expires_at, chrono_tz::UTC),
        status_text(t, i.status(now()))
    )
}

pub struct InviteRow {
    pub id: String,
    pub company: String,
    pub programs: String,
    pub uses: String,
    pub expires: String,
    pub open: bool,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "console/invites.html")]
struct InvitesPage {
    c: Console,
    t: &'static InviteTexts,
    invites: Vec<InviteRow>,
}

/// Names of the programs and the companies, by id, for the rows.
struct Names {
    programs: Vec<(String, String)>,
    accounts: Vec<Account>,
}

impl Names {
    async fn load(state: &AppState) -> StoreResult<Names> {
        let programs = state.store.list_programs(None, 500).await?.items;
        Ok(Names {
            programs: programs
                .into_iter()
                .map(|p| (p.id.to_string(), p.name))
                .collect(),
            accounts: state.store.list_accounts(None, 500).await?.items,
        })
    }

    fn company(&self, i: &Invite) -> String {
        let found = self.accounts.iter().find(|a| a.id == i.account_id);
        found.map(|a| a.name.clone()).unwrap_or_default()
    }

    fn programs(&self, i: &Invite) -> String {
        let names: Vec<&str> = i
            .program_ids
            .iter()
            .filter_map(|id| {
                let found = self.programs.iter().find(|(p, _)| *p == id.as_str());
                found.map(|(_, name)| name.as_str())
            })
            .collect();
        names.join(", ")
    }

    fn row(&self, lang: Lang, t: &InviteTexts, i: &Invite) -> InviteRow {
        let status = i.status(now());
        InviteRow {
            id: i.id.to_string(),
            company: self.company(i),
            programs: self.programs(i),
            uses: format!("{} {} {}", i.uses, t.of, i.max_uses),
            expires: i18n::date(lang, i.expires_at, chrono_tz::UTC),
            open: status == InviteStatus::Active,
            status: status_text(t, status),
        }
    }
}

async fn list_invites(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Invites).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let t = InviteTexts::of(lang);
    let loaded = async {
        let names = Names::load(&state).await?;
        let invites = state.store.all_invites(None, 500).await?.items;
        StoreResult::Ok(
            invites
                .iter()
                .rev()
                .map(|i| names.row(lang, t, i))
                .collect(),
        )
    };
    match loaded.await {
        Ok(invites) => render(&InvitesPage { c, t, invites }),
        Err(e) => store_failed(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewInviteQuery {
    account: Option<String>,
}

#[derive(Template)]
#[template(path = "console/invite_new.html")]
struct NewInvitePage {
    c: Console,
    t: &'static InviteTexts,
    f: &'static FormTexts,
    account: String,
    accounts: Vec<Account>,
    programs: Vec<(String, String)>,
    default_uses: i64,
}

async fn new_invite(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppQuery(q): AppQuery<NewInviteQuery>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Invites).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let loaded = async {
        let mut accounts = state.store.list_accounts(None, 500).await?.items;
        accounts.sort_by_key(|a| a.name.to_lowercase());
        let programs = state.store.list_programs(None, 500).await?.items;
        let programs = programs
            .into_iter()
            .filter(|p| p.status == ProgramStatus::Active)
            .map(|p| (p.id.to_string(), p.name))
            .collect();
        StoreResult::Ok((accounts, programs))
    };
    match loaded.await {
        Ok((accounts, programs)) => render(&NewInvitePage {
            c,
            t: InviteTexts::of(lang),
            f: FormTexts::of(lang),
            account: q.account.unwrap_or_default(),
            accounts,
            programs,
            default_uses: DEFAULT_MAX_USES,
        }),
        Err(e) => store_failed(e),
    }
}

#[derive(Template)]
#[template(path = "console/invite.html")]
struct InvitePage {
    c: Console,
    t: &'static InviteTexts,
    f: &'static FormTexts,
    row: InviteRow,
    account_id: String,
    url: String,
    enrolled: Vec<Enrolled>,
}

async fn show_invite(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Invites).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let Some(id) = InviteId::parse(&id) else {
        return not_found();
    };
    let t = InviteTexts::of(lang);
    let loaded = async {
        let invite = state.store.get_invite(&id).await?;
        let names = Names::load(&state).await?;
        let enrolled = state.store.invite_enrollments(&id).await?;
        StoreResult::Ok((invite, names, enrolled))
    };
    match loaded.await {
        Ok((invite, names, enrolled)) => render(&InvitePage {
            c,
            t,
            f: FormTexts::of(lang),
            row: names.row(lang, t, &invite),
            account_id: invite.account_id.to_string(),
            url: join_url(&state.public_url, &invite.token),
            enrolled,
        }),
        Err(e) => store_failed(e),
    }
}
