//! Checklist rows P8–P11: dates, barcodes, beacons/locations and the nfc dictionary.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use serde_json::Value;

use super::Report;
use super::pass_json::PassJson;

const BARCODE_FORMATS: [&str; 4] = [
    "PKBarcodeFormatQR",
    "PKBarcodeFormatPDF417",
    "PKBarcodeFormatAztec",
    "PKBarcodeFormatCode128",
];

pub(super) fn check(pass: &PassJson, now: DateTime<Utc>, report: &mut Report) {
    check_dates(pass, now, report);
    check_barcodes(pass, report);
    check_places(pass, report);
    check_nfc(pass, report);
}

/// Parses a W3C/ISO 8601 date that has at least hours and minutes and a time zone
/// (`2026-04-24T10:00-05:00`, `…T10:00:00Z`, `…T10:00:00.123+0200`).
pub(super) fn parse_w3c_date(s: &str) -> Result<DateTime<FixedOffset>, &'static str> {
    let normalized = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(head) => format!("{head}+00:00"),
        None => s.to_owned(),
    };
    const WITH_ZONE: [&str; 4] = [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ];
    if let Some(dt) = WITH_ZONE
        .iter()
        .find_map(|f| DateTime::parse_from_str(&normalized, f).ok())
    {
        return Ok(dt);
    }
    const NO_ZONE: [&str; 2] = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"];
    if NO_ZONE
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok())
    {
        return Err("has no time zone");
    }
    Err("is not an ISO 8601 date with hours and minutes")
}

/// P8 (W): expirationDate, relevantDate and relevantDates[] are ISO 8601 with hh:mm and a
/// zone. A past expirationDate is also W: Wallet files the pass under "Expired". Field values
/// with date styles are F5's.
fn check_dates(pass: &PassJson, now: DateTime<Utc>, report: &mut Report) {
    report.ran("P8");
    let mut dates: Vec<(String, &Value)> = ["expirationDate", "relevantDate"]
        .iter()
        .filter_map(|k| pass.get(*k).map(|v| ((*k).to_owned(), v)))
        .collect();
    if let Some(list) = pass.get("relevantDates") {
        let Some(list) = list.as_array() else {
            return report.warn("P8", "relevantDates must be an array");
        };
        for (i, entry) in list.iter().enumerate() {
            for key in ["date", "relevantDate", "startDate", "endDate"] {
                if let Some(v) = entry.get(key) {
                    dates.push((format!("relevantDates[{i}].{key}"), v));
                }
            }
        }
    }
    for (name, value) in dates {
        match value.as_str().map(parse_w3c_date) {
            Some(Ok(dt)) if name == "expirationDate" && dt < now => {
                report.warn(
                    "P8",
                    format!("expirationDate {dt} is in the past; the pass shows as expired"),
                );
            }
            Some(Ok(_)) => {}
            Some(Err(why)) => report.warn("P8", format!("{name} {value} {why}")),
            None => report.warn("P8", format!("{name} must be a string, found {value}")),
        }
    }
}

/// P9. E: `barcodes` not an array, an entry not an object, or missing `format`, `message` or
/// `messageEncoding` (Wallet rejects the pass). W: an unknown format (newer iOS versions add
/// formats; older ones skip entries they do not know) and Code128 in the deprecated `barcode`,
/// where it was never valid.
fn check_barcodes(pass: &PassJson, report: &mut Report) {
    report.ran("P9");
    if let Some(list) = pass.get("barcodes") {
        let Some(list) = list.as_array() else {
            return report.error("P9", "barcodes must be an array");
        };
        for (i, entry) in list.iter().enumerate() {
            check_barcode(&format!("barcodes[{i}]"), entry, report);
        }
    }
    if let Some(single) = pass.get("barcode") {
        check_barcode("barcode", single, report);
        if single.get("format").and_then(Value::as_str) == Some("PKBarcodeFormatCode128") {
            report.warn(
                "P9",
                "Code128 is only valid in barcodes, not in the deprecated barcode dictionary",
            );
        }
    }
}

