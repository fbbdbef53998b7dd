//! What an APNs answer means for the caller: the reason strings APNs sends, and the one
//! classification ([`PushOutcome`]) the dispatcher acts on (spec §3.2, response table).

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

/// The `reason` of an APNs error body, spelled as APNs spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    BadDeviceToken,
    DeviceTokenNotForTopic,
    TopicDisallowed,
    BadTopic,
    MissingTopic,
    PayloadEmpty,
    InvalidPushType,
    BadCertificate,
    BadCertificateEnvironment,
    ExpiredProviderToken,
    InvalidProviderToken,
    MissingProviderToken,
    Forbidden,
    BadPath,
    MethodNotAllowed,
    PayloadTooLarge,
    Unregistered,
    ExpiredToken,
    TooManyRequests,
    TooManyProviderTokenUpdates,
    InternalServerError,
    ServiceUnavailable,
    Shutdown,
    /// A reason this client does not know yet, kept verbatim.
    Other(String),
}

impl Reason {
    const KNOWN: [Reason; 23] = [
        Reason::BadDeviceToken,
        Reason::DeviceTokenNotForTopic,
        Reason::TopicDisallowed,
        Reason::BadTopic,
        Reason::MissingTopic,
        Reason::PayloadEmpty,
        Reason::InvalidPushType,
        Reason::BadCertificate,
        Reason::BadCertificateEnvironment,
        Reason::ExpiredProviderToken,
        Reason::InvalidProviderToken,
        Reason::MissingProviderToken,
        Reason::Forbidden,
        Reason::BadPath,
        Reason::MethodNotAllowed,
        Reason::PayloadTooLarge,
        Reason::Unregistered,
        Reason::ExpiredToken,
        Reason::TooManyRequests,
        Reason::TooManyProviderTokenUpdates,
        Reason::InternalServerError,
        Reason::ServiceUnavailable,
        Reason::Shutdown,
    ];

    /// A reason from an APNs body. An unknown one is kept if it is spelled like APNs's
    /// (letters and digits, short) and is `Other("Unrecognized")` otherwise, so a reason is
    /// always fit for a metrics label and the outbox row.
    pub fn parse(text: &str) -> Reason {
        let plausible =
            (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric());
        Self::KNOWN
            .into_iter()
            .find(|known| known.as_str() == text)
            .unwrap_or_else(|| {
                Reason::Other(if plausible { text } else { "Unrecognized" }.to_owned())
            })
    }

