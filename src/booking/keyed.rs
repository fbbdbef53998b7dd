//! The idempotency key every booking carries, in one place: the key space and external id,
//! the fingerprint that says what "the same body" is, the replay of a stored answer (or the
//! 409 of a different body), and the end of a booking whose key a concurrent request took.

use serde_json::Value;

use super::{Booked, BookingError};
use crate::store::{Keyed, KeyedTable, Store, StoreError};

/// A booking's key: `parts` are the unique columns' values of `table`; `what` names the kind
/// of request in a refusal.
pub(super) struct Key<'a> {
    table: KeyedTable,
    parts: Vec<&'a str>,
    print: String,
    what: &'static str,
}

impl<'a> Key<'a> {
    /// The key of a request whose normalised body is `body`.
    pub(super) fn new(
        (table, what): (KeyedTable, &'static str),
        parts: &[&'a str],
        body: &Value,
    ) -> Self {
        Key {
            table,
            parts: parts.to_vec(),
            print: body.to_string(),
            what,
        }
    }

    /// The fingerprint stored with the request.
    pub(super) fn print(&self) -> &str {
        &self.print
    }

    /// The stored answer under this key, if the key is taken: replayed for the same body,
    /// refused for a different one.
    pub(super) async fn stored(&self, store: &Store) -> Result<Option<Booked>, BookingError> {
        match store.keyed(self.table, &self.parts).await? {
            Some(stored) => self.replay(stored).map(Some),
            None => Ok(None),
        }
    }

    fn replay(&self, stored: Keyed) -> Result<Booked, BookingError> {
        if stored.fingerprint != self.print {
            return Err(BookingError::KeyReused { what: self.what });
        }
        let body = serde_json::from_str(&stored.response)
            .map_err(|e| StoreError::Corrupt(format!("stored response: {e}")))?;
        Ok(Booked::Replayed(body))
    }

    /// What the store's booking came to; a concurrent request that took the key first is
    /// replayed (or refused) as if it had been found at the start.
    pub(super) async fn finish(
        &self,
        store: &Store,
        result: Result<Value, impl Into<BookingError>>,
    ) -> Result<Booked, BookingError> {
        match result.map_err(Into::into) {
            Ok(body) => Ok(Booked::Created(body)),
            Err(BookingError::KeyTaken) => {
                self.stored(store).await?.ok_or(BookingError::RolledBack)
            }
            Err(e) => Err(e),
        }
    }
}
