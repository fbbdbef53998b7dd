//! Orders move balances: the worked examples of loyalty-rules.md through the HTTP API,
//! idempotency by external id, validation that writes nothing, and concurrent bookings that
//! all count — on SQLite and on PostgreSQL.

use crate::common;

use std::io::{Cursor, Read};

/// Who books: key spaces by caller, desk dates, bounded money inputs.
#[path = "orders/callers.rs"]
mod callers;

/// Concurrent refunds of one order.
#[path = "orders/refunds.rs"]
mod refunds;

use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A program of `kind`, a company with two decision-makers and their cards.
struct Company {
    account: Value,
    cards: Vec<Value>,
    members: Vec<Value>,
}

async fn company(app: &TestApp, program_body: Value) -> Company {
    let program = app
        .post_ok("/programs", &program_body, StatusCode::CREATED)
        .await;
    let account = app.create_account("Acme GmbH").await;
    let mut cards = Vec::new();
    let mut members = Vec::new();
    for name in ["Anna Petrova", "Li Wei"] {
        let member = app.create_member(id(&account), name).await;
        let body = json!({"program_id": id(&program), "member_id": id(&member)});
        cards.push(app.post_ok("/cards", &body, StatusCode::CREATED).await);
        members.push(member);
    }
    Company {
        account,
        cards,
        members,
    }
}

fn order(c: &Company, external_id: &str, amount: i64) -> Value {
    json!({
        "external_id": external_id,
        "account_id": id(&c.account),
        "member_id": id(&c.members[0]),
        "amount_minor": amount,
        "currency": "EUR",
        "placed_at": "2026-11-20T10:00:00+01:00",
    })
}

fn with_scope(mut body: Value, scope: &str) -> Value {
    body["balance_scope"] = json!(scope);
    body
}

async fn card(app: &TestApp, card: &Value) -> Value {
    app.get_ok(&format!("/cards/{}", id(card))).await
}

async fn cumulative_discount_follows_the_worked_example(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("cumulative_discount")).await;
    let first = app
        .post_ok("/orders", &order(&c, "A-1", 400_000), StatusCode::CREATED)
        .await;
    assert_eq!(first["applied_percent_bps"], 300);
    let second = app
        .post_ok("/orders", &order(&c, "A-2", 700_000), StatusCode::CREATED)
        .await;
    assert_eq!(
        second["applied_percent_bps"], 300,
        "the crossing order is priced at the old percentage"
    );
    for card_body in &c.cards {
        let shown = card(&app, card_body).await;
        assert_eq!(shown["balance"]["spend_minor"], 1_100_000);
        assert_eq!(shown["balance"]["tier"], "Silver");
        assert_eq!(shown["balance"]["percent_bps"], 500);
        assert_eq!(shown["balance"]["next_tier_remaining_minor"], 3_900_000);
        assert_eq!(
            shown["version"], 3,
            "both orders changed every card of the company"
        );
    }
    let refund = json!({"external_id": "R-1", "amount_minor": 200_000});
    app.post_ok("/orders/A-2/refunds", &refund, StatusCode::CREATED)
        .await;
    let shown = card(&app, &c.cards[1]).await;
    assert_eq!(shown["balance"]["spend_minor"], 900_000);
    assert_eq!(shown["balance"]["tier"], "Base");
    let history = app
        .get_ok(&format!("/cards/{}/history", id(&c.cards[1])))
        .await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["spend", "spend", "spend"]);
    assert_eq!(history["items"][2]["amount"], -200_000);
    assert_eq!(history["items"][2]["event_type"], "refund");
}

async fn cashback_follows_the_worked_example(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, with_scope(common::program_body("cashback"), "member")).await;
    app.post_ok("/orders", &order(&c, "C-1", 100_000), StatusCode::CREATED)
        .await;
    app.post_ok("/orders", &order(&c, "C-2", 9_999), StatusCode::CREATED)
        .await;
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["cashback_minor"], 3_000);
    assert_eq!(
        shown["version"], 2,
        "an order that earns nothing changes nothing"
    );
    let other = card(&app, &c.cards[1]).await;
    assert_eq!(
        other["balance"]["cashback_minor"], 0,
        "member scope: the colleague's card is untouched"
    );
    let mut too_much = order(&c, "C-3", 50_000);
    too_much["cashback_redeemed_minor"] = json!(3_001);
    let err = common::assert_status(
        app.post("/orders", &too_much).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "redemption_exceeds_allowed");
    assert_eq!(err["error"]["allowed_max_minor"], 3_000);
    too_much["cashback_redeemed_minor"] = json!(3_000);
    app.post_ok("/orders", &too_much, StatusCode::CREATED).await;
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["cashback_minor"], 1_410);
    let refund = json!({"external_id": "R-C3", "amount_minor": 25_000});
    app.post_ok("/orders/C-3/refunds", &refund, StatusCode::CREATED)
        .await;
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["cashback_minor"], 705);
    assert_eq!(shown["balance"]["last_credit_minor"], 1_410);
}

