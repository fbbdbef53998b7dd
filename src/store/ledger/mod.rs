//! Booking: orders, refunds, reward redemptions, adjustments and time effects, each in one
//! transaction that writes the request (idempotent by its key), the ledger entries the engine
//! returns, the holder's new state, a new version of every card whose balance changed, and one
//! outbox row per delivery those cards need.
//!
//! Concurrency: on PostgreSQL the holder's balance row is locked (`SELECT … FOR UPDATE`, in
//! program order so two holders never wait on each other in a cycle); on SQLite the single
//! writer connection runs one transaction at a time. Either way two orders for one holder
//! are applied one after the other and both count.

mod apply;
mod cards;
mod reads;
mod records;

use super::audit::insert_audit;
use crate::audit::AuditEntry;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::tx::{Arg, Transient, Tx, args, placeholders, value_rows};
use super::{Booking, Store, StoreError, now as store_now};
use crate::domain::balance::Balance;
use crate::domain::face::Notify;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::ledger::{
    self, Ctx, Entry, EntryKind, Event, HolderState, LedgerError, OrderFacts, Outcome, cashback,
};
use crate::domain::model::{BalanceScope, Program};

use apply::{apply, apply_state, insert_entries};
pub(super) use cards::{enqueue, outbox_sql};
pub(super) use reads::shown_stored;
pub use records::{CardRequest, CardRequestKind, KeyedTable, OrderRecord, RefundRecord};

/// Who holds a balance: the member in member scope, the account in account scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub account_id: AccountId,
    /// Set in member scope only.
    pub member_id: Option<MemberId>,
}

impl Holder {
    pub fn of(program: &Program, account_id: &AccountId, member_id: Option<&MemberId>) -> Self {
        Holder {
            account_id: account_id.clone(),
            member_id: match program.balance_scope {
                BalanceScope::Member => member_id.cloned(),
                BalanceScope::Account => None,
            },
        }
    }

    pub fn key(&self) -> &str {
        self.member_id
            .as_ref()
            .map_or(self.account_id.as_str(), MemberId::as_str)
    }
}

/// One program and holder an event applies to.
#[derive(Debug, Clone)]
pub struct Target {
    pub program: Program,
    pub holder: Holder,
}

/// What caused ledger entries, as the history shows it.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    pub event_type: &'static str,
    pub event_id: Option<&'a str>,
    pub order_id: Option<&'a str>,
}

/// A card that got a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardVersion {
    pub id: String,
    pub version: i64,
}

/// What one event did to one holder.
#[derive(Debug, Clone)]
pub struct HolderChange {
    pub program_id: String,
    pub holder: String,
    pub balance: Balance,
    pub outcome: Outcome,
    /// Every card of the holder in the program (not revoked), with its version after the event.
    pub cards: Vec<CardVersion>,
    /// Whether what the cards show changed.
    pub changed: bool,
    /// Deliveries queued in the outbox for the cards' new versions.
    pub deliveries: u64,
}

/// Whether a commit of `changes` queued deliveries the dispatchers should hear of.
fn queued(changes: &[HolderChange]) -> bool {
    changes.iter().any(|c| c.deliveries > 0)
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The rules refuse the event (a limit); nothing was written.
    #[error(transparent)]
    Rejected(#[from] LedgerError),
    /// The request's key was taken by a concurrent identical or different request; the caller
    /// compares it with the stored one.
    #[error("the key is already taken")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Transient for BookError {
    fn is_transient(&self) -> bool {
        matches!(self, BookError::Store(e) if e.is_transient())
    }
}

impl From<sqlx::Error> for BookError {
    fn from(e: sqlx::Error) -> Self {
        BookError::Store(StoreError::Database(e))
    }
}

/// A request stored under its idempotency key, with the answer it got.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Keyed {
    pub id: String,
    pub fingerprint: String,
    pub response: String,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    state: String,
}

