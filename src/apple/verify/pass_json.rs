//! Checklist rows P1–P7 and H1: pass.json parses, carries the required top-level keys, one
//! style, a coherent web service and well-formed colors.

use serde_json::{Map, Value};

use super::Report;
use super::archive::Archive;

/// pass.json's top-level object.
pub(super) type PassJson = Map<String, Value>;

pub(super) const STYLES: [&str; 5] = [
    "boardingPass",
    "coupon",
    "eventTicket",
    "generic",
    "storeCard",
];
const TRANSIT_TYPES: [&str; 5] = [
    "PKTransitTypeAir",
    "PKTransitTypeBoat",
    "PKTransitTypeBus",
    "PKTransitTypeGeneric",
    "PKTransitTypeTrain",
];

/// P1 (E): pass.json is UTF-8 JSON whose top level is an object. A UTF-8 byte-order mark is
/// tolerated with a W (Foundation's JSON reader skips it; strict parsers do not).
pub(super) fn parse(archive: &Archive, report: &mut Report) -> Option<PassJson> {
    let mut bytes = archive.get("pass.json")?;
    report.ran("P1");
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        report.warn("P1", "pass.json starts with a UTF-8 byte-order mark");
        bytes = rest;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Some(map),
        Ok(_) => {
            report.error("P1", "pass.json's top level is not a JSON object");
            None
        }
        Err(e) => {
            report.error("P1", format!("pass.json is not valid UTF-8 JSON: {e}"));
            None
        }
    }
}

/// The pass style, when exactly one style key is present.
pub(super) fn style_of(pass: &PassJson) -> Option<&'static str> {
    let mut present = STYLES.iter().copied().filter(|s| pass.contains_key(*s));
    match (present.next(), present.next()) {
        (Some(style), None) => Some(style),
        _ => None,
    }
}

/// P2–P7 and H1.
pub(super) fn check(pass: &PassJson, report: &mut Report) {
    check_required(pass, report);
    check_style(pass, report);
    check_web_service(pass, report);
    check_app_launch(pass, report);
    check_grouping(pass, report);
    check_colors(pass, report);
    check_serial_length(pass, report);
}

/// P2 (E): formatVersion is the number 1; the identifying strings are non-blank.
fn check_required(pass: &PassJson, report: &mut Report) {
    report.ran("P2");
    match pass.get("formatVersion") {
        Some(v) if v.as_f64() == Some(1.0) => {}
        Some(v) => report.error(
            "P2",
            format!("formatVersion must be the number 1, found {v}"),
        ),
        None => report.error("P2", "formatVersion is missing"),
    }
    for key in [
        "passTypeIdentifier",
        "serialNumber",
        "teamIdentifier",
        "organizationName",
        "description",
    ] {
        match pass.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            Some(Value::String(_)) => report.error("P2", format!("{key} is blank")),
            Some(v) => report.error("P2", format!("{key} must be a string, found {v}")),
            None => report.error("P2", format!("{key} is missing")),
        }
    }
}

/// P3 (E): exactly one style key holding an object; boardingPass names its transitType.
fn check_style(pass: &PassJson, report: &mut Report) {
    report.ran("P3");
    let present: Vec<&str> = STYLES
        .iter()
        .copied()
        .filter(|s| pass.contains_key(*s))
        .collect();
    match present.as_slice() {
        [] => {
            return report.error(
                "P3",
                format!("no style key; exactly one of {STYLES:?} is required"),
            );
        }
        [_] => {}
        many => {
            return report.error(
                "P3",
                format!("{} style keys {many:?}; exactly one is allowed", many.len()),
            );
        }
    }
    let style = present.first().copied().unwrap_or_default();
    let Some(body) = pass.get(style).and_then(Value::as_object) else {
        return report.error("P3", format!("{style} must be a JSON object"));
    };
    if style == "boardingPass" {
        let transit = body.get("transitType").and_then(Value::as_str);
        if !transit.is_some_and(|t| TRANSIT_TYPES.contains(&t)) {
            report.error(
                "P3",
                format!("boardingPass.transitType must be one of {TRANSIT_TYPES:?}"),
            );
        }
    }
}

