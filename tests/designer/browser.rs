//! An admin designs a program's card in the browser: uploads a logo, sees the preview change,
//! switches the preview's language, downloads a sample pass that carries the new logo and that
//! `walletcards verify` accepts, and saves after being told how many cards will change.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::{png, sha256_hex, unzip};
use crate::common::browser::Browser;
use crate::common::{Engine, eventually, id, spawn_app};

/// The `src` of the preview's Apple logo.
async fn preview_logo(browser: &Browser) -> String {
    let src = browser
        .client
        .execute("return document.getElementById('pv-logo').src", vec![])
        .await
        .expect("script");
    src.as_str().unwrap_or_default().to_owned()
}

/// The `textContent` of the element with id `id` (what it says, whatever its CSS shows).
async fn text_of(browser: &Browser, id: &str) -> String {
    let script = format!("return document.getElementById('{id}').textContent");
    let text = browser
        .client
        .execute(&script, vec![])
        .await
        .expect("script");
    text.as_str().unwrap_or_default().to_owned()
}

/// The `.pkpass` the browser downloaded (waits for it).
pub async fn downloaded_pass(browser: &Browser) -> PathBuf {
    let downloads = browser.downloads.path().to_owned();
    let find = || {
        std::fs::read_dir(&downloads).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "pkpass"))
        })
    };
    eventually(
        "the sample pass is downloaded",
        Duration::from_secs(15),
        async || find().is_some(),
    )
    .await;
    find().expect("a pass")
}

pub use crate::common::pass::verify;

#[tokio::test]
async fn an_admin_uploads_a_logo_sees_the_preview_change_and_gets_a_sample_pass_with_it() {
    let app = spawn_app(Engine::Sqlite).await;
    let (program, _, _) = app
        .issue_card_of(&crate::common::program_body("cashback"))
        .await;
    let page = format!("{}/console/programs/{}/design", app.base, id(&program));
    let browser = Browser::start(false).await;
    browser.sign_in_to(&page, &app.admin_key).await;
    browser.wait_for_text("#pv-primary", "42.50").await;
    let before = preview_logo(&browser).await;
    browser.screenshot("designer-desktop").await;

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("logo.png");
    std::fs::write(&file, png(600, 200, [220, 120, 0])).expect("write");
    browser
        .find("#file-logo")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    eventually(
        "the preview shows the new logo",
        Duration::from_secs(20),
        async || preview_logo(&browser).await != before,
    )
    .await;
    let shown = preview_logo(&browser).await;
    let hash = shown
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".png"))
        .expect("an image URL")
        .to_owned();
    assert_eq!(hash.len(), 64, "an uploaded image, by its SHA-256: {shown}");

    browser
        .find("#logo_text-en")
        .await
        .clear()
        .await
        .expect("clear");
    browser.type_into("#logo_text-en", "Acme Trade").await;
    browser.type_into("#logo_text-ru", "Акме Снаб").await;
    browser.wait_for_text("#pv-logo-text", "Acme Trade").await;
    browser.click(".designer-langs [data-lang='ru']").await;
    browser.wait_for_text("#pv-logo-text", "Акме Снаб").await;
    browser.wait_for_text("#pv-primary", "42,50").await;
    browser.screenshot("designer-desktop-ru").await;

    // A label worded for Russian: the Russian preview says it at once.
    browser.click("#labels-panel summary").await;
    let label = "input[data-word='Cashback'][data-lang='ru']";
    browser.type_into(label, "Бонусы партнёра").await;
    eventually(
        "the preview shows the wording",
        Duration::from_secs(10),
        async || {
            text_of(&browser, "pv-primary")
                .await
                .contains("Бонусы партнёра")
        },
    )
    .await;
    browser.screenshot("designer-labels").await;

    browser.click("#sample").await;
    let pass = downloaded_pass(&browser).await;
    let files = unzip(&std::fs::read(&pass).expect("read"));
    assert_eq!(
        sha256_hex(&files["logo@2x.png"]),
        hash,
        "the sample carries the new logo"
    );
    verify(&app, &pass);

    browser.click("#save").await;
    browser.wait_for_text("#confirm-text", "1").await;
    browser
        .client
        .execute(
            "document.getElementById('confirm').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll");
    browser.screenshot("designer-confirm").await;
    assert_eq!(
        app.get_ok(&format!("/programs/{}/design", id(&program)))
            .await["version"],
        0
    );
    browser.click("#confirm-save").await;
    browser.wait_for_text("#status", "1").await;
    let saved = app
        .get_ok(&format!("/programs/{}/design", id(&program)))
        .await;
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["logo_text"],
        json!({"en": "Acme Trade", "ru": "Акме Снаб"})
    );
    assert_eq!(saved["images"]["logo@2x.png"], hash);
    assert_eq!(
        saved["labels"],
        json!({"ru": {"Cashback": "Бонусы партнёра"}})
    );

    let phone = Browser::start(true).await;
    phone.sign_in_to(&page, &app.admin_key).await;
    phone.wait_for_text("#pv-logo-text", "Acme Trade").await;
    phone.screenshot("designer-phone").await;
    phone
        .client
        .execute(
            "document.getElementById('google-card').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll");
    phone.screenshot("designer-phone-google").await;
}