/// A ledger entry as stored: what the engine replays and what a person's export lists.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub event_type: String,
    pub event_id: Option<String>,
    pub order_id: Option<String>,
    pub kind: String,
    pub amount: i64,
    pub lot: Option<String>,
    pub effective_at: DateTime<Utc>,
    /// The engine's order among entries of one instant: not part of a person's export.
    #[serde(skip_serializing)]
    pub seq: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl EntryRow {
    pub fn entry(&self) -> Result<Entry, StoreError> {
        Ok(Entry {
            kind: EntryKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("ledger entry {} kind", self.id)))?,
            amount: self.amount,
            lot: self.lot.clone(),
            effective_at: self.effective_at,
            seq: u64::try_from(self.seq).unwrap_or(0),
            expires_at: self.expires_at,
        })
    }
}

pub(crate) const ENTRY_COLUMNS: &str = "id, event_type, event_id, order_id, kind, amount, lot, effective_at, seq, expires_at, created_at";

fn ctx(program: &Program) -> Ctx<'_> {
    Ctx {
        rules: &program.rules,
        tz: program.time_zone,
    }
}

fn parse_state(raw: &str) -> Result<HolderState, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("balance state: {e}")))
}

fn state_json(state: &HolderState) -> String {
    // Plain data of strings, numbers and times always serializes.
    serde_json::to_string(state).unwrap_or_default()
}

