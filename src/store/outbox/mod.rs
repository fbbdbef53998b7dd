//! The outbox: one row per delivery a change needs, written in the transaction that made the
//! change: a card version's pushes and Google updates (see `ledger::enqueue`), and mails
//! ([`Store::enqueue_mail`]), which carry no card but their composed message. Dispatchers claim due rows with a lease, deliver
//! them and record the end: done, retry later, or dead (a dead letter an admin can retry).
//!
//! Claiming: on PostgreSQL the oldest due rows are picked `FOR UPDATE SKIP LOCKED`, so several
//! dispatchers (one per instance) never wait on or take each other's rows; on SQLite one
//! writer runs one claim at a time. A claim takes every due row of the picked targets, so a
//! device that several changes (of one card or of several) wait for gets one push. A claimed
//! row carries `locked_until`: a dispatcher that dies leaves it to be claimed again once the
//! lease runs out.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

mod admin;
mod claim;

pub use claim::Claimer;
pub(super) use claim::Liveness;

use super::tx::{Arg, Tx, args, placeholders};
use super::{Store, StoreResult, read};

/// The channel a committed change is announced on between instances (PostgreSQL).
pub const CHANNEL: &str = "walletcards_outbox";

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub kind: String,
    /// The card whose version this delivers (none for a mail).
    pub card_id: Option<String>,
    pub card_version: Option<i64>,
    /// The push token (Apple), object id (Google) or recipient (mail).
    pub target: String,
    pub notify: Option<String>,
    /// What a mail delivers (the composed message, JSON); cleared once delivered.
    pub payload: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A dead letter, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub kind: String,
    pub card_id: Option<String>,
    pub card_version: Option<i64>,
    pub target: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// How a delivery ended this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryEnd {
    Done,
    /// Try again from `due_at`.
    Retry {
        due_at: DateTime<Utc>,
        error: String,
    },
    /// Given up: kept as a dead letter.
    Dead {
        error: String,
    },
}

/// Depth and age of the queue, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxStats {
    pub pending: i64,
    pub due: i64,
    pub dead: i64,
    /// Seconds since the oldest due row became due.
    pub oldest_due_age_seconds: f64,
}

const COLUMNS: &str =
    "id, kind, card_id, card_version, target, notify, payload, attempts, created_at";

/// The outbox kinds, one dispatcher each.
pub const KINDS: [&str; 3] = ["apple_push", "google_object", "mail"];

/// The outbox kind of mails.
pub const MAIL: &str = "mail";

/// The kinds that deliver a card's versions (counted per program by analytics).
pub const CARD_KINDS: [&str; 2] = ["apple_push", "google_object"];

/// One wake-up signal per outbox kind: each dispatcher waits on its own, and a commit wakes
/// them all (a shared `Notify` would wake only one of them).
#[derive(Debug, Default)]
pub struct Signals {
    by_kind: [Arc<Notify>; KINDS.len()],
}

impl Signals {
    /// The signal of `kind`'s dispatcher.
    pub fn of(&self, kind: &str) -> Arc<Notify> {
        let i = KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        Arc::clone(&self.by_kind[i])
    }

    /// Wakes every dispatcher (each keeps the wake-up if it is busy now).
    pub fn wake_all(&self) {
        for signal in &self.by_kind {
            signal.notify_one();
        }
    }
}

/// Queues a mail to `to` in the caller's transaction; `payload` is the composed message.
pub(crate) async fn enqueue_mail(
    tx: &mut Tx,
    to: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO outbox (kind, target, payload, state, attempts, due_at, created_at) \
               VALUES ($1, $2, $3, 'pending', 0, $4, $4)";
    tx.execute(sql, &args![MAIL, to, payload, now]).await?;
    Ok(())
}

impl Store {
    /// The signals a commit that queued deliveries gives the dispatchers of this process.
    pub fn outbox_signals(&self) -> Arc<Signals> {
        Arc::clone(&self.wake)
    }

    /// Called after every commit that may have queued deliveries (other instances hear of it
    /// through the `outbox_notify` trigger on PostgreSQL).
    pub(super) fn wake_dispatchers(&self) {
        self.wake.wake_all();
    }

    /// Records how the deliveries `ids` ended.
    pub async fn finish_deliveries(
        &self,
        ids: &[i64],
        end: &DeliveryEnd,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let (set, mut values) = match end {
            // A delivered mail's payload (which may hold a one-time link) is not kept.
            DeliveryEnd::Done => (
                "state = 'done', locked_until = NULL, locked_by = NULL, last_error = NULL, payload = NULL, updated_at = $1",
                Vec::from(args![now]),
            ),
            DeliveryEnd::Retry { due_at, error } => (
                "state = 'pending', locked_until = NULL, locked_by = NULL, due_at = $2, last_error = $3, updated_at = $1",
                Vec::from(args![now, *due_at, error.as_str()]),
            ),
            DeliveryEnd::Dead { error } => (
                "state = 'dead', locked_until = NULL, locked_by = NULL, last_error = $2, updated_at = $1",
                Vec::from(args![now, error.as_str()]),
            ),
        };
        let sql = format!(
            "UPDATE outbox SET {set} WHERE id IN ({})",
            placeholders(values.len() + 1, ids.len())
        );
        values.extend(ids.iter().map(|id| Arg::from(*id)));
        self.execute(&sql, &values).await?;
        Ok(())
    }

    /// When the earliest pending row of `kind` becomes due (or its lease runs out).
    pub async fn next_delivery_at(&self, kind: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let sql = "SELECT MIN(CASE WHEN locked_until IS NOT NULL AND locked_until > due_at \
                   THEN locked_until ELSE due_at END) FROM outbox WHERE kind = $1 AND state = 'pending'";
        let at: Option<DateTime<Utc>> =
            read!(self, pool => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await)?;
        Ok(at)
    }
}
