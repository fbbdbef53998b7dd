//! `/console/programs`: the programs listed with their terms, a new program's form (one set of
//! rule fields per kind, loyalty-rules.md) and an existing program's form, where it can also
//! be ended. The forms are sent by `console.js` to `POST /api/v1/programs` and
//! `PATCH /api/v1/programs/{id}`, whose validation errors show next to their fields.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::forms::{FormTexts, money_input, not_found, open_admin, percent_input, store_failed};
use super::programs_texts::ProgramTexts;
use super::{Console, Section};
use crate::domain::i18n::{Lang, terms};
use crate::domain::ids::ProgramId;
use crate::domain::model::{Program, ProgramStatus};
use crate::domain::rules::{Kind, Rules, Window};
use crate::http::extract::AppPath;
use crate::http::pages::{RequestParts, render};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/programs", get(list_programs))
        .route("/console/programs/new", get(new_program))
        .route("/console/programs/{id}", get(edit_program))
}

/// Currencies offered first; any other ISO 4217 code can be typed.
pub const CURRENCIES: [&str; 14] = [
    "EUR", "USD", "GBP", "CHF", "PLN", "CZK", "SEK", "NOK", "DKK", "RUB", "KZT", "CNY", "JPY",
    "AED",
];

const KINDS: [Kind; 4] = [
    Kind::Discount,
    Kind::CumulativeDiscount,
    Kind::Cashback,
    Kind::Stamp,
];

/// A program as its row in the list shows it.
pub struct ProgramRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub currency: String,
    pub terms: String,
    pub ended: bool,
}

#[derive(Template)]
#[template(path = "console/programs.html")]
struct ProgramsPage {
    c: Console,
    t: &'static ProgramTexts,
    f: &'static FormTexts,
    programs: Vec<ProgramRow>,
}

async fn list_programs(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Programs).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let t = ProgramTexts::of(lang);
    let programs = match state.store.list_programs(None, 500).await {
        Ok(page) => page.items,
        Err(e) => return store_failed(e),
    };
    let mut programs: Vec<ProgramRow> = programs
        .into_iter()
        .map(|p| ProgramRow {
            kind: t.kind_name(p.kind()),
            currency: p.currency.code().to_owned(),
            terms: terms(lang, &p.rules, p.currency),
            ended: p.status == ProgramStatus::Ended,
            id: p.id.to_string(),
            name: p.name,
        })
        .collect();
    programs.sort_by_key(|p| p.ended);
    let f = FormTexts::of(lang);
    render(&ProgramsPage { c, t, f, programs })
}

/// One tier as the tiers table shows it.
pub struct TierValues {
    pub name: String,
    pub min_spend: String,
    pub percent: String,
}

/// What the form's inputs hold: a program's values as people type them (empty for a new one).
#[derive(Default)]
pub struct FormValues {
    pub name: String,
    pub kind: &'static str,
    pub currency: String,
    pub time_zone: String,
    pub scope: &'static str,
    pub percent: String,
    pub window: &'static str,
    pub window_days: String,
    pub tiers: Vec<TierValues>,
    pub min_order: String,
    pub max_share: String,
    pub expiry_days: String,
    pub stamps_required: String,
    pub stamp_every: String,
    pub max_stamps: String,
    pub reward: String,
    pub reward_expiry_days: String,
}

fn window_values(w: Window) -> (&'static str, String) {
    match w {
        Window::Lifetime => ("lifetime", String::new()),
        Window::CalendarYear => ("calendar_year", String::new()),
        Window::RollingDays(n) => ("rolling_days", n.to_string()),
    }
}

fn days(d: Option<u32>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

impl FormValues {
    /// A new program's starting point: what most suppliers choose.
    fn new_program() -> FormValues {
        FormValues {
            kind: "discount",
            currency: "EUR".into(),
            scope: "account",
            window: "lifetime",
            max_share: "100".into(),
            tiers: vec![TierValues {
                name: String::new(),
                min_spend: "0".into(),
                percent: String::new(),
            }],
            ..FormValues::default()
        }
    }

    fn of(p: &Program) -> FormValues {
        let m = |minor: i64| money_input(minor, p.currency);
        let mut v = FormValues {
            name: p.name.clone(),
            kind: p.kind().as_str(),
            currency: p.currency.code().to_owned(),
            time_zone: p.time_zone.name().to_owned(),
            scope: p.balance_scope.as_str(),
            window: "lifetime",
            max_share: "100".into(),
            ..FormValues::default()
        };
        match &p.rules {
            Rules::Discount(r) => {
                v.percent = percent_input(r.percent_bps);
                (v.window, v.window_days) = window_values(r.window);
            }
            Rules::CumulativeDiscount(r) => {
                (v.window, v.window_days) = window_values(r.window);
                v.tiers = r
                    .tiers
                    .iter()
                    .map(|t| TierValues {
                        name: t.name.clone(),
                        min_spend: m(t.min_spend_minor),
                        percent: percent_input(t.percent_bps),
                    })
                    .collect();
            }
            Rules::Cashback(r) => {
                v.percent = percent_input(r.percent_bps);
                v.min_order = m(r.min_order_minor);
                v.max_share = percent_input(r.max_redeem_share_bps);
                v.expiry_days = days(r.expiry_days);
            }
            Rules::Stamp(r) => {
                v.stamps_required = r.stamps_required.to_string();
                v.min_order = m(r.min_order_minor);
                v.stamp_every = r.stamp_every_minor.map(m).unwrap_or_default();
                v.max_stamps = days(r.max_stamps_per_order);
                v.reward = r.reward.clone();
                v.reward_expiry_days = days(r.reward_expiry_days);
            }
        }
        v
    }
}

#[derive(Template)]
#[template(path = "console/program_form.html")]
struct ProgramFormPage {
    c: Console,
    t: &'static ProgramTexts,
    f: &'static FormTexts,
    /// The program being edited; `None` for a new one.
    id: Option<String>,
    ended: bool,
    v: FormValues,
    kinds: [(&'static str, &'static str, &'static str); 4],
    currencies: [&'static str; 14],
    time_zones: Vec<&'static str>,
}

impl ProgramFormPage {
    fn new(c: Console, lang: Lang, id: Option<String>, v: FormValues) -> ProgramFormPage {
        let t = ProgramTexts::of(lang);
        let kinds = KINDS.map(|k| (k.as_str(), t.kind_name(k), t.kind_help(k)));
        ProgramFormPage {
            c,
            t,
            f: FormTexts::of(lang),
            id,
            ended: false,
            v,
            kinds,
            currencies: CURRENCIES,
            time_zones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
        }
    }

    fn is_kind(&self, kind: &str) -> bool {
        self.v.kind == kind
    }
}

async fn new_program(State(state): State<AppState>, RequestParts(parts): RequestParts) -> Response {
    match open_admin(&parts, &state, Section::Programs).await {
        Ok((c, lang)) => render(&ProgramFormPage::new(
            c,
            lang,
            None,
            FormValues::new_program(),
        )),
        Err(r) => r,
    }
}

async fn edit_program(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppPath(id): AppPath<String>,
) -> Response {
    let (c, lang) = match open_admin(&parts, &state, Section::Programs).await {
        Ok(open) => open,
        Err(r) => return r,
    };
    let Some(id) = ProgramId::parse(&id) else {
        return not_found();
    };
    let program = match state.store.get_program(&id).await {
        Ok(p) => p,
        Err(e) => return store_failed(e),
    };
    let mut page = ProgramFormPage::new(c, lang, Some(id.to_string()), FormValues::of(&program));
    page.ended = program.status == ProgramStatus::Ended;
    render(&page)
}