/// P4. E: one of webServiceURL/authenticationToken without the other, a token shorter than
/// 16 characters, a non-string or non-HTTP(S) URL — Wallet refuses to register such passes.
/// W: an `http://` URL, which an iOS developer setting allows for testing.
fn check_web_service(pass: &PassJson, report: &mut Report) {
    report.ran("P4");
    let url = pass.get("webServiceURL");
    let token = pass.get("authenticationToken");
    match (url, token) {
        (None, None) => return,
        (Some(_), None) => {
            return report.error("P4", "webServiceURL is set without authenticationToken");
        }
        (None, Some(_)) => {
            return report.error("P4", "authenticationToken is set without webServiceURL");
        }
        (Some(_), Some(_)) => {}
    }
    match token.and_then(Value::as_str) {
        Some(t) if t.chars().count() >= 16 => {}
        Some(t) => report.error(
            "P4",
            format!(
                "authenticationToken has {} characters; at least 16 are required",
                t.chars().count()
            ),
        ),
        None => report.error("P4", "authenticationToken must be a string"),
    }
    let Some(url) = url.and_then(Value::as_str) else {
        return report.error("P4", "webServiceURL must be a string");
    };
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("https://") {
        if rest.is_empty() {
            report.error("P4", format!("webServiceURL {url:?} has no host"));
        }
    } else if lower.starts_with("http://") {
        report.warn("P4", format!("webServiceURL {url:?} is plain HTTP; devices only accept it with the developer setting \"Allow HTTP Services\""));
    } else {
        report.error(
            "P4",
            format!("webServiceURL {url:?} is not an https:// URL"),
        );
    }
}

/// P5 (W): appLaunchURL is ignored without associatedStoreIdentifiers (an array of numbers).
fn check_app_launch(pass: &PassJson, report: &mut Report) {
    report.ran("P5");
    let ids = pass.get("associatedStoreIdentifiers");
    if let Some(ids) = ids {
        let ok = ids.as_array().is_some_and(|a| a.iter().all(Value::is_u64));
        if !ok {
            report.warn(
                "P5",
                "associatedStoreIdentifiers must be an array of numbers",
            );
        }
    }
    let has_ids = ids.and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if pass.contains_key("appLaunchURL") && !has_ids {
        report.warn(
            "P5",
            "appLaunchURL is ignored without associatedStoreIdentifiers",
        );
    }
}

/// P6 (W): groupingIdentifier only means something for event tickets and boarding passes.
fn check_grouping(pass: &PassJson, report: &mut Report) {
    report.ran("P6");
    let style = style_of(pass);
    let allowed = matches!(style, Some("eventTicket" | "boardingPass"));
    if pass.contains_key("groupingIdentifier") && !allowed && style.is_some() {
        report.warn(
            "P6",
            format!(
                "groupingIdentifier is ignored on a {} pass",
                style.unwrap_or_default()
            ),
        );
    }
}

/// P7 (W): colors are `rgb(r, g, b)` with components 0–255.
fn check_colors(pass: &PassJson, report: &mut Report) {
    report.ran("P7");
    for key in [
        "backgroundColor",
        "foregroundColor",
        "labelColor",
        "stripColor",
    ] {
        let Some(value) = pass.get(key) else { continue };
        if !value.as_str().is_some_and(is_rgb_triple) {
            report.warn(
                "P7",
                format!("{key} {value} is not an rgb(r, g, b) color with components 0-255"),
            );
        }
    }
}

fn is_rgb_triple(s: &str) -> bool {
    let Some(inner) = s
        .trim()
        .strip_prefix("rgb(")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return false;
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// H1 (H): pkpassvalidator's "serial number of correct length" — an anecdote, not an Apple rule.
fn check_serial_length(pass: &PassJson, report: &mut Report) {
    report.ran("H1");
    if let Some(serial) = pass.get("serialNumber").and_then(Value::as_str) {
        let len = serial.chars().count();
        if len < 16 {
            report.heuristic(
                "H1",
                format!("serialNumber has {len} characters; pkpassvalidator expects at least 16"),
            );
        }
    }
}
