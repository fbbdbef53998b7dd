//! From an order to the phone: the app with its dispatcher pushes through a loopback APNs
//! (HTTP/2 over TLS, certificate auth with the Pass Type ID certificate) to the devices that
//! registered the pass, and a device follows up through the web service — on SQLite and on
//! PostgreSQL. Plus the fault paths as APNs answers them.

use crate::common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::apns_fake::{ApnsFake, Reply};
use common::device::*;
use common::{Engine, TestApp, apns_fake, spawn_app_with, spawn_second_instance};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Waits until `ready` holds, up to 10 s.
async fn eventually<F: AsyncFn() -> bool>(what: &str, ready: F) {
    common::eventually(what, Duration::from_secs(10), ready).await;
}

fn deliveries_to(fake: &ApnsFake, token: &str) -> usize {
    fake.deliveries()
        .iter()
        .filter(|d| d.token == token)
        .count()
}

fn requests_to(fake: &ApnsFake, token: &str) -> usize {
    fake.seen()
        .iter()
        .filter(|s| s.path.ends_with(token))
        .count()
}

async fn pending(app: &TestApp) -> usize {
    let rows: Vec<(i64,)> = app
        .fetch("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        .await;
    usize::try_from(rows[0].0).unwrap_or(0)
}

/// A cashback card installed and registered on one device.
async fn installed(app: &TestApp, device: &Device) -> (Value, Installed) {
    let card = app.issue_card("cashback").await;
    let pass = install(app, &card).await;
    assert_eq!(register(app, &pass, device).await, StatusCode::CREATED);
    (card, pass)
}

async fn a_device_follows_an_order_from_push_to_pass(engine: Engine) {
    let (fake, target, _dir) = apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    let device = Device::apple(1);
    let (card, pass) = installed(&app, &device).await;
    let (serials, tag) = list(&app, &pass, &device, None).await.expect("listed");
    assert_eq!(serials, std::slice::from_ref(&pass.serial));
    let before = fetch(&app, &pass, Method::GET, None).await;
    let modified_before = http_time(&last_modified(&before));

    book(&app, &card, "P-1", 100_000).await;
    eventually("the push arrives", async || {
        deliveries_to(&fake, &device.push_token) == 1
    })
    .await;
    let delivery = &fake.deliveries()[0];
    assert_eq!(delivery.topic, pass.pass_type);

    let (serials, new_tag) = list(&app, &pass, &device, Some(&tag))
        .await
        .expect("the changed pass is listed");
    assert_eq!(serials, std::slice::from_ref(&pass.serial));
    assert_ne!(new_tag, tag);
    let after = fetch(&app, &pass, Method::GET, None).await;
    assert_eq!(after.status(), StatusCode::OK);
    let modified = last_modified(&after);
    assert!(http_time(&modified) > modified_before);
    assert!(
        (shown_cashback(after).await - 30.0).abs() < 1e-9,
        "3 % of 1,000.00"
    );
    let again = fetch(&app, &pass, Method::GET, Some(&modified)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    assert_eq!(unregister(&app, &pass, &device).await, StatusCode::OK);
    book(&app, &card, "P-2", 100_000).await;
    eventually("the outbox is drained", async || pending(&app).await == 0).await;
    // Nothing was queued for the device that left, so nothing more can reach it.
    let queued: Vec<(i64,)> = app
        .fetch(&format!(
            "SELECT COUNT(*) FROM outbox WHERE target = '{}'",
            device.push_token
        ))
        .await;
    assert_eq!(queued, [(1,)], "a push was queued for the device that left");
    assert_eq!(
        deliveries_to(&fake, &device.push_token),
        1,
        "nothing more for the device that left"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            "walletcards_deliveries_total{channel=\"apple\",outcome=\"delivered\",reason=\"\"} 1"
        ),
        "{metrics}"
    );
}

async fn apns_failures_are_retried_and_410_prunes(engine: Engine) {
    let (fake, target, _dir) = apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    let flaky = Device::apple(1);
    let gone = Device::apple(2);
    let (card, pass) = installed(&app, &flaky).await;
    assert_eq!(register(&app, &pass, &gone).await, StatusCode::CREATED);
    let busy = Reply::error(500, "InternalServerError");
    fake.queue_for_token(&flaky.push_token, [busy.clone(), busy.clone(), busy]);
    fake.queue_for_token(&gone.push_token, [Reply::error(410, "Unregistered")]);

    book(&app, &card, "F-1", 100_000).await;
    eventually("the flaky device gets its push", async || {
        deliveries_to(&fake, &flaky.push_token) == 1
    })
    .await;
    assert_eq!(
        requests_to(&fake, &flaky.push_token),
        4,
        "three 500s, then one delivery"
    );
    eventually("the 410 prunes", async || {
        list(&app, &pass, &gone, None).await.is_none()
    })
    .await;
    book(&app, &card, "F-2", 100_000).await;
    eventually("the second push", async || {
        deliveries_to(&fake, &flaky.push_token) == 2
    })
    .await;
    assert_eq!(
        requests_to(&fake, &gone.push_token),
        1,
        "the pruned device is not pushed again"
    );
}

/// The value of `walletcards_delivery_failing_seconds` for the Apple channel, if shown.
async fn apple_failing_seconds(app: &TestApp) -> Option<f64> {
    let metrics = app.metrics().await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("walletcards_delivery_failing_seconds{channel=\"apple\"} "))
        .and_then(|v| v.parse().ok())
}

