//! The error every API handler returns: one JSON envelope
//! `{"error": {"code", "message", "field"?}}` with the right status. 5xx bodies say nothing
//! internal; the cause is logged once, here, at the edge.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::booking::BookingError;
use crate::cards::IssueError;
use crate::domain::FieldError;
use crate::domain::ledger::LedgerError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// For limits: the most the request may ask for, in minor units (or a count).
    pub allowed_max: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            allowed_max: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 422: well-formed, but not acceptable.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 422 for a field that is well-formed JSON but not acceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid `Authorization: Bearer <api key>` header is required",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this API key's role may not do this",
        )
    }

    /// A failure that is ours, not the caller's: logged with its cause chain, reported as 500.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let chain = crate::telemetry::error_chain(error);
        tracing::error!(error.chain = %chain, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    pub fn unavailable(message: &str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message).field(e.field)
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let mut err = Self::unprocessable(e.code, e.message).field(e.field);
        err.allowed_max = e.allowed_max;
        err
    }
}

impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        let message = e.to_string();
        match e {
            BookingError::Invalid(e) => e.into(),
            BookingError::Rejected(e) => e.into(),
            BookingError::NotFound { what, field } => {
                let err = ApiError::not_found(what);
                match field {
                    Some(field) => err.field(field),
                    None => err,
                }
            }
            BookingError::SourceNotAllowed { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "source_not_allowed", message).field("source")
            }
            BookingError::KeyReused { .. } => {
                ApiError::conflict("idempotency_conflict", message).field("external_id")
            }
            BookingError::KeyTaken | BookingError::RolledBack => {
                ApiError::conflict("retry", message)
            }
            BookingError::Store(e) => e.into(),
        }
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::ProgramEnded => {
                ApiError::unprocessable("program_ended", e.to_string()).field("program_id")
            }
            IssueError::CardExists => {
                ApiError::conflict("card_exists", e.to_string()).field("member_id")
            }
            IssueError::GoogleObjectId(_) => ApiError::internal(&e),
            IssueError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict { field } => {
                ApiError::conflict("conflict", format!("`{field}` is already in use")).field(field)
            }
            StoreError::Database(ref db) if is_unavailable(db) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::unavailable("the database is not reachable; retry shortly")
            }
            other => ApiError::internal(&other),
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        if let Some(max) = self.allowed_max {
            error["allowed_max_minor"] = json!(max);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: BookingError) -> (u16, &'static str, Option<String>) {
        let e = ApiError::from(e);
        (e.status.as_u16(), e.code, e.field)
    }

    #[test]
    fn a_booking_error_answers_with_its_status_code_and_field() {
        let source = BookingError::SourceNotAllowed { own: "desk" };
        assert_eq!(
            answer(source),
            (403, "source_not_allowed", Some("source".into()))
        );
        let reused = BookingError::KeyReused { what: "order" };
        let conflict = (409, "idempotency_conflict", Some("external_id".into()));
        assert_eq!(answer(reused), conflict);
        assert_eq!(answer(BookingError::RolledBack), (409, "retry", None));
        let missing = BookingError::NotFound {
            what: "order",
            field: Some("order_external_id"),
        };
        let not_found = (404, "not_found", Some("order_external_id".into()));
        assert_eq!(answer(missing), not_found);
        let limit = LedgerError {
            code: "refund_exceeds_remaining",
            field: "amount_minor",
            message: "too much".into(),
            allowed_max: Some(5),
        };
        let e = ApiError::from(BookingError::Rejected(limit));
        assert_eq!((e.status.as_u16(), e.allowed_max), (422, Some(5)));
    }

    #[test]
    fn a_refusal_is_what_the_api_answers_with_a_client_error() {
        for e in [
            BookingError::RolledBack,
            BookingError::KeyTaken,
            BookingError::Invalid(FieldError::new("currency", "no")),
            BookingError::Store(StoreError::NotFound),
            BookingError::Store(StoreError::Corrupt("row".into())),
            BookingError::Store(StoreError::Database(sqlx::Error::PoolTimedOut)),
        ] {
            let refusal = e.is_refusal();
            assert_eq!(refusal, ApiError::from(e).status.is_client_error());
        }
    }
}
