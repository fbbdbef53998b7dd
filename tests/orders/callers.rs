//! Who books decides the key space (`source`) and, for the desk, the order's date: a desk key
//! cannot take the ERP's external ids nor refund its orders, nor backdate an order; and every
//! money input is bounded (±10^13 minor units) instead of wrapping.

use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::http::auth::create_api_key;
use walletcards::store::Role;

use super::common::{Engine, TestApp, id, spawn_app};
use super::{company, order};

async fn key(app: &TestApp, role: Role) -> String {
    create_api_key(&app.state.store, role.as_str(), role)
        .await
        .expect("key")
}

/// A desk's order: no `placed_at`, the server dates it.
fn desk_order(c: &super::Company, external_id: &str, amount: i64) -> Value {
    let mut body = order(c, external_id, amount);
    body.as_object_mut().expect("object").remove("placed_at");
    body
}

async fn a_desk_books_and_refunds_in_its_own_key_space_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, super::common::program_body("cashback")).await;
    let desk = key(&app, Role::Desk).await;

    let mut as_erp = desk_order(&c, "ERP-7", 50_000);
    as_erp["source"] = json!("erp");
    let (status, body) = app.post_as(&desk, "/orders", &as_erp).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "source_not_allowed");
    assert_eq!(body["error"]["field"], "source");
    let (status, body) = app
        .post_as(&desk, "/orders", &desk_order(&c, "ERP-7", 50_000))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["order"]["source"], "desk");

    // The ERP's own delivery of ERP-7 is not taken by the desk's order.
    let delivered = order(&c, "ERP-7", 120_000);
    let erp = key(&app, Role::ErpWebhook).await;
    let (status, body) = app.post_as(&erp, "/orders", &delivered).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["order"]["source"], "erp");
    let mut elsewhere = order(&c, "ERP-8", 1_000);
    elsewhere["source"] = json!("desk");
    let (status, _) = app.post_as(&erp, "/orders", &elsewhere).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an ERP key books as erp only"
    );

    // A desk refunds desk orders only: the ERP's order is not found in the desk's key space.
    let refund = json!({"external_id": "R-1", "amount_minor": 10_000});
    let mut named = refund.clone();
    named["source"] = json!("erp");
    let (status, body) = app.post_as(&desk, "/orders/ERP-7/refunds", &named).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["field"], "source");
    let mut elsewhere_refund = order(&c, "ERP-9", 30_000);
    elsewhere_refund["source"] = json!("erp");
    app.post_ok("/orders", &elsewhere_refund, StatusCode::CREATED)
        .await;
    let (status, body) = app.post_as(&desk, "/orders/ERP-9/refunds", &refund).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["field"], "order_external_id");
    let (status, body) = app.post_as(&desk, "/orders/ERP-7/refunds", &refund).await;
    assert_eq!(status, StatusCode::CREATED, "its own order: {body}");
    assert_eq!(body["refund"]["source"], "desk");

    // An admin key may name any source, and books as erp by default.
    let mut shop = order(&c, "S-1", 20_000);
    shop["source"] = json!("shop");
    let booked = app.post_ok("/orders", &shop, StatusCode::CREATED).await;
    assert_eq!(booked["order"]["source"], "shop");
    let booked = app
        .post_ok("/orders", &order(&c, "S-2", 20_000), StatusCode::CREATED)
        .await;
    assert_eq!(booked["order"]["source"], "erp");
}