impl Store {
    /// Applies time effects to every holder whose next change is due by `now`, at most
    /// `limit` of them; returns how many holders were visited and how many cards changed.
    pub async fn apply_due_time_effects(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<(usize, usize), BookError> {
        #[derive(sqlx::FromRow)]
        struct Due {
            program_id: String,
            holder: String,
            account_id: String,
            member_id: Option<String>,
        }
        let sql = "SELECT program_id, holder, account_id, member_id FROM balances \
                   WHERE next_change_at <= $1 ORDER BY next_change_at LIMIT $2";
        let due: Vec<Due> = super::read!(self, pool => sqlx::query_as(sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        let (mut visited, mut cards) = (0, 0);
        for d in due {
            let program = self
                .get_program(&crate::domain::ids::ProgramId::from_db(d.program_id))
                .await?;
            let target = Target {
                program,
                holder: Holder {
                    account_id: AccountId::from_db(d.account_id),
                    member_id: d.member_id.map(MemberId::from_db),
                },
            };
            debug_assert_eq!(target.holder.key(), d.holder);
            let mut tx = self.begin().await?;
            let cause = Cause {
                event_type: "time",
                event_id: None,
                order_id: None,
            };
            let change = apply(&mut tx, &target, &Event::Tick, cause, now).await?;
            tx.commit().await?;
            if change.deliveries > 0 {
                self.wake_dispatchers();
            }
            visited += 1;
            if change.changed {
                cards += change.cards.len();
            }
        }
        Ok((visited, cards))
    }
}

impl Booking<'_> {
    /// Books an order in this transaction and commits: applies it to every target and stores
    /// it under its key with the answer `respond` builds from the changes. The key is claimed
    /// last, by the unique constraint: a concurrent booking of the same key waits for this one
    /// and then finds its key taken ([`BookError::Duplicate`]), and its own effects roll back.
    pub async fn book_order(
        self,
        order: &OrderRecord,
        targets: &[Target],
        respond: impl Fn(&[HolderChange]) -> Value,
        audit: &AuditEntry,
    ) -> Result<Value, BookError> {
        let now = store_now();
        let (o, mut tx) = (order, self.tx);
        let cause = Cause {
            event_type: "order",
            event_id: Some(&o.id),
            order_id: Some(&o.id),
        };
        let mut changes = Vec::with_capacity(targets.len());
        for target in sorted(targets) {
            let event = Event::Order(ledger::OrderEvent {
                id: o.id.clone(),
                placed_at: o.placed_at,
                amount_minor: o.amount_minor,
                cashback_redeemed_minor: ledger::redemption_in(
                    &target.program.rules,
                    o.cashback_redeemed_minor,
                ),
            });
            changes.push(apply_state(&mut tx, target, &event, now).await?);
        }
        let response = respond(&changes);
        let sql = "INSERT INTO orders (id, source, external_id, account_id, member_id, card_id, program_id, \
                   amount_minor, currency, placed_at, cashback_redeemed_minor, refunded_minor, fingerprint, response, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14) \
                   ON CONFLICT (source, external_id) DO NOTHING";
        let claimed = tx
            .execute(
                sql,
                &args![
                    o.id.as_str(),
                    o.source.as_str(),
                    o.external_id.as_str(),
                    o.account_id.as_str(),
                    o.member_id.as_deref(),
                    o.card_id.as_deref(),
                    o.program_id.as_deref(),
                    o.amount_minor,
                    o.currency.as_str(),
                    o.placed_at,
                    o.cashback_redeemed_minor,
                    o.fingerprint.as_str(),
                    response.to_string(),
                    now
                ],
            )
            .await?;
        if claimed == 0 {
            return Err(BookError::Duplicate);
        }
        insert_entries(&mut tx, cause, &changes, now).await?;
        insert_audit(&mut tx, audit)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await?;
        if queued(&changes) {
            self.store.wake_dispatchers();
        }
        Ok(response)
    }
}

impl Store {
    /// Books a refund of an order: locks the order, claims the refund's key, reverses the
    /// order's effects in each program and holder the order moved, in proportion.
    pub async fn book_refund(
        &self,
        refund: &RefundRecord,
        targets: &[Target],
        respond: impl Fn(&[HolderChange]) -> Value,
        audit: &AuditEntry,
    ) -> Result<Value, BookError> {
        let respond = &respond;
        self.retrying(|| self.book_refund_once(refund, targets, respond, audit))
            .await
    }

    async fn book_refund_once(
        &self,
        refund: &RefundRecord,
        targets: &[Target],
        respond: impl Fn(&[HolderChange]) -> Value,
        audit: &AuditEntry,
    ) -> Result<Value, BookError> {
        let now = store_now();
        let r = refund;
        let mut tx = self.begin().await?;
        // The order row is locked first. The refund's insert takes a key-share lock on it
        // through the foreign key; taken before `FOR UPDATE`, two refunds of one order would
        // each hold that lock and wait for the other's (a deadlock).
        #[derive(sqlx::FromRow)]
        struct OrderRow {
            placed_at: DateTime<Utc>,
            amount_minor: i64,
            refunded_minor: i64,
        }
        let sql = format!(
            "SELECT placed_at, amount_minor, refunded_minor FROM orders WHERE id = $1{}",
            tx.lock_suffix()
        );
        let row: OrderRow = tx
            .fetch_optional(&sql, &args![r.order_id.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = "INSERT INTO refunds (id, source, external_id, order_id, amount_minor, fingerprint, response, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, '', $7) ON CONFLICT (source, external_id) DO NOTHING";
        let claimed = tx
            .execute(
                sql,
                &args![
                    r.id.as_str(),
                    r.source.as_str(),
                    r.external_id.as_str(),
                    r.order_id.as_str(),
                    r.amount_minor,
                    r.fingerprint.as_str(),
                    now
                ],
            )
            .await?;
        if claimed == 0 {
            return Err(BookError::Duplicate);
        }
        ledger::check_refund(row.amount_minor, row.refunded_minor, r.amount_minor)?;
        let cause = Cause {
            event_type: "refund",
            event_id: Some(&r.id),
            order_id: Some(&r.order_id),
        };
        let mut changes = Vec::with_capacity(targets.len());
        for target in sorted(targets) {
            let base = OrderFacts {
                id: r.order_id.clone(),
                placed_at: row.placed_at,
                amount_minor: row.amount_minor,
                refunded_minor: row.refunded_minor,
                ..OrderFacts::default()
            };
            let facts = order_facts(&mut tx, target, base).await?;
            let event = Event::Refund {
                order: facts,
                amount_minor: r.amount_minor,
            };
            changes.push(apply(&mut tx, target, &event, cause, now).await?);
        }
        let sql = "UPDATE orders SET refunded_minor = refunded_minor + $1 WHERE id = $2";
        tx.execute(sql, &args![r.amount_minor, r.order_id.as_str()])
            .await?;
        let response = respond(&changes);
        let sql = "UPDATE refunds SET response = $1 WHERE id = $2";
        tx.execute(sql, &args![response.to_string(), r.id.as_str()])
            .await?;
        insert_audit(&mut tx, audit)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await?;
        if queued(&changes) {
            self.wake_dispatchers();
        }
        Ok(response)
    }

    /// Books a desk redemption of one stamp reward, or a manual adjustment: a keyed request
    /// on one card's holder.
    pub async fn book_on_card(
        &self,
        request: &CardRequest,
        target: &Target,
        respond: impl Fn(&HolderChange) -> Value,
        audit: &AuditEntry,
    ) -> Result<Value, BookError> {
        let respond = &respond;
        self.retrying(|| self.book_on_card_once(request, target, respond, audit))
            .await
    }

    async fn book_on_card_once(
        &self,
        request: &CardRequest,
        target: &Target,
        respond: impl Fn(&HolderChange) -> Value,
        audit: &AuditEntry,
    ) -> Result<Value, BookError> {
        let now = store_now();
        let mut tx = self.begin().await?;
        let q = request;
        let (table, event, event_type) = match &q.kind {
            CardRequestKind::Reward { member_id } => {
                let sql = "INSERT INTO redemptions (id, program_id, source, external_id, card_id, member_id, kind, fingerprint, response, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, 'reward', $7, '', $8) \
                           ON CONFLICT (program_id, source, external_id) DO NOTHING";
                let a = Vec::from(args![
                    q.id.as_str(),
                    target.program.id.as_str(),
                    q.source.as_str(),
                    q.external_id.as_str(),
                    q.card_id.as_str(),
                    member_id.as_str(),
                    q.fingerprint.as_str(),
                    now
                ]);
                ((sql, a), Event::RedeemReward, "redemption")
            }
            CardRequestKind::Adjustment {
                amount,
                author,
                reason,
            } => {
                let sql = "INSERT INTO adjustments (id, program_id, card_id, external_id, amount, author, reason, fingerprint, response, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9) \
                           ON CONFLICT (program_id, external_id) DO NOTHING";
                let a = Vec::from(args![
                    q.id.as_str(),
                    target.program.id.as_str(),
                    q.card_id.as_str(),
                    q.external_id.as_str(),
                    *amount,
                    author.as_str(),
                    reason.as_str(),
                    q.fingerprint.as_str(),
                    now
                ]);
                let event = Event::Adjust {
                    id: q.id.clone(),
                    amount: *amount,
                };
                ((sql, a), event, "adjustment")
            }
        };
        if tx.execute(table.0, &table.1).await? == 0 {
            return Err(BookError::Duplicate);
        }
        let cause = Cause {
            event_type,
            event_id: Some(&q.id),
            order_id: None,
        };
        let change = apply(&mut tx, target, &event, cause, now).await?;
        let response = respond(&change);
        let sql = match q.kind {
            CardRequestKind::Reward { .. } => "UPDATE redemptions SET response = $1 WHERE id = $2",
            CardRequestKind::Adjustment { .. } => {
                "UPDATE adjustments SET response = $1 WHERE id = $2"
            }
        };
        tx.execute(sql, &args![response.to_string(), q.id.as_str()])
            .await?;
        insert_audit(&mut tx, audit)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await?;
        if change.deliveries > 0 {
            self.wake_dispatchers();
        }
        Ok(response)
    }
}

fn sorted(targets: &[Target]) -> Vec<&Target> {
    let mut t: Vec<&Target> = targets.iter().collect();
    t.sort_by(|a, b| {
        (a.program.id.as_str(), a.holder.key()).cmp(&(b.program.id.as_str(), b.holder.key()))
    });
    t
}

/// What a refund needs of the order in one program: its entries and those on its lot.
async fn order_facts(
    tx: &mut Tx,
    target: &Target,
    base: OrderFacts,
) -> Result<OrderFacts, BookError> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE program_id = $1 AND holder = $2 \
         AND (order_id = $3 OR lot = $3)"
    );
    let rows: Vec<EntryRow> = tx
        .fetch_all(
            &sql,
            &args![
                target.program.id.as_str(),
                target.holder.key(),
                base.id.as_str()
            ],
        )
        .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        entries.push((
            row.order_id.as_deref() == Some(base.id.as_str()),
            row.entry()?,
        ));
    }
    Ok(ledger::order_facts(
        base,
        entries.iter().map(|(own, e)| (*own, e)),
    ))
}
