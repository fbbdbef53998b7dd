//! Google Wallet end to end: the real application, dispatching to the loopback fake of the
//! Wallet REST API and token endpoint, on SQLite and on PostgreSQL. A card issued gets its
//! class and object; orders PATCH the object, notifying within Google's 3 per day (most
//! important first); revoking makes the object INACTIVE; 5xx is retried and applied once; a
//! vanished object is inserted again; configuration errors become dead letters.

use crate::common;

use std::time::Duration;

use common::google_fake::verify_jwt;
use common::{Engine, Google, TestApp, eventually, id, spawn_app, spawn_google_app as google_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{GOOGLE_ISSUER as ISSUER, GOOGLE_ORIGIN as ORIGIN};
const WITHIN: Duration = Duration::from_secs(20);

/// A card of a new program with `rules` of `kind`, for a new company's decision-maker.
async fn issue(app: &TestApp, kind: &str, rules: Value) -> (Value, Value, Value) {
    let mut body = common::program_body(kind);
    body["rules"] = rules;
    app.issue_card_of(&body).await
}

async fn order(app: &TestApp, account: &Value, card: &Value, external_id: &str, amount: i64) {
    let body = json!({
        "external_id": external_id,
        "account_id": id(account),
        "member_id": card["member_id"],
        "amount_minor": amount,
        "currency": "EUR",
        "placed_at": chrono::Utc::now().to_rfc3339(),
    });
    app.post_ok("/orders", &body, StatusCode::CREATED).await;
}

/// Waits until Google has the card's current version (every delivery applied).
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
    eventually("no Google delivery is pending", WITHIN, async || {
        let rows: Vec<(i64,)> = g
            .app
            .fetch("SELECT COUNT(*) FROM outbox WHERE kind = 'google_object' AND state = 'pending'")
            .await;
        rows[0].0 == 0
    })
    .await;
}

fn points(object: &Value) -> (Value, Value) {
    (
        object["loyaltyPoints"]["balance"].clone(),
        object["secondaryLoyaltyPoints"]["balance"].clone(),
    )
}

async fn fetch_png(app: &TestApp, url: &str) {
    let r = app.client.get(url).send().await.expect("image");
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    assert_eq!(r.headers()["content-type"], "image/png");
    let bytes = r.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG"), "{url} is a PNG");
}

