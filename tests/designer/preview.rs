//! The preview shows what the signed pass of the same card shows: every field of pass.json,
//! in its area and order, with the preview's label and value (in English, the pass's own
//! language).

use reqwest::StatusCode;
use serde_json::Value;

use super::{bytes, unzip};
use crate::common::{Engine, TestApp, id, program_body, spawn_app};

/// Asserts that `preview` (the `apple.fields` of a preview) shows `pass` (pass.json).
fn assert_shows_the_pass(preview: &Value, pass: &Value) {
    for area in ["header", "primary", "secondary", "auxiliary", "back"] {
        let shown = preview[area].as_array().expect("an area");
        let signed = pass["storeCard"][format!("{area}Fields")]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(shown.len(), signed.len(), "{area}: {preview} vs {pass}");
        for (p, s) in shown.iter().zip(&signed) {
            assert_eq!(p["key"], s["key"], "{area}");
            assert_eq!(p["label"], s["label"], "{area}");
            let text = p["value"].as_str().expect("text");
            match &s["value"] {
                Value::String(v) => assert_eq!(text, v, "{area}.{}", s["key"]),
                Value::Number(n) => {
                    let digits: String = text
                        .chars()
                        .filter(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    let shown: f64 = digits.parse().expect("a number");
                    assert_eq!(Some(shown), n.as_f64(), "{area}.{}: {text}", s["key"]);
                    if let Some(code) = s["currencyCode"].as_str() {
                        assert!(text.contains(code), "{text} in {code}");
                    }
                }
                other => panic!("unexpected value {other}"),
            }
        }
    }
}

async fn pass_json(app: &TestApp, path: &str) -> Value {
    let files = unzip(&bytes(app, path).await);
    serde_json::from_slice(&files["pass.json"]).expect("pass.json")
}

async fn the_preview_shows_the_fields_of_the_signed_pass_of_the_same_card(engine: Engine) {
    let app = spawn_app(engine).await;
    for kind in crate::common::KINDS {
        let (program, _, card) = app.issue_card_of(&program_body(kind)).await;
        crate::common::device::book(&app, &card, &format!("o-{kind}"), 2_000_000).await;
        let design = format!("/programs/{}/design", id(&program));
        let preview = app
            .get_ok(&format!("{design}/preview?lang=en&card={}", id(&card)))
            .await;
        let pass = pass_json(&app, &format!("/cards/{}/pass.pkpass", id(&card))).await;
        assert_shows_the_pass(&preview["apple"]["fields"], &pass);

        // The sample card: the preview and the sample pass show the same.
        let preview = app.get_ok(&format!("{design}/preview")).await;
        let sample = pass_json(&app, &format!("{design}/sample.pkpass")).await;
        assert_shows_the_pass(&preview["apple"]["fields"], &sample);
        assert_eq!(preview["serial"], sample["serialNumber"]);
    }
}

async fn the_preview_speaks_the_chosen_language(engine: Engine) {
    let app = spawn_app(engine).await;
    let program = app.create_program("stamp").await;
    let design = format!("/programs/{}/design/preview", id(&program));
    let en = app.get_ok(&format!("{design}?lang=en")).await;
    let ru = app.get_ok(&format!("{design}?lang=ru")).await;
    let zh = app.get_ok(&format!("{design}?lang=zh-Hans")).await;
    let label = |p: &Value| p["apple"]["fields"]["primary"][0]["label"].clone();
    assert_eq!(label(&en), "Stamps");
    assert_eq!(label(&ru), "Штампы");
    assert_ne!(label(&zh), label(&en));
    let r = app.get(&format!("{design}?lang=de")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

on_both_engines!(
    the_preview_shows_the_fields_of_the_signed_pass_of_the_same_card,
    the_preview_speaks_the_chosen_language,
);
