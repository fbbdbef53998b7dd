//! The audit trail: who moved money or access, when, what, and the small before/after. Every
//! caller of the API or the pages is an [`Actor`] (a staff user, an API key, the bootstrap
//! key, the signed ERP webhook, the CSV import); each action that books, refunds, redeems,
//! adjusts, changes a card's status, a program, a design, a staff user or a key, erases a
//! member or retries a dead letter writes one [`AuditEntry`], in the same transaction as the
//! change where the store makes one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::ids::{ApiKeyId, StaffUserId};
use crate::store::Role;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user:<id>`, `key:<id>`, `bootstrap`, `erp` or `import`: what the trail is filtered by.
    pub id: String,
    /// The person's or key's name at the time.
    pub name: String,
    pub role: Role,
    /// The staff user, when a person signed in.
    pub user: Option<StaffUserId>,
    /// The desk (location) a desk user is tied to.
    pub desk: Option<String>,
}

impl Actor {
    /// A signed-in staff user.
    pub fn user(id: &StaffUserId, name: &str, role: Role, desk: Option<String>) -> Actor {
        Actor {
            id: format!("user:{id}"),
            name: name.to_owned(),
            role,
            user: Some(id.clone()),
            desk,
        }
    }

    /// A stored API key (or a session opened with one).
    pub fn key(id: &ApiKeyId, name: &str, role: Role) -> Actor {
        Actor {
            id: format!("key:{id}"),
            name: name.to_owned(),
            role,
            user: None,
            desk: None,
        }
    }

    /// The bootstrap admin key from `WALLETCARDS_ADMIN_KEY` (or the one printed at first start).
    pub fn bootstrap() -> Actor {
        Actor {
            id: "bootstrap".into(),
            name: "bootstrap admin key".into(),
            role: Role::Admin,
            user: None,
            desk: None,
        }
    }

    /// The ERP through the signed webhook.
    pub fn erp_webhook() -> Actor {
        Actor {
            id: "erp".into(),
            name: "ERP webhook".into(),
            role: Role::ErpWebhook,
            user: None,
            desk: None,
        }
    }

    /// The CSV import on the command line (it has the database's credentials).
    pub fn import() -> Actor {
        Actor {
            id: "import".into(),
            name: "CSV import".into(),
            role: Role::Admin,
            user: None,
            desk: None,
        }
    }

    /// An entry of this actor's, now.
    pub fn did(&self, action: Action, target: impl Into<String>) -> AuditEntry {
        AuditEntry {
            at: crate::store::now(),
            actor: self.id.clone(),
            actor_name: self.name.clone(),
            action,
            target: target.into(),
            account_id: None,
            card_id: None,
            details: Value::Object(serde_json::Map::new()),
        }
    }
}

/// What was done. The names are the trail's `action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrderBooked,
    OrderRefunded,
    RewardRedeemed,
    BalanceAdjusted,
    CardIssued,
    CardSuspended,
    CardRevoked,
    CardReactivated,
    ProgramCreated,
    ProgramChanged,
    DesignChanged,
    InviteCreated,
    InviteRevoked,
    MemberErased,
    StaffInvited,
    StaffChanged,
    StaffDeactivated,
    StaffReactivated,
    StaffSignedOutEverywhere,
    StaffPasswordSet,
    KeyCreated,
    KeyRevoked,
    DeadLetterRetried,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrderBooked => "order.booked",
            Action::OrderRefunded => "order.refunded",
            Action::RewardRedeemed => "reward.redeemed",
            Action::BalanceAdjusted => "balance.adjusted",
            Action::CardIssued => "card.issued",
            Action::CardSuspended => "card.suspended",
            Action::CardRevoked => "card.revoked",
            Action::CardReactivated => "card.reactivated",
            Action::ProgramCreated => "program.created",
            Action::ProgramChanged => "program.changed",
            Action::DesignChanged => "design.changed",
            Action::InviteCreated => "invite.created",
            Action::InviteRevoked => "invite.revoked",
            Action::MemberErased => "member.erased",
            Action::StaffInvited => "staff.invited",
            Action::StaffChanged => "staff.changed",
            Action::StaffDeactivated => "staff.deactivated",
            Action::StaffReactivated => "staff.reactivated",
            Action::StaffSignedOutEverywhere => "staff.signed_out_everywhere",
            Action::StaffPasswordSet => "staff.password_set",
            Action::KeyCreated => "key.created",
            Action::KeyRevoked => "key.revoked",
            Action::DeadLetterRetried => "dead_letter.retried",
        }
    }
}

/// One line of the trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: String,
    pub action: Action,
    /// What was acted on: `card:<id>`, `order:<source>/<external id>`, `program:<id>`, ….
    pub target: String,
    /// The company concerned, for the trail's company filter.
    pub account_id: Option<String>,
    /// The card concerned, for the trail's card filter.
    pub card_id: Option<String>,
    /// A small JSON object: the amounts, the before and after.
    pub details: Value,
}

impl AuditEntry {
    pub fn account(mut self, id: impl ToString) -> Self {
        self.account_id = Some(id.to_string());
        self
    }

    pub fn card(mut self, id: impl ToString) -> Self {
        self.card_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored line of the trail, as `GET /api/v1/audit` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    #[serde(skip_serializing)]
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub account_id: Option<String>,
    pub card_id: Option<String>,
    pub details: Value,
}
