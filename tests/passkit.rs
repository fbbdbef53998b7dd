//! The PassKit web service as Wallet on a device uses it, through the real HTTP stack and
//! without push: download a pass, read its web service and token, register, follow orders
//! through the list and fetch endpoints, unregister — on SQLite and on PostgreSQL. Plus the
//! two timing hazards (one-second HTTP dates, late commits), other wallets' schemes, device
//! logs, revoked cards and the pass cache.

use crate::common;

use std::sync::atomic::Ordering;

use chrono::{TimeDelta, Utc};
use common::device::*;
use common::{Engine, id, spawn_app};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

on_both_engines!(
    a_device_follows_its_pass_from_registration_to_unregistration,
    requests_without_the_pass_token_are_refused_and_unknown_passes_are_not_found,
    wallets_for_android_are_registered_with_their_scheme_and_not_queued_for_apns,
    device_logs_are_stored_bounded_and_listed_for_admins,
    two_changes_within_one_second_never_answer_304_to_the_older_version,
    a_change_committed_after_a_list_with_an_older_time_is_still_listed,
    a_revoked_card_serves_its_voided_pass_once_and_refuses_new_registrations,
    a_storm_of_fetches_after_a_push_signs_the_pass_once,
    an_apns_410_prunes_the_registrations_of_that_push_token,
);

async fn a_device_follows_its_pass_from_registration_to_unregistration(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    assert_eq!(pass.web_service, format!("{}/passes", app.base));
    let mut device = Device::apple(1);

    assert_eq!(register(&app, &pass, &device).await, StatusCode::CREATED);
    device.push_token = format!("{:064x}", 0xfeed);
    assert_eq!(
        register(&app, &pass, &device).await,
        StatusCode::OK,
        "registered before"
    );
    assert_eq!(
        stored_device(&app, &device).await.0,
        device.push_token,
        "token refreshed"
    );

    let (serials, first_tag) = list(&app, &pass, &device, None).await.expect("200");
    assert_eq!(
        serials,
        [pass.serial.as_str()],
        "no tag: every registered pass"
    );
    let before = fetch(&app, &pass, Method::GET, None).await;
    assert_eq!(before.status(), StatusCode::OK);
    let before_modified = last_modified(&before);
    assert_eq!(shown_cashback(before).await, 0.0);

    book(&app, &card, "A-1", 60_000).await;
    assert_eq!(
        pushes_to(&app, &device.push_token).await,
        1,
        "one push, to the new token"
    );

    let (serials, tag) = list(&app, &pass, &device, Some(&first_tag))
        .await
        .expect("200");
    assert_eq!(serials, [pass.serial.as_str()]);
    assert_ne!(tag, first_tag, "the tag moves on");
    let after = fetch(&app, &pass, Method::GET, Some(&before_modified)).await;
    assert_eq!(after.status(), StatusCode::OK, "the device's copy is older");
    assert_eq!(
        after.headers()[header::CONTENT_TYPE],
        "application/vnd.apple.pkpass"
    );
    let modified = last_modified(&after);
    assert!(http_time(&modified) > http_time(&before_modified));
    assert_eq!(shown_cashback(after).await, 18.0, "3 % of 600.00");

    for method in [Method::GET, Method::HEAD] {
        let r = fetch(&app, &pass, method.clone(), Some(&modified)).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{method}");
        assert_eq!(last_modified(&r), modified);
    }
    let head = fetch(&app, &pass, Method::HEAD, None).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(last_modified(&head), modified);

    assert_eq!(unregister(&app, &pass, &device).await, StatusCode::OK);
    assert_eq!(
        list(&app, &pass, &device, None).await,
        None,
        "nothing registered"
    );
    book(&app, &card, "A-2", 60_000).await;
    assert_eq!(
        pushes_to(&app, &device.push_token).await,
        1,
        "nothing new queued"
    );
    assert_eq!(
        unregister(&app, &pass, &device).await,
        StatusCode::OK,
        "again: still 200"
    );
}