async fn a_card_gets_its_class_and_object_then_follows_orders_to_revocation(engine: Engine) {
    let g = google_app(engine, ISSUER).await;
    let rules = json!({"stamps_required": 2, "min_order_minor": 0, "reward": "Free delivery"});
    let (program, account, card) = issue(&g.app, "stamp", rules).await;
    let (object_id, class_id) = (
        format!("{ISSUER}.{}", id(&card)),
        format!("{ISSUER}.{}", id(&program)),
    );

    // The save link: skinny, signed by the service account (checked with openssl here).
    let link = card["google_save_url"].as_str().expect("a save link");
    let jwt = link
        .strip_prefix("https://pay.google.com/gp/v/save/")
        .expect("Google's save URL");
    assert!(jwt.len() < 1_800, "{} characters", jwt.len());
    let (_, claims) = verify_jwt(jwt, &g.account.public_key_pem).expect("signature verifies");
    assert_eq!(claims["iss"], g.account.email.as_str());
    assert_eq!(claims["aud"], "google");
    assert_eq!(claims["typ"], "savetowallet");
    assert_eq!(claims["origins"], json!([ORIGIN]));
    assert_eq!(
        claims["payload"],
        json!({"loyaltyObjects": [{"id": object_id, "classId": class_id}]})
    );

    // The class and the object, as the card shows.
    synced(&g, id(&card)).await;
    let class = g.fake.class(&class_id).expect("the class was inserted");
    assert_eq!(class["programName"], program["name"]);
    assert_eq!(class["reviewStatus"], "UNDER_REVIEW");
    assert_eq!(class["hexBackgroundColor"], "#16345c");
    let logo = class["programLogo"]["sourceUri"]["uri"]
        .as_str()
        .expect("a logo");
    assert!(
        logo.starts_with(&format!("{}/images/", g.app.base)),
        "{logo}"
    );
    fetch_png(&g.app, logo).await;
    let object = g.fake.object(&object_id).expect("the object was inserted");
    assert_eq!(object["classId"], class_id.as_str());
    assert_eq!(object["state"], "ACTIVE");
    assert_eq!(object["accountName"], "Anna Petrova");
    assert_eq!(object["barcode"]["type"], "QR_CODE");
    assert_eq!(object["barcode"]["alternateText"], card["code"]);
    assert_eq!(points(&object).0, json!({"string": "0/2"}));
    assert_eq!(
        object["loyaltyPoints"]["localizedLabel"]["translatedValues"],
        json!([{"language": "ru", "value": "Штампы"}, {"language": "zh-Hans", "value": "印章"}]),
        "a phone in Russian or Chinese shows the design's words"
    );
    assert_eq!(
        class["localizedAccountNameLabel"]["translatedValues"][0],
        json!({"language": "ru", "value": "Участник"})
    );
    let member_page = object["linksModuleData"]["uris"][0]["uri"]
        .as_str()
        .expect("a link to the member page");
    assert!(
        member_page.starts_with(&format!(
            "{}/m/{}?t=",
            g.app.base,
            card["serial"].as_str().expect("serial")
        )),
        "{member_page}"
    );
    let hero = object["heroImage"]["sourceUri"]["uri"]
        .as_str()
        .expect("a stamp grid");
    assert!(hero.contains("/images/stamps-v1-0-2-"), "{hero}");
    fetch_png(&g.app, hero).await;

    // Orders: stamp, reward, stamp, reward, stamp, reward. A stamp may use the day's first
    // notification only, a reward any of the three; the fourth worthy change goes silently.
    let expected = [
        ("1/2", 0, 1),
        ("0/2", 1, 2),
        ("1/2", 1, 2),
        ("0/2", 2, 3),
        ("1/2", 2, 3),
        ("0/2", 3, 3),
    ];
    for (n, (stamps, rewards, notified)) in expected.into_iter().enumerate() {
        order(&g.app, &account, &card, &format!("S-{n}"), 10_000).await;
        synced(&g, id(&card)).await;
        let object = g.fake.object(&object_id).expect("object");
        assert_eq!(
            points(&object),
            (json!({"string": stamps}), json!({"int": rewards})),
            "after order {n}"
        );
        assert_eq!(
            g.fake.notifications(&object_id),
            notified,
            "after order {n}"
        );
    }
    let counted: Vec<(i64,)> = g
        .app
        .fetch("SELECT COUNT(*) FROM google_notifications")
        .await;
    assert_eq!(counted[0].0, 3, "the budget is kept in the database");
    // Our count lost (a restored database): Google refuses the notification, and the same
    // update goes silently.
    g.app.execute_sql("DELETE FROM google_notifications").await;
    order(&g.app, &account, &card, "S-6", 10_000).await;
    synced(&g, id(&card)).await;
    let object = g.fake.object(&object_id).expect("object");
    assert_eq!(points(&object).0, json!({"string": "1/2"}));
    assert_eq!(g.fake.notifications(&object_id), 3);
    let counted: Vec<(i64,)> = g
        .app
        .fetch("SELECT COUNT(*) FROM google_notifications")
        .await;
    assert_eq!(counted[0].0, 3, "the refused budget is marked spent");

    // Revoked: Google moves the card to expired passes.
    g.app
        .post_ok(
            &format!("/cards/{}/revoke", id(&card)),
            &json!({}),
            StatusCode::OK,
        )
        .await;
    synced(&g, id(&card)).await;
    assert_eq!(
        g.fake.object(&object_id).expect("object")["state"],
        "INACTIVE"
    );
    assert_eq!(
        g.fake.requests("POST", "/walletobjects/v1/loyaltyClass"),
        1,
        "the class was inserted once"
    );
    let metrics = g.app.metrics().await;
    assert!(
        metrics.contains(
            "walletcards_deliveries_total{channel=\"google\",outcome=\"delivered\",reason=\"notified\"} 3"
        ),
        "{metrics}"
    );
}

