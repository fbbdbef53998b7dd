//! Request bodies of bookings, with the public names of api.md. Fields are checked by the
//! booking functions, in the order the rules fix, so that a replay is recognised first.

use serde::Deserialize;

/// `POST /api/v1/orders`, `POST /webhooks/erp/orders`, a row of `import-orders`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub external_id: String,
    #[serde(default)]
    pub account_id: Option<String>,
    /// The ERP's customer number.
    #[serde(default)]
    pub account_external_id: Option<String>,
    #[serde(default)]
    pub member_id: Option<String>,
    /// The ERP's contact id.
    #[serde(default)]
    pub member_external_id: Option<String>,
    #[serde(default)]
    pub member_email: Option<String>,
    /// The code of a scanned card (with or without dashes).
    #[serde(default)]
    pub card_code: Option<String>,
    /// Book into this program only; by default every active program takes the order.
    #[serde(default)]
    pub program_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    /// RFC 3339 with an offset; a desk may leave it out (now).
    #[serde(default)]
    pub placed_at: Option<String>,
    #[serde(default)]
    pub cashback_redeemed_minor: Option<i64>,
    #[serde(default)]
    pub source: Option<String>,
}

/// `POST /api/v1/orders/{external_id}/refunds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRefund {
    pub external_id: String,
    pub amount_minor: i64,
    #[serde(default)]
    pub source: Option<String>,
}

/// `POST /api/v1/cards/{id}/redemptions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRedemption {
    pub external_id: String,
    pub kind: String,
    #[serde(default)]
    pub source: Option<String>,
}

/// `POST /api/v1/cards/{id}/adjustments`: minor units for cashback and spend, stamps for
/// stamp cards; positive credits, negative debits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdjustment {
    pub external_id: String,
    pub amount: i64,
    /// Who made it; a signed-in person always is the author (see `booking::adjust`).
    #[serde(default)]
    pub author: String,
    pub reason: String,
}
