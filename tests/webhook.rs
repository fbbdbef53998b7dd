//! The ERP webhook: signed deliveries book orders and refunds; a bad or stale signature, a
//! malformed body or missing fields are refused with their status and write nothing; a
//! replayed delivery is harmless.

use crate::common;

use common::{Engine, TestApp, WEBHOOK_SECRET, id, spawn_app, spawn_app_with_settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::http::webhook::{SIGNATURE_HEADER, sign};

async fn deliver(app: &TestApp, path: &str, body: &[u8], header: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header(SIGNATURE_HEADER, header)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("request")
}

fn signed(body: &[u8]) -> String {
    let t = chrono::Utc::now().timestamp();
    format!("t={t},v1={}", sign(WEBHOOK_SECRET.as_bytes(), t, body))
}

async fn status_and_body(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn signed_deliveries_book_and_everything_else_is_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let order = json!({
        "external_id": "ERP-1", "account_id": card["account_id"], "member_id": card["member_id"],
        "amount_minor": 100_000, "currency": "EUR", "placed_at": "2026-11-20T10:00:00Z",
    });
    let body = serde_json::to_vec(&order).expect("json");
    let path = "/webhooks/erp/orders";

    let refused = [
        (signed(b"{}"), body.clone(), StatusCode::UNAUTHORIZED),
        (String::new(), body.clone(), StatusCode::UNAUTHORIZED),
        (
            {
                let t = chrono::Utc::now().timestamp() - 301;
                format!("t={t},v1={}", sign(WEBHOOK_SECRET.as_bytes(), t, &body))
            },
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            signed(b"{\"external_id\": "),
            b"{\"external_id\": ".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            signed(br#"{"external_id": "ERP-1"}"#),
            br#"{"external_id": "ERP-1"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (n, (header, body, status)) in refused.into_iter().enumerate() {
        let (got, answer) = status_and_body(deliver(&app, path, &body, &header).await).await;
        assert_eq!(got, status, "case {n}: {answer}");
        assert!(answer["error"]["code"].is_string(), "case {n}: {answer}");
    }
    let history = app.get_ok(&format!("/cards/{}/history", id(&card))).await;
    assert_eq!(history["items"], json!([]), "nothing was written");

    let header = signed(&body);
    let (first, booked) = status_and_body(deliver(&app, path, &body, &header).await).await;
    assert_eq!(first, StatusCode::CREATED, "{booked}");
    let (again, replayed) = status_and_body(deliver(&app, path, &body, &header).await).await;
    assert_eq!(again, StatusCode::OK, "a replayed delivery is harmless");
    assert_eq!(booked, replayed);
    let shown = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(shown["balance"]["cashback_minor"], 3_000);

    let refund = serde_json::to_vec(
        &json!({"order_external_id": "ERP-1", "external_id": "ERP-R1", "amount_minor": 50_000}),
    )
    .expect("json");
    let (status, answer) =
        status_and_body(deliver(&app, "/webhooks/erp/refunds", &refund, &signed(&refund)).await)
            .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let shown = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(shown["balance"]["cashback_minor"], 1_500);
}

/// Rotating the secret on our side: the new one is set, the old one stays accepted as the
/// previous secret until the ERP has switched.
async fn during_a_rotation_both_secrets_are_accepted(engine: Engine) {
    const OLD: &str = "whsec_old_0123456789abcdef";
    let settings = [("webhook_previous_secret", json!(OLD))];
    let app = spawn_app_with_settings(engine, &settings).await;
    let card = app.issue_card("cashback").await;
    let order = |external_id: &str| {
        serde_json::to_vec(&json!({
            "external_id": external_id, "account_id": card["account_id"],
            "amount_minor": 10_000, "currency": "EUR", "placed_at": "2026-11-20T10:00:00Z",
        }))
        .expect("json")
    };
    let t = chrono::Utc::now().timestamp();
    let path = "/webhooks/erp/orders";
    for (secret, external_id, status) in [
        (OLD, "ROT-1", StatusCode::CREATED),
        (WEBHOOK_SECRET, "ROT-2", StatusCode::CREATED),
        (
            "whsec_someone_else_entirely",
            "ROT-3",
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let body = order(external_id);
        let header = format!("t={t},v1={}", sign(secret.as_bytes(), t, &body));
        let (got, answer) = status_and_body(deliver(&app, path, &body, &header).await).await;
        assert_eq!(got, status, "{external_id}: {answer}");
    }
}

on_both_engines!(
    signed_deliveries_book_and_everything_else_is_refused,
    during_a_rotation_both_secrets_are_accepted,
);
