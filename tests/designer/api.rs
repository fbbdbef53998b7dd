//! The designer's API on both engines: uploads, saving, and what a save does to the cards.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{bytes, png, put_design, sha256_hex, unzip, upload};
use crate::common::{Engine, device, id, spawn_app, spawn_second_instance};

async fn image_rows(app: &crate::common::TestApp) -> i64 {
    let rows: Vec<(i64,)> = app.fetch("SELECT COUNT(*) FROM images").await;
    rows[0].0
}

fn assert_envelope(answer: &Value, code: &str, field: &str) {
    let error = &answer["error"];
    assert_eq!(error["code"], code, "{answer}");
    assert_eq!(error["field"], field, "{answer}");
    assert!(
        error["message"].as_str().is_some_and(|m| m.len() > 10),
        "{answer}"
    );
}

async fn bad_uploads_get_a_clear_error_and_change_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let program = app.create_program("discount").await;
    let design = format!("/programs/{}/design", id(&program));
    let before = app.get_ok(&design).await;

    let text = b"this is a spreadsheet, honestly".to_vec();
    let (status, answer) = upload(&app, "logo", text, "image/png").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_envelope(&answer, "not_an_image", "file");

    let form = "multipart/form-data; boundary=x";
    let (status, answer) = upload(&app, "logo", png(400, 200, [1, 2, 3]), form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_envelope(&answer, "not_an_image", "file");

    let mut huge = png(400, 200, [1, 2, 3]);
    huge.resize(5 * 1024 * 1024 + 1, 0);
    let (status, answer) = upload(&app, "logo", huge, "image/png").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_envelope(&answer, "image_too_large", "file");

    let (status, answer) = upload(&app, "icon", png(12, 12, [9, 9, 9]), "image/png").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_envelope(&answer, "image_too_small", "file");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("87×87")
    );

    let (status, answer) = upload(&app, "strip", png(3000, 100, [9, 9, 9]), "image/png").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_envelope(&answer, "image_aspect", "file");

    let (status, answer) = upload(&app, "banner", png(400, 200, [9, 9, 9]), "image/png").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_envelope(&answer, "invalid_field", "slot");

    assert_eq!(image_rows(&app).await, 0, "no image kept");
    assert_eq!(app.get_ok(&design).await, before, "the design is as it was");
}

async fn a_saved_design_gives_every_card_a_new_version_and_its_pass_the_new_logo(engine: Engine) {
    let app = spawn_app(engine).await;
    let (program, _, card) = app
        .issue_card_of(&crate::common::program_body("cashback"))
        .await;
    let program_id = id(&program);
    let installed = device::install(&app, &card).await;
    let phone = device::Device::apple(1);
    assert_eq!(
        device::register(&app, &installed, &phone).await,
        StatusCode::CREATED
    );
    let (status, logo) = upload(&app, "logo", png(600, 200, [200, 20, 20]), "image/png").await;
    assert_eq!(status, StatusCode::CREATED, "{logo}");
    let sizes: Vec<(&str, u64, u64)> = logo["sizes"]
        .as_array()
        .expect("sizes")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or(""),
                s["width"].as_u64().unwrap_or(0),
                s["height"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        [
            ("logo.png", 150, 50),
            ("logo@2x.png", 300, 100),
            ("logo@3x.png", 450, 150),
            ("google/logo.png", 660, 660)
        ]
    );
    let design = app.get_ok(&format!("/programs/{program_id}/design")).await;
    assert_eq!(design["cards_to_update"], 1);
    assert_eq!(design["version"], 0);

    let body = json!({
        "background_color": "#204020",
        "logo_text": {"en": "Acme Supply", "ru": "Акме Снаб"},
        "labels": {"ru": {"Cashback": "Бонусы партнёра"}},
        "images": logo["images"],
    });
    let (status, saved) = put_design(&app, program_id, &body).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    let (_, again) = put_design(&app, program_id, &body).await;
    assert_eq!(again["version"], 1, "the same design again changes nothing");
    let stale = json!({"version": 0, "logo_text": {"en": "Stale"}});
    let (status, answer) = put_design(&app, program_id, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_envelope(&answer, "design_changed", "version");
    let after = app.get_ok(&format!("/cards/{}", id(&card))).await;
    let version = after["version"].as_i64().expect("version");
    assert_eq!(Some(version), card["version"].as_i64().map(|v| v + 1));
    let pushes: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|d| d.kind == "apple_push")
        .collect();
    assert_eq!(pushes.len(), 1, "one push to the registered phone");
    assert_eq!(pushes[0].card_version, version);

    let pass = unzip(&bytes(&app, &format!("/cards/{}/pass.pkpass", id(&card))).await);
    let logo_hash = logo["images"]["logo@2x.png"].as_str().expect("hash");
    assert_eq!(
        sha256_hex(&pass["logo@2x.png"]),
        logo_hash,
        "the uploaded logo"
    );
    assert!(
        !pass.contains_key("google/logo.png"),
        "no Google image in a pass"
    );
    let pass_json: Value = serde_json::from_slice(&pass["pass.json"]).expect("json");
    assert_eq!(pass_json["backgroundColor"], "rgb(32, 64, 32)");
    assert_eq!(pass_json["logoText"], "Acme Supply");
    let ru = walletcards::designs::strings::decode(&pass["ru.lproj/pass.strings"]).expect("text");
    assert!(ru.contains("\"Cashback\" = \"Бонусы партнёра\";"), "{ru}");
    assert!(ru.contains("\"Acme Supply\" = \"Акме Снаб\";"), "{ru}");

    let preview = app
        .get_ok(&format!("/programs/{program_id}/design/preview"))
        .await;
    let google_logo = preview["google"]["class"]["programLogo"]["sourceUri"]["uri"].as_str();
    let square = logo["images"]["google/logo.png"]
        .as_str()
        .expect("a Google logo");
    assert!(google_logo.is_some_and(|uri| uri.ends_with(&format!("/images/{square}.png"))));

    let served = app
        .client
        .get(format!("{}/images/{logo_hash}.png", app.base))
        .send()
        .await
        .expect("image");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(sha256_hex(&served.bytes().await.expect("bytes")), logo_hash);
}

