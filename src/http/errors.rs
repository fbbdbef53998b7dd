//! Error answers that did not come from our handlers — a body limit's 413, a raw extractor's
//! 400 or 415, the router's 405, the timeout's 408 — are plain text or empty. These layers
//! give them the shape of the routes they answer for: the JSON envelope on the API, the
//! webhooks and the Google callback; the error page on the HTML pages; a bare status on the
//! PassKit web service, as Apple specifies it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::pages::PageError;

/// The longest plain-text rejection kept as the envelope's message.
const MAX_MESSAGE_BYTES: usize = 1024;

/// For JSON routes: an error answer that is not JSON becomes our envelope.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !is_error(response.status()) || has_media_type(response.headers(), "application/json") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let text = if status.is_client_error() && has_media_type(&parts.headers, "text/plain") {
        axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|t| !t.trim().is_empty())
    } else {
        None
    };
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let error = ApiError::new(status, code_of(status), text.unwrap_or(reason));
    keep_headers(&parts.headers, error.into_response())
}

/// For HTML pages: an error answer that is not a page becomes the error page.
pub async fn page_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !is_error(response.status()) || has_media_type(response.headers(), "text/html") {
        return response;
    }
    let status = response.status();
    let page = PageError::new(status, sentence_of(status)).into_response();
    keep_headers(response.headers(), page)
}

/// For the PassKit web service: an error is its status alone (the wrapped extractors' and
/// axum's answers carry a body).
pub async fn bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !is_error(response.status()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

fn has_media_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
}

/// `Allow`, `Retry-After` and the like of the original answer stay; its body's headers go.
fn keep_headers(original: &HeaderMap, mut response: Response<Body>) -> Response<Body> {
    for (name, value) in original {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !response.headers().contains_key(name)
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// The envelope's code for an answer made by axum or a layer.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_field",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

fn sentence_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "This page does not exist.",
        StatusCode::METHOD_NOT_ALLOWED => "This page cannot be used that way.",
        StatusCode::REQUEST_TIMEOUT => "The request took too long. Please try again.",
        StatusCode::PAYLOAD_TOO_LARGE => "What was sent is larger than the service accepts.",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests. Please wait a moment.",
        s if s.is_server_error() => "Something went wrong on our side.",
        _ => "This address or form is not one the service understands.",
    }
}
