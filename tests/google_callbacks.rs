//! Google Wallet's save and delete callbacks through the real HTTP stack, with a root key of
//! the test's own (configured as the keys file): a correctly signed save counts once even when
//! delivered twice; a forged signature, an expired intermediate key or a callback for another
//! issuer is refused and counted nowhere — on SQLite and on PostgreSQL.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Engine, TestApp, spawn_app, spawn_app_with_settings};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sha::sha256;
use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::google::callback::{PROTOCOL, SENDER, length_prefixed};

const ISSUER: &str = "3388000000012345678";

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey")
}

fn spki(k: &PKey<Private>) -> String {
    STANDARD.encode(k.public_key_to_der().expect("SPKI"))
}

fn sign(k: &PKey<Private>, data: &[u8]) -> String {
    let sig = EcdsaSig::sign(&sha256(data), &k.ec_key().expect("EC")).expect("sign");
    STANDARD.encode(sig.to_der().expect("DER"))
}

/// A callback as Google signs it.
fn callback(root: &PKey<Private>, recipient: &str, nonce: &str, key_valid_ms: i64) -> Value {
    let now = chrono::Utc::now().timestamp_millis();
    let intermediate = key();
    let signed_key = json!({"keyValue": spki(&intermediate),
                            "keyExpiration": (now + key_valid_ms).to_string()})
    .to_string();
    let signed_message = json!({"classId": format!("{ISSUER}.prg_1"),
        "objectId": format!("{ISSUER}.crd_1"), "eventType": "save", "nonce": nonce,
        "expTimeMillis": now + 60_000})
    .to_string();
    json!({
        "signature": sign(&intermediate, &length_prefixed(&[SENDER, recipient, PROTOCOL, &signed_message])),
        "intermediateSigningKey": {"signedKey": signed_key,
            "signatures": [sign(root, &length_prefixed(&[SENDER, PROTOCOL, &signed_key]))]},
        "protocolVersion": PROTOCOL,
        "signedMessage": signed_message,
    })
}

async fn post(app: &TestApp, body: &Value) -> StatusCode {
    let r = app
        .client
        .post(format!("{}/google/callback", app.base))
        .json(body)
        .send()
        .await
        .expect("request");
    r.status()
}

async fn saves(app: &TestApp) -> i64 {
    let rows: Vec<(i64,)> = app
        .fetch("SELECT COUNT(*) FROM google_callbacks WHERE event_type = 'save'")
        .await;
    rows[0].0
}

async fn save_and_delete_events_are_verified_and_counted_once(engine: Engine) {
    let root = key();
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = dir.path().join("google-root-keys.json");
    let file = json!({"keys": [{"keyValue": spki(&root), "protocolVersion": PROTOCOL}]});
    std::fs::write(&keys, file.to_string()).expect("keys file");
    let certs = walletcards::apple::devcerts::write_dev_certs(
        &dir.path().join("certs"),
        walletcards::startup::DEV_PASS_TYPE_ID,
        walletcards::startup::DEV_TEAM_ID,
        false,
    )
    .expect("dev certs");
    let app = spawn_app_with_settings(
        engine,
        &[
            ("google.issuer_id", json!(ISSUER)),
            (
                "google.service_account",
                json!(certs.google_service_account),
            ),
            ("google.callback_keys_file", json!(keys)),
        ],
    )
    .await;

    let save = callback(&root, ISSUER, "nonce-1", 60_000);
    assert_eq!(post(&app, &save).await, StatusCode::OK);
    assert_eq!(post(&app, &save).await, StatusCode::OK, "a redelivery");
    assert_eq!(saves(&app).await, 1, "counted once");

    let forged = callback(&key(), ISSUER, "nonce-2", 60_000);
    let expired = callback(&root, ISSUER, "nonce-3", -1);
    let elsewhere = callback(&root, "3388000000099999999", "nonce-4", 60_000);
    for refused in [forged, expired, elsewhere] {
        assert_eq!(post(&app, &refused).await, StatusCode::UNAUTHORIZED);
    }
    let malformed = json!({"signedMessage": "{}"});
    assert_eq!(post(&app, &malformed).await, StatusCode::BAD_REQUEST);
    assert_eq!(saves(&app).await, 1, "nothing refused was recorded");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("walletcards_google_wallet_events{event=\"save\"} 1"),
        "{metrics}"
    );
}

