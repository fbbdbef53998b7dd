//! Requests as stored under their idempotency keys.

use chrono::{DateTime, Utc};

/// Tables of keyed requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedTable {
    /// Key: source, external id.
    Orders,
    /// Key: source, external id.
    Refunds,
    /// Key: program id, source, external id.
    Redemptions,
    /// Key: program id, external id.
    Adjustments,
}

impl KeyedTable {
    pub(super) fn select_sql(self) -> &'static str {
        match self {
            KeyedTable::Orders => {
                "SELECT id, fingerprint, response FROM orders WHERE source = $1 AND external_id = $2"
            }
            KeyedTable::Refunds => {
                "SELECT id, fingerprint, response FROM refunds WHERE source = $1 AND external_id = $2"
            }
            KeyedTable::Redemptions => {
                "SELECT id, fingerprint, response FROM redemptions WHERE program_id = $1 AND source = $2 AND external_id = $3"
            }
            KeyedTable::Adjustments => {
                "SELECT id, fingerprint, response FROM adjustments WHERE program_id = $1 AND external_id = $2"
            }
        }
    }
}

/// An order as stored.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub id: String,
    pub source: String,
    pub external_id: String,
    pub account_id: String,
    pub member_id: Option<String>,
    pub card_id: Option<String>,
    pub program_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
    pub cashback_redeemed_minor: i64,
    pub fingerprint: String,
}

/// A refund as stored.
#[derive(Debug, Clone)]
pub struct RefundRecord {
    pub id: String,
    pub source: String,
    pub external_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub fingerprint: String,
}

/// A keyed request on one card.
#[derive(Debug, Clone)]
pub struct CardRequest {
    pub id: String,
    pub card_id: String,
    pub source: String,
    pub external_id: String,
    pub fingerprint: String,
    pub kind: CardRequestKind,
}

#[derive(Debug, Clone)]
pub enum CardRequestKind {
    Reward {
        member_id: String,
    },
    Adjustment {
        amount: i64,
        author: String,
        reason: String,
    },
}
