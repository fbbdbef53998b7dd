//! A pass of the default design, built with development certificates and read back.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::OnceLock;

use chrono::Utc;
use openssl::x509::X509;
use serde_json::Value;
use sha1::{Digest, Sha1};

use super::{PassContent, build_pkpass};
use crate::apple::devcerts::write_dev_certs;
use crate::apple::signer::{Signer, SignerSource};
use crate::apple::strings;
use crate::apple::template::PassTemplates;
use crate::apple::verify::{VerifyOptions, verify_pkpass};
use crate::domain::face::{CardFace, FaceField, FaceValue};
use crate::domain::model::{Branding, Color};
use crate::domain::money::{Bps, Currency, Money};

/// Every kind of value: text, a phrase, money, a count and two localized sentences.
fn face() -> CardFace {
    let eur = Currency::parse("EUR").unwrap();
    let next_tier = FaceValue::NextTier {
        remaining: Money::new(1_000_000, eur),
        percent: Bps(800),
    };
    let discount = FaceValue::Percent(Bps(500));
    CardFace {
        header: vec![field("tier", "Tier", FaceValue::Text("Gold \"A\"".into()))],
        primary: vec![FaceField {
            key: "discount",
            label: "Discount",
            value: discount,
            change_message: Some("Your discount is now %@"),
        }],
        secondary: vec![field("status", "Status", FaceValue::Phrase("Active"))],
        auxiliary: vec![
            field("spend", "Spend", FaceValue::Money(Money::new(123_456, eur))),
            field("next_tier", "Next tier", next_tier),
        ],
        back: vec![
            field("rewards", "Rewards", FaceValue::Count(2)),
            field("window", "Spend window", FaceValue::RollingDays(365)),
        ],
    }
}

/// A field without a lock-screen message.
fn field(key: &'static str, label: &'static str, value: FaceValue) -> FaceField {
    FaceField {
        key,
        label,
        value,
        change_message: None,
    }
}

/// The entries of a zip, in archive order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().to_owned(), data)
        })
        .collect()
}

/// The pass of `face()` and the development root that signed it, built once for all tests.
fn build() -> &'static (Vec<u8>, X509) {
    static BUILT: OnceLock<(Vec<u8>, X509)> = OnceLock::new();
    BUILT.get_or_init(build_once)
}

fn build_once() -> (Vec<u8>, X509) {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_dev_certs(dir.path(), "pass.com.example.loyalty", "ABCDE12345", false);
    let paths = paths.unwrap();
    let source = SignerSource::Pem {
        cert: paths.signer_cert,
        key: paths.signer_key,
        key_password: None,
    };
    let signer = Signer::load(&source, &paths.wwdr_cert, None, None, Utc::now()).unwrap();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("pass_templates");
    let design = PassTemplates::load(&templates)
        .unwrap()
        .get("default")
        .unwrap();
    let face = face();
    let branding = Branding {
        background_color: Some(Color(1, 2, 3)),
        logo_text: Some("Northwind".into()),
        ..Branding::default()
    };
    let content = PassContent {
        serial: "S-1",
        auth_token: "0123456789abcdef0123",
        barcode_message: "ABCD1234",
        barcode_alt_text: "ABCD 1234",
        organization_name: "Northwind",
        description: "Partner discount",
        branding: &branding,
        web_service_url: "https://cards.example.com/passes",
        voided: false,
        face: &face,
    };
    let pkpass = build_pkpass(&signer, &design, &content).unwrap();
    let wwdr = X509::from_pem(&std::fs::read(&paths.wwdr_cert).unwrap()).unwrap();
    (pkpass, wwdr)
}

#[test]
fn built_pass_has_every_entry_in_order_and_passes_the_validator() {
    let (pkpass, wwdr) = build();
    let entries = unzip(pkpass);
    let names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
    let tail = [
        "pass.json",
        "en.lproj/pass.strings",
        "ru.lproj/pass.strings",
        "zh-Hans.lproj/pass.strings",
        "manifest.json",
        "signature",
    ];
    assert!(names.ends_with(&tail), "{names:?}");
    assert!(names.contains(&"icon.png"), "{names:?}");
    let options = VerifyOptions {
        trusted_wwdr: vec![wwdr.clone()],
        now: Utc::now(),
    };
    let report = verify_pkpass(pkpass, &options);
    assert!(!report.has_errors(), "{}", report.render_text());
}

#[test]
fn manifest_lists_the_sha1_of_every_other_entry() {
    let entries = unzip(&build().0);
    let files: BTreeMap<&str, &[u8]> = entries
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect();
    let manifest: BTreeMap<String, String> =
        serde_json::from_slice(files["manifest.json"]).unwrap();
    let expected: BTreeMap<String, String> = files
        .iter()
        .filter(|(name, _)| !matches!(**name, "manifest.json" | "signature"))
        .map(|(name, data)| (name.to_string(), hex::encode(Sha1::digest(data))))
        .collect();
    assert_eq!(manifest, expected);
}

#[test]
fn pass_json_keeps_the_skeleton_and_its_keys_are_sorted() {
    let entries = unzip(&build().0);
    let bytes = &entries.iter().find(|(n, _)| n == "pass.json").unwrap().1;
    let json: Value = serde_json::from_slice(bytes).unwrap();
    // The skeleton's own key, and skeleton keys the pass overrides.
    assert_eq!(json["sharingProhibited"], true);
    assert_eq!(json["organizationName"], "Northwind");
    assert_eq!(json["backgroundColor"], "rgb(1, 2, 3)");
    assert_eq!(json["formatVersion"], 1);
    // serde_json::Value writes keys sorted; re-serializing must not reorder anything.
    assert_eq!(serde_json::to_vec(&json).unwrap(), *bytes);
    let card = &json["storeCard"];
    assert_eq!(card["auxiliaryFields"][0]["value"], 1234.56);
    assert_eq!(card["auxiliaryFields"][0]["currencyCode"], "EUR");
    assert_eq!(card["backFields"][0]["value"], 2);
    assert_eq!(card["headerFields"][0]["value"], "Gold \"A\"");
    assert_eq!(
        card["primaryFields"][0]["changeMessage"],
        "Your discount is now %@"
    );
}

#[test]
fn each_sentence_is_its_english_value_and_the_key_of_its_translations() {
    let entries = unzip(&build().0);
    let file = |name: &str| &entries.iter().find(|(n, _)| n == name).unwrap().1;
    let json: Value = serde_json::from_slice(file("pass.json")).unwrap();
    let card = &json["storeCard"];
    let sentences = [
        &card["auxiliaryFields"][1]["value"],
        &card["backFields"][1]["value"],
    ];
    let strings = |lang: &str| {
        let text = strings::decode(file(&format!("{lang}.lproj/pass.strings"))).unwrap();
        strings::parse(&text).unwrap()
    };
    let (en, ru, zh) = (strings("en"), strings("ru"), strings("zh-Hans"));
    for sentence in sentences {
        let english = sentence.as_str().unwrap();
        assert_eq!(en[english], english);
        assert!(
            ru[english] != english && zh[english] != english,
            "{english}"
        );
    }
    assert_eq!(
        ru["Discount"], "Скидка",
        "the design's own strings come first"
    );
}
