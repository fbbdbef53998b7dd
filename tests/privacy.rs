//! A person's data: erasing a member (`DELETE /api/v1/members/{id}`) and exporting everything
//! stored about them (`GET /api/v1/members/{id}/export`).

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use walletcards::enroll::EnrollForm;

use common::device::{Device, book, fetch, install, pass_json, pushes_to, register};
use common::{Engine, TestApp, assert_status, id, spawn_app};

on_both_engines!(
    erasing_a_member_anonymises_them_and_voids_every_card_but_keeps_the_books,
    the_erased_e_mail_is_unknown_and_may_enroll_anew,
    erasing_twice_answers_the_same_changes_nothing_more_and_issues_no_card,
    erasing_or_exporting_an_unknown_member_is_404,
    the_export_holds_what_is_stored_about_the_person_but_no_token,
);

const EMAIL: &str = "anna.petrova@example.test";

async fn erase(app: &TestApp, member_id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/members/{member_id}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .expect("request")
}

/// A cashback card in a company-wide balance, a second card of a stamp program, the first
/// one installed on a registered device, and an order booked: (account, card, second card).
async fn member_with_cards(app: &TestApp) -> (Value, Value, Value) {
    let (_, account, card) = app.issue_card_of(&common::program_body("cashback")).await;
    let stamps = app.create_program("stamp").await;
    let body = json!({"program_id": id(&stamps), "member_id": card["member_id"]});
    let second = app.post_ok("/cards", &body, StatusCode::CREATED).await;
    book(app, &card, "SO-1", 100_000).await;
    (account, card, second)
}

async fn erasing_a_member_anonymises_them_and_voids_every_card_but_keeps_the_books(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, card, second) = member_with_cards(&app).await;
    let device = Device::apple(1);
    let installed = install(&app, &card).await;
    assert_eq!(
        register(&app, &installed, &device).await,
        StatusCode::CREATED
    );
    let before = app.get_ok(&format!("/cards/{}", id(&card))).await;
    let pushes_before = pushes_to(&app, &device.push_token).await;
    let member_id = card["member_id"].as_str().expect("member id");

    let erased = assert_status(erase(&app, member_id).await, StatusCode::OK).await;
    assert_eq!(erased["name"], "Erased member");
    for gone in ["email", "phone", "role", "external_id"] {
        assert_eq!(erased[gone], Value::Null, "{gone}: {erased}");
    }
    assert!(erased["erased_at"].is_string(), "{erased}");
    let member = app.get_ok(&format!("/members/{member_id}")).await;
    assert_eq!(
        (&member["name"], &member["email"]),
        (&erased["name"], &Value::Null)
    );

    // Every card is revoked, with a new version the registered device is pushed once for.
    for c in [&card, &second] {
        let read = app.get_ok(&format!("/cards/{}", id(c))).await;
        assert_eq!(read["status"], "revoked", "{read}");
        assert_eq!(read["holder_name"], "Erased member");
    }
    let after = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
    assert_eq!(pushes_to(&app, &device.push_token).await, pushes_before + 1);
    let queued: Vec<(i64,)> = app
        .fetch(&format!(
            "SELECT card_version FROM outbox WHERE kind = 'apple_push' AND card_id = '{}' \
             ORDER BY id DESC LIMIT 1",
            id(&card)
        ))
        .await;
    assert_eq!(queued, [(after["version"].as_i64().unwrap(),)]);

    // The device fetches a voided pass without the name.
    let r = fetch(&app, &installed, Method::GET, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pass = pass_json(&r.bytes().await.expect("body"));
    assert_eq!(pass["voided"], true, "{pass}");
    assert!(!pass.to_string().contains("Anna Petrova"), "{pass}");

    // The company's books: the balance and the ledger stay.
    assert_eq!(
        after["balance"]["cashback_minor"],
        before["balance"]["cashback_minor"]
    );
    assert!(before["balance"]["cashback_minor"].as_i64().unwrap() > 0);
    let history = app.get_ok(&format!("/cards/{}/history", id(&card))).await;
    assert!(
        !history["items"].as_array().unwrap().is_empty(),
        "{history}"
    );
}

