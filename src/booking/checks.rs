//! Checks of a request's own fields that several bookings share.

use super::BookingError;
use crate::domain::model::{Card, CardStatus};
use crate::domain::money::check_minor;

/// An external id is 1–200 characters, not all blank.
pub(super) fn check_external_id(id: &str) -> Result<(), BookingError> {
    if id.trim().is_empty() || id.len() > 200 {
        return Err(BookingError::invalid(
            "invalid_field",
            "external_id",
            "must be 1–200 characters",
        ));
    }
    Ok(())
}

/// A positive amount in minor units, within the bounds of money.
pub(super) fn check_amount(field: &str, amount: i64) -> Result<(), BookingError> {
    if check_minor(field, amount)? <= 0 {
        return Err(BookingError::invalid(
            "invalid_amount",
            field,
            "must be a positive amount in minor units",
        ));
    }
    Ok(())
}

/// A card books only while active; `field` is the request's reference to it.
pub(super) fn usable(card: &Card, field: &str) -> Result<(), BookingError> {
    match card.status {
        CardStatus::Active => Ok(()),
        other => Err(BookingError::invalid(
            "card_not_active",
            field,
            format!("the card is {}", other.as_str()),
        )),
    }
}
