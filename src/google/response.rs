//! What a Wallet API answer means for the caller: the error JSON Google sends and the one
//! classification ([`Outcome`]) the dispatcher acts on (spec §4.1, error table).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A refusal from the API: the HTTP status and what the error JSON said, if it was JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status; 0 when the call was not sent (no token could be had for it).
    pub status: u16,
    /// `error.code` (normally equal to `status`).
    pub code: Option<u16>,
    /// `error.message`, or an excerpt of a body that was not the error JSON.
    pub message: String,
    /// `error.errors[0].reason` (`quotaExceeded`, `permissionDenied`, …), else `error.status`.
    pub reason: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(reason) = &self.reason {
            write!(f, " {reason}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What the caller does with one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// 2xx, with the resource Google returned.
    Ok(T),
    /// 404: the object (or its class) does not exist — insert it (again).
    NotFound(Refusal),
    /// 409 on insert: the id exists — update instead.
    AlreadyExists(Refusal),
    /// 403 `quotaExceeded`: the pass had its 3 notifications in 24 h — send it again
    /// without notifying (a silent PATCH, or a `TEXT` message).
    QuotaExceeded(Refusal),
    /// Any other 4xx — 400 (bad request), 401 after a renewed token, 403
    /// `permissionDenied` (the service account is not a user of the issuer) — and a token
    /// endpoint that refuses the key: retrying will not help. Dead-letter and alert.
    Rejected(Refusal),
    /// 5xx, 429, no answer or no token yet: try again later with back-off. `retry_after` is
    /// Google's `Retry-After` when sent; `error` is the transport error, for the log.
    Retry {
        status: Option<u16>,
        error: Option<String>,
        retry_after: Option<Duration>,
    },
}

impl<T> Outcome<T> {
    /// A bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::NotFound(_) => "not_found",
            Outcome::AlreadyExists(_) => "already_exists",
            Outcome::QuotaExceeded(_) => "quota_exceeded",
            Outcome::Rejected(_) => "rejected",
            Outcome::Retry { .. } => "retry",
        }
    }

    /// The resource, when the call succeeded.
    pub fn ok(self) -> Option<T> {
        match self {
            Outcome::Ok(value) => Some(value),
            _ => None,
        }
    }

    /// The same outcome carrying another success value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Ok(value) => Outcome::Ok(f(value)),
            Outcome::NotFound(e) => Outcome::NotFound(e),
            Outcome::AlreadyExists(e) => Outcome::AlreadyExists(e),
            Outcome::QuotaExceeded(e) => Outcome::QuotaExceeded(e),
            Outcome::Rejected(e) => Outcome::Rejected(e),
            Outcome::Retry {
                status,
                error,
                retry_after,
            } => Outcome::Retry {
                status,
                error,
                retry_after,
            },
        }
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u16>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: Option<String>,
}

/// Parses Google's error JSON (`{"error": {"code", "message", "errors": [{"reason"}],
/// "status"}}`); a body of another shape keeps a short excerpt as the message.
pub fn parse_error(status: StatusCode, body: &[u8]) -> Refusal {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error }) => Refusal {
            status: status.as_u16(),
            code: error.code,
            reason: (error.errors.into_iter().find_map(|e| e.reason)).or(error.status),
            message: error.message,
        },
        Err(_) => Refusal {
            status: status.as_u16(),
            code: None,
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
            reason: None,
        },
    }
}

/// Classifies an answer; a 2xx body that is not a `T` is a `Retry` (Google sent something
/// unexpected, most likely a proxy's page).
pub fn classify<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome<T> {
    if status.is_success() {
        return match serde_json::from_slice(body) {
            Ok(value) => Outcome::Ok(value),
            Err(e) => Outcome::Retry {
                status: Some(status.as_u16()),
                error: Some(format!("unexpected answer body: {e}")),
                retry_after: None,
            },
        };
    }
    let error = parse_error(status, body);
    match status.as_u16() {
        404 => Outcome::NotFound(error),
        409 => Outcome::AlreadyExists(error),
        403 if is_quota_exceeded(&error) => Outcome::QuotaExceeded(error),
        429 | 500..=599 => Outcome::Retry {
            status: Some(error.status),
            retry_after: retry_after(headers),
            error: Some(error.to_string()),
        },
        _ => Outcome::Rejected(error),
    }
}

fn is_quota_exceeded(error: &Refusal) -> bool {
    error.reason.as_deref() == Some("quotaExceeded")
        || (error.reason.is_none() && error.message.starts_with("Quota exceeded"))
}

/// `Retry-After` as delay-seconds (Google does not send dates).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, reason: &str) -> Outcome<serde_json::Value> {
        let body = serde_json::json!({"error": {"code": status, "message": "m",
            "errors": [{"message": "m", "domain": "walletobjects", "reason": reason}]}});
        let status = StatusCode::from_u16(status).unwrap();
        classify(status, &HeaderMap::new(), body.to_string().as_bytes())
    }

    #[test]
    fn the_error_table_decides_the_action() {
        assert_eq!(answer(404, "resourceNotFound").label(), "not_found");
        assert_eq!(answer(409, "duplicate").label(), "already_exists");
        assert_eq!(answer(403, "quotaExceeded").label(), "quota_exceeded");
        for (status, reason) in [
            (400, "invalidResource"),
            (401, "required"),
            (403, "permissionDenied"),
        ] {
            assert_eq!(answer(status, reason).label(), "rejected", "{status}");
        }
        for status in [429, 500, 503] {
            assert_eq!(answer(status, "backendError").label(), "retry", "{status}");
        }
        let ok: Outcome<serde_json::Value> = classify(StatusCode::OK, &HeaderMap::new(), b"{}");
        assert_eq!(ok, Outcome::Ok(serde_json::json!({})));
    }

    #[test]
    fn the_error_json_is_read_with_reason_or_status() {
        let e = parse_error(
            StatusCode::FORBIDDEN,
            br#"{"error":{"code":403,"message":"Permission denied.","errors":[{"reason":"permissionDenied"}]}}"#,
        );
        assert_eq!(e.code, Some(403));
        assert_eq!(e.reason.as_deref(), Some("permissionDenied"));
        assert_eq!(e.message, "Permission denied.");
        let e = parse_error(
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":404,"message":"gone","status":"NOT_FOUND"}}"#,
        );
        assert_eq!(e.reason.as_deref(), Some("NOT_FOUND"));
        let e = parse_error(StatusCode::BAD_GATEWAY, b"<html>oops</html>");
        assert_eq!((e.code, e.message.as_str()), (None, "<html>oops</html>"));
    }
}
