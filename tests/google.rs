//! The Google Wallet client against the loopback fake: tokens, classes, objects, the error
//! table's classifications, notification quota, retries and save links.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::google_fake::{GoogleFake, TestServiceAccount, verify_jwt};
use serde_json::{Value, json};
use walletcards::config::{GOOGLE_API_URL, GOOGLE_TOKEN_URL, GoogleSettings};
use walletcards::domain::money::{Currency, Money as DomainMoney};
use walletcards::google::model::{
    Balance, Barcode, Image, ImageUri, LoyaltyClass, LoyaltyObject, LoyaltyObjectPatch,
    LoyaltyPoints, Message, MessageType, Money, NotifyPreference, ObjectFields, ObjectState,
    TextModule,
};
use walletcards::google::wallet::{WalletClient, WalletConfig};
use walletcards::google::{Outcome, ResourceId, ServiceAccount, classify, save_link};

const ISSUER: &str = "3388000000012345678";

struct Setup {
    fake: GoogleFake,
    account: TestServiceAccount,
    client: WalletClient,
}

fn client_for(fake: &GoogleFake, account: &TestServiceAccount, issuer: &str) -> WalletClient {
    client_with(fake, account, issuer, WalletConfig::DEFAULT_TIMEOUT)
}

fn client_with(
    fake: &GoogleFake,
    account: &TestServiceAccount,
    issuer: &str,
    timeout: Duration,
) -> WalletClient {
    let sa = ServiceAccount::from_json(&account.key_file_json).expect("service account");
    let config = WalletConfig {
        api_url: fake.api_url.clone(),
        token_url: fake.token_url.clone(),
        issuer_id: issuer.to_owned(),
        request_timeout: timeout,
        requests_per_second: 20,
    };
    WalletClient::new(config, Arc::new(sa)).expect("client")
}

async fn setup() -> Setup {
    let account = TestServiceAccount::generate();
    let fake = GoogleFake::start(&account, ISSUER).await;
    let client = client_for(&fake, &account, ISSUER);
    Setup {
        fake,
        account,
        client,
    }
}

fn id(suffix: &str) -> ResourceId {
    ResourceId::new(ISSUER, suffix).expect("id")
}

fn class(suffix: &str, program_name: &str) -> LoyaltyClass {
    LoyaltyClass {
        id: id(suffix),
        issuer_name: "ACME Supplies".into(),
        program_name: program_name.into(),
        program_logo: Image {
            source_uri: ImageUri {
                uri: "https://cdn.example.com/acme/logo-660.png".into(),
            },
            content_description: None,
        },
        review_status: None,
        hex_background_color: Some("#1a73e8".into()),
        hero_image: None,
        account_id_label: Some("Member ID".into()),
        account_name_label: None,
        localized_account_id_label: None,
        localized_account_name_label: None,
        rewards_tier_label: Some("Tier".into()),
        rewards_tier: Some("Gold".into()),
        callback_options: None,
        extra: Default::default(),
    }
}

fn object(suffix: &str, class_suffix: &str) -> LoyaltyObject {
    let eur = Currency::parse("EUR").expect("EUR");
    LoyaltyObject {
        id: id(suffix),
        class_id: id(class_suffix),
        state: ObjectState::Active,
        fields: ObjectFields {
            account_id: Some("CUST-4711".into()),
            account_name: Some("Jane Doe (Contoso GmbH)".into()),
            loyalty_points: Some(points("Points", Balance::Int(800))),
            secondary_loyalty_points: Some(points(
                "Cashback",
                Balance::Money(Money::from(DomainMoney::new(12_550, eur))),
            )),
            barcode: Some(Barcode {
                kind: "QR_CODE".into(),
                value: "CUST-4711".into(),
                alternate_text: Some("CUST-4711".into()),
            }),
            text_modules_data: Some(vec![TextModule {
                id: "next_tier".into(),
                header: "Next tier".into(),
                body: "EUR 4,500 more".into(),
                localized_header: None,
                localized_body: None,
            }]),
            ..Default::default()
        },
        extra: Default::default(),
    }
}