async fn server_errors_are_retried_and_a_vanished_object_is_inserted_again(engine: Engine) {
    let g = google_app(engine, ISSUER).await;
    let rules = json!({"percent_bps": 300, "min_order_minor": 0});
    let (program, account, card) = issue(&g.app, "cashback", rules).await;
    let object_id = format!("{ISSUER}.{}", id(&card));
    synced(&g, id(&card)).await;
    let path = format!("/walletobjects/v1/loyaltyObject/{object_id}");

    // New branding: the class is updated (409 on insert → PUT, under review again).
    let class_id = format!("{ISSUER}.{}", id(&program));
    let branding = json!({"branding": {"background_color": "#aa3300"}});
    let r = g
        .app
        .patch(&format!("/programs/{}", id(&program)), &branding)
        .await;
    common::assert_status(r, StatusCode::OK).await;
    synced(&g, id(&card)).await;
    let class = g.fake.class(&class_id).expect("class");
    assert_eq!(class["hexBackgroundColor"], "#aa3300");
    assert_eq!(class["reviewStatus"], "UNDER_REVIEW");
    let class_path = format!("/walletobjects/v1/loyaltyClass/{class_id}");
    assert_eq!(g.fake.requests("PUT", &class_path), 1);
    let patches_before = g.fake.requests("PATCH", &path);

    // 500 twice, then 200: three PATCHes, one applied change, one notification.
    g.fake.fail_next(500, 2);
    order(&g.app, &account, &card, "C-1", 100_000).await;
    synced(&g, id(&card)).await;
    assert_eq!(g.fake.requests("PATCH", &path) - patches_before, 3);
    let object = g.fake.object(&object_id).expect("object");
    assert_eq!(
        points(&object).0,
        json!({"money": {"micros": "30000000", "currencyCode": "EUR"}})
    );
    assert_eq!(g.fake.notifications(&object_id), 1);
    let rows: Vec<(i32, String)> = g
        .app
        .fetch("SELECT attempts, state FROM outbox WHERE kind = 'google_object' ORDER BY id")
        .await;
    assert_eq!(
        rows,
        [
            (1, "done".to_owned()),
            (1, "done".to_owned()),
            (3, "done".to_owned())
        ],
        "insert, the new branding, then the order's PATCH on its third attempt"
    );

    // The object vanished on Google's side: the next change inserts it again.
    g.fake.forget_object(&object_id);
    order(&g.app, &account, &card, "C-2", 100_000).await;
    synced(&g, id(&card)).await;
    let object = g.fake.object(&object_id).expect("inserted again");
    assert_eq!(
        points(&object).0,
        json!({"money": {"micros": "60000000", "currencyCode": "EUR"}})
    );
    assert_eq!(
        g.fake.requests("POST", "/walletobjects/v1/loyaltyObject"),
        2
    );
}

async fn an_issuer_the_service_account_may_not_use_is_a_dead_letter(engine: Engine) {
    let g = google_app(engine, "3388000000099999999").await;
    let rules = json!({"percent_bps": 500});
    let (_, _, card) = issue(&g.app, "discount", rules).await;
    assert!(card["google_save_url"].is_string());
    eventually("the delivery is a dead letter", WITHIN, async || {
        let dead = g.app.get_ok("/outbox/dead").await;
        dead["items"].as_array().is_some_and(|items| {
            items.len() == 1
                && items[0]["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("permissionDenied"))
        })
    })
    .await;
    assert_eq!(
        g.fake.requests("POST", "/walletobjects/v1/loyaltyClass"),
        1,
        "refused once, not retried"
    );
}

async fn without_google_settings_cards_have_no_google_side(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("discount").await;
    assert!(card.get("google_save_url").is_none(), "{card}");
    let rows: Vec<(i64,)> = app
        .fetch("SELECT COUNT(*) FROM cards WHERE google_object_id IS NOT NULL")
        .await;
    assert_eq!(rows[0].0, 0);
}

async fn a_card_issued_while_google_was_off_gets_its_object_when_its_holder_looks(engine: Engine) {
    let g = google_app(engine, ISSUER).await;
    let rules = json!({"percent_bps": 500});
    let (_, _, card) = issue(&g.app, "discount", rules).await;
    synced(&g, id(&card)).await;
    // As if issued before Google Wallet was switched on.
    let object_id = format!("{ISSUER}.{}", id(&card));
    g.fake.forget_object(&object_id);
    g.app
        .execute_sql(&format!(
            "UPDATE cards SET google_object_id = NULL, google_synced_version = NULL WHERE id = '{}'",
            id(&card)
        ))
        .await;
    let shown = g.app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert!(shown.get("google_save_url").is_none());

    let rows: Vec<(String,)> = g
        .app
        .fetch(&format!(
            "SELECT auth_token FROM cards WHERE id = '{}'",
            id(&card)
        ))
        .await;
    let page = format!(
        "{}/m/{}?t={}",
        g.app.base,
        card["serial"].as_str().expect("serial"),
        rows[0].0
    );
    let html = g.app.client.get(&page).send().await.expect("page");
    let html = html.text().await.expect("html");
    assert!(html.contains("id=\"add-google\""), "{html}");
    synced(&g, id(&card)).await;
    let object = g.fake.object(&object_id).expect("the object was inserted");
    assert_eq!(object["state"], "ACTIVE");
}

on_both_engines!(
    a_card_issued_while_google_was_off_gets_its_object_when_its_holder_looks,
    a_card_gets_its_class_and_object_then_follows_orders_to_revocation,
    server_errors_are_retried_and_a_vanished_object_is_inserted_again,
    an_issuer_the_service_account_may_not_use_is_a_dead_letter,
    without_google_settings_cards_have_no_google_side,
);
