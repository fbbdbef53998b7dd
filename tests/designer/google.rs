//! A saved design reaches Google: the program's class gets the uploaded round logo and banner,
//! at image URLs that serve them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{png, put_design, sha256_hex, upload};
use crate::common::{
    Engine, GOOGLE_ISSUER, Google, eventually, id, program_body, spawn_google_app,
};

const WITHIN: Duration = Duration::from_secs(20);

/// Waits until Google has the card's current version and nothing is pending for it.
async fn synced(g: &Google, card_id: &str) {
    let sql = format!(
        "SELECT COUNT(*) FROM cards WHERE id = '{card_id}' AND google_synced_version = version"
    );
    eventually(
        "Google has the card's current version",
        WITHIN,
        async || {
            let rows: Vec<(i64,)> = g.app.fetch(&sql).await;
            rows[0].0 == 1
        },
    )
    .await;
}

async fn a_saved_design_updates_the_google_class_with_the_new_logo_and_banner(engine: Engine) {
    let g = spawn_google_app(engine, GOOGLE_ISSUER).await;
    let app = &g.app;
    let (program, _, card) = app.issue_card_of(&program_body("discount")).await;
    synced(&g, id(&card)).await;
    let class_id = format!("{GOOGLE_ISSUER}.{}", id(&program));
    let before = g.fake.class(&class_id).expect("the class");
    assert!(before.get("heroImage").is_none());

    let (_, logo) = upload(app, "logo", png(400, 400, [0, 120, 60]), "image/png").await;
    let (status, hero) = upload(app, "hero", png(1032, 336, [240, 200, 0]), "image/jpeg").await;
    assert_eq!(status, StatusCode::CREATED, "{hero}");
    let mut images = logo["images"].clone();
    images["google/hero.png"] = hero["images"]["google/hero.png"].clone();
    let (status, saved) = put_design(app, id(&program), &json!({"images": images})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    synced(&g, id(&card)).await;

    let class = g.fake.class(&class_id).expect("the class");
    for (field, path) in [
        ("programLogo", "google/logo.png"),
        ("heroImage", "google/hero.png"),
    ] {
        let uri = class[field]["sourceUri"]["uri"].as_str().expect("an image");
        let hash = images[path].as_str().expect("a hash");
        assert!(
            uri.ends_with(&format!("/images/{hash}.png")),
            "{field}: {uri}"
        );
        let served = app.client.get(uri).send().await.expect("fetch");
        assert_eq!(served.headers()["content-type"], "image/png");
        assert_eq!(sha256_hex(&served.bytes().await.expect("bytes")), hash);
    }
    assert_eq!(class["reviewStatus"], "UNDER_REVIEW");
}

on_both_engines!(a_saved_design_updates_the_google_class_with_the_new_logo_and_banner);