async fn a_design_names_only_uploaded_images_of_the_right_size_with_all_their_sizes(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let program = app.create_program("stamp").await;
    let (_, icon) = upload(&app, "icon", png(100, 100, [0, 90, 0]), "image/png").await;
    let cases = [
        (
            json!({"images": {"icon.png": "0".repeat(64)}}),
            "images.icon.png",
        ),
        (
            json!({"images": {"banner.png": icon["images"]["icon.png"]}}),
            "images.banner.png",
        ),
        (
            json!({"images": {"strip.png": icon["images"]["icon.png"]}}),
            "images.strip.png",
        ),
        (
            json!({"images": {"icon.png": icon["images"]["icon.png"]}}),
            "images.icon.png",
        ),
        (
            json!({"logo_text": {"ru": "Только по-русски"}}),
            "logo_text.en",
        ),
        (
            json!({"labels": {"ru": {"Nonsense": "Чепуха"}}}),
            "labels.ru.Nonsense",
        ),
        (
            json!({"labels": {"en": {"Stamps: %@": "Stamps"}}}),
            "labels.en.Stamps: %@",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = put_design(&app, id(&program), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, saved) = put_design(&app, id(&program), &json!({"images": icon["images"]})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
}

/// Two instances on one database: the second signs a card's pass, the first saves a design,
/// and the second's next pass of the card (a new version) is in the new design at once.
#[tokio::test]
async fn a_design_saved_on_one_instance_is_used_by_the_other_without_a_restart() {
    let first = spawn_app(Engine::Postgres).await;
    let second = spawn_second_instance(&first, None).await;
    let card = first.issue_card("discount").await;
    let pass = format!("/cards/{}/pass.pkpass", id(&card));
    let old = unzip(&bytes(&second, &pass).await);
    let (_, logo) = upload(&first, "logo", png(300, 100, [10, 10, 200]), "image/png").await;
    let program = card["program_id"].as_str().expect("program");
    let (status, _) = put_design(&first, program, &json!({"images": logo["images"]})).await;
    assert_eq!(status, StatusCode::OK);
    let new = unzip(&bytes(&second, &pass).await);
    assert_ne!(old["logo.png"], new["logo.png"]);
    assert_eq!(
        sha256_hex(&new["logo.png"]),
        logo["images"]["logo.png"].as_str().expect("hash")
    );
}

on_both_engines!(
    bad_uploads_get_a_clear_error_and_change_nothing,
    a_saved_design_gives_every_card_a_new_version_and_its_pass_the_new_logo,
    a_design_names_only_uploaded_images_of_the_right_size_with_all_their_sizes,
);
