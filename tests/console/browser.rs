use crate::common;

use common::browser::Browser;
use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Replaces what the input `css` holds with `text`.
async fn set(browser: &Browser, css: &str, text: &str) {
    let input = browser.find(css).await;
    input.clear().await.expect("clear");
    input.send_keys(text).await.expect("type");
}

/// The programs the API knows.
async fn programs(app: &TestApp) -> Vec<Value> {
    let listed = app.get_ok("/programs").await;
    listed["items"].as_array().expect("items").clone()
}

/// Sends the form, waits for `error` next to the field `css` and checks that nothing was
/// saved; the form stays as it was.
async fn refused(app: &TestApp, browser: &Browser, css: &str, error: &str, before: usize) {
    browser.click("#save").await;
    browser.wait_for_text(css, error).await;
    assert_eq!(programs(app).await.len(), before, "nothing saved");
}

/// Sends the form and waits for the saved program's page.
async fn saved(browser: &Browser, name: &str) -> Value {
    browser.click("#save").await;
    browser.wait_for_text("h1", name).await;
    let url = browser.client.current_url().await.expect("url");
    let id = url.path().rsplit('/').next().expect("an id").to_owned();
    json!(id)
}

async fn new_program(browser: &Browser, app: &TestApp, name: &str, kind: &str) {
    browser
        .client
        .goto(&format!("{}/console/programs/new", app.base))
        .await
        .expect("the form");
    browser.type_into("#name", name).await;
    browser.click(&format!("#kind-{kind}")).await;
}

async fn the_four_kinds_of_program(mobile: bool) {
    let size = if mobile { "phone" } else { "desktop" };
    let app = spawn_app(Engine::Sqlite).await;
    let browser = Browser::start(mobile).await;
    browser
        .sign_in_to(&format!("{}/console/programs", app.base), &app.admin_key)
        .await;
    browser
        .wait_for_text("#empty", "Create the first one")
        .await;
    browser
        .screenshot(&format!("console-programs-empty-{size}"))
        .await;

    // Discount: a percentage above 100 is refused in the form itself.
    new_program(&browser, &app, "Partner discount", "discount").await;
    browser.type_into("#discount-percent", "150").await;
    let field =
        "fieldset[data-kind='discount'] .field[data-field='rules.percent_bps'] .field-error";
    refused(&app, &browser, field, "from 0 to 100", 0).await;
    browser
        .screenshot(&format!("console-program-error-{size}"))
        .await;
    set(&browser, "#discount-percent", "7.5").await;
    let discount = saved(&browser, "Partner discount").await;

    // Cumulative discount: the tiers table; the API refuses a falling percentage, next to it.
    new_program(&browser, &app, "Volume tiers", "cumulative_discount").await;
    let cell =
        |row: usize, name: &str| format!("#tiers tbody tr:nth-child({row}) input[name='{name}']");
    browser.type_into(&cell(1, "name"), "Base").await;
    browser.type_into(&cell(1, "percent_bps"), "3").await;
    browser.click("#add-tier").await;
    browser.type_into(&cell(2, "name"), "Silver").await;
    browser
        .type_into(&cell(2, "min_spend_minor"), "10000")
        .await;
    browser.type_into(&cell(2, "percent_bps"), "2").await;
    browser.click("#add-tier").await;
    browser.type_into(&cell(3, "name"), "Gold").await;
    browser
        .type_into(&cell(3, "min_spend_minor"), "50 000,00")
        .await;
    browser.type_into(&cell(3, "percent_bps"), "7").await;
    let error = "#tiers tbody tr:nth-child(2) .field-error";
    refused(&app, &browser, error, "must not decrease", 1).await;
    browser
        .screenshot(&format!("console-program-tiers-error-{size}"))
        .await;
    set(&browser, &cell(2, "percent_bps"), "5").await;
    let tiers = saved(&browser, "Volume tiers").await;

    // Cashback: money in the program's currency; a negative minimum order is refused.
    new_program(&browser, &app, "Cashback club", "cashback").await;
    browser.type_into("#cashback-percent", "3").await;
    browser.type_into("#cashback-min-order", "-5").await;
    set(&browser, "#cashback-max-share", "50").await;
    browser.type_into("#cashback-expiry", "365").await;
    let field = ".field[data-field='rules.min_order_minor']:not([hidden]) .field-error";
    refused(&app, &browser, field, "must not be negative", 2).await;
    set(&browser, "#cashback-min-order", "100").await;
    let cashback = saved(&browser, "Cashback club").await;

    // Stamps: fewer than two stamps is refused.
    new_program(&browser, &app, "Coffee stamps", "stamp").await;
    set(&browser, "#currency", "chf").await;
    browser.type_into("#stamps-required", "1").await;
    browser.type_into("#reward", "Free delivery").await;
    let field = ".field[data-field='rules.stamps_required'] .field-error";
    refused(&app, &browser, field, "", 3).await;
    set(&browser, "#stamps-required", "6").await;
    let stamp = saved(&browser, "Coffee stamps").await;
    browser
        .screenshot(&format!("console-program-edit-{size}"))
        .await;

    let rules = |id: &Value| {
        let id = id.as_str().expect("id").to_owned();
        let app = &app;
        async move { app.get_ok(&format!("/programs/{id}")).await["rules"].clone() }
    };
    assert_eq!(rules(&discount).await["percent_bps"], 750);
    let t = rules(&tiers).await;
    assert_eq!(
        t["tiers"][1],
        json!({"name": "Silver", "min_spend_minor": 1_000_000, "percent_bps": 500})
    );
    assert_eq!(t["tiers"][2]["min_spend_minor"], 5_000_000);
    let c = rules(&cashback).await;
    assert_eq!(
        (
            c["percent_bps"].clone(),
            c["min_order_minor"].clone(),
            c["max_redeem_share_bps"].clone(),
            c["expiry_days"].clone()
        ),
        (json!(300), json!(10_000), json!(5_000), json!(365))
    );
    let currency = app
        .get_ok(&format!("/programs/{}", stamp.as_str().expect("id")))
        .await["currency"]
        .clone();
    assert_eq!(currency, "CHF", "typed in lower case");
    let s = rules(&stamp).await;
    assert_eq!(
        (s["stamps_required"].clone(), s["reward"].clone()),
        (json!(6), json!("Free delivery"))
    );

    // The list shows the terms in words, with percentages and money as such.
    browser
        .client
        .goto(&format!("{}/console/programs", app.base))
        .await
        .expect("list");
    browser
        .wait_for_text("#programs", "7.5% off every order")
        .await;
    browser.wait_for_text("#programs", "100.00").await;
    browser
        .screenshot(&format!("console-programs-{size}"))
        .await;

    // An edit keeps the kind; ending the program marks it ended.
    browser
        .client
        .goto(&format!(
            "{}/console/programs/{}",
            app.base,
            stamp.as_str().expect("id")
        ))
        .await
        .expect("edit");
    set(&browser, "#reward", "Free coffee").await;
    browser.click("#save").await;
    browser.wait_for_text("#saved", "Saved.").await;
    assert_eq!(rules(&stamp).await["reward"], "Free coffee");
    browser.click("#end-program").await;
    browser.client.accept_alert().await.expect("confirm");
    browser.wait_for_text("#ended", "has ended").await;
    let ended = app
        .get_ok(&format!("/programs/{}", stamp.as_str().expect("id")))
        .await;
    assert_eq!(ended["status"], "ended");
}

