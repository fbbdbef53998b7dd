//! A person's data: erasing a member (personal data anonymised, cards revoked, in one
//! transaction) and gathering everything stored about them for an export.
//!
//! The member's row stays, anonymised: orders, ledger entries and balances refer to it, and
//! the company's books keep their amounts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cards::{COLUMNS as CARD_COLUMNS, set_status_in};
use super::ledger::EntryRow;
use super::rows::CardRow;
use super::tx::{Tx, args};
use super::{Store, StoreError, StoreResult, next_card_mtime, now};
use crate::domain::ids::MemberId;
use crate::domain::model::{Card, CardStatus};

/// The name an erased member is left with (on their revoked cards, too).
pub const ERASED_NAME: &str = "Erased member";

/// What an erasure did.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub erased_at: DateTime<Utc>,
    /// Cards this erasure revoked (none when the member was erased before).
    pub revoked: usize,
}

/// An enrollment through an invite: the consent the person gave, and when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConsentRow {
    pub invite_id: String,
    pub account_id: String,
    pub consented_at: DateTime<Utc>,
}

/// A device registered for one of the person's cards (Apple Wallet's web service).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportDevice {
    pub card_id: String,
    pub device_library_id: String,
    pub scheme: String,
    pub push_token: String,
    pub registered_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An order attributed to the person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportOrder {
    pub id: String,
    pub source: String,
    pub external_id: String,
    pub account_id: String,
    pub card_id: Option<String>,
    pub program_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
    pub cashback_redeemed_minor: i64,
    pub refunded_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// A refund of one of the person's orders.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportRefund {
    pub id: String,
    pub order_id: String,
    pub source: String,
    pub external_id: String,
    pub amount_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// A reward the person redeemed at the desk.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ExportRedemption {
    pub id: String,
    pub program_id: String,
    pub card_id: String,
    pub source: String,
    pub external_id: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

/// One of the person's cards and the ledger entries that are theirs.
#[derive(Debug, Clone)]
pub struct ExportCard {
    pub card: Card,
    pub entries: Vec<EntryRow>,
}

/// Everything stored about a member, but secrets (see [`Store::member_export`]).
#[derive(Debug, Clone)]
pub struct MemberExport {
    pub erased_at: Option<DateTime<Utc>>,
    pub consents: Vec<ConsentRow>,
    pub cards: Vec<ExportCard>,
    pub devices: Vec<ExportDevice>,
    pub orders: Vec<ExportOrder>,
    pub refunds: Vec<ExportRefund>,
    pub redemptions: Vec<ExportRedemption>,
}

/// The ledger entries of a card that are the person's: all of their own balance (member
/// scope); of the company's balance (account scope), those of their orders and redemptions.
const ENTRIES: &str = "SELECT id, event_type, event_id, order_id, kind, amount, lot, effective_at, seq, expires_at, created_at \
     FROM ledger_entries WHERE program_id = $1 AND (holder = $2 OR (holder = $3 AND ( \
     order_id IN (SELECT id FROM orders WHERE member_id = $2) \
     OR (event_type = 'redemption' AND event_id IN (SELECT id FROM redemptions WHERE member_id = $2))))) \
     ORDER BY id";

impl Store {
    /// When the member was erased, if they were.
    pub async fn member_erased_at(&self, id: &MemberId) -> StoreResult<Option<DateTime<Utc>>> {
        let sql = "SELECT erased_at FROM members WHERE id = $1";
        let rows: Vec<(Option<DateTime<Utc>>,)> = self.select(sql, &args![id.as_str()]).await?;
        Ok(rows.into_iter().next().ok_or(StoreError::NotFound)?.0)
    }

    /// Erases a member's personal data: name, role, e-mail, phone and ERP contact id, and
    /// revokes their cards in the same transaction, each the way a revocation through the API
    /// does (new version, deliveries queued), so wallets void the passes. Cards revoked before
    /// get a new version too, so the copies on devices lose the name. Erasing an erased member
    /// changes nothing.
    #[tracing::instrument(skip_all, fields(member.id = %id))]
    pub async fn erase_member(&self, id: &MemberId) -> StoreResult<Erasure> {
        let mut tx = self.begin().await?;
        let lock = tx.lock_suffix();
        let sql = format!("SELECT erased_at, email_norm FROM members WHERE id = $1{lock}");
        let found: Option<(Option<DateTime<Utc>>, Option<String>)> =
            tx.fetch_optional(&sql, &args![id.as_str()]).await?;
        let email = match found {
            None => return Err(StoreError::NotFound),
            Some((Some(erased_at), _)) => {
                return Ok(Erasure {
                    erased_at,
                    revoked: 0,
                });
            }
            Some((None, email)) => email,
        };
        // What the mailed links kept of the person (their address, what a form said, the
        // mails themselves) goes too, and any holder session ends.
        tx.execute(
            "DELETE FROM holder_sessions WHERE member_id = $1",
            &args![id.as_str()],
        )
        .await?;
        tx.execute(
            "DELETE FROM email_links WHERE member_id = $1 OR email_norm = $2",
            &args![id.as_str(), email.as_deref().unwrap_or("")],
        )
        .await?;
        if let Some(email) = &email {
            tx.execute(
                "DELETE FROM outbox WHERE kind = 'mail' AND target = $1",
                &args![email.as_str()],
            )
            .await?;
        }
        let at = now();
        let anonymise = "UPDATE members SET name = $2, role = NULL, email = NULL, email_norm = NULL, \
                         phone = NULL, external_id = NULL, updated_at = $3, erased_at = $3 WHERE id = $1";
        tx.execute(anonymise, &args![id.as_str(), ERASED_NAME, at])
            .await?;
        let sql =
            format!("SELECT {CARD_COLUMNS} FROM cards WHERE member_id = $1 ORDER BY id{lock}");
        let rows: Vec<CardRow> = tx.fetch_all(&sql, &args![id.as_str()]).await?;
        let mut revoked = 0;
        for card in rows.into_iter().map(Card::try_from) {
            let card = card?;
            if card.status == CardStatus::Revoked {
                show_anew(&mut tx, &card).await?;
            } else if set_status_in(&mut tx, &card, CardStatus::Revoked).await? {
                revoked += 1;
            } else {
                // The card's row is locked (PostgreSQL) or the writer is ours (SQLite).
                return Err(StoreError::Conflict { field: "status" });
            }
        }
        tx.commit().await?;
        self.wake_dispatchers();
        Ok(Erasure {
            erased_at: at,
            revoked,
        })
    }

    /// Everything stored about a member, as an export for the person. Left out: the cards'
    /// authentication tokens (the secret a wallet and the member page prove the card with)
    /// and the stored request fingerprints and answers of orders (the service's own
    /// bookkeeping, their content is in the orders and ledger entries given).
    pub async fn member_export(&self, id: &MemberId) -> StoreResult<MemberExport> {
        let erased_at = self.member_erased_at(id).await?;
        let member = &args![id.as_str()];
        let consents = self
            .select(
                "SELECT e.invite_id, i.account_id, e.consented_at FROM enrollments e \
                 JOIN invites i ON i.id = e.invite_id WHERE e.member_id = $1 ORDER BY e.consented_at",
                member,
            )
            .await?;
        let mut cards = Vec::new();
        for card in self.member_cards(id).await? {
            let entries = self
                .select(
                    ENTRIES,
                    &args![
                        card.program_id.as_str(),
                        id.as_str(),
                        card.account_id.as_str()
                    ],
                )
                .await?;
            cards.push(ExportCard { card, entries });
        }
        let devices = self
            .select(
                "SELECT r.card_id, d.id AS device_library_id, d.scheme, d.push_token, \
                 r.created_at AS registered_at, r.updated_at \
                 FROM registrations r JOIN devices d ON d.id = r.device_id \
                 JOIN cards c ON c.id = r.card_id WHERE c.member_id = $1 ORDER BY r.card_id, d.id",
                member,
            )
            .await?;
        let orders = self
            .select(
                "SELECT id, source, external_id, account_id, card_id, program_id, amount_minor, \
                 currency, placed_at, cashback_redeemed_minor, refunded_minor, created_at \
                 FROM orders WHERE member_id = $1 ORDER BY placed_at, id",
                member,
            )
            .await?;
        let refunds = self
            .select(
                "SELECT r.id, r.order_id, r.source, r.external_id, r.amount_minor, r.created_at \
                 FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.member_id = $1 \
                 ORDER BY r.created_at, r.id",
                member,
            )
            .await?;
        let redemptions = self
            .select(
                "SELECT id, program_id, card_id, source, external_id, kind, created_at \
                 FROM redemptions WHERE member_id = $1 ORDER BY created_at, id",
                member,
            )
            .await?;
        Ok(MemberExport {
            erased_at,
            consents,
            cards,
            devices,
            orders,
            refunds,
            redemptions,
        })
    }
}

/// A new version of a card whose face changed (its holder's name), with the deliveries that
/// bring it to the wallets; for cards already revoked, which keep their status.
async fn show_anew(tx: &mut Tx, card: &Card) -> Result<(), sqlx::Error> {
    let sql =
        "UPDATE cards SET version = version + 1, updated_at = $2, notify = NULL WHERE id = $1";
    let mtime = next_card_mtime(card.updated_at);
    tx.execute(sql, &args![card.id.as_str(), mtime]).await?;
    super::ledger::enqueue(tx, &[card.id.as_str()], now()).await?;
    Ok(())
}
