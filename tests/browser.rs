//! The pages in a real browser (headless Chromium through chromedriver): a decision-maker
//! enrolls from an invite on a phone-sized screen, opens the link mailed to them (a real SMTP
//! exchange with the loopback sink) and gets a pass that `walletcards verify`
//! accepts and a Google save link that verifies; desk staff scan a card, book an order, see
//! the balance and refund it. Screenshots of each page are saved (see `common::browser`).

use crate::common;

use std::time::Duration;

use common::browser::Browser;
use common::google_fake::verify_jwt;
use common::smtp_sink::SmtpSink;
use common::{Engine, GOOGLE_ISSUER, eventually, id, spawn_app, spawn_google_app_with};
use fantoccini::Locator;
use serde_json::json;
use walletcards::http::auth::create_api_key;
use walletcards::store::Role;

#[tokio::test]
async fn a_decision_maker_enrolls_from_an_invite_and_gets_both_wallet_buttons() {
    let sink = SmtpSink::start().await;
    let mail = [
        ("mail.host", json!("127.0.0.1")),
        ("mail.port", json!(sink.port)),
        ("mail.tls", json!("none")),
        ("mail.from", json!("loyalty@acme.example")),
    ];
    let g = spawn_google_app_with(Engine::Sqlite, GOOGLE_ISSUER, &mail).await;
    let app = &g.app;
    let (program, invite) = app.create_invite("stamp", "Bauhaus AG").await;
    let browser = Browser::start(true).await;
    let b = &browser.client;
    b.goto(invite["url"].as_str().expect("url"))
        .await
        .expect("open the invite");
    browser.type_into("#name", "Olga Ivanova").await;
    browser.type_into("#role", "accountant").await;
    browser.type_into("#email", "olga@bauhaus.example").await;
    browser.click("#consent").await;
    browser.screenshot("enrollment-form").await;
    browser.click("#join").await;
    browser.wait_for_text("h1", "Check your inbox").await;
    browser.screenshot("enrollment-check-inbox").await;

    // The mailed link: a page with one button, then every card of the person.
    let link = sink
        .wait_for("olga@bauhaus.example", 1)
        .await
        .remove(0)
        .link();
    b.goto(&link).await.expect("open the mailed link");
    browser.screenshot("mailed-link").await;
    browser.click("#open").await;
    browser.wait_for_text("h1", "Your cards").await;
    browser.wait_for_text("#cards", "Partner stamp").await;
    browser.screenshot("member-cards").await;
    let page = b.source().await.expect("html");
    assert!(
        page.contains("Olga Ivanova") && page.contains("Bauhaus AG"),
        "{page}"
    );

    // Google: the button's link is a save link signed by the service account.
    let google = browser.find("#add-google-1").await;
    let link = google.attr("href").await.expect("attr").expect("a link");
    let jwt = link
        .strip_prefix("https://pay.google.com/gp/v/save/")
        .expect("a Google save link");
    let (_, claims) = verify_jwt(jwt, &g.account.public_key_pem).expect("verifies");
    let object = &claims["payload"]["loyaltyObjects"][0];
    assert_eq!(
        object["classId"],
        format!("{GOOGLE_ISSUER}.{}", id(&program))
    );

    // Apple: the button downloads the pass, and the validator accepts it.
    browser.click("#add-apple-1").await;
    let downloads = browser.downloads.path().to_owned();
    eventually(
        "the pass is downloaded",
        Duration::from_secs(15),
        async || {
            std::fs::read_dir(&downloads).is_ok_and(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| e.path().extension().is_some_and(|x| x == "pkpass"))
            })
        },
    )
    .await;
    let pass = std::fs::read_dir(&downloads)
        .expect("downloads")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pkpass"))
        .expect("a pass");
    common::pass::verify(app, &pass);
}

