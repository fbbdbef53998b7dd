//! The APNs client against the loopback fake, with token and certificate auth.

use crate::common;

use std::time::Duration;

use common::apns_fake::{ApnsFake, AuthSeen, FakeAuth, Reply};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use walletcards::apple::apns::{
    ApnsClient, ApnsConfig, ApnsCredential, InvalidPush, PushOutcome, Reason,
};
use walletcards::apple::devcerts::write_dev_certs;
use walletcards::apple::signer::{Signer, SignerSource};
use walletcards::config::{ApnsAuth, AppleSettings};

const TOPIC: &str = "pass.com.example.loyalty";
const TEAM_ID: &str = "ABCDE12345";
const KEY_ID: &str = "KEY1234567";

fn device_token(n: usize) -> String {
    format!("{n:064x}")
}

fn p8_key() -> Vec<u8> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
    key.private_key_to_pem_pkcs8().expect("pem")
}

/// A fake that checks provider tokens signed by the `.p8` key.
async fn token_fake(p8: &[u8]) -> ApnsFake {
    let public = PKey::private_key_from_pem(p8).expect("p8");
    ApnsFake::start(FakeAuth::Token {
        public_key_pem: public.public_key_to_pem().expect("public pem"),
        key_id: KEY_ID.into(),
        team_id: TEAM_ID.into(),
    })
    .await
}

/// A fake that checks provider tokens, and a client holding the matching `.p8` key.
async fn token_auth() -> (ApnsFake, ApnsClient) {
    let p8 = p8_key();
    let fake = token_fake(&p8).await;
    let client = token_client(&fake, p8);
    (fake, client)
}

/// A token-auth client of `fake` signing with the `.p8` key.
fn token_client(fake: &ApnsFake, p8: Vec<u8>) -> ApnsClient {
    ApnsClient::new(ApnsConfig {
        base_url: fake.base_url.clone(),
        credential: ApnsCredential::Token {
            key_p8_pem: p8.into(),
            key_id: KEY_ID.into(),
            team_id: TEAM_ID.into(),
        },
        extra_root_pem: Some(fake.ca_pem().to_vec()),
        request_timeout: Duration::from_secs(10),
    })
    .expect("client")
}

fn apple_settings(fake: &ApnsFake, dir: &std::path::Path, auth: ApnsAuth) -> AppleSettings {
    let ca = dir.join("apns-ca.pem");
    std::fs::write(&ca, fake.ca_pem()).expect("write CA");
    AppleSettings {
        pass_type_id: Some(TOPIC.into()),
        team_id: Some(TEAM_ID.into()),
        signer_cert: None,
        signer_key: None,
        signer_key_password: None,
        signer_p12: None,
        signer_p12_password: None,
        wwdr_cert: None,
        apns_url: fake.base_url.clone(),
        apns_auth: auth,
        apns_key_p8: None,
        apns_key_id: None,
        apns_ca: Some(ca),
    }
}

/// Development certificates on disk, the signer loaded from them as at start-up, a fake that
/// trusts their root, and a client configured from settings with certificate auth.
async fn certificate_auth() -> (ApnsFake, ApnsClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = write_dev_certs(dir.path(), TOPIC, TEAM_ID, false).expect("dev certs");
    let source = SignerSource::Pem {
        cert: paths.signer_cert.clone(),
        key: paths.signer_key.clone(),
        key_password: None,
    };
    let now = chrono::Utc::now();
    let signer = Signer::load(&source, &paths.wwdr_cert, Some(TOPIC), None, now).expect("signer");
    let fake = ApnsFake::start(FakeAuth::Certificate {
        ca_pem: std::fs::read(&paths.wwdr_cert).expect("wwdr"),
    })
    .await;
    let settings = apple_settings(&fake, dir.path(), ApnsAuth::Certificate);
    let client = ApnsClient::from_settings(&settings, &signer).expect("client");
    (fake, client, dir)
}

#[tokio::test]
async fn a_push_with_token_auth_is_delivered_with_topic_payload_and_a_valid_jwt() {
    let (fake, client) = token_auth().await;
    let report = client.push(&device_token(1), TOPIC).await;
    let PushOutcome::Delivered { apns_id } = &report.outcome else {
        panic!("not delivered: {report:?}");
    };
    assert!(
        apns_id.as_ref().is_some_and(|id| id.len() == 36),
        "{apns_id:?}"
    );
    assert!(report.latency > Duration::ZERO);
    let deliveries = fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].token, device_token(1));
    assert_eq!(deliveries[0].topic, TOPIC);
    assert!(matches!(deliveries[0].auth, AuthSeen::Token { .. }));
}

#[tokio::test]
async fn a_push_with_certificate_auth_from_settings_is_delivered_over_the_pass_type_id_certificate()
{
    let (fake, client, _dir) = certificate_auth().await;
    let report = client.push(&device_token(2), TOPIC).await;
    assert!(
        matches!(report.outcome, PushOutcome::Delivered { .. }),
        "{report:?}"
    );
    let auth = &fake.deliveries()[0].auth;
    assert_eq!(auth, &AuthSeen::Certificate { uid: TOPIC.into() });
}