async fn a_desk_dates_its_orders_now_and_cannot_backdate_them(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, super::common::program_body("cashback")).await;
    let desk = key(&app, Role::Desk).await;
    let before = chrono::Utc::now();
    let undated = desk_order(&c, "D-1", 50_000);
    let (status, body) = app.post_as(&desk, "/orders", &undated).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let placed: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["order"]["placed_at"].clone()).expect("a time");
    assert!(
        placed >= before - chrono::TimeDelta::seconds(1) && placed <= chrono::Utc::now(),
        "dated now: {placed}"
    );
    let (status, _) = app.post_as(&desk, "/orders", &undated).await;
    assert_eq!(status, StatusCode::OK, "its replay is the same body");

    let hours_ago = |h: i64| (chrono::Utc::now() - chrono::TimeDelta::hours(h)).to_rfc3339();
    for (n, (placed_at, expected)) in [
        (
            "0001-01-01T00:00:00Z".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (hours_ago(25), StatusCode::UNPROCESSABLE_ENTITY),
        (hours_ago(-1), StatusCode::UNPROCESSABLE_ENTITY),
        (hours_ago(23), StatusCode::CREATED),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = desk_order(&c, &format!("D-{}", n + 2), 50_000);
        body["placed_at"] = json!(placed_at);
        let (status, answer) = app.post_as(&desk, "/orders", &body).await;
        assert_eq!(status, expected, "{placed_at}: {answer}");
        if expected != StatusCode::CREATED {
            assert_eq!(answer["error"]["field"], "placed_at");
        }
    }

    // The ERP may deliver late, and must say when the order was placed.
    let mut late = order(&c, "E-1", 50_000);
    late["placed_at"] = json!(hours_ago(24 * 400));
    app.post_ok("/orders", &late, StatusCode::CREATED).await;
    let mut undated = late.clone();
    undated["external_id"] = json!("E-2");
    undated.as_object_mut().expect("object").remove("placed_at");
    let answer = app
        .post_ok("/orders", &undated, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(answer["error"]["field"], "placed_at");
}

async fn money_inputs_beyond_ten_to_the_thirteen_are_refused_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, super::common::program_body("cashback")).await;
    let card = id(&c.cards[0]);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    for amount in [
        i64::MIN,
        i64::MIN + 1,
        -10_000_000_000_001,
        10_000_000_000_001,
    ] {
        let body = json!({"external_id": format!("A-{amount}"), "amount": amount,
                          "author": "Ops", "reason": "test"});
        let answer = app
            .post_ok(&format!("/cards/{card}/adjustments"), &body, unprocessable)
            .await;
        assert_eq!(answer["error"]["field"], "amount", "{amount}");
    }
    let history = app.get_ok(&format!("/cards/{card}/history")).await;
    assert_eq!(history["items"], json!([]), "nothing reached the ledger");
    let body = json!({"external_id": "A-max", "amount": 10_000_000_000_000_i64,
                      "author": "Ops", "reason": "the bound itself is allowed"});
    app.post_ok(
        &format!("/cards/{card}/adjustments"),
        &body,
        StatusCode::CREATED,
    )
    .await;

    let too_much = 10_000_000_000_001_i64;
    let answer = app
        .post_ok("/orders", &order(&c, "O-1", too_much), unprocessable)
        .await;
    assert_eq!(answer["error"]["field"], "amount_minor");
    let mut redeeming = order(&c, "O-2", 100_000);
    redeeming["cashback_redeemed_minor"] = json!(i64::MAX);
    let answer = app.post_ok("/orders", &redeeming, unprocessable).await;
    assert_eq!(answer["error"]["field"], "cashback_redeemed_minor");
    app.post_ok("/orders", &order(&c, "O-3", 100_000), StatusCode::CREATED)
        .await;
    let refund = json!({"external_id": "R-1", "amount_minor": too_much});
    let answer = app
        .post_ok("/orders/O-3/refunds", &refund, unprocessable)
        .await;
    assert_eq!(answer["error"]["field"], "amount_minor");

    let mut program = super::common::program_body("cashback");
    program["rules"]["min_order_minor"] = json!(too_much);
    let answer = app.post_ok("/programs", &program, unprocessable).await;
    assert_eq!(answer["error"]["field"], "rules.min_order_minor");
    let mut program = super::common::program_body("cumulative_discount");
    program["rules"]["tiers"][2]["min_spend_minor"] = json!(i64::MAX);
    let answer = app.post_ok("/programs", &program, unprocessable).await;
    assert_eq!(answer["error"]["field"], "rules.tiers[2].min_spend_minor");
    let mut program = super::common::program_body("stamp");
    program["rules"]["stamp_every_minor"] = json!(too_much);
    let answer = app.post_ok("/programs", &program, unprocessable).await;
    assert_eq!(answer["error"]["field"], "rules.stamp_every_minor");
}

async fn a_stamp_card_is_adjusted_by_at_most_a_thousand_stamps(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("stamp").await;
    let path = format!("/cards/{}/adjustments", id(&card));
    let adjust = |n: i64| json!({"external_id": format!("A{n}"), "amount": n, "author": "Ops", "reason": "x"});
    for too_many in [1_001, -1_001, 10_000_000_000_000] {
        let answer = app
            .post_ok(&path, &adjust(too_many), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(answer["error"]["field"], "amount", "{too_many}");
    }
    let booked = app
        .post_ok(&path, &adjust(1_000), StatusCode::CREATED)
        .await;
    assert_eq!(booked["cards"][0]["balance"]["rewards_available"], 200);
}

crate::on_both_engines!(
    a_desk_books_and_refunds_in_its_own_key_space_only,
    a_desk_dates_its_orders_now_and_cannot_backdate_them,
    money_inputs_beyond_ten_to_the_thirteen_are_refused_naming_the_field,
    a_stamp_card_is_adjusted_by_at_most_a_thousand_stamps,
);
