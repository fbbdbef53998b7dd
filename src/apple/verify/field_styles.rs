//! Checklist rows F5–F6: date and number styles on field dictionaries.

use serde_json::{Map, Value};

use super::Report;
use super::pass_values::parse_w3c_date;

const DATE_STYLES: [&str; 5] = [
    "PKDateStyleNone",
    "PKDateStyleShort",
    "PKDateStyleMedium",
    "PKDateStyleLong",
    "PKDateStyleFull",
];
const NUMBER_STYLES: [&str; 4] = [
    "PKNumberStyleDecimal",
    "PKNumberStylePercent",
    "PKNumberStyleScientific",
    "PKNumberStyleSpellOut",
];

/// F5 (W): dateStyle and timeStyle come together, are known values, and the value is a date.
pub(super) fn check_date_style(body: &Map<String, Value>, name: &str, report: &mut Report) {
    report.ran("F5");
    let date = body.get("dateStyle");
    let time = body.get("timeStyle");
    if date.is_none() && time.is_none() {
        return;
    }
    if date.is_none() || time.is_none() {
        report.warn(
            "F5",
            format!("{name} sets only one of dateStyle/timeStyle; Apple asks for both or neither"),
        );
    }
    for style in [date, time].into_iter().flatten() {
        if !style.as_str().is_some_and(|s| DATE_STYLES.contains(&s)) {
            report.warn(
                "F5",
                format!("{name} date/time style {style} is not a PKDateStyle"),
            );
        }
    }
    match body
        .get("value")
        .and_then(Value::as_str)
        .map(parse_w3c_date)
    {
        Some(Ok(_)) => {}
        Some(Err(why)) => report.warn("F5", format!("{name} has a date style but its value {why}")),
        None => report.warn(
            "F5",
            format!("{name} has a date style but its value is not a date string"),
        ),
    }
}

/// F6 (W): currencyCode XOR numberStyle, only on numeric values, never with date styles;
/// currencyCode is three capital letters (ISO 4217).
pub(super) fn check_number_style(body: &Map<String, Value>, name: &str, report: &mut Report) {
    report.ran("F6");
    let currency = body.get("currencyCode");
    let number = body.get("numberStyle");
    if currency.is_none() && number.is_none() {
        return;
    }
    if currency.is_some() && number.is_some() {
        report.warn(
            "F6",
            format!("{name} sets both currencyCode and numberStyle"),
        );
    }
    if !body.get("value").is_some_and(Value::is_number) {
        report.warn(
            "F6",
            format!("{name} has currencyCode/numberStyle but its value is not a number"),
        );
    }
    if body.contains_key("dateStyle") || body.contains_key("timeStyle") {
        report.warn("F6", format!("{name} combines number and date styles"));
    }
    if let Some(code) = currency {
        let ok = code
            .as_str()
            .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()));
        if !ok {
            report.warn(
                "F6",
                format!("{name} currencyCode {code} is not an ISO 4217 code"),
            );
        }
    }
    if let Some(style) = number {
        if !style.as_str().is_some_and(|s| NUMBER_STYLES.contains(&s)) {
            report.warn(
                "F6",
                format!("{name} numberStyle {style} is not a PKNumberStyle"),
            );
        }
    }
}