async fn stamps_follow_the_worked_example(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("stamp")).await;
    for n in 0..6 {
        let body = order(&c, &format!("S-{n}"), 50_000);
        app.post_ok("/orders", &body, StatusCode::CREATED).await;
    }
    let shown = card(&app, &c.cards[1]).await;
    assert_eq!(shown["balance"]["stamps"], 1);
    assert_eq!(shown["balance"]["rewards_available"], 1);
    let redeem = json!({"external_id": "RW-1", "kind": "reward"});
    let path = format!("/cards/{}/redemptions", id(&c.cards[1]));
    app.post_ok(&path, &redeem, StatusCode::CREATED).await;
    let again = app.post_ok(&path, &redeem, StatusCode::OK).await;
    assert_eq!(again["redemption"]["external_id"], "RW-1");
    let err = common::assert_status(
        app.post(&path, &json!({"external_id": "RW-2", "kind": "reward"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "no_reward_available");
    let refund = json!({"external_id": "R-S0", "amount_minor": 50_000});
    app.post_ok("/orders/S-0/refunds", &refund, StatusCode::CREATED)
        .await;
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["stamps"], 0);
    assert_eq!(shown["balance"]["rewards_available"], 0);
}

fn unzip_pass_json(bytes: &[u8]) -> Value {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut file = zip.by_name("pass.json").expect("pass.json");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("utf-8");
    serde_json::from_str(&text).expect("json")
}

async fn the_pass_shows_the_new_balance_with_a_change_message(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("stamp")).await;
    app.post_ok("/orders", &order(&c, "P-1", 60_000), StatusCode::CREATED)
        .await;
    let response = app
        .get(&format!("/cards/{}/pass.pkpass", id(&c.cards[0])))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pass = unzip_pass_json(&response.bytes().await.expect("bytes"));
    let fields: Vec<&Value> = [
        "headerFields",
        "primaryFields",
        "secondaryFields",
        "auxiliaryFields",
    ]
    .iter()
    .filter_map(|area| pass["storeCard"][area].as_array())
    .flatten()
    .collect();
    let with_message: Vec<&&Value> = fields
        .iter()
        .filter(|f| f.get("changeMessage").is_some())
        .collect();
    assert_eq!(
        with_message.len(),
        1,
        "one field carries the message: {pass}"
    );
    assert!(
        with_message[0]["value"].to_string().contains('1'),
        "the stamp count moved: {}",
        with_message[0]
    );
}

async fn an_order_is_idempotent_by_its_external_id(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("cashback")).await;
    let body = order(&c, "I-1", 100_000);
    let first = app.post_ok("/orders", &body, StatusCode::CREATED).await;
    let replay = app.post_ok("/orders", &body, StatusCode::OK).await;
    assert_eq!(
        first, replay,
        "a replay answers what the first booking answered"
    );
    let mut same_instant = body.clone();
    same_instant["placed_at"] = json!("2026-11-20T09:00:00Z");
    app.post_ok("/orders", &same_instant, StatusCode::OK).await;
    let mut different = body.clone();
    different["amount_minor"] = json!(100_001);
    let err =
        common::assert_status(app.post("/orders", &different).await, StatusCode::CONFLICT).await;
    assert_eq!(err["error"]["field"], "external_id");
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["cashback_minor"], 3_000, "counted once");
    // Two identical deliveries at the same moment: one books, the other replays.
    let twin = order(&c, "I-2", 100_000);
    let (a, b) = tokio::join!(app.post("/orders", &twin), app.post("/orders", &twin));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    let shown = card(&app, &c.cards[0]).await;
    assert_eq!(shown["balance"]["cashback_minor"], 6_000);
    // A replay still answers as the first time after the program ended, though a new order
    // would now be refused.
    let program = c.cards[0]["program_id"].as_str().expect("program id");
    let ended = app
        .patch(&format!("/programs/{program}"), &json!({"status": "ended"}))
        .await;
    assert_eq!(ended.status(), StatusCode::OK);
    let again = app.post_ok("/orders", &body, StatusCode::OK).await;
    assert_eq!(again, first);
    let late = order(&c, "I-3", 100_000);
    let err = common::assert_status(
        app.post("/orders", &late).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "no_active_program", "{err}");
}