async fn without_google_settings_there_is_no_callback_endpoint(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = callback(&key(), ISSUER, "nonce-1", 60_000);
    assert_eq!(post(&app, &body).await, StatusCode::NOT_FOUND);
}

/// Google's 3 notifications per object and day are counted in the database, so every
/// instance spends one budget.
async fn the_notification_budget_is_counted_per_object_and_day(engine: Engine) {
    use walletcards::domain::face::Notify;
    use walletcards::google::pace::{Delivery, notify_or_silent};
    let app = spawn_app(engine).await;
    let store = walletcards::store::Store::connect(&app.database_url, 2)
        .await
        .expect("store");
    let now = walletcards::store::now();
    let hours = |h: i64| now - chrono::TimeDelta::hours(h);
    let object = format!("{ISSUER}.crd_1");
    for at in [hours(30), hours(3), hours(1)] {
        store
            .record_google_notification(&object, at)
            .await
            .expect("recorded");
    }
    store
        .record_google_notification(&format!("{ISSUER}.crd_2"), hours(1))
        .await
        .expect("recorded");
    let sent = store
        .google_notifications_since(&object, hours(24))
        .await
        .expect("count");
    assert_eq!(
        sent, 2,
        "the one of 30 hours ago no longer counts, nor another object's"
    );
    assert_eq!(
        notify_or_silent(Some(Notify::TierChange), sent),
        Delivery::Notify
    );
    assert_eq!(
        notify_or_silent(Some(Notify::CashbackCredit), sent),
        Delivery::Silent
    );
    store.close().await;
}

/// An app with callbacks verified against `root`; the folder holds its keys file.
async fn app_trusting(engine: Engine, root: &PKey<Private>) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = dir.path().join("google-root-keys.json");
    let file = json!({"keys": [{"keyValue": spki(root), "protocolVersion": PROTOCOL}]});
    std::fs::write(&keys, file.to_string()).expect("keys file");
    let certs = walletcards::apple::devcerts::write_dev_certs(
        &dir.path().join("certs"),
        walletcards::startup::DEV_PASS_TYPE_ID,
        walletcards::startup::DEV_TEAM_ID,
        false,
    )
    .expect("dev certs");
    let settings = [
        ("google.issuer_id", json!(ISSUER)),
        (
            "google.service_account",
            json!(certs.google_service_account),
        ),
        ("google.callback_keys_file", json!(keys)),
    ];
    (spawn_app_with_settings(engine, &settings).await, dir)
}

async fn a_callback_with_more_signatures_than_google_sends_is_refused_unchecked(engine: Engine) {
    use walletcards::google::callback::MAX_SIGNATURES;
    let root = key();
    let (app, _dir) = app_trusting(engine, &root).await;
    let stranger = key();
    let with_signatures = |nonce: &str, count: usize| {
        let mut body = callback(&root, ISSUER, nonce, 60_000);
        let signatures = &mut body["intermediateSigningKey"]["signatures"];
        let valid = signatures[0].clone();
        let forged = sign(&stranger, b"anything");
        let mut all = vec![json!(forged); count - 1];
        all.push(valid);
        *signatures = json!(all);
        body
    };
    let padded = with_signatures("nonce-1", MAX_SIGNATURES + 1);
    assert_eq!(post(&app, &padded).await, StatusCode::BAD_REQUEST);
    assert_eq!(saves(&app).await, 0, "nothing was recorded");
    let rotating = with_signatures("nonce-2", MAX_SIGNATURES);
    assert_eq!(post(&app, &rotating).await, StatusCode::OK);
    assert_eq!(saves(&app).await, 1);
}

on_both_engines!(
    the_notification_budget_is_counted_per_object_and_day,
    save_and_delete_events_are_verified_and_counted_once,
    without_google_settings_there_is_no_callback_endpoint,
    a_callback_with_more_signatures_than_google_sends_is_refused_unchecked,
);