async fn requests_without_the_pass_token_are_refused_and_unknown_passes_are_not_found(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("stamp").await;
    let pass = install(&app, &card).await;
    let other = install(&app, &app.issue_card("discount").await).await;
    let device = Device::apple(2);
    let url = registration_url(&pass, &device);
    let body = json!({"pushToken": device.push_token});
    let bad_headers = [
        None,
        Some(format!("ApplePass {}", other.token)),
        Some(format!("ApplePass {}x", pass.token)),
        Some(format!("Bearer {}", pass.token)),
        Some("ApplePass ".to_owned()),
    ];
    for auth in &bad_headers {
        let mut rb = app.client.post(&url).json(&body);
        if let Some(auth) = auth {
            rb = rb.header(header::AUTHORIZATION, auth);
        }
        let r = rb.send().await.expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let mut rb = app.client.get(pass_url(&pass));
        if let Some(auth) = auth {
            rb = rb.header(header::AUTHORIZATION, auth);
        }
        assert_eq!(
            rb.send().await.expect("request").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.client.delete(&url).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        list(&app, &pass, &device, None).await,
        None,
        "nothing was registered"
    );

    let unknown_serial = Installed {
        serial: "0".repeat(32),
        ..pass.clone()
    };
    let unknown_type = Installed {
        pass_type: "pass.com.example.other".into(),
        ..pass.clone()
    };
    let malformed_serial = Installed {
        serial: "not-a-serial".into(),
        ..pass.clone()
    };
    for p in [&unknown_serial, &unknown_type, &malformed_serial] {
        assert_eq!(
            register(&app, p, &device).await,
            StatusCode::NOT_FOUND,
            "{p:?}"
        );
        let r = fetch(&app, p, Method::GET, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(
            r.bytes().await.expect("body").is_empty(),
            "says nothing about which"
        );
    }
    let r = app
        .client
        .get(format!(
            "{}/v1/devices/{}/registrations/{}",
            pass.web_service, device.id, unknown_type.pass_type
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let rb = with_token(app.client.post(&url), "ApplePass", &pass.token);
    let r = rb
        .json(&json!({"token": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no pushToken");
}

async fn wallets_for_android_are_registered_with_their_scheme_and_not_queued_for_apns(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    let schemes = ["AndroidPass", "WalletUnionPass", "WalletUnionHMSPass"];
    let mut devices: Vec<Device> = schemes
        .into_iter()
        .zip(10..)
        .map(|(scheme, n)| Device {
            scheme,
            ..Device::apple(n)
        })
        .collect();
    devices.push(Device::apple(20));
    for device in &devices {
        assert_eq!(
            register(&app, &pass, device).await,
            StatusCode::CREATED,
            "{}",
            device.scheme
        );
        assert_eq!(stored_device(&app, device).await.1, device.scheme);
    }
    let counts = app.state.store.registration_counts().await.expect("counts");
    let mut expected: Vec<(String, i64)> =
        devices.iter().map(|d| (d.scheme.to_owned(), 1)).collect();
    expected.sort();
    assert_eq!(counts, expected, "one registration per wallet, by scheme");
    book(&app, &card, "W-1", 60_000).await;
    for device in &devices {
        let expected = usize::from(device.scheme == "ApplePass");
        assert_eq!(
            pushes_to(&app, &device.push_token).await,
            expected,
            "{}",
            device.scheme
        );
        let (serials, _) = list(&app, &pass, device, None).await.expect("200");
        assert_eq!(serials, [pass.serial.as_str()], "listed for every wallet");
    }
    let rb = with_token(app.client.get(pass_url(&pass)), "AndroidPass", &pass.token);
    let r = rb.send().await.expect("request");
    assert_eq!(r.status(), StatusCode::OK, "their fetches are served too");
}

async fn device_logs_are_stored_bounded_and_listed_for_admins(engine: Engine) {
    let app = spawn_app(engine).await;
    let url = format!("{}/passes/v1/log", app.base);
    let kept = usize::try_from(walletcards::http::passkit::KEPT_DEVICE_LOGS).expect("small");
    let per_request = walletcards::http::passkit::MAX_LOGS_PER_REQUEST;
    let requests = kept / per_request + 1;
    for r in 0..requests {
        // One request sends more than is kept of it; the surplus is dropped.
        let logs: Vec<String> = (0..per_request + 5)
            .map(|i| format!("log {r}-{i}"))
            .collect();
        let response = app
            .client
            .post(&url)
            .header(header::USER_AGENT, "PassbookUIService/1.0")
            .json(&json!({ "logs": logs }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
    }
    let long = "x".repeat(walletcards::http::passkit::MAX_LOG_MESSAGE_CHARS + 100);
    let response = app
        .client
        .post(&url)
        .json(&json!({"logs": [long]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let malformed = app
        .client
        .post(&url)
        .body("not json")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let first = app.get_ok("/device-logs?limit=2").await;
    assert_eq!(
        first["items"][0]["message"].as_str().map(str::len),
        Some(walletcards::http::passkit::MAX_LOG_MESSAGE_CHARS),
        "newest first, clipped"
    );
    let last_request = requests - 1;
    assert_eq!(
        first["items"][1]["message"],
        format!("log {last_request}-{}", per_request - 1)
    );
    assert_eq!(first["items"][1]["user_agent"], "PassbookUIService/1.0");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/device-logs?limit=500&after={a}"),
            None => "/device-logs?limit=500".to_owned(),
        };
        let page = app.get_ok(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["message"].clone()),
        );
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), kept, "only the newest are kept");
    assert!(!seen.contains(&json!("log 0-0")), "the oldest went");
    assert!(
        !seen.iter().any(|m| m
            .as_str()
            .is_some_and(|m| m.ends_with(&format!("-{per_request}")))),
        "the surplus of a request is dropped"
    );

    let r = app
        .client
        .get(app.url("/device-logs"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "admins only");
}

async fn two_changes_within_one_second_never_answer_304_to_the_older_version(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    let first = fetch(&app, &pass, Method::GET, None).await;
    let mut held = last_modified(&first);
    let mut cashback = shown_cashback(first).await;
    for n in 0..5 {
        // Orders follow each other faster than HTTP dates can tell apart.
        book(&app, &card, &format!("S-{n}"), 60_000).await;
        let r = fetch(&app, &pass, Method::GET, Some(&held)).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "change {n} is not the version the device holds"
        );
        let modified = last_modified(&r);
        assert!(
            http_time(&modified) > http_time(&held),
            "{modified} after {held}"
        );
        let shown = shown_cashback(r).await;
        assert!(shown > cashback, "change {n} shows the new balance");
        (held, cashback) = (modified, shown);
        let again = fetch(&app, &pass, Method::GET, Some(&held)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
}

async fn a_change_committed_after_a_list_with_an_older_time_is_still_listed(engine: Engine) {
    let app = spawn_app(engine).await;
    let (first, second) = (
        app.issue_card("cashback").await,
        app.issue_card("stamp").await,
    );
    let (a, b) = (install(&app, &first).await, install(&app, &second).await);
    let device = Device::apple(3);
    assert_eq!(register(&app, &a, &device).await, StatusCode::CREATED);
    assert_eq!(register(&app, &b, &device).await, StatusCode::CREATED);
    let (_, tag) = list(&app, &a, &device, None).await.expect("200");

    book(&app, &first, "L-1", 60_000).await;
    let newest = http_time(&last_modified(&fetch(&app, &a, Method::HEAD, None).await));
    let (serials, tag) = list(&app, &a, &device, Some(&tag)).await.expect("200");
    assert!(serials.contains(&a.serial));

    // Long ago, everything: the tag lists nothing then.
    let long_ago = sql_time(Utc::now() - TimeDelta::hours(1));
    app.execute_sql(&format!(
        "UPDATE cards SET updated_at = '{long_ago}'; UPDATE registrations SET updated_at = '{long_ago}', created_at = '{long_ago}';"
    ))
    .await;
    assert_eq!(
        list(&app, &a, &device, Some(&tag)).await,
        None,
        "the tag filters"
    );

    // The second card's change read the clock before the newest change listed, a minute
    // earlier, and committed only now (another instance, a slow transaction).
    let late = sql_time(newest - TimeDelta::seconds(60));
    app.execute_sql(&format!(
        "UPDATE cards SET updated_at = '{late}', version = version + 1 WHERE id = '{}';",
        id(&second)
    ))
    .await;
    let (serials, next) = list(&app, &a, &device, Some(&tag))
        .await
        .expect("the late change is listed");
    assert_eq!(serials, [b.serial.as_str()]);
    assert_ne!(next, tag);

    // A tag we did not issue lists everything rather than lose an update.
    let (serials, _) = list(&app, &a, &device, Some("2026-11-20"))
        .await
        .expect("200");
    assert_eq!(serials.len(), 2);
}

async fn a_revoked_card_serves_its_voided_pass_once_and_refuses_new_registrations(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("stamp").await;
    let pass = install(&app, &card).await;
    let device = Device::apple(4);
    assert_eq!(register(&app, &pass, &device).await, StatusCode::CREATED);
    let held = last_modified(&fetch(&app, &pass, Method::HEAD, None).await);
    let (_, tag) = list(&app, &pass, &device, None).await.expect("200");

    app.post_ok(
        &format!("/cards/{}/revoke", id(&card)),
        &json!({}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        pushes_to(&app, &device.push_token).await,
        1,
        "the revocation is pushed"
    );
    let (serials, _) = list(&app, &pass, &device, Some(&tag)).await.expect("200");
    assert_eq!(serials, [pass.serial.as_str()]);
    let r = fetch(&app, &pass, Method::GET, Some(&held)).await;
    assert_eq!(r.status(), StatusCode::OK, "the final version");
    let modified = last_modified(&r);
    let voided = pass_json(&r.bytes().await.expect("body"));
    assert_eq!(voided["voided"], true);
    let again = fetch(&app, &pass, Method::GET, Some(&modified)).await;
    assert_eq!(
        again.status(),
        StatusCode::NOT_MODIFIED,
        "then 304 like any pass"
    );

    assert_eq!(
        register(&app, &pass, &Device::apple(5)).await,
        StatusCode::GONE
    );
    assert_eq!(register(&app, &pass, &device).await, StatusCode::GONE);
    assert_eq!(unregister(&app, &pass, &device).await, StatusCode::OK);
    assert_eq!(list(&app, &pass, &device, None).await, None);
}

async fn a_storm_of_fetches_after_a_push_signs_the_pass_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    let metrics = &app.state.passes.metrics;
    let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    assert_eq!(count(&metrics.signed), 1, "the download");

    book(&app, &card, "C-1", 60_000).await;
    let fetches: Vec<_> = (0..20)
        .map(|_| {
            let rb = with_token(app.client.get(pass_url(&pass)), "ApplePass", &pass.token);
            tokio::spawn(async move {
                rb.send()
                    .await
                    .expect("request")
                    .bytes()
                    .await
                    .expect("body")
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for f in fetches {
        bodies.push(f.await.expect("task"));
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one signed pass for all"
    );
    assert_eq!(count(&metrics.signed), 2, "the new version signed once");
    assert_eq!(count(&metrics.cache_misses), 2);
    assert_eq!(count(&metrics.cache_hits), 19);
    assert_eq!(count(&metrics.served_full), 21);

    let r = app.get(&format!("/cards/{}/pass.pkpass", id(&card))).await;
    assert_eq!(
        r.bytes().await.expect("body"),
        bodies[0],
        "the admin download shares the cache"
    );
    let held = last_modified(&fetch(&app, &pass, Method::HEAD, None).await);
    assert_eq!(
        fetch(&app, &pass, Method::GET, Some(&held)).await.status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(count(&metrics.served_not_modified), 1);
    assert_eq!(count(&metrics.signed), 2, "a 304 signs nothing");
}

async fn an_apns_410_prunes_the_registrations_of_that_push_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let pass = install(&app, &card).await;
    let (gone, kept) = (Device::apple(6), Device::apple(7));
    for device in [&gone, &kept] {
        assert_eq!(register(&app, &pass, device).await, StatusCode::CREATED);
    }
    let store = &app.state.store;
    let before_registration = Utc::now() - TimeDelta::hours(1);
    let pruned = store
        .delete_registrations_by_push_token(&gone.push_token, Some(before_registration))
        .await
        .expect("prune");
    assert_eq!(
        pruned, 0,
        "the device registered again after APNs found the token invalid"
    );
    let pruned = store
        .delete_registrations_by_push_token(&gone.push_token, Some(Utc::now()))
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert_eq!(list(&app, &pass, &gone, None).await, None);

    book(&app, &card, "G-1", 60_000).await;
    assert_eq!(pushes_to(&app, &gone.push_token).await, 0);
    assert_eq!(pushes_to(&app, &kept.push_token).await, 1);
    assert_eq!(
        register(&app, &pass, &gone).await,
        StatusCode::CREATED,
        "it may come back"
    );
}