fn check_barcode(name: &str, entry: &Value, report: &mut Report) {
    let Some(obj) = entry.as_object() else {
        return report.error("P9", format!("{name} must be an object"));
    };
    for key in ["format", "message", "messageEncoding"] {
        if !obj.get(key).is_some_and(Value::is_string) {
            report.error("P9", format!("{name}.{key} is missing or not a string"));
        }
    }
    if let Some(format) = obj.get("format").and_then(Value::as_str) {
        if !BARCODE_FORMATS.contains(&format) {
            report.warn(
                "P9",
                format!("{name}.format {format:?} is not one of {BARCODE_FORMATS:?}"),
            );
        }
    }
}

/// P10 (W): beacons have a UUID and 16-bit major/minor; locations have latitude/longitude in
/// range; maxDistance is positive. Wallet drops bad entries rather than the pass.
fn check_places(pass: &PassJson, report: &mut Report) {
    report.ran("P10");
    for (i, beacon) in array_of(pass, "beacons", report).iter().enumerate() {
        check_beacon(i, beacon, report);
    }
    for (i, location) in array_of(pass, "locations", report).iter().enumerate() {
        for (key, limit) in [("latitude", 90.0), ("longitude", 180.0)] {
            let ok = location
                .get(key)
                .and_then(Value::as_f64)
                .is_some_and(|x| x.abs() <= limit);
            if !ok {
                report.warn(
                    "P10",
                    format!("locations[{i}].{key} is missing or out of range"),
                );
            }
        }
    }
    if let Some(d) = pass.get("maxDistance") {
        if !d.as_f64().is_some_and(|x| x > 0.0) {
            report.warn(
                "P10",
                format!("maxDistance must be a positive number, found {d}"),
            );
        }
    }
}

fn check_beacon(i: usize, beacon: &Value, report: &mut Report) {
    let uuid_ok = beacon
        .get("proximityUUID")
        .and_then(Value::as_str)
        .is_some_and(is_uuid);
    if !uuid_ok {
        report.warn(
            "P10",
            format!("beacons[{i}].proximityUUID is missing or not a UUID"),
        );
    }
    for key in ["major", "minor"] {
        let ok = beacon
            .get(key)
            .is_none_or(|v| v.as_u64().is_some_and(|n| n <= 65_535));
        if !ok {
            report.warn(
                "P10",
                format!("beacons[{i}].{key} must be an integer 0-65535"),
            );
        }
    }
}

fn array_of<'a>(pass: &'a PassJson, key: &str, report: &mut Report) -> &'a [Value] {
    match pass.get(key) {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            report.warn("P10", format!("{key} must be an array"));
            &[]
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// P11. E: nfc not an object, message missing or over 64 bytes, encryptionPublicKey missing or
/// not a base64 SubjectPublicKeyInfo of an EC P-256 key (Wallet cannot set up the NFC payload).
/// W: requiresAuthentication that is not a boolean (it is then ignored).
fn check_nfc(pass: &PassJson, report: &mut Report) {
    let Some(nfc) = pass.get("nfc") else { return };
    report.ran("P11");
    let Some(nfc) = nfc.as_object() else {
        return report.error("P11", "nfc must be an object");
    };
    match nfc.get("message").and_then(Value::as_str) {
        Some(m) if m.len() <= 64 => {}
        Some(m) => report.error(
            "P11",
            format!("nfc.message is {} bytes; at most 64 are allowed", m.len()),
        ),
        None => report.error("P11", "nfc.message is missing or not a string"),
    }
    match nfc.get("encryptionPublicKey").and_then(Value::as_str) {
        Some(key) if is_p256_spki(key) => {}
        Some(_) => report.error(
            "P11",
            "nfc.encryptionPublicKey is not a base64 X.509 SubjectPublicKeyInfo of an EC P-256 key",
        ),
        None => report.error("P11", "nfc.encryptionPublicKey is missing or not a string"),
    }
    if nfc
        .get("requiresAuthentication")
        .is_some_and(|v| !v.is_boolean())
    {
        report.warn("P11", "nfc.requiresAuthentication must be a boolean");
    }
}

fn is_p256_spki(b64: &str) -> bool {
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    PKey::public_key_from_der(&der)
        .and_then(|key| key.ec_key())
        .is_ok_and(|ec| ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1))
}
