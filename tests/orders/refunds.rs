//! Refunds of one order sent at once: they queue on the order instead of deadlocking, the ones
//! that fit all book and the sum is right, and those past the order's amount get the usual
//! 422, never a 5xx.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{Engine, TestApp, spawn_app};
use super::{company, order};

/// Sends `count` refunds of `amount` of order `external_id` at once; their statuses.
async fn refund_at_once(
    app: &Arc<TestApp>,
    external_id: &str,
    count: usize,
    amount: i64,
) -> Vec<StatusCode> {
    let sends: Vec<_> = (0..count)
        .map(|n| {
            let app = Arc::clone(app);
            let path = format!("/orders/{external_id}/refunds");
            let body =
                json!({"external_id": format!("{external_id}-R{n}"), "amount_minor": amount});
            tokio::spawn(async move { app.post(&path, &body).await.status() })
        })
        .collect();
    let mut statuses = Vec::with_capacity(count);
    for send in sends {
        statuses.push(send.await.expect("request task"));
    }
    statuses
}

/// What remains refundable of an order: the allowed maximum a too-large refund is told.
async fn remaining(app: &TestApp, external_id: &str) -> Value {
    let body = json!({"external_id": format!("{external_id}-probe"), "amount_minor": 10_000_000});
    let path = format!("/orders/{external_id}/refunds");
    let answer = app
        .post_ok(&path, &body, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    answer["error"]["allowed_max_minor"].clone()
}

async fn concurrent_refunds_of_one_order_all_book_or_are_refused_cleanly(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = company(&app, super::common::program_body("cashback")).await;
    let app = Arc::new(app);
    for round in 0..3 {
        let external_id = format!("O-{round}");
        app.post_ok(
            "/orders",
            &order(&c, &external_id, 80_000),
            StatusCode::CREATED,
        )
        .await;
        let statuses = refund_at_once(&app, &external_id, 8, 10_000).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::CREATED),
            "every refund within the order books: {statuses:?}"
        );
        assert_eq!(
            remaining(&app, &external_id).await,
            0,
            "all 80 000 refunded"
        );
    }
    app.post_ok("/orders", &order(&c, "O-over", 40_000), StatusCode::CREATED)
        .await;
    let statuses = refund_at_once(&app, "O-over", 8, 10_000).await;
    let booked = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((booked, refused), (4, 4), "{statuses:?}");
    assert_eq!(remaining(&app, "O-over").await, 0);
    let card = app
        .get_ok(&format!("/cards/{}", super::common::id(&c.cards[0])))
        .await;
    assert_eq!(
        card["balance"]["cashback_minor"], 0,
        "every refund took back its share of the cashback, once"
    );
}

crate::on_both_engines!(concurrent_refunds_of_one_order_all_book_or_are_refused_cleanly);
