//! `GET /console/audit`: the audit trail, newest first, filtered by person (a staff user or
//! key), company, card and date range, a page at a time. The same filter as `GET /api/v1/audit`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDate, TimeZone, Utc};

use super::staff_texts::PeopleTexts;
use super::{Console, Section};
use crate::audit::AuditRecord;
use crate::http::api::audit::AuditQuery;
use crate::http::extract::AppQuery;
use crate::http::pages::{PageError, RequestParts, render};
use crate::state::AppState;
use crate::store::Role;

pub fn router() -> Router<AppState> {
    Router::new().route("/console/audit", get(audit_page))
}

/// A person the filter offers.
struct Person {
    actor: String,
    name: String,
}

/// A line as the page shows it.
struct Line {
    at: String,
    who: String,
    action: String,
    target: String,
    details: String,
}

/// A company the filter offers.
struct Company {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Console,
    p: &'static PeopleTexts,
    people: Vec<Person>,
    companies: Vec<Company>,
    q: Shown,
    lines: Vec<Line>,
    older: Option<String>,
}

/// The filter's fields as the form shows them.
#[derive(Default)]
struct Shown {
    actor: String,
    account_id: String,
    card_id: String,
    from: String,
    to: String,
}

/// `from`/`to` given as dates (the form's date inputs) become instants: the start of `from`'s
/// day and the end of `to`'s, UTC.
fn as_instants(q: &mut AuditQuery) {
    let day = |d: &str, next: bool| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().map(|d| {
            let d = if next { d.succ_opt().unwrap_or(d) } else { d };
            let start = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            Utc.from_utc_datetime(&start).to_rfc3339()
        })
    };
    if let Some(t) = q.from.as_deref().and_then(|d| day(d, false)) {
        q.from = Some(t);
    }
    if let Some(t) = q.to.as_deref().and_then(|d| day(d, true)) {
        q.to = Some(t);
    }
}

/// A line's details for people: `key: value` pairs, strings bare, empty values left out.
fn readable(details: &serde_json::Value) -> String {
    use serde_json::Value;
    let Value::Object(map) = details else {
        return details.to_string();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn line(r: AuditRecord) -> Line {
    Line {
        at: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        who: r.actor_name,
        action: r.action,
        target: r.target,
        details: readable(&r.details),
    }
}

async fn audit_page(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    AppQuery(mut q): AppQuery<AuditQuery>,
) -> Result<Response, Response> {
    let c = Console::open(&parts, &state, &[Role::Admin], Section::Audit).await?;
    let shown = Shown {
        actor: q.actor.clone().unwrap_or_default(),
        account_id: q.account_id.clone().unwrap_or_default(),
        card_id: q.card_id.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
    };
    as_instants(&mut q);
    let (filter, limit) = q.filter().map_err(IntoResponse::into_response)?;
    let store_error = |e| PageError::from(e).into_response();
    let page = state
        .store
        .list_audit(&filter, limit)
        .await
        .map_err(store_error)?;
    let mut people: Vec<Person> = state
        .store
        .list_staff_users()
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|u| Person {
            actor: format!("user:{}", u.id),
            name: format!("{} ({})", u.name, u.email),
        })
        .collect();
    let keys = state
        .store
        .list_api_keys(None, 500)
        .await
        .map_err(store_error)?;
    people.extend(keys.items.into_iter().map(|k| Person {
        actor: format!("key:{}", k.id),
        name: format!("{} · {}", k.name, k.role.as_str()),
    }));
    let mut companies: Vec<Company> = state
        .store
        .search_accounts("", 500)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|a| Company {
            id: a.id.to_string(),
            name: match a.external_id {
                Some(erp) => format!("{} ({erp})", a.name),
                None => a.name,
            },
        })
        .collect();
    companies.sort_by(|a, b| a.name.cmp(&b.name));
    let older = page.next_after.map(|after| {
        let query = [
            ("actor", shown.actor.as_str()),
            ("account_id", shown.account_id.as_str()),
            ("card_id", shown.card_id.as_str()),
            ("from", shown.from.as_str()),
            ("to", shown.to.as_str()),
            ("after", after.as_str()),
        ];
        serde_urlencoded::to_string(query).unwrap_or_default()
    });
    let p = PeopleTexts::of(c.language);
    Ok(render(&AuditPage {
        c,
        p,
        people,
        companies,
        q: shown,
        lines: page.items.into_iter().map(line).collect(),
        older,
    }))
}