async fn the_erased_e_mail_is_unknown_and_may_enroll_anew(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, card, _) = member_with_cards(&app).await;
    let members = format!("/accounts/{}/members", id(&account));
    let again = json!({"name": "Anna Petrova", "email": EMAIL});
    let taken = app.post(&members, &again).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT, "the e-mail is in use");
    let order = |external_id: &str| {
        json!({"external_id": external_id, "account_id": id(&account), "member_email": EMAIL,
               "amount_minor": 20_000, "currency": "EUR", "placed_at": "2026-11-21T10:00:00Z"})
    };
    app.post_ok("/orders", &order("SO-2"), StatusCode::CREATED)
        .await;

    assert_status(
        erase(&app, card["member_id"].as_str().unwrap()).await,
        StatusCode::OK,
    )
    .await;

    let r = app.post("/orders", &order("SO-3")).await;
    assert!(
        r.status().is_client_error(),
        "the e-mail finds no one: {}",
        r.status()
    );
    let anew = app.post_ok(&members, &again, StatusCode::CREATED).await;
    assert_ne!(id(&anew), card["member_id"].as_str().unwrap());
    assert_eq!(anew["email"], EMAIL);
}

async fn erasing_twice_answers_the_same_changes_nothing_more_and_issues_no_card(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, card, _) = member_with_cards(&app).await;
    let device = Device::apple(2);
    let installed = install(&app, &card).await;
    register(&app, &installed, &device).await;
    let member_id = card["member_id"].as_str().unwrap();

    let first = assert_status(erase(&app, member_id).await, StatusCode::OK).await;
    let version = app.get_ok(&format!("/cards/{}", id(&card))).await["version"].clone();
    let outbox = app.outbox().await;
    let second = assert_status(erase(&app, member_id).await, StatusCode::OK).await;

    assert_eq!(first, second);
    // No new card for the erased person under the anonymised name.
    let stamps = app.create_program("stamp").await;
    let body = json!({"program_id": id(&stamps), "member_id": member_id});
    let refused = assert_status(
        app.post("/cards", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["error"]["code"], "member_erased");
    assert_eq!(
        app.get_ok(&format!("/cards/{}", id(&card))).await["version"],
        version
    );
    assert_eq!(app.outbox().await, outbox);
}

async fn erasing_or_exporting_an_unknown_member_is_404(engine: Engine) {
    let app = spawn_app(engine).await;
    for member in [format!("mem_{}", "0".repeat(32)), "not-an-id".into()] {
        let r = erase(&app, &member).await;
        let body = assert_status(r, StatusCode::NOT_FOUND).await;
        assert_eq!(body["error"]["code"], "not_found");
        let r = app.get(&format!("/members/{member}/export")).await;
        assert_status(r, StatusCode::NOT_FOUND).await;
    }
}

async fn the_export_holds_what_is_stored_about_the_person_but_no_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, invite) = app.create_invite("cashback", "Acme GmbH").await;
    let form = EnrollForm {
        name: "Anna Petrova".into(),
        role: "Purchasing manager".into(),
        email: EMAIL.into(),
        phone: Some("+49 30 1234567".into()),
        consent: true,
    };
    let token = invite["token"].as_str().expect("token");
    let (member, cards) = app.enroll_by_mail(token, form).await.expect("enrolled");
    let card = app.get_ok(&format!("/cards/{}", cards[0].id)).await;
    let device = Device::apple(3);
    let installed = install(&app, &card).await;
    register(&app, &installed, &device).await;
    book(&app, &card, "SO-9", 100_000).await;
    // A colleague's order moves the company's balance too, but is not the person's.
    let colleague = app
        .create_member(card["account_id"].as_str().unwrap(), "Boris Ivanov")
        .await;
    let order = json!({"external_id": "SO-10", "account_id": card["account_id"],
        "member_id": id(&colleague), "amount_minor": 50_000, "currency": "EUR",
        "placed_at": "2026-11-21T10:00:00Z"});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;

    let r = app.get(&format!("/members/{}/export", member.id)).await;
    let export = assert_status(r, StatusCode::OK).await;

    assert_eq!(export["member"]["email"], EMAIL);
    assert_eq!(export["member"]["phone"], "+49 30 1234567");
    assert_eq!(export["member"]["erased_at"], Value::Null);
    assert_eq!(export["consents"][0]["invite_id"], id(&invite));
    assert!(export["consents"][0]["consented_at"].is_string());
    let exported = &export["cards"][0];
    assert_eq!(
        (&exported["serial"], &exported["code"], &exported["status"]),
        (&card["serial"], &card["code"], &json!("active"))
    );
    let kinds: Vec<&str> = exported["ledger_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cashback_earned", "spend"], "{export}");
    assert_eq!(
        export["orders"].as_array().map(Vec::len),
        Some(1),
        "{export}"
    );
    assert_eq!(export["devices"][0]["device_library_id"], device.id);
    assert_eq!(export["devices"][0]["card_id"], id(&card));
    assert_eq!(export["orders"][0]["external_id"], "SO-9");
    assert_eq!(export["orders"][0]["amount_minor"], 100_000);

    let text = export.to_string();
    assert!(
        !text.contains(&installed.token),
        "the card's auth token is left out"
    );
    assert!(!text.contains("auth_token"), "{text}");
}
