//! Tests for the content rows (P, F, I, L, H): one broken pass per failure class, plus the
//! pass.strings parser.

use serde_json::{Value, json};

use super::Severity::{self, Error, Heuristic, Warning};
use super::strings::parse;
use super::testkit::{Pass, assert_only, pass_json, png, verify};

/// Builds a pass from the default pass.json after `edit`, and asserts the one expected row.
#[track_caller]
fn expect(edit: impl FnOnce(&mut Value), id: &str, severity: Severity) {
    let mut json = pass_json();
    edit(&mut json);
    assert_only(&verify(&Pass::from_json(json)), id, severity);
}

#[test]
fn format_version_2_is_p2() {
    expect(|j| j["formatVersion"] = json!(2), "P2", Error);
}

#[test]
fn two_style_keys_are_p3() {
    expect(|j| j["generic"] = json!({}), "P3", Error);
}

#[test]
fn a_short_authentication_token_is_p4_error() {
    expect(|j| j["authenticationToken"] = json!("short"), "P4", Error);
}

#[test]
fn a_web_service_url_without_token_is_p4_error() {
    expect(
        |j| _ = j.as_object_mut().unwrap().remove("authenticationToken"),
        "P4",
        Error,
    );
}

#[test]
fn a_plain_http_web_service_url_is_p4_warning() {
    expect(
        |j| j["webServiceURL"] = json!("http://localhost:8080/"),
        "P4",
        Warning,
    );
}

#[test]
fn a_hex_color_is_p7() {
    expect(|j| j["backgroundColor"] = json!("#ff0000"), "P7", Warning);
}

#[test]
fn a_date_without_time_is_p8() {
    expect(|j| j["relevantDate"] = json!("2026-05-01"), "P8", Warning);
}

#[test]
fn a_barcode_without_message_encoding_is_p9() {
    expect(
        |j| {
            _ = j["barcodes"][0]
                .as_object_mut()
                .unwrap()
                .remove("messageEncoding")
        },
        "P9",
        Error,
    );
}

#[test]
fn beacon_and_location_problems_are_p10() {
    expect(
        |j| {
            j["beacons"] = json!([{"proximityUUID": "nope", "major": 70000}]);
            j["locations"] = json!([{"latitude": 91.0}]);
        },
        "P10",
        Warning,
    );
}

#[test]
fn an_nfc_key_that_is_not_p256_is_p11() {
    // RSA instead of EC P-256; the NFC certificate keeps S8 out of the way.
    let mut json = pass_json();
    let rsa = openssl::rsa::Rsa::generate(1024).unwrap();
    let der = openssl::pkey::PKey::from_rsa(rsa)
        .unwrap()
        .public_key_to_der()
        .unwrap();
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.encode(der);
    json["nfc"] = json!({"message": "m", "encryptionPublicKey": key});
    let mut pass = Pass::from_json(json);
    let nfc = super::testkit::creds(super::testkit::SignerKind::Nfc);
    pass.sign(nfc, true, openssl::pkcs7::Pkcs7Flags::empty());
    assert_only(&verify(&pass), "P11", Error);
}

#[test]
fn duplicate_field_keys_are_f2() {
    expect(
        |j| j["storeCard"]["backFields"][0]["key"] = json!("points"),
        "F2",
        Error,
    );
}

#[test]
fn a_change_message_without_placeholder_is_f3() {
    expect(
        |j| j["storeCard"]["headerFields"][0]["changeMessage"] = json!("Points changed"),
        "F3",
        Warning,
    );
}

#[test]
fn text_alignment_on_a_primary_field_is_f4() {
    expect(
        |j| j["storeCard"]["primaryFields"][0]["textAlignment"] = json!("PKTextAlignmentCenter"),
        "F4",
        Warning,
    );
}

#[test]
fn a_currency_code_on_a_string_value_is_f6() {
    expect(
        |j| j["storeCard"]["primaryFields"][0]["value"] = json!("12.50"),
        "F6",
        Warning,
    );
}

#[test]
fn two_primary_fields_on_a_store_card_are_f8() {
    expect(
        |j| {
            let extra = json!({"key": "tier", "value": "Gold"});
            j["storeCard"]["primaryFields"]
                .as_array_mut()
                .unwrap()
                .push(extra);
        },
        "F8",
        Warning,
    );
}

#[test]
fn a_short_serial_number_is_h1() {
    expect(|j| j["serialNumber"] = json!("42"), "H1", Heuristic);
}

#[test]
fn an_oversized_strip_is_i1() {
    let mut pass = Pass::valid();
    pass.put("strip@3x.png", png(1125, 500));
    pass.rebuild();
    let report = verify(&pass);
    assert_only(&report, "I1", Warning);
    assert!(report.findings[0].message.contains("1125x432"));
}

#[test]
fn a_thumbnail_on_a_store_card_is_i2() {
    let mut pass = Pass::valid();
    pass.put("thumbnail.png", png(90, 90));
    pass.rebuild();
    assert_only(&verify(&pass), "I2", Warning);
}

#[test]
fn a_broken_pass_strings_file_is_l1() {
    let mut pass = Pass::valid();
    pass.put(
        "en.lproj/pass.strings",
        b"\"balance_label\" = \"Balance\"\n\"terms\" = ".to_vec(),
    );
    pass.rebuild();
    let report = verify(&pass);
    assert_only(&report, "L1", Warning);
    assert!(report.findings[0].message.contains("expected ';'"));
}

#[test]
fn a_key_missing_in_one_language_is_l1() {
    let mut pass = Pass::valid();
    pass.put(
        "en.lproj/pass.strings",
        b"\"balance_label\" = \"Balance\";".to_vec(),
    );
    pass.rebuild();
    let report = verify(&pass);
    assert_only(&report, "L1", Warning);
    assert!(report.findings[0].message.contains("terms"));
}

#[test]
fn pass_strings_escapes_comments_and_bare_words_parse() {
    let text = "/* head */ \"a\" = \"x\\\"y\\\\z\\nw\"; // tail\nb = \"\\U00e9\";";
    let pairs = parse(text).unwrap();
    assert_eq!(
        pairs,
        vec![("a".into(), "x\"y\\z\nw".into()), ("b".into(), "é".into())]
    );
    assert!(parse("\"a\" = \"unterminated;").is_err());
    assert!(parse("/* never closed").is_err());
}
