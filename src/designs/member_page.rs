//! The holder's member page as both wallets link it: its URL and the link's label.

use crate::domain::model::Card;

/// The label of the link to the member page (translated in the designs' strings).
pub const MEMBER_PAGE_LABEL: &str = "Your card online";

/// The holder's member page: public, opened with the card's own token (see
/// `http::pages::member`).
pub fn member_url(public_url: &str, card: &Card) -> String {
    format!(
        "{public_url}/m/{}?t={}",
        card.serial,
        card.auth_token.expose()
    )
}