#[tokio::test]
async fn token_auth_from_settings_reads_the_p8_key_and_pushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p8 = p8_key();
    let key_file = dir.path().join("AuthKey.p8");
    std::fs::write(&key_file, &p8).expect("write p8");
    let fake = token_fake(&p8).await;
    let paths = write_dev_certs(dir.path(), TOPIC, TEAM_ID, false).expect("dev certs");
    let source = SignerSource::Pem {
        cert: paths.signer_cert,
        key: paths.signer_key,
        key_password: None,
    };
    let signer =
        Signer::load(&source, &paths.wwdr_cert, None, None, chrono::Utc::now()).expect("signer");
    let mut settings = apple_settings(&fake, dir.path(), ApnsAuth::Token);
    settings.apns_key_p8 = Some(key_file);
    settings.apns_key_id = Some(KEY_ID.into());
    let client = ApnsClient::from_settings(&settings, &signer).expect("client");
    let report = client.push(&device_token(3), TOPIC).await;
    assert!(
        matches!(report.outcome, PushOutcome::Delivered { .. }),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_pass_type_id_is_rejected_not_retried() {
    let (fake, client, _dir) = certificate_auth().await;
    let report = client
        .push(&device_token(4), "pass.com.example.other")
        .await;
    assert_eq!(
        report.outcome,
        PushOutcome::Rejected {
            status: 400,
            reason: Some(Reason::TopicDisallowed)
        }
    );
    assert!(fake.deliveries().is_empty());
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected_as_a_configuration_problem() {
    let fake = token_fake(&p8_key()).await;
    let client = token_client(&fake, p8_key());
    let report = client.push(&device_token(15), TOPIC).await;
    assert_eq!(
        report.outcome,
        PushOutcome::Rejected {
            status: 403,
            reason: Some(Reason::InvalidProviderToken)
        }
    );
}

#[tokio::test]
async fn without_a_client_certificate_the_handshake_fails_and_the_push_is_retried_later() {
    let (cert_fake, _, _dir) = certificate_auth().await;
    let client = token_client(&cert_fake, p8_key());
    let report = client.push(&device_token(16), TOPIC).await;
    assert!(
        matches!(
            report.outcome,
            PushOutcome::Retry {
                status: None,
                error: Some(_),
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(cert_fake.connections(), 0);
    assert_eq!(cert_fake.requests(), 0);
}

#[tokio::test]
async fn two_hundred_concurrent_pushes_share_one_connection() {
    for auth in ["token", "certificate"] {
        let (fake, client, _dir) = match auth {
            "token" => {
                let (fake, client) = token_auth().await;
                (fake, client, None)
            }
            _ => {
                let (fake, client, dir) = certificate_auth().await;
                (fake, client, Some(dir))
            }
        };
        let mut pushes = tokio::task::JoinSet::new();
        for n in 0..200 {
            let client = client.clone();
            pushes.spawn(async move { client.push(&device_token(n), TOPIC).await });
        }
        while let Some(report) = pushes.join_next().await {
            let report = report.expect("task");
            assert!(
                matches!(report.outcome, PushOutcome::Delivered { .. }),
                "{report:?}"
            );
        }
        assert_eq!(fake.deliveries().len(), 200, "{auth}");
        assert_eq!(fake.connections(), 1, "{auth}: one multiplexed connection");
    }
}

#[tokio::test]
async fn a_gone_token_comes_back_unregistered_and_a_bad_one_as_bad_device_token() {
    let (fake, client) = token_auth().await;
    fake.answer_token(&device_token(5), Reply::error(410, "Unregistered"));
    fake.answer_token(&device_token(6), Reply::error(400, "BadDeviceToken"));
    let gone = client.push(&device_token(5), TOPIC).await;
    let PushOutcome::Unregistered { reason, since } = gone.outcome else {
        panic!("410 is Unregistered: {:?}", gone.outcome);
    };
    assert_eq!(reason, Reason::Unregistered);
    let since = since.expect("the 410's timestamp");
    assert!(
        (chrono::Utc::now() - since).num_seconds().abs() < 60,
        "{since}"
    );
    let bad = client.push(&device_token(6), TOPIC).await;
    assert_eq!(bad.outcome, PushOutcome::BadDeviceToken);
    let fine = client.push(&device_token(7), TOPIC).await;
    assert!(matches!(fine.outcome, PushOutcome::Delivered { .. }));
    assert_eq!(fake.requests(), 3, "no retries");
}

#[tokio::test]
async fn an_expired_provider_token_is_renewed_and_the_push_retried_at_once() {
    let (fake, client) = token_auth().await;
    fake.queue([Reply::error(403, "ExpiredProviderToken")]);
    let report = client.push(&device_token(8), TOPIC).await;
    assert!(
        matches!(report.outcome, PushOutcome::Delivered { .. }),
        "{report:?}"
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].reason.as_deref(), Some("ExpiredProviderToken"));
    let jwt = |i: usize| match &seen[i].auth {
        Some(AuthSeen::Token { jwt, .. }) => jwt.clone(),
        other => panic!("no token: {other:?}"),
    };
    assert_ne!(jwt(0), jwt(1), "a new token was signed");
    // The renewed token is kept for later pushes.
    client.push(&device_token(9), TOPIC).await;
    let renewed = jwt(1);
    let later = fake.seen();
    assert!(matches!(&later[2].auth, Some(AuthSeen::Token { jwt, .. }) if *jwt == renewed));
}

#[tokio::test]
async fn a_second_expired_answer_is_returned_as_retry_without_a_third_attempt() {
    let (fake, client) = token_auth().await;
    let expired = Reply::error(403, "ExpiredProviderToken");
    fake.queue([expired.clone(), expired.clone(), expired]);
    let report = client.push(&device_token(10), TOPIC).await;
    assert!(matches!(
        report.outcome,
        PushOutcome::Retry {
            status: Some(403),
            reason: Some(Reason::ExpiredProviderToken),
            ..
        }
    ));
    // A later push within a minute reuses the renewed token rather than renewing again.
    client.push(&device_token(10), TOPIC).await;
    assert_eq!(fake.requests(), 3);
}

#[tokio::test]
async fn rate_limits_and_server_errors_ask_for_a_retry() {
    let (fake, client) = token_auth().await;
    fake.queue([
        Reply::error(429, "TooManyRequests").with_retry_after("30"),
        Reply::error(500, "InternalServerError"),
        Reply::error(503, "ServiceUnavailable"),
    ]);
    let token = device_token(11);
    let expected = [
        (429, Reason::TooManyRequests, Some(Duration::from_secs(30))),
        (500, Reason::InternalServerError, None),
        (503, Reason::ServiceUnavailable, None),
    ];
    for (status, reason, retry_after) in expected {
        let report = client.push(&token, TOPIC).await;
        assert_eq!(
            report.outcome,
            PushOutcome::Retry {
                status: Some(status),
                reason: Some(reason),
                retry_after,
                error: None
            }
        );
    }
    let report = client.push(&token, TOPIC).await;
    assert!(matches!(report.outcome, PushOutcome::Delivered { .. }));
    assert_eq!(fake.deliveries().len(), 1);
}

#[tokio::test]
async fn the_client_reconnects_after_the_fake_drops_the_connection() {
    let (fake, client) = token_auth().await;
    let first = client.push(&device_token(12), TOPIC).await;
    assert!(matches!(first.outcome, PushOutcome::Delivered { .. }));
    fake.drop_connections().await;
    let second = client.push(&device_token(13), TOPIC).await;
    assert!(
        matches!(second.outcome, PushOutcome::Delivered { .. }),
        "{second:?}"
    );
    assert_eq!(fake.connections(), 2);
    assert_eq!(fake.deliveries().len(), 2);
}

#[tokio::test]
async fn the_client_moves_to_a_new_connection_after_goaway() {
    let (fake, client) = token_auth().await;
    fake.goaway_after(10);
    for n in 0..30 {
        let report = client.push(&device_token(n), TOPIC).await;
        assert!(
            matches!(report.outcome, PushOutcome::Delivered { .. }),
            "{n}: {report:?}"
        );
    }
    assert_eq!(fake.deliveries().len(), 30);
    assert_eq!(fake.connections(), 3);
}

#[tokio::test]
async fn pushes_in_flight_during_a_goaway_are_delivered_or_asked_to_retry_never_lost() {
    let (fake, client) = token_auth().await;
    fake.goaway_after(50);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let client = client.clone();
        workers.spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..25 {
                let token = device_token(worker * 100 + n);
                outcomes.push(client.push(&token, TOPIC).await.outcome);
            }
            outcomes
        });
    }
    let mut delivered = 0;
    while let Some(outcomes) = workers.join_next().await {
        for outcome in outcomes.expect("task") {
            match outcome {
                PushOutcome::Delivered { .. } => delivered += 1,
                PushOutcome::Retry { status: None, .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(fake.deliveries().len(), delivered);
    assert!(
        fake.connections() >= 2,
        "GOAWAY moved pushes to a new connection"
    );
    eprintln!(
        "delivered {delivered}/400 over {} connections",
        fake.connections()
    );
}

#[tokio::test]
async fn no_answer_at_all_is_a_retry_with_the_transport_error() {
    let (fake, client) = token_auth().await;
    let base_url = fake.base_url.clone();
    drop(fake);
    let report = client.push(&device_token(14), TOPIC).await;
    let PushOutcome::Retry {
        status: None,
        error: Some(error),
        ..
    } = &report.outcome
    else {
        panic!("expected a transport retry from {base_url}: {report:?}");
    };
    assert!(!error.is_empty());
}

#[tokio::test]
async fn a_malformed_push_token_is_refused_before_sending() {
    let (fake, client) = token_auth().await;
    for token in ["", "xyz", "../3/device/00", &"0".repeat(63)] {
        let report = client.push(token, TOPIC).await;
        assert_eq!(
            report.outcome,
            PushOutcome::NotSent(InvalidPush::DeviceToken)
        );
    }
    assert_eq!(fake.requests(), 0);
}