#[tokio::test]
async fn an_admin_creates_a_program_of_each_kind_on_a_phone_fixing_what_the_form_refuses() {
    the_four_kinds_of_program(true).await;
}

#[tokio::test]
async fn an_admin_creates_a_program_of_each_kind_on_a_desktop_fixing_what_the_form_refuses() {
    the_four_kinds_of_program(false).await;
}

async fn goto(browser: &Browser, app: &TestApp, path: &str) {
    browser
        .client
        .goto(&format!("{}{path}", app.base))
        .await
        .expect("page");
}

async fn a_company_its_people_cards_and_invite(mobile: bool) {
    let size = if mobile { "phone" } else { "desktop" };
    let app = spawn_app(Engine::Sqlite).await;
    let program = app.create_program("cashback").await;
    let browser = Browser::start(mobile).await;
    browser
        .sign_in_to(&format!("{}/console/companies", app.base), &app.admin_key)
        .await;
    browser
        .wait_for_text("#empty", "Add your first client company")
        .await;

    // The company: a name is required, and the form says so next to it.
    browser.click("#new-company").await;
    browser.click("#save").await;
    browser
        .wait_for_text(
            ".field[data-field='name'] .field-error",
            "must not be empty",
        )
        .await;
    browser.type_into("#company-name", "Acme GmbH").await;
    browser.type_into("#company-erp", "K-1001").await;
    browser.click("#save").await;
    browser
        .wait_for_text("#company-name-title", "Acme GmbH")
        .await;
    browser.wait_for_text("#no-people", "Nobody yet").await;
    browser
        .screenshot(&format!("console-company-new-{size}"))
        .await;

    // A person: a wrong e-mail address is refused next to its field, then fixed.
    browser.type_into("#member-name", "Anna Petrova").await;
    browser
        .type_into("#member-role", "Head of purchasing")
        .await;
    browser.type_into("#member-email", "anna-at-acme").await;
    browser.click("#add-member").await;
    browser
        .wait_for_text(".field[data-field='email'] .field-error", "e-mail")
        .await;
    set(&browser, "#member-email", "anna@acme.example").await;
    browser.click("#add-member").await;
    browser.wait_for_text("#people", "Anna Petrova").await;
    browser.click("#people a.item-title").await;
    browser.wait_for_text("#member-name", "Anna Petrova").await;

    // A card, then an order booked by the ERP shows on it as money.
    browser.wait_for_text("#no-cards", "No card yet").await;
    browser.click("#issue").await;
    browser.wait_for_text("#card-1-status", "Active").await;
    browser.wait_for_text("#card-1-balance", "0.00").await;
    let account = app.get_ok("/accounts?q=K-1001").await["items"][0].clone();
    let member = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await["items"][0]
        .clone();
    let order = json!({"external_id": "ERP-1", "account_id": id(&account),
        "member_id": id(&member), "amount_minor": 100_000, "currency": "EUR",
        "placed_at": chrono::Utc::now().to_rfc3339()});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("#card-1-balance", "30.00").await;

    // A manual adjustment with a reason.
    browser.click("#card-1 details summary").await;
    browser.type_into("#card-1-amount", "5").await;
    browser
        .type_into("#card-1-reason", "Goodwill for a late delivery")
        .await;
    browser.click("#card-1-adjust button[type='submit']").await;
    browser.wait_for_text("#card-1-balance", "35.00").await;
    browser.wait_for_text("#saved", "Saved.").await;
    browser
        .wait_for_text("#card-1-adjustments", "Goodwill for a late delivery")
        .await;
    browser.wait_for_text("#card-1-adjustments", "+5.00").await;
    browser.screenshot(&format!("console-member-{size}")).await;

    // Suspend, then reactivate.
    browser.click("#card-1-suspend").await;
    browser.wait_for_text("#card-1-status", "Suspended").await;
    browser
        .screenshot(&format!("console-member-suspended-{size}"))
        .await;
    browser.click("#card-1-reactivate").await;
    browser.wait_for_text("#card-1-status", "Active").await;
    let cards = app.get_ok(&format!("/members/{}", id(&member))).await;
    assert_eq!(cards["name"], "Anna Petrova");

    // The company page: the person, the card's balance, the order and the totals.
    goto(
        &browser,
        &app,
        &format!("/console/companies/{}", id(&account)),
    )
    .await;
    browser.wait_for_text("#people", "35.00").await;
    browser.wait_for_text("#orders", "ERP-1").await;
    browser.wait_for_text("#totals", "1,000.00").await;
    browser.screenshot(&format!("console-company-{size}")).await;
    browser.click("details.panel summary").await;
    set(&browser, "#company-name", "Acme Industrial GmbH").await;
    browser.click("#save-company").await;
    browser
        .wait_for_text("#company-name-title", "Acme Industrial GmbH")
        .await;
    goto(&browser, &app, "/console/companies?q=k-1001").await;
    browser
        .wait_for_text("#companies", "Acme Industrial GmbH")
        .await;

    // An invite: its QR code and its link.
    goto(
        &browser,
        &app,
        &format!("/console/invites/new?account={}", id(&account)),
    )
    .await;
    let only = browser.find("#program-1").await;
    assert!(
        only.is_selected().await.expect("selected"),
        "the only program is chosen"
    );
    browser.type_into("#invite-uses", "10").await;
    browser.click("#create-invite").await;
    browser.wait_for_text("h1", "Acme Industrial GmbH").await;
    let qr_loaded = browser
        .client
        .execute(
            "return document.getElementById('qr').naturalWidth > 0",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(qr_loaded, json!(true), "the QR code image loads");
    let url = browser
        .find("#invite-url")
        .await
        .prop("value")
        .await
        .expect("value")
        .expect("a link");
    assert!(url.contains("/join/"), "{url}");
    browser.click("#copy-link").await;
    browser.find("#copied:not([hidden])").await;
    let invite_page = browser.client.current_url().await.expect("url");
    browser.wait_for_text("#nobody", "Nobody yet").await;
    browser.screenshot(&format!("console-invite-{size}")).await;
    goto(&browser, &app, "/console/invites").await;
    browser
        .wait_for_text("#invites", "Acme Industrial GmbH")
        .await;
    browser.wait_for_text("#invites", "0 of 10").await;

    // Revoking the invite closes it; erasing the person revokes their card.
    browser
        .client
        .goto(invite_page.as_str())
        .await
        .expect("the invite");
    browser.click("#revoke-invite").await;
    browser.client.accept_alert().await.expect("confirm");
    browser.wait_for_text("#invite-status", "Revoked").await;
    let person = format!(
        "/console/companies/{}/members/{}",
        id(&account),
        id(&member)
    );
    goto(&browser, &app, &person).await;
    browser.click("#send-card").await;
    browser.wait_for_text("#send-card-status", "Sent.").await;
    browser.click("details.panel summary").await;
    set(&browser, "#member-role", "Managing director").await;
    browser.click("#save-member").await;
    browser
        .wait_for_text("#member-contact", "Managing director")
        .await;
    browser.click("#erase").await;
    browser.client.accept_alert().await.expect("confirm");
    browser.wait_for_text("#erased", "was erased").await;
    browser.wait_for_text("#card-1-status", "Revoked").await;
    browser
        .screenshot(&format!("console-member-erased-{size}"))
        .await;
    assert_eq!(programs(&app).await.len(), 1, "{program}");
}

#[tokio::test]
async fn an_admin_adds_a_company_a_person_a_card_and_an_invite_on_a_phone() {
    a_company_its_people_cards_and_invite(true).await;
}

#[tokio::test]
async fn an_admin_adds_a_company_a_person_a_card_and_an_invite_on_a_desktop() {
    a_company_its_people_cards_and_invite(false).await;
}
