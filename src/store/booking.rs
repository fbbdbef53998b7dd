//! A booking's transaction: the look-ups an order makes (its account, member, card and
//! programs) run inside the transaction that then books it, so an order is one transaction
//! and one commit, and what it was checked against is what it is booked on. The booking
//! itself ([`Booking::book_order`]) lives with the ledger and commits.

use super::tx::{On, Tx};
use super::{MemberKey, Store, StoreResult, accounts, cards, members, programs};
use crate::domain::codes::CardCode;
use crate::domain::ids::{AccountId, MemberId, ProgramId};
use crate::domain::model::{Account, Card, Member, Program};

/// An open booking transaction; dropped without booking, it rolls back.
pub struct Booking<'s> {
    pub(super) store: &'s Store,
    pub(super) tx: Tx,
}

impl Store {
    /// Opens a booking's transaction. A caller that may lose a race runs the whole booking,
    /// from here to its commit, in [`Store::retrying`].
    pub async fn begin_booking(&self) -> StoreResult<Booking<'_>> {
        Ok(Booking {
            store: self,
            tx: self.begin().await?,
        })
    }
}

impl Booking<'_> {
    pub async fn member(&mut self, id: &MemberId) -> StoreResult<Member> {
        members::member_by_id(On::Tx(&mut self.tx), id).await
    }

    /// See [`Store::find_member`].
    pub async fn find_member(
        &mut self,
        account: &AccountId,
        key: MemberKey,
        value: &str,
    ) -> StoreResult<Member> {
        members::find_member(On::Tx(&mut self.tx), account, key, value).await
    }

    pub async fn account(&mut self, id: &AccountId) -> StoreResult<Account> {
        accounts::account_where(On::Tx(&mut self.tx), "id", id.as_str()).await
    }

    pub async fn account_by_external_id(&mut self, external_id: &str) -> StoreResult<Account> {
        accounts::account_where(On::Tx(&mut self.tx), "external_id", external_id).await
    }

    pub async fn card_by_code(&mut self, code: &CardCode) -> StoreResult<Card> {
        cards::card_where(On::Tx(&mut self.tx), "code", code.as_str()).await
    }

    pub async fn program(&mut self, id: &ProgramId) -> StoreResult<Program> {
        programs::program_by_id(On::Tx(&mut self.tx), id).await
    }

    /// See [`Store::active_programs`]; a cached copy costs no statement.
    pub async fn active_programs(&mut self) -> StoreResult<Vec<Program>> {
        self.store.active_programs_on(On::Tx(&mut self.tx)).await
    }
}
