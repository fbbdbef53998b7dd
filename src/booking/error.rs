//! Why a booking was not made. The variants say what went wrong in the booking's own terms;
//! `crate::error` maps them onto the API's statuses and envelope, and the CSV import counts a
//! refusal as a rejected row.

use crate::domain::FieldError;
use crate::domain::ledger::LedgerError;
use crate::store::{BookError, StoreError, Transient};

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// A field of the request is not acceptable as sent.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The rules refuse the booking (a limit, with its allowed maximum where there is one).
    #[error(transparent)]
    Rejected(#[from] LedgerError),
    /// Something the request names does not exist; `field` is the request's reference to it.
    #[error("{what} not found")]
    NotFound {
        what: &'static str,
        field: Option<&'static str>,
    },
    /// The caller named a key space (`source`) other than its own.
    #[error("this caller books as `{own}` only; leave `source` out")]
    SourceNotAllowed { own: &'static str },
    /// The key was used before for a request with a different body.
    #[error("this external_id was already used for a different {what}")]
    KeyReused { what: &'static str },
    /// A concurrent request took the key while this one was booked, whose effects rolled
    /// back; `Key::finish` answers with that request's stored answer instead.
    #[error("a concurrent request took this external_id")]
    KeyTaken,
    /// A concurrent request with the same key took it and then rolled back.
    #[error("a concurrent request with this external_id was rolled back; retry")]
    RolledBack,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BookingError {
    /// A field error with its own `code`.
    pub(super) fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        BookingError::Invalid(FieldError::with_code(code, field, message))
    }

    pub(super) fn not_found(what: &'static str, field: &'static str) -> Self {
        BookingError::NotFound {
            what,
            field: Some(field),
        }
    }

    /// Whether the request is refused as sent (the caller's to fix, a 4xx at the API), rather
    /// than failed on our side. A store's "not found" or "conflict" is the caller's too.
    pub fn is_refusal(&self) -> bool {
        match self {
            BookingError::Store(e) => {
                matches!(e, StoreError::NotFound | StoreError::Conflict { .. })
            }
            _ => true,
        }
    }
}

impl From<BookError> for BookingError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::Rejected(e) => BookingError::Rejected(e),
            BookError::Duplicate => BookingError::KeyTaken,
            BookError::Store(e) => BookingError::Store(e),
        }
    }
}

/// A booking lost a race the database resolved by aborting it: run it again.
impl Transient for BookingError {
    fn is_transient(&self) -> bool {
        matches!(self, BookingError::Store(e) if e.is_transient())
    }
}

/// A look-up's result, a missing row refused as [`BookingError::NotFound`] naming `what` and
/// the request's `field`.
pub(super) fn found<T>(
    result: Result<T, StoreError>,
    what: &'static str,
    field: &'static str,
) -> Result<T, BookingError> {
    match result {
        Err(StoreError::NotFound) => Err(BookingError::not_found(what, field)),
        other => Ok(other?),
    }
}
