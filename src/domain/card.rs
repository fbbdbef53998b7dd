//! A card with everything its face is computed from, and that face: what both wallets, the
//! admin API and the member page show of a card.

use super::balance::Balance;
use super::face::{CardFace, FaceInput, card_face};
use super::model::{Account, Card, Member, Program};

/// A card with everything its face is computed from.
#[derive(Debug, Clone)]
pub struct CardBundle {
    pub card: Card,
    pub program: Program,
    pub member: Member,
    pub account: Account,
    /// What the card shows: its holder's balance as of the holder's last change.
    pub balance: Balance,
}

/// What the card shows in its current version, with the change message of that version.
pub fn face_of(bundle: &CardBundle) -> CardFace {
    card_face(&FaceInput {
        program: &bundle.program,
        holder_name: &bundle.member.name,
        company_name: &bundle.account.name,
        code: &bundle.card.code,
        status: bundle.card.status,
        balance: &bundle.balance,
        notify: bundle.card.notify,
    })
}
