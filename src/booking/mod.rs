//! Booking orders, refunds, reward redemptions and adjustments: the one path the admin API,
//! the desk, the ERP webhook and the CSV import share. It checks a request in the order
//! loyalty-rules.md fixes (a repeated key first, then the request's own fields, then look-ups,
//! then limits), resolves who and which programs it concerns, and hands the rest to the store,
//! which writes everything in one transaction.
//!
//! It knows no HTTP: a booking is [`Booked`] (created or replayed) or a [`BookingError`], and
//! `crate::error` says which status each is.

mod caller;
mod card_ops;
mod checks;
mod error;
mod keyed;
mod lookups;
mod orders;
mod refunds;
mod requests;

use serde_json::{Value, json};

pub use caller::Caller;
pub use card_ops::{adjust, quote, redeem_reward};
pub use error::BookingError;
pub use lookups::card_by_id;
pub use orders::book_order;
pub use refunds::book_refund;
pub use requests::{NewAdjustment, NewOrder, NewRedemption, NewRefund};

use crate::store::HolderChange;

/// How a booking went, with the answer's body.
#[derive(Debug)]
pub enum Booked {
    /// Booked now.
    Created(Value),
    /// The same request was booked before; this is its stored answer.
    Replayed(Value),
}

impl Booked {
    pub fn into_body(self) -> Value {
        match self {
            Booked::Created(body) | Booked::Replayed(body) => body,
        }
    }
}

/// The cards a booking gave new versions, as every booking's answer lists them.
fn changes_json(changes: &[HolderChange]) -> Vec<Value> {
    changes
        .iter()
        .flat_map(|c| {
            c.cards.iter().map(move |card| {
                json!({"id": card.id, "version": card.version, "program_id": c.program_id,
                       "balance": c.balance})
            })
        })
        .collect()
}
