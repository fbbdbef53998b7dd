//! The staff pages in a real browser, as a new supplier walks them: the key printed at first
//! start opens the console once and asks for the first admin; the admin invites a desk user,
//! who chooses a password from the mailed link on a phone, books an order at the desk, and the
//! audit trail shows that user's booking. The console's pages are shown at desk and phone size
//! in English, Russian and Chinese. Screenshots are saved (see `common::browser`).

use crate::common;

use common::browser::Browser;
use common::smtp_sink::SmtpSink;
use common::{Engine, spawn_app, spawn_app_with_mail};
use fantoccini::Locator;
use serde_json::Value;

async fn select(browser: &Browser, css: &str, value: &str) {
    let option = format!("{css} option[value=\"{value}\"]");
    browser.click(&option).await;
}

#[tokio::test]
async fn a_new_supplier_sets_up_staff_and_the_trail_names_the_desk_user_who_booked() {
    let (app, sink): (_, SmtpSink) = spawn_app_with_mail(Engine::Sqlite, &[]).await;
    let card: Value = app.issue_card("cashback").await;

    // First start: the printed key opens the console once, to create the first admin.
    let admin = Browser::start(false).await;
    admin.client.goto(&app.base).await.expect("open");
    admin.find("#email").await;
    admin.screenshot("staff-01-sign-in").await;
    admin.type_into("#key", &app.admin_key).await;
    admin.click("#signin-key").await;
    admin.type_into("#name", "Mira Admin").await;
    admin.type_into("#email", "mira@supplier.example").await;
    admin.type_into("#password", "short").await;
    admin.screenshot("staff-02-first-admin").await;
    admin.click("#create-admin").await;
    // The browser's own check stops a password under 10 characters before it is sent.
    admin.find("#password:invalid").await;
    admin.find("#password").await.clear().await.expect("clear");
    admin.type_into("#password", "mira's long passphrase").await;
    admin.click("#create-admin").await;
    admin.wait_for_text("#who", "Mira Admin").await;
    admin.screenshot("staff-03-console-home").await;

    // She invites a desk user.
    admin.click("a[href=\"/console/users\"]").await;
    admin.type_into("#name", "Dana Desk").await;
    admin.type_into("#email", "dana@supplier.example").await;
    select(&admin, "#role", "desk").await;
    admin.type_into("#desk", "Hall 2").await;
    admin.click("#invite").await;
    admin
        .wait_for_text("#notice", "dana@supplier.example")
        .await;
    admin
        .wait_for_text(
            "#users tr[data-email=\"dana@supplier.example\"] .status",
            "invited",
        )
        .await;
    admin.screenshot("staff-04-users").await;

    // Dana opens the mail on her phone, chooses a password and is at the desk.
    let mail = sink.wait_for("dana@supplier.example", 1).await.remove(0);
    let phone = Browser::start(true).await;
    phone
        .client
        .goto(&mail.link_to("/staff/link/"))
        .await
        .expect("link");
    phone.type_into("#password", "dana's desk passphrase").await;
    phone.screenshot("staff-05-choose-password-phone").await;
    phone.click("#save").await;
    let code = card["code"].as_str().expect("code");
    phone.type_into("#scan", &format!("{code}\n")).await;
    phone.wait_for_text("#holder", "Anna Petrova").await;
    phone.type_into("#amount", "120").await;
    phone.click("#book-order").await;
    phone.wait_for_text("#result", "Booked").await;
    phone.screenshot("staff-06-desk-phone").await;

    // The trail names her, at her desk.
    admin.click("a[href=\"/console/audit\"]").await;
    admin.find("#audit-filter").await;
    let dana = admin
        .client
        .find(Locator::XPath(
            "//select[@id='actor']/option[contains(., 'Dana Desk')]",
        ))
        .await
        .expect("Dana among the people");
    dana.click().await.expect("choose Dana");
    admin.click("#filter").await;
    admin
        .wait_for_text("#audit tbody tr:first-child", "order.booked")
        .await;
    admin
        .wait_for_text("#audit tbody tr:first-child", "Dana Desk")
        .await;
    admin
        .wait_for_text("#audit tbody tr:first-child", "Hall 2")
        .await;
    admin.screenshot("staff-07-audit").await;
}

#[tokio::test]
async fn the_console_reads_in_english_russian_and_chinese_at_desk_and_phone_size() {
    let app = spawn_app(Engine::Sqlite).await;
    for (lang, staff, trail) in [
        ("en-US", "Staff", "Audit trail"),
        ("ru", "Сотрудники", "Журнал действий"),
        ("zh-CN", "员工", "操作记录"),
    ] {
        for mobile in [false, true] {
            let b = Browser::start_in(mobile, lang).await;
            b.sign_in_to(&format!("{}/console", app.base), &app.admin_key)
                .await;
            // A fresh install: the console asks for the first admin first.
            b.find("#create-admin").await;
            b.client
                .goto(&format!("{}/console/audit", app.base))
                .await
                .expect("audit");
            b.wait_for_text("h1", trail).await;
            b.wait_for_text(".console-nav", staff).await;
            let size = if mobile { "phone" } else { "desk" };
            b.screenshot(&format!("console-audit-{lang}-{size}")).await;
            b.client
                .goto(&format!("{}/console/keys", app.base))
                .await
                .expect("keys");
            b.find("#keys").await;
            b.screenshot(&format!("console-keys-{lang}-{size}")).await;
        }
    }
}