#[tokio::test]
async fn a_member_opens_an_admins_personal_link_on_a_desktop_in_russian_and_chinese() {
    let sink = SmtpSink::start().await;
    let app = common::spawn_app_with_settings(
        Engine::Postgres,
        &[
            ("outbox.dispatch", json!(true)),
            ("mail.host", json!("127.0.0.1")),
            ("mail.port", json!(sink.port)),
            ("mail.tls", json!("none")),
            ("mail.from", json!("loyalty@acme.example")),
        ],
    )
    .await;
    let (_, account, card) = app.issue_card_of(&common::program_body("cashback")).await;
    let stamps = app.create_program("stamp").await;
    let second = json!({"program_id": id(&stamps), "member_id": card["member_id"]});
    app.post_ok("/cards", &second, reqwest::StatusCode::CREATED)
        .await;
    let sent = app
        .post(
            &format!(
                "/members/{}/send-card?lang=ru",
                card["member_id"].as_str().expect("member")
            ),
            &json!({}),
        )
        .await;
    assert_eq!(sent.status(), reqwest::StatusCode::ACCEPTED);
    let mail = sink
        .wait_for("anna.petrova@example.test", 1)
        .await
        .remove(0);

    let browser = Browser::start(false).await;
    let b = &browser.client;
    // The mail as its HTML version shows in a mail program.
    let html = tempfile::Builder::new()
        .suffix(".html")
        .tempfile()
        .expect("file");
    std::fs::write(html.path(), &mail.html).expect("write");
    b.goto(&format!("file://{}", html.path().display()))
        .await
        .expect("the mail");
    browser.wait_for_text("body", "Открыть мои карты").await;
    browser.screenshot("mail-personal-link-ru").await;

    b.goto(&mail.link()).await.expect("the link");
    browser.wait_for_text("h1", "Ваши карты готовы").await;
    browser.click("#open").await;
    browser.wait_for_text("h1", "Ваши карты").await;
    browser.wait_for_text("#holder", "Acme GmbH").await;
    // A desktop: both wallet buttons and a QR code per card, to continue on the phone.
    for n in 1..=2 {
        browser.find(&format!("#add-apple-{n}")).await;
        browser.find(&format!("#continue-{n}")).await;
    }
    browser.screenshot("member-cards-desktop-ru").await;
    b.goto(&format!("{}/me?lang=zh-Hans", app.base))
        .await
        .expect("Chinese");
    browser.wait_for_text("h1", "您的会员卡").await;
    browser.screenshot("member-cards-desktop-zh").await;
    let _ = account;
}

#[tokio::test]
async fn desk_staff_scan_a_card_book_an_order_and_refund_it() {
    let app = spawn_app(Engine::Sqlite).await;
    let card = app.issue_card("cashback").await;
    let key = create_api_key(&app.state.store, "desk 1", Role::Desk)
        .await
        .expect("desk key");
    let browser = Browser::start(false).await;
    let b = &browser.client;
    b.goto(&format!("{}/desk", app.base)).await.expect("desk");
    browser.type_into("#key", &key).await;
    browser.screenshot("desk-sign-in").await;
    browser.click("#signin-key").await;

    // An unknown code says so; the scanner types the code and Enter.
    let scan = browser.find("#scan").await;
    scan.send_keys("ZZZZ-ZZZZ-ZZZZ\n").await.expect("scan");
    browser.wait_for_text("#scan-error", "Unknown card").await;
    let code = card["code"].as_str().expect("code");
    let scan = browser.find("#scan").await;
    scan.clear().await.expect("clear");
    scan.send_keys(&format!("{code}\n")).await.expect("scan");
    browser.wait_for_text("#holder", "Anna Petrova").await;
    browser.wait_for_text("#company", "Acme GmbH").await;

    let amount = browser.find("#amount").await;
    amount.send_keys("1000").await.expect("amount");
    browser.wait_for_text("#quote", "to pay").await;
    browser.screenshot("desk-quote").await;
    browser.click("#book-order").await;
    browser.wait_for_text("#result", "Booked").await;
    browser.wait_for_text("#figures", "30.00").await;
    browser.screenshot("desk-booked").await;
    let shown = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(shown["balance"]["cashback_minor"], 3_000);

    b.find(Locator::Css("#booked .refund"))
        .await
        .expect("a refund button")
        .click()
        .await
        .expect("refund");
    browser.wait_for_text("#result", "Refunded").await;
    browser.wait_for_text("#figures", "0.00").await;
    browser.screenshot("desk-refunded").await;
    let shown = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(shown["balance"]["cashback_minor"], 0);

    // A revoked card is shown as such, with nothing to book.
    app.post_ok(
        &format!("/cards/{}/revoke", id(&card)),
        &serde_json::json!({}),
        reqwest::StatusCode::OK,
    )
    .await;
    let scan = browser.find("#scan").await;
    scan.clear().await.expect("clear");
    scan.send_keys(&format!("{code}\n")).await.expect("scan");
    browser.wait_for_text("#card-status", "Revoked").await;
    let book = browser.find("#book").await;
    assert!(
        !book.is_displayed().await.expect("displayed"),
        "no booking on a revoked card"
    );
    browser.screenshot("desk-revoked").await;
}