async fn an_apns_outage_is_retried_until_it_ends_and_shown_while_it_lasts(engine: Engine) {
    let (fake, target, _dir) = apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    let device = Device::apple(1);
    let (card, _pass) = installed(&app, &device).await;
    fake.answer_token(&device.push_token, Reply::error(503, "ServiceUnavailable"));
    book(&app, &card, "O-1", 100_000).await;
    // Far more attempts than a retry limit would allow (the test app retries every 50–200 ms).
    eventually("APNs was tried 15 times", async || {
        requests_to(&fake, &device.push_token) >= 15
    })
    .await;
    book(&app, &card, "O-2", 100_000).await;
    let failing = apple_failing_seconds(&app).await;
    assert!(failing.is_some_and(|s| s > 0.0), "{failing:?}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("walletcards_outbox_dead 0"), "{metrics}");

    fake.answer_token(&device.push_token, Reply::ok());
    eventually("the device gets its push", async || {
        pending(&app).await == 0 && deliveries_to(&fake, &device.push_token) >= 1
    })
    .await;
    assert_eq!(apple_failing_seconds(&app).await, Some(0.0));
    let dead = app.get_ok("/outbox/dead").await;
    assert_eq!(dead["items"], serde_json::json!([]), "no dead letters");
}

async fn bad_device_token_keeps_the_registration_as_a_dead_letter(engine: Engine) {
    let (fake, target, _dir) = apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    let device = Device::apple(3);
    let (card, pass) = installed(&app, &device).await;
    fake.queue_for_token(&device.push_token, [Reply::error(400, "BadDeviceToken")]);
    book(&app, &card, "B-1", 100_000).await;
    eventually("a dead letter", async || {
        app.get_ok("/outbox/dead").await["items"]
            .as_array()
            .is_some_and(|items| items.len() == 1)
    })
    .await;
    assert!(list(&app, &pass, &device, None).await.is_some(), "kept");
    let flagged: Vec<(Option<String>,)> = app.fetch("SELECT push_error FROM devices").await;
    assert_eq!(
        flagged,
        [(Some("BadDeviceToken".to_owned()),)],
        "and flagged"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("walletcards_devices_flagged 1"),
        "{metrics}"
    );
    let dead = app.get_ok("/outbox/dead").await;
    let delivery = dead["items"][0]["id"].as_i64().expect("id");
    app.post_ok(
        &format!("/outbox/{delivery}/retry"),
        &serde_json::json!({}),
        StatusCode::OK,
    )
    .await;
    eventually("the retried dead letter is delivered", async || {
        deliveries_to(&fake, &device.push_token) == 1
    })
    .await;
}

async fn too_many_requests_waits_for_retry_after(engine: Engine) {
    let (fake, target, _dir) = apns_fake().await;
    let app = spawn_app_with(engine, Some(&target)).await;
    let device = Device::apple(4);
    let (card, _) = installed(&app, &device).await;
    let busy = Reply::error(429, "TooManyRequests").with_retry_after("30");
    fake.queue_for_token(&device.push_token, [busy]);
    book(&app, &card, "T-1", 100_000).await;
    // Rescheduled by APNs's Retry-After, not by the 50 ms back-off of the test settings.
    eventually("the row waits 30 s", async || {
        let rows: Vec<(String, i32, DateTime<Utc>)> = app
            .fetch("SELECT state, attempts, due_at FROM outbox")
            .await;
        rows.len() == 1
            && rows[0].0 == "pending"
            && rows[0].1 == 1
            && rows[0].2 > Utc::now() + TimeDelta::seconds(25)
    })
    .await;
    assert_eq!(requests_to(&fake, &device.push_token), 1);
    assert_eq!(deliveries_to(&fake, &device.push_token), 0);
}

/// Two instances on one PostgreSQL database, each with its dispatcher: 1,000 orders through
/// both, for a card on 3 devices; every change reaches every device and no queued delivery
/// is sent twice.
#[tokio::test]
async fn two_instances_deliver_every_change_once() {
    let (fake, target, _dir) = apns_fake().await;
    let first = spawn_app_with(Engine::Postgres, Some(&target)).await;
    let second = spawn_second_instance(&first, Some(&target)).await;
    let devices: Vec<Device> = (10..13).map(Device::apple).collect();
    let card = first.issue_card("cashback").await;
    let pass = install(&first, &card).await;
    for device in &devices {
        assert_eq!(register(&first, &pass, device).await, StatusCode::CREATED);
    }
    let apps = [&first, &second];
    for n in 0..1_000 {
        book(apps[n % 2], &card, &format!("M-{n}"), 20_000).await;
    }
    eventually("every delivery is done", async || {
        pending(&first).await == 0
    })
    .await;
    let rows: Vec<(String, i32)> = first.fetch("SELECT state, attempts FROM outbox").await;
    assert_eq!(rows.len(), 3_000, "one row per order and device");
    assert!(
        rows.iter()
            .all(|(state, attempts)| state == "done" && *attempts == 1),
        "each delivery claimed once"
    );
    for device in &devices {
        let n = deliveries_to(&fake, &device.push_token);
        assert!((1..=1_000).contains(&n), "{n} pushes to a device");
    }
}

on_both_engines!(
    an_apns_outage_is_retried_until_it_ends_and_shown_while_it_lasts,
    too_many_requests_waits_for_retry_after,
    a_device_follows_an_order_from_push_to_pass,
    apns_failures_are_retried_and_410_prunes,
    bad_device_token_keeps_the_registration_as_a_dead_letter,
);