async fn bad_orders_get_a_clear_error_and_change_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, with_scope(common::program_body("cashback"), "member")).await;
    let other = app.create_account("Other AG").await;
    let stranger = app.create_member(id(&other), "Max Muster").await;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"currency": "USD"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency",
        ),
        (
            json!({"amount_minor": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_minor",
        ),
        (
            json!({"amount_minor": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_minor",
        ),
        (
            json!({"placed_at": "2026-11-20T10:00:00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "placed_at",
        ),
        (
            json!({"placed_at": "2999-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "placed_at",
        ),
        (
            json!({"account_id": "acc_0190b7a8-0000-7000-8000-000000000000"}),
            StatusCode::NOT_FOUND,
            "account_id",
        ),
        (
            json!({"member_id": id(&stranger)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "member_id",
        ),
        (
            json!({"member_id": null}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "member_id",
        ),
        (
            json!({"member_id": null, "card_code": "ZZZZ-ZZZZ-ZZZZ"}),
            StatusCode::NOT_FOUND,
            "card_code",
        ),
    ];
    for (n, (patch, status, field)) in cases.into_iter().enumerate() {
        let mut body = order(&c, &format!("BAD-{n}"), 20_000);
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let err = common::assert_status(app.post("/orders", &body).await, status).await;
        assert_eq!(err["error"]["field"], field, "case {n}: {err}");
    }
    // A rejected request does not consume its external id.
    app.post_ok("/orders", &order(&c, "BAD-0", 20_000), StatusCode::CREATED)
        .await;
    let refund = json!({"external_id": "R-X", "amount_minor": 20_001});
    let err = common::assert_status(
        app.post("/orders/BAD-0/refunds", &refund).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["allowed_max_minor"], 20_000);
    let err = common::assert_status(
        app.post(
            "/orders/NOPE/refunds",
            &json!({"external_id": "R-Y", "amount_minor": 1}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(err["error"]["field"], "order_external_id");
    // A suspended card cannot be booked on.
    app.post_ok(
        &format!("/cards/{}/suspend", id(&c.cards[1])),
        &json!({}),
        StatusCode::OK,
    )
    .await;
    let mut scanned = order(&c, "BAD-S", 20_000);
    scanned["member_id"] = Value::Null;
    scanned["card_code"] = c.cards[1]["code"].clone();
    let err = common::assert_status(
        app.post("/orders", &scanned).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(err["error"]["code"], "card_not_active");
    let history = app
        .get_ok(&format!("/cards/{}/history", id(&c.cards[0])))
        .await;
    assert_eq!(
        history["items"].as_array().map(Vec::len),
        Some(2),
        "only the one good order is in the ledger (spend + cashback)"
    );
}

/// 8 clients × 250 orders for one account-scoped program, with a tenth delivered twice.
async fn concurrent_orders_for_one_holder_all_count_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("cashback")).await;
    let app = std::sync::Arc::new(app);
    let company_orders: Vec<Value> = (0..2_000)
        .map(|n| order(&c, &format!("P-{n}"), 10_000 + (n * 7_919) % 90_000))
        .collect();
    let expected: i64 = company_orders
        .iter()
        .map(|o| o["amount_minor"].as_i64().unwrap_or(0) * 300 / 10_000)
        .sum();
    let mut clients = Vec::new();
    for client in 0..8 {
        let app = std::sync::Arc::clone(&app);
        let mine: Vec<Value> = company_orders
            .iter()
            .skip(client)
            .step_by(8)
            .cloned()
            .collect();
        clients.push(tokio::spawn(async move {
            for (n, body) in mine.iter().enumerate() {
                let first = app.post("/orders", body).await.status();
                assert!(first == StatusCode::CREATED || first == StatusCode::OK);
                if n % 10 == client % 10 {
                    let again = app.post("/orders", body).await.status();
                    assert_eq!(again, StatusCode::OK, "a duplicate delivery replays");
                }
            }
        }));
    }
    for client in clients {
        client.await.expect("client finished");
    }
    for card_body in &c.cards {
        let shown = card(&app, card_body).await;
        assert_eq!(shown["balance"]["cashback_minor"], expected);
    }
    let mut spends = 0;
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/cards/{}/history?limit=500", id(&c.cards[0]));
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let page = app.get_ok(&path).await;
        spends += page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["kind"] == "spend")
            .count();
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(spends, 2_000, "every order counted once");
}

async fn a_change_queues_one_delivery_per_device_and_google_object(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, common::program_body("cashback")).await;
    let (a, b) = (id(&c.cards[0]), id(&c.cards[1]));
    let at = "2026-11-20T10:00:00Z";
    app.execute_sql(&format!(
        "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES \
         ('dev-1', 'token-1', 'ApplePass', '{at}', '{at}'), \
         ('dev-2', 'token-2', 'ApplePass', '{at}', '{at}'), \
         ('dev-3', 'token-3', 'AndroidPass', '{at}', '{at}'); \
         INSERT INTO registrations (device_id, card_id, created_at) VALUES \
         ('dev-1', '{a}', '{at}'), ('dev-2', '{a}', '{at}'), ('dev-2', '{b}', '{at}'), ('dev-3', '{b}', '{at}'); \
         UPDATE cards SET google_object_id = 'issuer.object-b' WHERE id = '{b}';"
    ))
    .await;
    app.post_ok("/orders", &order(&c, "P-1", 60_000), StatusCode::CREATED)
        .await;
    let version = |card: &Value| card["version"].as_i64().expect("version");
    let (va, vb) = (
        version(&card(&app, &c.cards[0]).await),
        version(&card(&app, &c.cards[1]).await),
    );
    let delivery =
        |kind: &str, card: &str, v: i64, target: &str, notify: Option<&str>| common::Delivery {
            kind: kind.into(),
            card_id: card.into(),
            card_version: v,
            target: target.into(),
            notify: notify.map(Into::into),
        };
    let credit = Some("cashback_credit");
    let expected = vec![
        delivery("apple_push", a, va, "token-1", credit),
        delivery("apple_push", a, va, "token-2", credit),
        delivery("apple_push", b, vb, "token-2", credit),
        delivery("google_object", b, vb, "issuer.object-b", credit),
    ];
    assert_eq!(
        app.outbox().await,
        expected,
        "both cards of the shared balance"
    );

    // An order that earns nothing, and a replay, change no card: nothing to deliver.
    app.post_ok("/orders", &order(&c, "P-2", 5_000), StatusCode::CREATED)
        .await;
    app.post_ok("/orders", &order(&c, "P-1", 60_000), StatusCode::OK)
        .await;
    assert_eq!(app.outbox().await, expected);

    // A suspended card looks different in the wallet too.
    app.post_ok(&format!("/cards/{b}/suspend"), &json!({}), StatusCode::OK)
        .await;
    let mut expected = expected;
    expected.push(delivery("apple_push", b, vb + 1, "token-2", None));
    expected.push(delivery(
        "google_object",
        b,
        vb + 1,
        "issuer.object-b",
        None,
    ));
    // So does a new name of the holder, silently.
    let member = id(&c.members[0]);
    let renamed = app
        .patch(
            &format!("/members/{member}"),
            &json!({"name": "Anna Ivanova"}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    expected.push(delivery("apple_push", a, va + 1, "token-1", None));
    expected.push(delivery("apple_push", a, va + 1, "token-2", None));
    expected.sort_by(|x, y| {
        (&x.kind, &x.card_id, &x.target, x.card_version).cmp(&(
            &y.kind,
            &y.card_id,
            &y.target,
            y.card_version,
        ))
    });
    assert_eq!(app.outbox().await, expected);
}

on_both_engines!(
    a_change_queues_one_delivery_per_device_and_google_object,
    cumulative_discount_follows_the_worked_example,
    cashback_follows_the_worked_example,
    stamps_follow_the_worked_example,
    the_pass_shows_the_new_balance_with_a_change_message,
    an_order_is_idempotent_by_its_external_id,
    bad_orders_get_a_clear_error_and_change_nothing,
    concurrent_orders_for_one_holder_all_count_once,
);