fn points(label: &str, balance: Balance) -> LoyaltyPoints {
    LoyaltyPoints {
        label: Some(label.into()),
        localized_label: None,
        balance,
    }
}

fn balance_patch(balance: i32, notify: bool) -> LoyaltyObjectPatch {
    LoyaltyObjectPatch {
        fields: ObjectFields {
            loyalty_points: Some(points("Points", Balance::Int(balance))),
            ..Default::default()
        },
        notify_preference: notify.then_some(NotifyPreference::NotifyOnUpdate),
        ..Default::default()
    }
}

fn reason<T>(outcome: &Outcome<T>) -> Option<(u16, Option<String>)> {
    match outcome {
        Outcome::NotFound(e)
        | Outcome::AlreadyExists(e)
        | Outcome::QuotaExceeded(e)
        | Outcome::Rejected(e) => Some((e.status, e.reason.clone())),
        _ => None,
    }
}

/// A class and an object in the fake, ready to be patched.
async fn issued(s: &Setup) -> ResourceId {
    assert_eq!(
        s.client.upsert_class(&class("acme", "ACME")).await.label(),
        "ok"
    );
    let object = object("cust-1", "acme");
    assert_eq!(s.client.insert_object(&object).await.label(), "ok");
    object.id
}

#[tokio::test]
async fn many_concurrent_calls_fetch_one_token_between_them() {
    let s = setup().await;
    let calls: Vec<_> = (0..20)
        .map(|n| {
            let client = s.client.clone();
            tokio::spawn(async move { client.get_class(&id(&format!("c{n}"))).await.label() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("task"), "not_found");
    }
    assert_eq!(s.fake.token_requests(), 1);
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_a_fresh_one_is_kept() {
    let s = setup().await;
    s.fake.set_token_lifetime(0);
    s.client.get_class(&id("x")).await;
    s.client.get_class(&id("x")).await;
    assert_eq!(
        s.fake.token_requests(),
        2,
        "a token expiring at once is renewed"
    );
    s.fake.set_token_lifetime(3599);
    s.client.get_class(&id("x")).await;
    s.client.get_class(&id("x")).await;
    assert_eq!(s.fake.token_requests(), 3);
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_sent_again() {
    let s = setup().await;
    s.client.get_class(&id("x")).await;
    s.fake.revoke_tokens();
    assert_eq!(s.client.get_class(&id("x")).await.label(), "not_found");
    assert_eq!(s.fake.token_requests(), 2);
    s.fake.refuse_bearers(true);
    let outcome = s.client.get_class(&id("x")).await;
    assert_eq!(reason(&outcome).map(|r| r.0), Some(401), "{outcome:?}");
    assert_eq!(outcome.label(), "rejected");
    assert_eq!(s.fake.token_requests(), 3, "renewed once, not in a loop");
}

#[tokio::test]
async fn a_key_the_token_endpoint_refuses_is_rejected_not_retried() {
    let s = setup().await;
    let impostor = TestServiceAccount::generate();
    let client = client_for(&s.fake, &impostor, ISSUER);
    let outcome = client.get_class(&id("acme")).await;
    assert_eq!(reason(&outcome), Some((400, Some("tokenRefused".into()))));
    assert_eq!(s.fake.token_requests(), 1);
    let path = format!("/walletobjects/v1/loyaltyClass/{ISSUER}.acme");
    assert_eq!(s.fake.requests("GET", &path), 0, "no call without a token");
}

#[tokio::test]
async fn a_class_is_inserted_then_updated_under_review_on_conflict() {
    let s = setup().await;
    let first = s.client.upsert_class(&class("acme", "ACME Rewards")).await;
    assert_eq!(first.label(), "ok", "{first:?}");
    let stored = s.fake.class(&format!("{ISSUER}.acme")).expect("class");
    assert_eq!(stored["reviewStatus"], "UNDER_REVIEW");
    assert_eq!(stored["programName"], "ACME Rewards");
    let again = s.client.insert_class(&class("acme", "ACME")).await;
    assert_eq!(reason(&again).map(|r| r.0), Some(409));
    let updated = s
        .client
        .upsert_class(&class("acme", "ACME Partner Rewards"))
        .await;
    let updated = updated.ok().expect("updated");
    assert_eq!(updated.program_name, "ACME Partner Rewards");
    let path = format!("/walletobjects/v1/loyaltyClass/{ISSUER}.acme");
    assert_eq!(s.fake.requests("PUT", &path), 1);
    assert_eq!(s.fake.requests("POST", "/walletobjects/v1/loyaltyClass"), 3);
    let stored = s.fake.class(&format!("{ISSUER}.acme")).expect("class");
    assert_eq!(stored["reviewStatus"], "UNDER_REVIEW");
    assert_eq!(stored["programName"], "ACME Partner Rewards");
    let read = s.client.get_class(&id("acme")).await.ok().expect("class");
    assert_eq!(read.rewards_tier.as_deref(), Some("Gold"));
}

#[tokio::test]
async fn an_object_round_trips_with_its_fields_and_a_patch_changes_only_what_it_names() {
    let s = setup().await;
    let object_id = issued(&s).await;
    let read = s.client.get_object(&object_id).await.ok().expect("object");
    let sent = object("cust-1", "acme");
    assert_eq!(read.fields.loyalty_points, sent.fields.loyalty_points);
    assert_eq!(
        read.fields.secondary_loyalty_points,
        sent.fields.secondary_loyalty_points
    );
    assert_eq!(read.fields.barcode, sent.fields.barcode);
    assert_eq!(read.fields.text_modules_data, sent.fields.text_modules_data);
    assert_eq!(read.extra["kind"], "walletobjects#loyaltyObject");
    let stored = s.fake.object(object_id.as_str()).expect("object");
    assert_eq!(
        stored["secondaryLoyaltyPoints"]["balance"],
        json!({"money": {"micros": "125500000", "currencyCode": "EUR"}})
    );
    let patched = s
        .client
        .patch_object(&object_id, &balance_patch(950, false))
        .await;
    let patched = patched.ok().expect("patched");
    assert_eq!(
        patched.fields.loyalty_points,
        Some(points("Points", Balance::Int(950)))
    );
    assert_eq!(patched.fields.account_name, sent.fields.account_name);
    let revoked = LoyaltyObjectPatch {
        state: Some(ObjectState::Inactive),
        ..Default::default()
    };
    let revoked = s.client.patch_object(&object_id, &revoked).await;
    assert_eq!(revoked.ok().map(|o| o.state), Some(ObjectState::Inactive));
}

#[tokio::test]
async fn missing_and_duplicate_ids_are_told_apart() {
    let s = setup().await;
    let object_id = issued(&s).await;
    let again = s.client.insert_object(&object("cust-1", "acme")).await;
    assert_eq!(again.label(), "already_exists");
    assert_eq!(s.client.get_object(&id("nope")).await.label(), "not_found");
    let patch = s
        .client
        .patch_object(&id("nope"), &balance_patch(1, false))
        .await;
    assert_eq!(patch.label(), "not_found");
    let orphan = s.client.insert_object(&object("cust-2", "no-class")).await;
    assert_eq!(reason(&orphan), Some((404, Some("classNotFound".into()))));
    assert!(s.fake.object(object_id.as_str()).is_some());
}

#[tokio::test]
async fn a_malformed_id_is_a_400_that_the_client_would_not_retry() {
    let s = setup().await;
    let token = s.client.tokens().bearer().await.expect("token");
    let http = reqwest::Client::new();
    for bad in ["acme.x", "12x", &format!("{ISSUER}.a%20b")] {
        let response = http
            .get(format!("{}/loyaltyObject/{bad}", s.fake.api_url))
            .bearer_auth(token.secret())
            .send()
            .await
            .expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body");
        let json: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(status, 400, "{bad}");
        assert_eq!(json["error"]["code"], 400);
        let outcome: Outcome<Value> = classify(status, &headers, &body);
        assert_eq!(outcome.label(), "rejected");
    }
    assert!(
        ResourceId::new(ISSUER, "a b").is_err(),
        "the client refuses it first"
    );
}

#[tokio::test]
async fn another_issuers_ids_are_permission_denied() {
    let s = setup().await;
    let stranger = client_for(&s.fake, &s.account, "1234");
    let mut class = class("acme", "ACME");
    class.id = ResourceId::new("1234", "acme").expect("id");
    let outcome = stranger.insert_class(&class).await;
    assert_eq!(
        reason(&outcome),
        Some((403, Some("permissionDenied".into())))
    );
    assert_eq!(outcome.label(), "rejected");
}

#[tokio::test]
async fn the_fourth_notification_in_a_day_is_quota_exceeded_and_a_silent_update_passes() {
    let s = setup().await;
    let object_id = issued(&s).await;
    for n in 0..3 {
        let outcome = s
            .client
            .patch_object(&object_id, &balance_patch(n, true))
            .await;
        assert_eq!(outcome.label(), "ok", "notification {n}");
    }
    let fourth = s
        .client
        .patch_object(&object_id, &balance_patch(4, true))
        .await;
    assert_eq!(reason(&fourth), Some((403, Some("quotaExceeded".into()))));
    assert_eq!(fourth.label(), "quota_exceeded");
    let silent = s
        .client
        .patch_object(&object_id, &balance_patch(4, false))
        .await;
    assert_eq!(silent.label(), "ok");
    let mut message = Message {
        id: "po-1".into(),
        header: "Order booked".into(),
        body: "+150 points".into(),
        message_type: Some(MessageType::TextAndNotify),
    };
    let pushed = s.client.add_message(&object_id, &message).await;
    assert_eq!(pushed.label(), "quota_exceeded");
    message.message_type = Some(MessageType::Text);
    let text = s
        .client
        .add_message(&object_id, &message)
        .await
        .ok()
        .expect("added");
    assert_eq!(text.fields.messages.map(|m| m.len()), Some(1));
    assert_eq!(s.fake.notifications(object_id.as_str()), 3);
    let stored = s.fake.object(object_id.as_str()).expect("object");
    assert!(stored.get("notifyPreference").is_none(), "ephemeral");
}

#[tokio::test]
async fn two_server_errors_then_success_read_retry_retry_ok() {
    let s = setup().await;
    let object_id = issued(&s).await;
    s.fake.fail_next(500, 2);
    let mut labels = vec![];
    for _ in 0..3 {
        let outcome = s
            .client
            .patch_object(&object_id, &balance_patch(5, false))
            .await;
        labels.push(outcome.label());
    }
    assert_eq!(labels, ["retry", "retry", "ok"]);
    s.fake.fail_next(429, 1);
    let throttled = s.client.get_object(&object_id).await;
    assert!(
        matches!(
            throttled,
            Outcome::Retry {
                status: Some(429),
                ..
            }
        ),
        "{throttled:?}"
    );
}

#[tokio::test]
async fn a_slow_or_absent_server_is_retried_later() {
    let s = setup().await;
    let object_id = issued(&s).await;
    let impatient = client_with(&s.fake, &s.account, ISSUER, Duration::from_millis(200));
    s.fake.set_delay(Some(Duration::from_secs(2)));
    let slow = impatient.get_object(&object_id).await;
    assert!(
        matches!(slow, Outcome::Retry { status: None, .. }),
        "{slow:?}"
    );
    s.fake.set_delay(None);
    let sa = ServiceAccount::from_json(&s.account.key_file_json).expect("sa");
    let config = WalletConfig {
        api_url: "http://127.0.0.1:9/walletobjects/v1".into(),
        token_url: "http://127.0.0.1:9/token".into(),
        issuer_id: ISSUER.into(),
        request_timeout: Duration::from_secs(2),
        requests_per_second: 20,
    };
    let absent = WalletClient::new(config, Arc::new(sa)).expect("client");
    let outcome = absent.get_object(&object_id).await;
    assert!(
        matches!(outcome, Outcome::Retry { status: None, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_save_link_is_skinny_signed_by_the_service_account_and_short() {
    let s = setup().await;
    let origins = vec!["https://portal.example.com".to_owned()];
    let now = chrono::Utc::now().timestamp();
    let link = save_link(
        s.client.account(),
        &origins,
        &id("cust-1"),
        &id("acme"),
        now,
    )
    .expect("link");
    let jwt = link
        .strip_prefix("https://pay.google.com/gp/v/save/")
        .expect("prefix");
    assert!(jwt.len() < 1_800, "{}", jwt.len());
    let (header, claims) = verify_jwt(jwt, &s.account.public_key_pem).expect("verified");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], s.account.email.as_str());
    assert_eq!(claims["aud"], "google");
    assert_eq!(claims["typ"], "savetowallet");
    assert_eq!(claims["origins"], json!(origins));
    assert_eq!(claims["iat"], now);
    assert_eq!(
        claims["payload"],
        json!({"loyaltyObjects": [{"id": format!("{ISSUER}.cust-1"),
            "classId": format!("{ISSUER}.acme")}]})
    );
    let mut tampered = jwt.to_owned();
    let middle = jwt.find('.').expect("dot") + 5;
    let flipped = if &jwt[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(middle..=middle, flipped);
    assert!(verify_jwt(&tampered, &s.account.public_key_pem).is_none());
    let other = TestServiceAccount::generate();
    assert!(verify_jwt(jwt, &other.public_key_pem).is_none());
    assert!(openssl_cli_verifies(jwt, &s.account.public_key_pem));
}

/// The `openssl dgst -verify` check of the spec (§4.3), outside this process.
fn openssl_cli_verifies(jwt: &str, public_key_pem: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("dir");
    let (signed, signature) = jwt.rsplit_once('.').expect("JWT");
    let files = [
        ("signed.txt", signed.as_bytes().to_vec()),
        (
            "sig.bin",
            URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
        ),
        ("pub.pem", public_key_pem.to_vec()),
    ];
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).expect("write");
    }
    let output = std::process::Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig.bin",
        ])
        .arg("signed.txt")
        .output()
        .expect("openssl");
    output.status.success() && String::from_utf8_lossy(&output.stdout).contains("Verified OK")
}

#[tokio::test]
async fn settings_switch_the_client_on_and_point_it_at_the_fake() {
    let s = setup().await;
    let mut settings = GoogleSettings {
        issuer_id: None,
        service_account: None,
        api_url: GOOGLE_API_URL.into(),
        token_url: GOOGLE_TOKEN_URL.into(),
        origins: vec![],
        callback_keys_url: None,
        callback_keys_file: None,
        callback_url: None,
        requests_per_second: 20,
    };
    assert!(
        WalletClient::from_settings(&settings)
            .expect("off")
            .is_none()
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sa.json");
    std::fs::write(&path, &s.account.key_file_json).expect("write");
    settings.issuer_id = Some(ISSUER.into());
    settings.service_account = Some(path);
    settings.api_url = s.fake.api_url.clone();
    settings.token_url = s.fake.token_url.clone();
    let client = WalletClient::from_settings(&settings)
        .expect("on")
        .expect("client");
    let outcome = client.upsert_class(&class("acme", "ACME")).await;
    assert_eq!(outcome.label(), "ok", "{outcome:?}");
    assert_eq!(
        s.fake.token_requests(),
        1,
        "the key file's token_uri is overridden"
    );
}
