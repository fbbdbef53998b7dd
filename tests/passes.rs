//! Signed passes as a device receives them: for every program kind, unzip the download,
//! check every manifest hash, verify the signature with the openssl command line against the
//! development root (independently of our signing code), and run our own validator on it.

use crate::common;
use crate::common::pass::{run_verify, unzip};

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use common::{Engine, KINDS, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use sha1::{Digest, Sha1};
use walletcards::apple::verify::{Severity, VerifyOptions, verify_pkpass};

on_both_engines!(
    a_pass_of_every_kind_is_signed_complete_and_valid,
    the_pass_shows_holder_company_code_and_web_service,
    labels_and_sentences_are_localized_in_english_russian_and_chinese,
    a_revoked_card_downloads_as_a_voided_pass,
    the_verify_command_rejects_a_tampered_pass,
);

async fn download(app: &TestApp, card: &Value) -> Vec<u8> {
    let r = app.get(&format!("/cards/{}/pass.pkpass", id(card))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.pkpass");
    assert!(r.headers().contains_key("last-modified"));
    r.bytes().await.expect("body").to_vec()
}

fn pass_json(files: &BTreeMap<String, Vec<u8>>) -> Value {
    serde_json::from_slice(&files["pass.json"]).expect("pass.json is JSON")
}

fn openssl_verifies(dir: &Path, wwdr: &Path) -> bool {
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(dir.join("signature"))
        .arg("-content")
        .arg(dir.join("manifest.json"))
        .arg("-CAfile")
        .arg(wwdr)
        .args(["-out", "/dev/null"])
        .output()
        .expect("the openssl command line is installed");
    if !out.status.success() {
        eprintln!("openssl: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

fn wwdr(app: &TestApp) -> openssl::x509::X509 {
    let pem =
        std::fs::read(app.certs_dir.join("apple/wwdr.pem")).expect("dev root written at start");
    openssl::x509::X509::from_pem(&pem).expect("PEM")
}

async fn a_pass_of_every_kind_is_signed_complete_and_valid(engine: Engine) {
    let app = spawn_app(engine).await;
    for kind in KINDS {
        let card = app.issue_card(kind).await;
        let bytes = download(&app, &card).await;
        let files = unzip(&bytes);
        let manifest: BTreeMap<String, String> =
            serde_json::from_slice(&files["manifest.json"]).expect("manifest");
        let listed: Vec<&String> = manifest.keys().collect();
        let present: Vec<&String> = files
            .keys()
            .filter(|n| *n != "manifest.json" && *n != "signature")
            .collect();
        assert_eq!(
            listed, present,
            "{kind}: the manifest lists exactly the files"
        );
        for (name, sha1) in &manifest {
            assert_eq!(
                &hex::encode(Sha1::digest(&files[name])),
                sha1,
                "{kind}: hash of {name}"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("manifest.json"), &files["manifest.json"]).expect("write");
        std::fs::write(dir.path().join("signature"), &files["signature"]).expect("write");
        assert!(
            openssl_verifies(dir.path(), &app.certs_dir.join("apple/wwdr.pem")),
            "{kind}: openssl cms -verify"
        );
        let report = verify_pkpass(
            &bytes,
            &VerifyOptions {
                trusted_wwdr: vec![wwdr(&app)],
                now: chrono::Utc::now(),
            },
        );
        let errors: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{kind}: {errors:?}");
        let pass = pass_json(&files);
        assert!(
            pass["storeCard"]["primaryFields"][0]["value"].is_string()
                || pass["storeCard"]["primaryFields"][0]["value"].is_number()
        );
    }
}

async fn the_pass_shows_holder_company_code_and_web_service(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = pass_json(&unzip(&download(&app, &card).await));
    assert_eq!(pass["serialNumber"], card["serial"]);
    assert_eq!(pass["formatVersion"], 1);
    assert_eq!(pass["webServiceURL"], format!("{}/passes", app.base));
    assert!(
        pass["authenticationToken"]
            .as_str()
            .is_some_and(|t| t.len() >= 32)
    );
    let barcode = &pass["barcodes"][0];
    assert_eq!(barcode["format"], "PKBarcodeFormatQR");
    assert_eq!(barcode["altText"], card["code"]);
    assert_eq!(
        barcode["message"],
        card["code"].as_str().expect("code").replace('-', "")
    );
    assert_eq!(pass["backgroundColor"], "rgb(22, 52, 92)");
    assert_eq!(pass["logoText"], "Acme Supply");
    let store = &pass["storeCard"];
    assert_eq!(store["primaryFields"][0]["key"], "cashback");
    assert_eq!(store["primaryFields"][0]["value"], 0.0);
    assert_eq!(store["primaryFields"][0]["currencyCode"], "EUR");
    assert_eq!(store["secondaryFields"][0]["value"], "Anna Petrova");
    assert_eq!(store["secondaryFields"][1]["value"], "Acme GmbH");
    assert_eq!(store["auxiliaryFields"][0]["value"], "None yet");
}

async fn labels_and_sentences_are_localized_in_english_russian_and_chinese(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cumulative_discount").await;
    let files = unzip(&download(&app, &card).await);
    let strings = |lang: &str| {
        let bytes = &files[&format!("{lang}.lproj/pass.strings")];
        assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16 LE with BOM");
        walletcards::apple::strings::parse(
            &walletcards::apple::strings::decode(bytes).expect("text"),
        )
        .expect("parses")
    };
    let next_tier = pass_json(&files)["storeCard"]["auxiliaryFields"][1]["value"]
        .as_str()
        .expect("text")
        .to_owned();
    assert_eq!(next_tier, "10,000.00\u{a0}EUR more to reach 5%");
    assert_eq!(strings("ru")["Discount"], "Скидка");
    assert!(
        strings("ru")[&next_tier].contains("10\u{a0}000,00"),
        "{}",
        strings("ru")[&next_tier]
    );
    assert_eq!(strings("zh-Hans")["Discount"], "折扣");
    assert!(strings("zh-Hans").contains_key(&next_tier));
    assert_eq!(strings("en")["Discount"], "Discount");
}

async fn a_revoked_card_downloads_as_a_voided_pass(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("stamp").await;
    app.post_ok(
        &format!("/cards/{}/revoke", id(&card)),
        &serde_json::json!({}),
        StatusCode::OK,
    )
    .await;
    let pass = pass_json(&unzip(&download(&app, &card).await));
    assert_eq!(pass["voided"], true);
    assert_eq!(pass["storeCard"]["headerFields"][0]["value"], "Revoked");
}

async fn the_verify_command_rejects_a_tampered_pass(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("discount").await;
    let bytes = download(&app, &card).await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.pkpass");
    std::fs::write(&good, &bytes).expect("write");
    let (ok, out) = run_verify(&app, &good);
    assert!(ok, "{out}");
    // Same archive, pass.json changed after signing: the manifest hash no longer matches.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in unzip(&bytes) {
        let data = if name == "pass.json" {
            String::from_utf8(data)
                .expect("utf8")
                .replace("Anna", "Eve")
                .into_bytes()
        } else {
            data
        };
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(&data).expect("write");
    }
    let bad = dir.path().join("bad.pkpass");
    std::fs::write(&bad, zip.finish().expect("zip").into_inner()).expect("write");
    let (ok, out) = run_verify(&app, &bad);
    assert!(!ok, "{out}");
    assert!(out.contains("E M2"), "{out}");
}