#[tokio::test]
async fn the_dashboard_shows_a_booked_order_without_a_reload() {
    let app = spawn_app(Engine::Sqlite).await;
    let card = app.issue_card("cumulative_discount").await;
    let browser = Browser::start(false).await;
    let b = &browser.client;
    browser
        .sign_in_to(&format!("{}/dashboard", app.base), &app.admin_key)
        .await;
    browser.wait_for_text("#cards-total", "1").await;
    browser.wait_for_text("#orders-total", "0").await;
    browser
        .wait_for_text("#programs", "Partner cumulative_discount")
        .await;

    let order = serde_json::json!({"external_id": "DASH-1", "account_id": card["account_id"],
        "member_id": card["member_id"], "amount_minor": 2_000_000, "currency": "EUR",
        "placed_at": chrono::Utc::now().to_rfc3339()});
    app.post_ok("/orders", &order, reqwest::StatusCode::CREATED)
        .await;
    browser.wait_for_text("#orders-total", "1").await;
    browser.wait_for_text("#programs", "Silver").await;
    browser.screenshot("dashboard").await;

    let url = b.current_url().await.expect("url");
    assert_eq!(url.path(), "/dashboard", "no navigation happened");

    // The printable invite of the same admin session.
    let (_, invite) = app.create_invite("stamp", "Bauhaus AG").await;
    let b2 = &browser.client;
    b2.goto(&format!("{}/invites/{}/print", app.base, id(&invite)))
        .await
        .expect("print page");
    browser.wait_for_text("h1", "Bauhaus AG").await;
    let qr_loaded = b2
        .execute(
            "return document.getElementById('qr').naturalWidth > 0",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        qr_loaded,
        serde_json::json!(true),
        "the QR code image loads"
    );
    browser.screenshot("invite-print").await;
}

#[tokio::test]
async fn desk_staff_redeem_a_reward_a_stamp_card_has_earned() {
    let app = spawn_app(Engine::Sqlite).await;
    let mut program = common::program_body("stamp");
    program["rules"] =
        serde_json::json!({"stamps_required": 2, "min_order_minor": 0, "reward": "Free delivery"});
    let (_, _, card) = app.issue_card_of(&program).await;
    let browser = Browser::start(false).await;
    browser
        .sign_in_to(&format!("{}/desk", app.base), &app.admin_key)
        .await;
    let code = card["code"].as_str().expect("code");
    for _ in 0..2 {
        browser.type_into("#scan", &format!("{code}\n")).await;
        browser.wait_for_text("#holder", "Anna Petrova").await;
        browser.type_into("#amount", "100").await;
        browser.click("#book-order").await;
        browser.wait_for_text("#result", "Booked").await;
    }
    browser.wait_for_text("#figures", "Free delivery").await;
    browser.wait_for_text("#figures", "Rewards\n1").await;
    let cashback = browser.find("#redeem-label").await;
    assert!(
        !cashback.is_displayed().await.expect("displayed"),
        "no cashback on a stamp card"
    );
    let redeem = browser.find("#redeem-reward").await;
    assert!(
        redeem.is_displayed().await.expect("displayed"),
        "a reward to redeem"
    );
    browser.screenshot("desk-reward").await;
    redeem.click().await.expect("redeem");
    browser.wait_for_text("#result", "Reward redeemed").await;
    let shown = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(shown["balance"]["rewards_available"], 0);
}