    /// The APNs spelling; also a metrics label.
    pub fn as_str(&self) -> &str {
        match self {
            Reason::BadDeviceToken => "BadDeviceToken",
            Reason::DeviceTokenNotForTopic => "DeviceTokenNotForTopic",
            Reason::TopicDisallowed => "TopicDisallowed",
            Reason::BadTopic => "BadTopic",
            Reason::MissingTopic => "MissingTopic",
            Reason::PayloadEmpty => "PayloadEmpty",
            Reason::InvalidPushType => "InvalidPushType",
            Reason::BadCertificate => "BadCertificate",
            Reason::BadCertificateEnvironment => "BadCertificateEnvironment",
            Reason::ExpiredProviderToken => "ExpiredProviderToken",
            Reason::InvalidProviderToken => "InvalidProviderToken",
            Reason::MissingProviderToken => "MissingProviderToken",
            Reason::Forbidden => "Forbidden",
            Reason::BadPath => "BadPath",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::PayloadTooLarge => "PayloadTooLarge",
            Reason::Unregistered => "Unregistered",
            Reason::ExpiredToken => "ExpiredToken",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::TooManyProviderTokenUpdates => "TooManyProviderTokenUpdates",
            Reason::InternalServerError => "InternalServerError",
            Reason::ServiceUnavailable => "ServiceUnavailable",
            Reason::Shutdown => "Shutdown",
            Reason::Other(text) => text,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller does with one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// 200: APNs accepted it (which says nothing about whether Wallet will fetch).
    Delivered { apns_id: Option<String> },
    /// 410 `Unregistered`/`ExpiredToken`: the token is dead for this topic; delete that
    /// registration.
    Unregistered {
        reason: Reason,
        /// When APNs last knew the token valid (the 410 body's `timestamp`): a device that
        /// registered again after it keeps its registrations.
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// 400 `BadDeviceToken`: keep the registration, flag it and alert — one misconfiguration
    /// (wrong topic or environment) returns it for every token.
    BadDeviceToken,
    /// Try again later with back-off: 429, 5xx, transport errors and time-outs, and a 403
    /// `ExpiredProviderToken` that a renewed token did not cure. `status` is `None` when no
    /// answer came; `retry_after` is APNs' `Retry-After` when it sent one. A TLS handshake
    /// that APNs refuses (an expired or revoked certificate) also ends here, so transport
    /// errors on every push for a while deserve an alert, not just back-off.
    Retry {
        status: Option<u16>,
        reason: Option<Reason>,
        retry_after: Option<Duration>,
        /// What kind of failure kept an answer from coming (`connect`, `timeout`, …; see
        /// `apns::not_answered`); `None` when APNs answered. Never the error text: reqwest's
        /// names the URL, and the URL holds the push token.
        error: Option<&'static str>,
    },
    /// Any other 4xx: a configuration problem (topic, certificate, token key) that retrying
    /// the same request will not fix. Alert, don't retry blindly.
    Rejected { status: u16, reason: Option<Reason> },
    /// Not sent: the push token (or the topic) cannot be put in a request. A stored token
    /// like that never becomes deliverable.
    NotSent(InvalidPush),
}

/// Why a push was refused before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPush {
    #[error("push token is not an even-length hex string of 16 to 200 characters")]
    DeviceToken,
    #[error("topic is empty or not a valid header value")]
    Topic,
}

impl PushOutcome {
    /// A bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            PushOutcome::Delivered { .. } => "delivered",
            PushOutcome::Unregistered { .. } => "unregistered",
            PushOutcome::BadDeviceToken => "bad_device_token",
            PushOutcome::Retry { .. } => "retry",
            PushOutcome::Rejected { .. } => "rejected",
            PushOutcome::NotSent(_) => "not_sent",
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    reason: Option<String>,
    /// With 410: when the token stopped being valid for the topic, in ms since the epoch.
    timestamp: Option<i64>,
}

/// Classifies an APNs answer. A 403 `ExpiredProviderToken` comes out as `Retry`; the client
/// renews its token and tries once more before returning it.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> PushOutcome {
    if status == StatusCode::OK {
        let apns_id = headers
            .get("apns-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return PushOutcome::Delivered { apns_id };
    }
    let body = serde_json::from_slice::<ErrorBody>(body).ok();
    let since = body
        .as_ref()
        .and_then(|b| b.timestamp)
        .and_then(chrono::DateTime::from_timestamp_millis);
    let reason = body.and_then(|b| b.reason).map(|r| Reason::parse(&r));
    let retry = |reason| PushOutcome::Retry {
        status: Some(status.as_u16()),
        reason,
        retry_after: retry_after(headers),
        error: None,
    };
    match (status.as_u16(), reason) {
        (410, reason) => PushOutcome::Unregistered {
            reason: reason.unwrap_or(Reason::Unregistered),
            since,
        },
        (400, Some(Reason::BadDeviceToken)) => PushOutcome::BadDeviceToken,
        (403, Some(Reason::ExpiredProviderToken)) => retry(Some(Reason::ExpiredProviderToken)),
        (429 | 500..=599, reason) => retry(reason),
        (code, reason) => PushOutcome::Rejected {
            status: code,
            reason,
        },
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn answer(status: u16, reason: &str) -> PushOutcome {
        let body = format!(r#"{{"reason":"{reason}","timestamp":1700000000000}}"#);
        let status = StatusCode::from_u16(status).unwrap();
        classify(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn every_known_reason_round_trips_and_unknown_ones_are_kept() {
        for reason in Reason::KNOWN {
            assert_eq!(Reason::parse(reason.as_str()), reason);
        }
        assert_eq!(Reason::parse("Novel"), Reason::Other("Novel".into()));
    }

    #[test]
    fn the_response_table_decides_the_action() {
        let mut headers = HeaderMap::new();
        headers.insert("apns-id", HeaderValue::from_static("abc"));
        assert_eq!(
            classify(StatusCode::OK, &headers, b""),
            PushOutcome::Delivered {
                apns_id: Some("abc".into())
            }
        );
        assert_eq!(
            answer(410, "ExpiredToken"),
            PushOutcome::Unregistered {
                reason: Reason::ExpiredToken,
                since: chrono::DateTime::from_timestamp_millis(1_700_000_000_000),
            }
        );
        assert_eq!(
            classify(
                StatusCode::GONE,
                &HeaderMap::new(),
                br#"{"reason":"Unregistered","timestamp":1763942400000}"#
            ),
            PushOutcome::Unregistered {
                reason: Reason::Unregistered,
                since: chrono::DateTime::from_timestamp_millis(1_763_942_400_000),
            }
        );
        assert_eq!(answer(400, "BadDeviceToken"), PushOutcome::BadDeviceToken);
        for (status, reason) in [
            (403, "ExpiredProviderToken"),
            (429, "TooManyRequests"),
            (500, "InternalServerError"),
            (503, "Shutdown"),
        ] {
            assert_eq!(answer(status, reason).label(), "retry", "{status} {reason}");
        }
        for (status, reason) in [
            (400, "BadTopic"),
            (403, "BadCertificate"),
            (403, "InvalidProviderToken"),
            (404, "BadPath"),
            (413, "PayloadTooLarge"),
        ] {
            assert_eq!(
                answer(status, reason),
                PushOutcome::Rejected {
                    status,
                    reason: Some(Reason::parse(reason))
                }
            );
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date_and_bodies_may_be_missing() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let outcome = classify(StatusCode::TOO_MANY_REQUESTS, &headers, b"not json");
        assert_eq!(
            outcome,
            PushOutcome::Retry {
                status: Some(429),
                reason: None,
                retry_after: Some(Duration::from_secs(7)),
                error: None
            }
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "in the past");
    }
}
