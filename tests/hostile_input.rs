//! What a hostile or broken client sends is refused at the boundary, in the shape of the
//! route it hit, identically on SQLite and PostgreSQL: control characters in any text (NUL
//! makes PostgreSQL fail), JSON that is not exactly one object, and the answers axum and its
//! layers make themselves (413, 415, duplicate query fields).

use crate::common;

use std::time::Duration;

use common::device::{Device, book, install, register};
use common::{Engine, TestApp, WEBHOOK_SECRET, id, spawn_app, spawn_app_with};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// The envelope's code of an answer, asserting its status.
async fn error_code(r: reqwest::Response, status: StatusCode) -> (String, Value) {
    let got = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let code = body["error"]["code"]
        .as_str()
        .expect("an error code")
        .to_owned();
    (code, body["error"]["field"].clone())
}

/// Asserts an HTML error page of `status`.
async fn error_page(r: reqwest::Response, status: StatusCode) {
    assert_eq!(r.status(), status);
    let kind = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    let html = r.text().await.expect("body");
    assert!(
        html.contains("<html") || html.contains("<!doctype"),
        "{html}"
    );
}

async fn raw_post(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(&app.admin_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
}

async fn a_nul_byte_in_any_text_is_refused_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = app
        .post("/accounts", &json!({"name": "Acme\u{0}GmbH"}))
        .await;
    let (code, field) = error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!((code.as_str(), field), ("invalid_field", json!("name")));

    let mut program = common::program_body("cumulative_discount");
    program["rules"]["tiers"][1]["name"] = json!("Silver\u{7}");
    let r = app.post("/programs", &program).await;
    let (code, field) = error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        (code.as_str(), field),
        ("invalid_field", json!("rules.tiers[1].name"))
    );

    let (code, field) = error_code(
        app.get("/accounts?after=%00").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!((code.as_str(), field), ("invalid_query", json!("after")));
    let (code, _) = error_code(app.get("/accounts/acc%00x").await, StatusCode::NOT_FOUND).await;
    assert_eq!(code, "not_found");

    let log = app
        .client
        .post(format!("{}/passes/v1/log", app.base))
        .json(&json!({"logs": ["a NUL \u{0} in a device log"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(log.status(), StatusCode::BAD_REQUEST);
    assert_eq!(log.bytes().await.expect("body").len(), 0, "a bare status");
    let list = app
        .client
        .get(format!(
            "{}/passes/v1/devices/{}/registrations/{}?passesUpdatedSince=1%00",
            app.base,
            "a".repeat(32),
            walletcards::startup::DEV_PASS_TYPE_ID
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(list.status(), StatusCode::BAD_REQUEST);
    assert_eq!(list.bytes().await.expect("body").len(), 0, "a bare status");

    // Tabs and line breaks are text.
    app.post_ok(
        "/accounts",
        &json!({"name": "Acme\tGmbH\r\nNord"}),
        StatusCode::CREATED,
    )
    .await;
}

async fn an_order_posted_as_an_array_or_as_two_objects_books_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, account, card) = app.issue_card_of(&common::program_body("cashback")).await;
    let member = card["member_id"].as_str().expect("member id");
    let order = json!({
        "external_id": "A-1", "account_id": id(&account), "member_id": member,
        "amount_minor": 10_000, "currency": "EUR", "placed_at": "2026-11-20T10:00:00+01:00",
    });
    // NewOrder's fields in order: what serde would take for the struct.
    let as_array = json!([
        "A-1",
        id(&account),
        null,
        member,
        null,
        null,
        null,
        null,
        10_000,
        "EUR",
        "2026-11-20T10:00:00+01:00"
    ]);
    let r = raw_post(&app, "/orders", &as_array.to_string()).await;
    let (code, _) = error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(code, "invalid_field");

    let mut second = order.clone();
    second["external_id"] = json!("A-2");
    let r = raw_post(&app, "/orders", &format!("{order}{second}")).await;
    let (code, _) = error_code(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "malformed_json");
    let r = raw_post(&app, "/orders", &format!("{order} trailing")).await;
    let (code, _) = error_code(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "malformed_json");

    let history = app.get_ok(&format!("/cards/{}/history", id(&card))).await;
    assert_eq!(history["items"], json!([]), "nothing was booked");
}

async fn answers_axum_makes_itself_come_in_our_envelope_or_as_a_page(engine: Engine) {
    let app = spawn_app(engine).await;
    let large = "x".repeat(100 * 1024);
    for path in ["/webhooks/erp/orders", "/google/callback"] {
        let r = app
            .client
            .post(format!("{}{path}", app.base))
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                "x-walletcards-signature",
                format!("t=1,v1={WEBHOOK_SECRET}"),
            )
            .body(large.clone())
            .send()
            .await
            .expect("request");
        let (code, _) = error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(code, "body_too_large", "{path}");
    }
    let r = app
        .client
        .post(app.url("/accounts"))
        .bearer_auth(&app.admin_key)
        .body(r#"{"name":"Acme"}"#)
        .send()
        .await
        .expect("request");
    let (code, _) = error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(code, "unsupported_media_type");
    let (code, _) = error_code(
        raw_post(&app, "/accounts", "{\"name\":").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(code, "malformed_json");
    let r = app.get("/accounts?limit=1&limit=2").await;
    let (code, _) = error_code(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "invalid_query");

    let page = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
    error_page(
        page("/signin?next=/desk&next=/dashboard")
            .await
            .expect("page"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    error_page(
        page("/join/some-token?lang=en&lang=ru")
            .await
            .expect("page"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let json_signin = app
        .client
        .post(format!("{}/signin", app.base))
        .json(&json!({"key": "k", "csrf": "c"}))
        .send()
        .await
        .expect("request");
    error_page(json_signin, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

async fn a_sign_in_form_with_a_control_character_is_refused_with_an_error_page(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = app
        .client
        .post(format!("{}/signin", app.base))
        .form(&[
            ("key", "wck_x.secret\u{0}"),
            ("csrf", "c"),
            ("next", "/desk"),
        ])
        .send()
        .await
        .expect("request");
    error_page(r, StatusCode::BAD_REQUEST).await;
}

async fn e_mail_addresses_that_are_not_addresses_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let account = app.create_account("Acme GmbH").await;
    let path = format!("/accounts/{}/members", id(&account));
    for bad in [
        "a@@b.example",
        "<script>@x.example",
        "Anna <anna@x.example>",
    ] {
        let body = json!({"name": "Anna", "email": bad});
        let (code, field) = error_code(
            app.post(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            (code.as_str(), field),
            ("invalid_field", json!("email")),
            "{bad}"
        );
    }
    let body = json!({"name": "Anna", "email": " anna.petrova+desk@acme-supply.example "});
    let member = app.post_ok(&path, &body, StatusCode::CREATED).await;
    assert_eq!(member["email"], "anna.petrova+desk@acme-supply.example");
}

async fn push_tokens_are_hex_and_stay_out_of_metrics_and_outbox_errors(engine: Engine) {
    let (fake, target, _dir) = common::apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    // APNs is unreachable: every push fails in transport, with an error naming its URL.
    drop(fake);
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    for token in [
        "not-a-hex-token",
        &"ab".repeat(16),
        &format!("{}/x", "a".repeat(64)),
    ] {
        let device = Device {
            push_token: token.to_owned(),
            ..Device::apple(1)
        };
        assert_eq!(
            register(&app, &pass, &device).await,
            StatusCode::BAD_REQUEST,
            "{token}"
        );
    }
    let device = Device::apple(2);
    assert_eq!(register(&app, &pass, &device).await, StatusCode::CREATED);
    book(&app, &card, "P-1", 60_000).await;
    let last_error = async || {
        let rows: Vec<(Option<String>,)> = app
            .fetch("SELECT last_error FROM outbox WHERE kind = 'apple_push'")
            .await;
        rows.into_iter().find_map(|(e,)| e)
    };
    common::eventually("the push has failed", Duration::from_secs(10), async || {
        last_error().await.is_some()
    })
    .await;
    assert_eq!(last_error().await.as_deref(), Some("connect"));
    let metrics = app.metrics().await;
    assert!(!metrics.contains(&device.push_token), "{metrics}");
    assert!(metrics.contains("reason=\"connect\""), "{metrics}");
}

/// Reads from `stream` until the server closes it; `None` if it is still open after `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.ok()?;
    Some(received)
}

async fn connections_stuck_mid_header_or_idle_are_closed(engine: Engine) {
    use tokio::io::AsyncWriteExt;
    let settings = [
        ("http.header_read_timeout_ms", json!(300)),
        ("http.idle_timeout_ms", json!(60_000)),
    ];
    let app = common::spawn_app_with_settings(engine, &settings).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut half = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut half, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection stuck mid-header is closed"
    );
    drop(app);

    let settings = [
        ("http.header_read_timeout_ms", json!(30_000)),
        ("http.idle_timeout_ms", json!(300)),
    ];
    let app = common::spawn_app_with_settings(engine, &settings).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut idle = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answered = closed_within(&mut idle, Duration::from_secs(5)).await;
    let answered = answered.expect("an idle kept-alive connection is closed");
    assert!(
        answered.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answered)
    );
    let mut silent = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    assert!(
        closed_within(&mut silent, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that never sends a byte is closed"
    );
}

on_both_engines!(
    a_nul_byte_in_any_text_is_refused_naming_the_field,
    an_order_posted_as_an_array_or_as_two_objects_books_nothing,
    answers_axum_makes_itself_come_in_our_envelope_or_as_a_page,
    a_sign_in_form_with_a_control_character_is_refused_with_an_error_page,
    e_mail_addresses_that_are_not_addresses_are_refused,
    push_tokens_are_hex_and_stay_out_of_metrics_and_outbox_errors,
    connections_stuck_mid_header_or_idle_are_closed,
);
