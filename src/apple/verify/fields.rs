//! Checklist rows F1–F4, F7, F8: the field dictionaries inside the style key (F5 and F6, the
//! date and number styles, are in `field_styles`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Report;
use super::field_styles;
use super::pass_json::{PassJson, STYLES};

const GROUPS: [&str; 6] = [
    "headerFields",
    "primaryFields",
    "secondaryFields",
    "auxiliaryFields",
    "backFields",
    "additionalInfoFields",
];
const ALIGNMENTS: [&str; 4] = [
    "PKTextAlignmentLeft",
    "PKTextAlignmentCenter",
    "PKTextAlignmentRight",
    "PKTextAlignmentNatural",
];
/// One field with where it sits, for messages and per-group rules.
struct Field<'a> {
    style: &'a str,
    group: &'a str,
    index: usize,
    body: &'a Map<String, Value>,
}

impl Field<'_> {
    fn name(&self) -> String {
        let key = self.body.get("key").and_then(Value::as_str).unwrap_or("?");
        format!("{}.{}[{}] ({key:?})", self.style, self.group, self.index)
    }
}

pub(super) fn check(pass: &PassJson, report: &mut Report) {
    report.ran("F1");
    let fields = collect(pass, report);
    check_unique_keys(&fields, report);
    for field in &fields {
        check_change_message(field, report);
        check_alignment(field, report);
        field_styles::check_date_style(field.body, &field.name(), report);
        field_styles::check_number_style(field.body, &field.name(), report);
        check_row(field, report);
    }
    check_store_card_layout(pass, report);
}

/// F1 (E): every group is an array of objects with `key` (non-empty string) and `value`
/// (string or number); anything else makes Wallet reject the pass.
fn collect<'a>(pass: &'a PassJson, report: &mut Report) -> Vec<Field<'a>> {
    let mut fields = Vec::new();
    for style in STYLES {
        let Some(dict) = pass.get(style).and_then(Value::as_object) else {
            continue;
        };
        for group in GROUPS {
            let Some(list) = dict.get(group) else {
                continue;
            };
            let Some(list) = list.as_array() else {
                report.error("F1", format!("{style}.{group} must be an array"));
                continue;
            };
            for (index, item) in list.iter().enumerate() {
                let Some(body) = item.as_object() else {
                    report.error("F1", format!("{style}.{group}[{index}] must be an object"));
                    continue;
                };
                let field = Field {
                    style,
                    group,
                    index,
                    body,
                };
                check_key_value(&field, report);
                fields.push(field);
            }
        }
    }
    fields
}

fn check_key_value(field: &Field<'_>, report: &mut Report) {
    let key = field.body.get("key").and_then(Value::as_str);
    if key.is_none_or(str::is_empty) {
        report.error("F1", format!("{} has no key string", field.name()));
    }
    let value = field.body.get("value");
    if !value.is_some_and(|v| v.is_string() || v.is_number()) {
        report.error(
            "F1",
            format!("{} has no string or number value", field.name()),
        );
    }
}

/// F2 (E): keys are unique across all groups of the pass.
fn check_unique_keys(fields: &[Field<'_>], report: &mut Report) {
    report.ran("F2");
    let mut seen = BTreeSet::new();
    for field in fields {
        let Some(key) = field.body.get("key").and_then(Value::as_str) else {
            continue;
        };
        if !seen.insert(key) {
            report.error(
                "F2",
                format!(
                    "field key {key:?} is used more than once ({})",
                    field.name()
                ),
            );
        }
    }
}

/// F3 (W): without `%@` the update notification cannot show the new value.
fn check_change_message(field: &Field<'_>, report: &mut Report) {
    report.ran("F3");
    match field.body.get("changeMessage") {
        Some(Value::String(m)) if m.contains("%@") => {}
        Some(m) => report.warn(
            "F3",
            format!("{} changeMessage {m} does not contain %@", field.name()),
        ),
        None => {}
    }
}

/// F4 (W): textAlignment is ignored on primary and back fields, and must be a known value.
fn check_alignment(field: &Field<'_>, report: &mut Report) {
    report.ran("F4");
    let Some(alignment) = field.body.get("textAlignment") else {
        return;
    };
    if matches!(field.group, "primaryFields" | "backFields") {
        report.warn(
            "F4",
            format!(
                "{} has textAlignment, which is not allowed on {}",
                field.name(),
                field.group
            ),
        );
    } else if !alignment.as_str().is_some_and(|a| ALIGNMENTS.contains(&a)) {
        report.warn(
            "F4",
            format!(
                "{} textAlignment {alignment} is not a PKTextAlignment",
                field.name()
            ),
        );
    }
}

/// F7 (W): `row` (0 or 1) is only read on eventTicket auxiliary fields.
fn check_row(field: &Field<'_>, report: &mut Report) {
    report.ran("F7");
    let Some(row) = field.body.get("row") else {
        return;
    };
    if field.style != "eventTicket" || field.group != "auxiliaryFields" {
        report.warn(
            "F7",
            format!(
                "{} has row, which only applies to eventTicket auxiliaryFields",
                field.name()
            ),
        );
    } else if !matches!(row.as_u64(), Some(0 | 1)) {
        report.warn("F7", format!("{} row {row} must be 0 or 1", field.name()));
    }
}

/// F8 (W): a store card shows one primary field and four secondary+auxiliary fields at most;
/// the rest are silently not displayed.
fn check_store_card_layout(pass: &PassJson, report: &mut Report) {
    let Some(card) = pass.get("storeCard").and_then(Value::as_object) else {
        return;
    };
    report.ran("F8");
    let count = |group: &str| {
        card.get(group)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    let primary = count("primaryFields");
    if primary > 1 {
        report.warn(
            "F8",
            format!("storeCard has {primary} primary fields; only one is shown"),
        );
    }
    let lower = count("secondaryFields") + count("auxiliaryFields");
    if lower > 4 {
        report.warn(
            "F8",
            format!("storeCard has {lower} secondary+auxiliary fields; at most four are shown"),
        );
    }
}
