//! Our wrappers of axum's extractors, so every rejection comes out in the API's error
//! envelope (or, for forms, as an error page) and JSON errors name the field by its path
//! (`rules.tiers[1].percent_bps`).
//!
//! Input is checked here, once, before any handler sees it: a JSON body is one object and
//! nothing after it, and no text carries control characters (PostgreSQL refuses NUL in
//! text, and no name, message or token needs the others). JSON string values may hold tabs
//! and line breaks; query parameters, path segments and form fields hold none at all.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::form_urlencoded;

use crate::domain::FieldError;
use crate::error::ApiError;
use crate::http::pages::PageError;

/// Whether `c` may appear in a JSON string value: printable, or a tab or line break.
fn allowed_in_text(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Whether `s` may be a query parameter, path segment or form field: no control characters.
fn is_plain(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Whether the request says its body is of the media type `expected`.
fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
        })
}

/// A JSON request body or response.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !has_content_type(req.headers(), "application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(AppJson)
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this service accepts",
        )
    } else {
        ApiError::new(rejection.status(), "bad_request", rejection.body_text())
    }
}

/// Parses a JSON request body: valid JSON with nothing after it (else 400 `malformed_json`),
/// an object (else 422), no control characters but tabs and line breaks in its strings (422
/// naming the field), and of the shape `T` wants (422 with the path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    check_json(bytes)?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = strip_position(&e.into_inner().to_string());
        ApiError::from(FieldError::from_serde(&path, message))
    })
}

/// The checks of [`parse_json`] that do not depend on the target type. serde would take an
/// array for a struct (its fields in order) and stop reading after the first value, so both
/// are refused here, before the body is deserialized.
pub fn check_json(bytes: &[u8]) -> Result<(), ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "the body must be a JSON object",
        ));
    }
    match control_character_at(&value, "") {
        None => Ok(()),
        Some(field) => {
            let error = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "must not contain control characters (only tabs and line breaks)",
            );
            Err(if field.is_empty() {
                error
            } else {
                error.field(field)
            })
        }
    }
}

/// The path (`items[2].name`, as serde_path_to_error writes it) of the first string in
/// `value` holding a control character other than a tab or a line break; a key holding one
/// is reported at its object's path (empty for the body itself).
fn control_character_at(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if !s.chars().all(allowed_in_text) => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_character_at(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if !key.chars().all(allowed_in_text) {
                return Some(path.to_owned());
            }
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            control_character_at(item, &path)
        }),
        _ => None,
    }
}

/// serde_json appends " at line 1 column 42"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed one, or one with a control character, is a 404, since no
/// such resource can exist.
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found =
            |message: String| ApiError::new(StatusCode::NOT_FOUND, "not_found", message);
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| not_found(e.body_text()))?;
        if let Some((name, _)) = raw.iter().find(|(_, value)| !is_plain(value)) {
            return Err(not_found(format!(
                "the path segment `{name}` contains a control character"
            )));
        }
        #[expect(clippy::disallowed_types, reason = "the one place that wraps it")]
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| AppPath(p.0))
            .map_err(|e: PathRejection| not_found(e.body_text()))
    }
}

/// Query parameters; bad ones are 400 naming the problem.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some(name) = first_control_character(query.as_bytes()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("the query parameter `{name}` contains a control character"),
            )
            .field(name));
        }
        #[expect(clippy::disallowed_types, reason = "the one place that wraps it")]
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| AppQuery(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
            })
    }
}

/// The name of the first field of an urlencoded query or form whose name or value, decoded,
/// holds a control character (a name that does itself is given with its controls escaped).
pub fn first_control_character(urlencoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(urlencoded)
        .find(|(name, value)| !is_plain(name) || !is_plain(value))
        .map(|(name, _)| name.escape_default().to_string())
}

/// A urlencoded form posted by one of our pages. A form that is not one, or has a control
/// character in a field, or lacks a field, is an error page: only a tampered-with or broken
/// form gets there.
pub struct AppForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        if !has_content_type(req.headers(), "application/x-www-form-urlencoded") {
            return Err(PageError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This form was not sent as a web form.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                PageError::new(e.status(), "This form is larger than the service accepts.")
            } else {
                PageError::new(e.status(), "This form could not be read.")
            }
        })?;
        if first_control_character(&bytes).is_some() {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "This form contains characters that are not allowed.",
            ));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(AppForm)
            .map_err(|e| {
                tracing::debug!(error = %e, "a form did not fit its page");
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    "This form is incomplete or malformed.",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &str) -> Option<(StatusCode, Option<String>)> {
        check_json(body.as_bytes())
            .err()
            .map(|e| (e.status, e.field))
    }

    #[test]
    fn a_body_is_one_object_whose_strings_hold_no_control_characters() {
        assert_eq!(
            refusal(r#"{"name": "Acme\tGmbH\r\n", "n": [1, {"x": "y"}]}"#),
            None
        );
        let malformed = Some((StatusCode::BAD_REQUEST, None));
        assert_eq!(refusal(r#"{"a": 1}{"a": 2}"#), malformed);
        assert_eq!(refusal(r#"{"a": 1} x"#), malformed);
        assert_eq!(refusal(r#"{"a": "#), malformed);
        let not_object = Some((StatusCode::UNPROCESSABLE_ENTITY, None));
        assert_eq!(refusal(r#"["A-1", 100]"#), not_object);
        assert_eq!(refusal(r#""text""#), not_object);
        let at = |field: &str| Some((StatusCode::UNPROCESSABLE_ENTITY, Some(field.to_owned())));
        assert_eq!(refusal(r#"{"name": "a\u0000b"}"#), at("name"));
        assert_eq!(
            refusal(r#"{"rules": {"tiers": [{}, {"name": "\u001b[2J"}]}}"#),
            at("rules.tiers[1].name")
        );
        assert_eq!(refusal(r#"{"names": {"x\u0007": "y"}}"#), at("names"));
        assert_eq!(refusal("{\"a\": \"\u{85}\"}"), at("a"), "C1 controls too");
        assert_eq!(
            refusal(r#"{"a\u0000": 1}"#),
            Some((StatusCode::UNPROCESSABLE_ENTITY, None))
        );
    }

    #[test]
    fn urlencoded_fields_hold_no_control_characters_at_all() {
        assert_eq!(first_control_character(b"after=abc&limit=5"), None);
        assert_eq!(
            first_control_character(b"a=1&after=x%00"),
            Some("after".to_owned())
        );
        assert_eq!(
            first_control_character(b"note=line%0Abreak"),
            Some("note".to_owned())
        );
        assert_eq!(
            first_control_character(b"k%01=v"),
            Some("k\\u{1}".to_owned())
        );
    }
}
