//! The walk a new supplier takes, in a real browser, from the first start to a booking: the
//! printed key opens the console once for the first admin; she creates a cashback program,
//! gives its card a logo in the designer (the preview changes; the sample pass carries the logo
//! and `walletcards verify` accepts it) and saves it, adds a client company, makes an invite
//! and invites a desk user. A decision-maker enrolls from the invite on a phone and opens the
//! mailed link; the desk user chooses a password from her mail, books an order for that card on
//! her phone, and the audit trail shows her booking. Screenshots: `first-supplier-*`.

use crate::common;

use std::time::Duration;

use common::browser::Browser;
use common::smtp_sink::SmtpSink;
use common::{Engine, eventually, spawn_app_with_mail};
use fantoccini::Locator;

use crate::designer::browser::{downloaded_pass, verify};
use crate::designer::{png, sha256_hex, unzip};

/// The last segment of the page's path (the id of what it shows).
async fn id_in_url(browser: &Browser) -> String {
    let url = browser.client.current_url().await.expect("url");
    url.path().rsplit('/').next().expect("an id").to_owned()
}

async fn script_text(browser: &Browser, script: &str) -> String {
    let value = browser
        .client
        .execute(script, vec![])
        .await
        .expect("script");
    value.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_new_supplier_goes_from_the_first_start_to_a_desk_booking_in_the_audit_trail() {
    let (app, sink): (_, SmtpSink) = spawn_app_with_mail(Engine::Sqlite, &[]).await;
    let admin = Browser::start(false).await;
    let goto = async |path: &str| {
        let url = format!("{}{path}", app.base);
        admin.client.goto(&url).await.expect("open");
    };

    // First start: the printed key, once, then the first admin.
    admin.sign_in_to(&app.base, &app.admin_key).await;
    admin.type_into("#name", "Mira Admin").await;
    admin.type_into("#email", "mira@supplier.example").await;
    admin.type_into("#password", "mira's long passphrase").await;
    admin.click("#create-admin").await;
    admin.wait_for_text("#who", "Mira Admin").await;

    // A cashback program.
    goto("/console/programs/new").await;
    admin.type_into("#name", "Partner cashback").await;
    admin.click("#kind-cashback").await;
    admin.type_into("#cashback-percent", "3").await;
    admin.click("#save").await;
    admin.wait_for_text("h1", "Partner cashback").await;
    let program = id_in_url(&admin).await;
    admin.screenshot("first-supplier-01-program").await;

    // Its card gets a logo; the preview shows it, the sample pass carries it and verifies.
    admin
        .click(&format!("a[href=\"/console/programs/{program}/design\"]"))
        .await;
    admin.find("#file-logo").await;
    let logo = "return document.getElementById('pv-logo').src";
    let before = script_text(&admin, logo).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("logo.png");
    std::fs::write(&file, png(640, 200, [200, 30, 60])).expect("write");
    let path = file.display().to_string();
    admin
        .find("#file-logo")
        .await
        .send_keys(&path)
        .await
        .expect("file");
    eventually(
        "the preview shows the logo",
        Duration::from_secs(20),
        async || script_text(&admin, logo).await != before,
    )
    .await;
    let shown = script_text(&admin, logo).await;
    let hash = shown
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".png"));
    let hash = hash.expect("an uploaded image").to_owned();
    admin.screenshot("first-supplier-02-designer").await;
    admin.click("#sample").await;
    let pass = downloaded_pass(&admin).await;
    let files = unzip(&std::fs::read(&pass).expect("read"));
    assert_eq!(
        sha256_hex(&files["logo@2x.png"]),
        hash,
        "the sample has the logo"
    );
    verify(&app, &pass);
    admin.click("#save").await;
    admin.click("#confirm-save").await;
    eventually("the design is saved", Duration::from_secs(10), async || {
        app.get_ok(&format!("/programs/{program}/design")).await["version"] == 1
    })
    .await;

    // A client company and its invite.
    goto("/console/companies").await;
    admin.click("#new-company").await;
    admin.type_into("#company-name", "Bauhaus AG").await;
    admin.type_into("#company-erp", "K-2002").await;
    admin.click("#save").await;
    admin
        .wait_for_text("#company-name-title", "Bauhaus AG")
        .await;
    let company = id_in_url(&admin).await;
    goto(&format!("/console/invites/new?account={company}")).await;
    admin.click("#create-invite").await;
    admin.wait_for_text("h1", "Bauhaus AG").await;
    let invite = admin.find("#invite-url").await.prop("value").await;
    let invite = invite.expect("value").expect("the invite's link");
    admin.screenshot("first-supplier-03-invite").await;

    // A desk user, invited by mail.
    goto("/console/users").await;
    admin.type_into("#name", "Dana Desk").await;
    admin.type_into("#email", "dana@supplier.example").await;
    admin.type_into("#desk", "Hall 2").await;
    admin.click("#invite").await;
    admin
        .wait_for_text("#notice", "dana@supplier.example")
        .await;

    // A decision-maker enrolls on her phone and opens the mailed link.
    let olga = Browser::start(true).await;
    olga.client.goto(&invite).await.expect("the invite");
    olga.type_into("#name", "Olga Ivanova").await;
    olga.type_into("#role", "accountant").await;
    olga.type_into("#email", "olga@bauhaus.example").await;
    olga.click("#consent").await;
    olga.click("#join").await;
    olga.wait_for_text("h1", "Check your inbox").await;
    let mail = sink.wait_for("olga@bauhaus.example", 1).await.remove(0);
    olga.client
        .goto(&mail.link_to("/access/"))
        .await
        .expect("link");
    olga.click("#open").await;
    olga.wait_for_text("#cards", "Partner cashback").await;
    olga.screenshot("first-supplier-04-cards-phone").await;
    let codes: Vec<(String,)> = app.fetch("SELECT code FROM cards").await;
    let code = codes[0].0.clone();

    // The desk user chooses her password on her phone and books Olga's order.
    let mail = sink.wait_for("dana@supplier.example", 1).await.remove(0);
    let dana = Browser::start(true).await;
    dana.client
        .goto(&mail.link_to("/staff/link/"))
        .await
        .expect("link");
    dana.type_into("#password", "dana's desk passphrase").await;
    dana.click("#save").await;
    dana.type_into("#scan", &format!("{code}\n")).await;
    dana.wait_for_text("#holder", "Olga Ivanova").await;
    dana.type_into("#amount", "250").await;
    dana.click("#book-order").await;
    dana.wait_for_text("#result", "Booked").await;
    dana.screenshot("first-supplier-05-desk-phone").await;

    // The trail shows her booking, at her desk.
    goto("/console/audit").await;
    let option = "//select[@id='actor']/option[contains(., 'Dana Desk')]";
    let choice = admin
        .client
        .find(Locator::XPath(option))
        .await
        .expect("Dana");
    choice.click().await.expect("choose Dana");
    admin.click("#filter").await;
    let first = "#audit tbody tr:first-child";
    admin.wait_for_text(first, "order.booked").await;
    admin.wait_for_text(first, "Dana Desk").await;
    admin.wait_for_text(first, "Hall 2").await;
    admin.screenshot("first-supplier-06-audit").await;

    // The company's trail has the order and the invite, and nothing of other companies.
    goto("/console/audit").await;
    let option = "//select[@id='account_id']/option[contains(., 'Bauhaus AG (K-2002)')]";
    let choice = admin
        .client
        .find(Locator::XPath(option))
        .await
        .expect("Bauhaus");
    choice.click().await.expect("choose Bauhaus");
    admin.click("#filter").await;
    admin.wait_for_text(first, "order.booked").await;
    admin.wait_for_text("#audit", "invite.created").await;
    let rows = admin.client.find_all(Locator::Css("#audit tbody tr")).await;
    assert_eq!(rows.expect("rows").len(), 2, "the order and the invite");
}
