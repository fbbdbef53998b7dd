//! The one request a pass push is: pure, so its headers are unit-tested without a server.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Method, Request, Url};

use super::response::InvalidPush;

/// Apple: "an empty JSON dictionary for the payload"; a zero-length body is `PayloadEmpty`.
pub const PAYLOAD: &[u8] = b"{}";

/// Apple documents no push type for passes (spec §3.2). We send `alert` with priority 10, as
/// hapns's Wallet example and the forum report 765873 do: `background` would have to go with
/// priority 5 (priority 10 with `background` is an error) and is throttled by the device,
/// while a pass push is handled by Wallet itself, not by an app that a background push would
/// wake. Sending a type at all keeps us right where Apple calls the header required.
pub const PUSH_TYPE: HeaderValue = HeaderValue::from_static("alert");
pub const PRIORITY: HeaderValue = HeaderValue::from_static("10");

const APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
const APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
const APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");

/// Device tokens are hex (32 bytes today; Apple warns they may grow), so anything else is
/// refused before it reaches a URL path.
pub fn check_device_token(token: &str) -> Result<(), InvalidPush> {
    let ok = (16..=200).contains(&token.len())
        && token.len() % 2 == 0
        && token.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(()).ok_or(InvalidPush::DeviceToken)
}

/// `POST {base}/3/device/{token}` with topic, push type, priority, the provider token when
/// token auth is used, and the `{}` payload.
pub fn build_request(
    base: &str,
    push_token: &str,
    topic: &str,
    authorization: Option<&HeaderValue>,
    timeout: Duration,
) -> Result<Request, InvalidPush> {
    check_device_token(push_token)?;
    let topic = match HeaderValue::from_str(topic) {
        Ok(value) if !topic.is_empty() => value,
        _ => return Err(InvalidPush::Topic),
    };
    let url = format!("{}/3/device/{push_token}", base.trim_end_matches('/'));
    // The base URL was checked when the client was made and the token is hex.
    let url = Url::parse(&url).map_err(|_| InvalidPush::DeviceToken)?;
    let mut request = Request::new(Method::POST, url);
    let headers = request.headers_mut();
    headers.insert(APNS_TOPIC, topic);
    headers.insert(APNS_PUSH_TYPE, PUSH_TYPE);
    headers.insert(APNS_PRIORITY, PRIORITY);
    if let Some(value) = authorization {
        headers.insert(AUTHORIZATION, value.clone());
    }
    *request.body_mut() = Some(PAYLOAD.into());
    *request.timeout_mut() = Some(timeout);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";

    #[test]
    fn request_carries_topic_type_priority_auth_and_the_empty_dictionary() {
        let auth = HeaderValue::from_static("bearer x.y.z");
        let request = build_request(
            "https://api.push.apple.com/",
            TOKEN,
            "pass.com.example.loyalty",
            Some(&auth),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.url().as_str(),
            format!("https://api.push.apple.com/3/device/{TOKEN}")
        );
        let h = request.headers();
        assert_eq!(h["apns-topic"], "pass.com.example.loyalty");
        assert_eq!(h["apns-push-type"], "alert");
        assert_eq!(h["apns-priority"], "10");
        assert_eq!(h["authorization"], "bearer x.y.z");
        let body = request.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(body, b"{}");
        assert_eq!(request.timeout(), Some(&Duration::from_secs(5)));
    }

    #[test]
    fn certificate_auth_sends_no_authorization_header() {
        let request =
            build_request("https://h", TOKEN, "pass.x", None, Duration::from_secs(1)).unwrap();
        assert!(request.headers().get(AUTHORIZATION).is_none());
    }

    #[test]
    fn tokens_that_are_not_hex_or_topics_that_are_not_headers_are_refused() {
        let build = |token: &str, topic: &str| {
            build_request("https://h", token, topic, None, Duration::from_secs(1)).err()
        };
        for token in [
            "",
            "abc",
            "zz".repeat(32).as_str(),
            "../../x/0000000000000000",
        ] {
            assert_eq!(
                build(token, "pass.x"),
                Some(InvalidPush::DeviceToken),
                "{token}"
            );
        }
        assert_eq!(
            build(&"a".repeat(202), "pass.x"),
            Some(InvalidPush::DeviceToken)
        );
        assert_eq!(build(TOKEN, ""), Some(InvalidPush::Topic));
        assert_eq!(build(TOKEN, "pass\nx"), Some(InvalidPush::Topic));
        assert_eq!(build(&TOKEN.to_uppercase(), "pass.x"), None);
    }
}
