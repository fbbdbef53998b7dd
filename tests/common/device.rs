//! A wallet on a device, as the PassKit web service sees it: install a pass (read its web
//! service and token), register, list, fetch, unregister. Shared by the web service and the
//! push tests.

use std::io::{Cursor, Read};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde_json::{Value, json};
use walletcards::domain::devices::DeviceLibraryId;

use super::{TestApp, id};

/// What a device reads from the pass it installs.
#[derive(Debug, Clone)]
pub struct Installed {
    pub web_service: String,
    pub token: String,
    pub pass_type: String,
    pub serial: String,
}

/// A wallet on a device: its library id, push token and `Authorization` scheme.
pub struct Device {
    pub id: String,
    pub push_token: String,
    pub scheme: &'static str,
}

impl Device {
    pub fn apple(n: u32) -> Self {
        Device {
            id: format!("{n:032x}"),
            push_token: format!("{:064x}", 0xabc0_0000 + n),
            scheme: "ApplePass",
        }
    }
}

pub fn pass_json(pkpass: &[u8]) -> Value {
    let mut zip = zip::ZipArchive::new(Cursor::new(pkpass)).expect("a zip");
    let mut text = String::new();
    zip.by_name("pass.json")
        .expect("pass.json")
        .read_to_string(&mut text)
        .expect("read");
    serde_json::from_str(&text).expect("pass.json is JSON")
}

/// Downloads the card's pass as a person would (admin link) and reads what Wallet reads.
pub async fn install(app: &TestApp, card: &Value) -> Installed {
    let r = app.get(&format!("/cards/{}/pass.pkpass", id(card))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pass = pass_json(&r.bytes().await.expect("body"));
    let text = |k: &str| pass[k].as_str().expect("a string").to_owned();
    Installed {
        web_service: text("webServiceURL"),
        token: text("authenticationToken"),
        pass_type: text("passTypeIdentifier"),
        serial: text("serialNumber"),
    }
}

pub fn registration_url(p: &Installed, device: &Device) -> String {
    format!(
        "{}/v1/devices/{}/registrations/{}/{}",
        p.web_service, device.id, p.pass_type, p.serial
    )
}

pub fn with_token(rb: RequestBuilder, scheme: &str, token: &str) -> RequestBuilder {
    rb.header(header::AUTHORIZATION, format!("{scheme} {token}"))
}

pub async fn register(app: &TestApp, p: &Installed, device: &Device) -> StatusCode {
    let rb = app.client.post(registration_url(p, device));
    with_token(rb, device.scheme, &p.token)
        .json(&json!({"pushToken": device.push_token}))
        .send()
        .await
        .expect("request")
        .status()
}

pub async fn unregister(app: &TestApp, p: &Installed, device: &Device) -> StatusCode {
    let rb = app.client.delete(registration_url(p, device));
    let r = with_token(rb, device.scheme, &p.token).send().await;
    r.expect("request").status()
}

/// `GET …/registrations/{type}?passesUpdatedSince=tag`: the serials and the new tag, or
/// `None` for 204.
pub async fn list(
    app: &TestApp,
    p: &Installed,
    device: &Device,
    tag: Option<&str>,
) -> Option<(Vec<String>, String)> {
    let url = format!(
        "{}/v1/devices/{}/registrations/{}",
        p.web_service, device.id, p.pass_type
    );
    let mut rb = app.client.get(url);
    if let Some(tag) = tag {
        rb = rb.query(&[("passesUpdatedSince", tag)]);
    }
    let r = rb.send().await.expect("request");
    if r.status() == StatusCode::NO_CONTENT {
        return None;
    }
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("JSON");
    let serials = body["serialNumbers"]
        .as_array()
        .expect("serialNumbers")
        .iter()
        .map(|s| s.as_str().expect("a serial").to_owned())
        .collect();
    Some((
        serials,
        body["lastUpdated"]
            .as_str()
            .expect("lastUpdated")
            .to_owned(),
    ))
}

pub fn pass_url(p: &Installed) -> String {
    format!("{}/v1/passes/{}/{}", p.web_service, p.pass_type, p.serial)
}

/// `GET` (or `HEAD`) of the latest pass, as Apple Wallet asks for it.
pub async fn fetch(app: &TestApp, p: &Installed, method: Method, since: Option<&str>) -> Response {
    let rb = app.client.request(method, pass_url(p));
    let mut rb = with_token(rb, "ApplePass", &p.token);
    if let Some(since) = since {
        rb = rb.header(header::IF_MODIFIED_SINCE, since);
    }
    rb.send().await.expect("request")
}

pub fn last_modified(r: &Response) -> String {
    r.headers()[header::LAST_MODIFIED]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

pub fn http_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc2822(s)
        .expect("an HTTP date")
        .into()
}

/// The pass's cashback, as the device shows it.
pub async fn shown_cashback(r: Response) -> f64 {
    let pass = pass_json(&r.bytes().await.expect("body"));
    pass["storeCard"]["primaryFields"][0]["value"]
        .as_f64()
        .expect("a number")
}

/// Books an order for the card's company and member.
pub async fn book(app: &TestApp, card: &Value, external_id: &str, amount_minor: i64) {
    let body = json!({
        "external_id": external_id,
        "account_id": card["account_id"],
        "member_id": card["member_id"],
        "amount_minor": amount_minor,
        "currency": "EUR",
        "placed_at": "2026-11-20T10:00:00+01:00",
    });
    app.post_ok("/orders", &body, StatusCode::CREATED).await;
}

/// Apple pushes queued for a push token.
pub async fn pushes_to(app: &TestApp, push_token: &str) -> usize {
    let outbox = app.outbox().await;
    outbox
        .iter()
        .filter(|d| d.kind == "apple_push" && d.target == push_token)
        .count()
}

/// `(push_token, scheme)` of a device, as stored.
pub async fn stored_device(app: &TestApp, device: &Device) -> (String, String) {
    let id = DeviceLibraryId::parse(&device.id).expect("a device id");
    let stored = app.state.store.find_device(&id).await.expect("store");
    let stored = stored.expect("the device is stored");
    (
        stored.push_token.as_str().to_owned(),
        stored.scheme.as_str().to_owned(),
    )
}

/// A timestamp literal both engines store and compare as the app writes them.
pub fn sql_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}
