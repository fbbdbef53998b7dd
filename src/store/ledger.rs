//! Booking: orders, refunds, reward redemptions, adjustments and time effects, each in one
//! transaction that writes the request (idempotent by its key), the ledger entries the engine
//! returns, the holder's new state, a new version of every card whose balance changed, and one
//! outbox row per delivery those cards need.
//!
//! Concurrency: on PostgreSQL the holder's balance row is locked (`SELECT … FOR UPDATE`, in
//! program order so two holders never wait on each other in a cycle); on SQLite the single
//! writer connection runs one transaction at a time. Either way two orders for one holder
//! are applied one after the other and both count.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::tx::{Arg, Tx, args, placeholders, value_rows};
use super::{Store, StoreError, now as store_now};
use crate::domain::balance::Balance;
use crate::domain::face::Notify;
use crate::domain::ids::{AccountId, MemberId};
use crate::domain::ledger::{
    self, Ctx, Entry, EntryKind, Event, HolderState, LedgerError, OrderFacts, Outcome, cashback,
};
use crate::domain::model::{BalanceScope, Program};
use crate::domain::rules::Rules;

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

#[derive(sqlx::FromRow)]
struct CardRow {
    id: String,
    version: i64,
    updated_at: DateTime<Utc>,
    /// Whether an Apple device or a Google object holds the card (so a new version has
    /// somewhere to go).
    deliverable: bool,
}

/// [`CardRow::deliverable`] of card `c`.
const DELIVERABLE: &str = "(c.google_object_id IS NOT NULL OR EXISTS \
    (SELECT 1 FROM registrations r WHERE r.card_id = c.id)) AS deliverable";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub event_type: String,
    pub event_id: Option<String>,
    pub order_id: Option<String>,
    pub kind: String,
    pub amount: i64,
    pub lot: Option<String>,
    pub effective_at: DateTime<Utc>,
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
    /// The stored state of a holder, if it has any history.
    pub async fn holder_state(
        &self,
        program_id: &str,
        holder: &str,
    ) -> Result<Option<HolderState>, StoreError> {
        let sql = "SELECT state FROM balances WHERE program_id = $1 AND holder = $2";
        let row: Option<StateRow> = super::read!(self, pool => sqlx::query_as(sql)
            .bind(program_id)
            .bind(holder)
            .fetch_optional(pool)
            .await)?;
        row.map(|r| parse_state(&r.state)).transpose()
    }

    /// What a holder's cards show now: the balance as of the holder's last change.
    pub async fn shown_balance(
        &self,
        program: &Program,
        holder: &str,
    ) -> Result<Balance, StoreError> {
        Ok(
            match self.holder_state(program.id.as_str(), holder).await? {
                Some(state) => {
                    let at = state.as_of.unwrap_or_else(store_now);
                    ledger::view(ctx(program), &state, at)
                }
                None => Balance::zero(&program.rules),
            },
        )
    }

    /// A holder's ledger, oldest first, after entry `after`.
    pub async fn history(
        &self,
        program_id: &str,
        holder: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EntryRow>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries \
             WHERE program_id = $1 AND holder = $2 AND id > $3 ORDER BY id LIMIT $4"
        );
        Ok(super::read!(self, pool => sqlx::query_as(&sql)
            .bind(program_id)
            .bind(holder)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?)
    }

    /// The stored request under a key of `table` (`orders`, `refunds`, `redemptions`,
    /// `adjustments`); `key` is its unique columns and their values.
    pub async fn keyed(
        &self,
        table: KeyedTable,
        key: &[&str],
    ) -> Result<Option<Keyed>, StoreError> {
        let sql = table.select_sql();
        let row: Option<Keyed> = super::read!(self, pool => {
            let mut q = sqlx::query_as(sql);
            for k in key {
                q = q.bind(*k);
            }
            q.fetch_optional(pool).await
        })?;
        Ok(row)
    }

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

    /// Books an order: applies it to every target and stores it under its key with the
    /// answer `respond` builds from the changes. The key is claimed last, by the unique
    /// constraint: a concurrent booking of the same key waits for this one and then finds its
    /// key taken ([`BookError::Duplicate`]), and its own effects roll back.
    pub async fn book_order(
        &self,
        order: &OrderRecord,
        targets: &[Target],
        respond: impl FnOnce(&[HolderChange]) -> Value,
    ) -> Result<Value, BookError> {
        let now = store_now();
        let o = order;
        let mut tx = self.begin().await?;
        let cause = Cause {
            event_type: "order",
            event_id: Some(&o.id),
            order_id: Some(&o.id),
        };
        let mut changes = Vec::with_capacity(targets.len());
        for target in sorted(targets) {
            // Only a cashback program takes the redemption; the others book the order alone.
            let redeemed = match target.program.rules {
                Rules::Cashback(_) => o.cashback_redeemed_minor,
                _ => 0,
            };
            let event = Event::Order(ledger::OrderEvent {
                id: o.id.clone(),
                placed_at: o.placed_at,
                amount_minor: o.amount_minor,
                cashback_redeemed_minor: redeemed,
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
        tx.commit().await?;
        if queued(&changes) {
            self.wake_dispatchers();
        }
        Ok(response)
    }

    /// Books a refund of an order: claims its key, reverses the order's effects in each
    /// program and holder the order moved, in proportion.
    pub async fn book_refund(
        &self,
        refund: &RefundRecord,
        targets: &[Target],
        respond: impl FnOnce(&[HolderChange]) -> Value,
    ) -> Result<Value, BookError> {
        let now = store_now();
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO refunds (id, source, external_id, order_id, amount_minor, fingerprint, response, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, '', $7) ON CONFLICT (source, external_id) DO NOTHING";
        let r = refund;
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
        let remaining = row.amount_minor - row.refunded_minor;
        if r.amount_minor > remaining {
            return Err(BookError::Rejected(LedgerError {
                code: "refund_exceeds_remaining",
                field: "amount_minor",
                message: format!(
                    "the refund is more than what remains of the order; the allowed maximum is {remaining}"
                ),
                allowed_max: Some(remaining),
            }));
        }
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
        tx.commit().await?;
        if queued(&changes) {
            self.wake_dispatchers();
        }
        Ok(response)
    }

    /// The programs and holders an order moved (from its own ledger entries).
    pub async fn order_targets(&self, order_id: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            program_id: String,
            account_id: String,
            member_id: Option<String>,
        }
        let sql = "SELECT DISTINCT b.program_id, b.account_id, b.member_id FROM ledger_entries e \
                   JOIN balances b ON b.program_id = e.program_id AND b.holder = e.holder \
                   WHERE e.order_id = $1 AND e.event_type = 'order'";
        let rows: Vec<Row> =
            super::read!(self, pool => sqlx::query_as(sql).bind(order_id).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let holder = Holder {
                    account_id: AccountId::from_db(r.account_id),
                    member_id: r.member_id.map(MemberId::from_db),
                };
                (r.program_id, holder)
            })
            .collect())
    }

    /// Books a desk redemption of one stamp reward, or a manual adjustment: a keyed request
    /// on one card's holder.
    pub async fn book_on_card(
        &self,
        request: &CardRequest,
        target: &Target,
        respond: impl FnOnce(&HolderChange) -> Value,
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
        tx.commit().await?;
        if change.deliveries > 0 {
            self.wake_dispatchers();
        }
        Ok(response)
    }
}

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
    fn select_sql(self) -> &'static str {
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

/// Applies one event to one holder inside `tx`.
async fn apply(
    tx: &mut Tx,
    target: &Target,
    event: &Event,
    cause: Cause<'_>,
    now: DateTime<Utc>,
) -> Result<HolderChange, BookError> {
    let change = apply_state(tx, target, event, now).await?;
    insert_entries(tx, cause, std::slice::from_ref(&change), now).await?;
    Ok(change)
}

/// Applies one event to one holder inside `tx`: everything but writing the ledger entries
/// (left to the caller: the entries of an order may only follow the order's own row).
async fn apply_state(
    tx: &mut Tx,
    target: &Target,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<HolderChange, BookError> {
    let program = &target.program;
    let holder = target.holder.key();
    let ctx = ctx(program);
    let mut state = lock_state(tx, target, now).await?;
    while let Some(need) = ledger::cold_need(ctx, &state, event, now) {
        warm_lots(tx, target, &mut state, need).await?;
    }
    let shown = ledger::view(ctx, &state, state.as_of.unwrap_or(now));
    let (mut next, outcome) = ledger::apply(ctx, &state, event, now)?;
    let spilled = cashback::spill(&mut next.cashback, LOTS_KEPT);
    insert_lots(tx, target, &spilled).await?;
    let balance = ledger::view(ctx, &next, now);
    let sql = "UPDATE balances SET state = $1, next_change_at = $2, updated_at = $3 \
               WHERE program_id = $4 AND holder = $5";
    tx.execute(
        sql,
        &args![
            state_json(&next),
            ledger::next_change_at(ctx, &next),
            now,
            program.id.as_str(),
            holder
        ],
    )
    .await?;
    let changed = shown != balance;
    let (cards, deliveries) =
        holder_cards(tx, target, changed.then_some(outcome.notify), now).await?;
    Ok(HolderChange {
        program_id: program.id.as_str().to_owned(),
        holder: holder.to_owned(),
        balance,
        outcome,
        cards,
        changed,
        deliveries,
    })
}

/// The holder's state, locked for the rest of the transaction; a holder without history
/// gets its row first.
async fn lock_state(
    tx: &mut Tx,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<HolderState, BookError> {
    let program_id = target.program.id.as_str();
    let holder = target.holder.key();
    let select = format!(
        "SELECT state FROM balances WHERE program_id = $1 AND holder = $2{}",
        tx.lock_suffix()
    );
    if let Some(row) = tx
        .fetch_optional::<StateRow>(&select, &args![program_id, holder])
        .await?
    {
        return Ok(parse_state(&row.state)?);
    }
    let sql = "INSERT INTO balances (program_id, holder, account_id, member_id, state, next_change_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (program_id, holder) DO NOTHING";
    tx.execute(
        sql,
        &args![
            program_id,
            holder,
            target.holder.account_id.as_str(),
            target.holder.member_id.as_ref().map(MemberId::as_str),
            state_json(&HolderState::default()),
            now
        ],
    )
    .await?;
    let row: StateRow = tx
        .fetch_optional(&select, &args![program_id, holder])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(parse_state(&row.state)?)
}

/// Cashback lots a holder's state keeps; above twice as many, the newest become rows of
/// `cashback_lots` (see [`cashback::Cold`]).
const LOTS_KEPT: usize = 4;

#[derive(sqlx::FromRow)]
struct LotRow {
    lot_id: String,
    at: DateTime<Utc>,
    seq: i64,
    remaining: i64,
    expires_at: Option<DateTime<Utc>>,
}

impl LotRow {
    fn lot(self) -> cashback::Lot {
        cashback::Lot {
            source: ledger::Source {
                id: self.lot_id,
                at: self.at,
                seq: u64::try_from(self.seq).unwrap_or(0),
            },
            remaining: self.remaining,
            expires_at: self.expires_at,
        }
    }
}

/// Moves the cold lots an event needs from their rows into `state`: the oldest
/// [`LOTS_KEPT`], or all of them.
async fn warm_lots(
    tx: &mut Tx,
    target: &Target,
    state: &mut HolderState,
    need: cashback::ColdNeed,
) -> Result<(), BookError> {
    let (program_id, holder) = (target.program.id.as_str(), target.holder.key());
    let sql = "SELECT lot_id, at, seq, remaining, expires_at FROM cashback_lots \
               WHERE program_id = $1 AND holder = $2 ORDER BY at, seq";
    let rows: Vec<LotRow> = tx.fetch_all(sql, &args![program_id, holder]).await?;
    let n = match need {
        cashback::ColdNeed::Oldest => LOTS_KEPT.min(rows.len()),
        cashback::ColdNeed::All => rows.len(),
    };
    if n == 0 {
        // The summary promised lots the rows do not hold.
        return Err(StoreError::Corrupt(format!("cashback lots of {program_id}/{holder}")).into());
    }
    let mut lots: Vec<cashback::Lot> = rows.into_iter().map(LotRow::lot).collect();
    let rest = lots.split_off(n);
    let sql = format!(
        "DELETE FROM cashback_lots WHERE program_id = $1 AND holder = $2 AND lot_id IN ({})",
        placeholders(3, lots.len())
    );
    let mut values = Vec::from(args![program_id, holder]);
    values.extend(lots.iter().map(|l| Arg::from(l.source.id.as_str())));
    tx.execute(&sql, &values).await?;
    cashback::warm(&mut state.cashback, lots, cashback::summarize(&rest));
    Ok(())
}

/// Writes lots the state spilled as rows.
async fn insert_lots(
    tx: &mut Tx,
    target: &Target,
    lots: &[cashback::Lot],
) -> Result<(), BookError> {
    const COLUMNS: usize = 7;
    for batch in lots.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO cashback_lots (program_id, holder, lot_id, at, seq, remaining, expires_at) VALUES {}",
            value_rows(batch.len(), COLUMNS)
        );
        let mut values = Vec::with_capacity(batch.len() * COLUMNS);
        for lot in batch {
            values.extend(args![
                target.program.id.as_str(),
                target.holder.key(),
                lot.source.id.as_str(),
                lot.source.at,
                i64::try_from(lot.source.seq).unwrap_or(i64::MAX),
                lot.remaining,
                lot.expires_at
            ]);
        }
        tx.execute(&sql, &values).await?;
    }
    Ok(())
}

/// Rows per multi-row `INSERT`: at most 12 arguments each, well under every engine's limit.
const ROWS_PER_INSERT: usize = 200;

/// Writes the ledger entries of `changes` in as few statements as the batch size allows.
async fn insert_entries(
    tx: &mut Tx,
    cause: Cause<'_>,
    changes: &[HolderChange],
    now: DateTime<Utc>,
) -> Result<(), BookError> {
    const COLUMNS: usize = 12;
    let entries: Vec<(&HolderChange, &Entry)> = changes
        .iter()
        .flat_map(|c| c.outcome.entries.iter().map(move |e| (c, e)))
        .collect();
    for batch in entries.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO ledger_entries (program_id, holder, event_type, event_id, order_id, kind, amount, lot, effective_at, seq, expires_at, created_at) VALUES {}",
            value_rows(batch.len(), COLUMNS)
        );
        let mut values = Vec::with_capacity(batch.len() * COLUMNS);
        for (change, e) in batch {
            values.extend(args![
                change.program_id.as_str(),
                change.holder.as_str(),
                cause.event_type,
                cause.event_id,
                cause.order_id,
                e.kind.as_str(),
                e.amount,
                e.lot.as_deref(),
                e.effective_at,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.expires_at,
                now
            ]);
        }
        tx.execute(&sql, &values).await?;
    }
    Ok(())
}

/// The holder's cards in the program. With `bump`, each gets a new version carrying the
/// notification reason, and one outbox row per Apple device and Google object holding it;
/// returns the cards with their versions and the deliveries queued.
async fn holder_cards(
    tx: &mut Tx,
    target: &Target,
    bump: Option<Option<Notify>>,
    now: DateTime<Utc>,
) -> Result<(Vec<CardVersion>, u64), BookError> {
    let (column, value) = match &target.holder.member_id {
        Some(m) => ("member_id", m.as_str()),
        None => ("account_id", target.holder.account_id.as_str()),
    };
    let program_id = target.program.id.as_str();
    let rows: Vec<CardRow> = match (bump, &*tx) {
        (Some(notify), Tx::Postgres(_)) => {
            // One statement: the row lock, the new version and the next whole-second
            // modification time (`store::next_card_mtime`).
            let sql = format!(
                "UPDATE cards c SET version = c.version + 1, notify = $1, \
                 updated_at = GREATEST($2, c.updated_at + interval '1 second') \
                 WHERE c.program_id = $3 AND c.{column} = $4 AND c.status <> 'revoked' \
                 RETURNING c.id, c.version - 1 AS version, c.updated_at, {DELIVERABLE}"
            );
            let second = super::next_card_mtime(DateTime::<Utc>::UNIX_EPOCH);
            let mut rows: Vec<CardRow> = tx
                .fetch_all(
                    &sql,
                    &args![notify.map(Notify::as_str), second, program_id, value],
                )
                .await?;
            rows.sort_by(|a, b| a.id.cmp(&b.id));
            rows
        }
        (_, _) => {
            let lock = if bump.is_some() { tx.lock_suffix() } else { "" };
            let sql = format!(
                "SELECT c.id, c.version, c.updated_at, {DELIVERABLE} FROM cards c \
                 WHERE c.program_id = $1 AND c.{column} = $2 AND c.status <> 'revoked' \
                 ORDER BY c.id{lock}"
            );
            let rows: Vec<CardRow> = tx.fetch_all(&sql, &args![program_id, value]).await?;
            if let (Some(notify), false) = (bump, rows.is_empty()) {
                bump_cards(tx, &rows, notify).await?;
            }
            rows
        }
    };
    let cards = rows
        .iter()
        .map(|r| CardVersion {
            id: r.id.clone(),
            version: r.version + i64::from(bump.is_some()),
        })
        .collect();
    let mut deliveries = 0;
    if bump.is_some() {
        let ids: Vec<&str> = rows
            .iter()
            .filter(|r| r.deliverable)
            .map(|r| r.id.as_str())
            .collect();
        if !ids.is_empty() {
            deliveries = enqueue(tx, &ids, now).await?;
        }
    }
    Ok((cards, deliveries))
}

/// One statement gives every card of `rows` its next version, its next modification time
/// and the notification reason of that version.
async fn bump_cards(
    tx: &mut Tx,
    rows: &[CardRow],
    notify: Option<Notify>,
) -> Result<(), BookError> {
    let mut sql =
        String::from("UPDATE cards SET version = version + 1, notify = $1, updated_at = CASE id");
    let mut values = Vec::with_capacity(1 + rows.len() * 3);
    values.extend(args![notify.map(Notify::as_str)]);
    for row in rows {
        let n = values.len();
        sql.push_str(&format!(" WHEN ${} THEN ${}", n + 1, n + 2));
        values.extend(args![
            row.id.as_str(),
            super::next_card_mtime(row.updated_at)
        ]);
    }
    sql.push_str(" END WHERE id IN (");
    sql.push_str(&placeholders(values.len() + 1, rows.len()));
    sql.push(')');
    values.extend(rows.iter().map(|r| Arg::from(r.id.as_str())));
    tx.execute(&sql, &values).await?;
    Ok(())
}

/// The statement that queues one outbox row per Apple Wallet device (`ApplePass` scheme)
/// registered for a card and per Google object of a card, for the cards `filter` selects (a
/// condition on `c`), each carrying the card's current version and notification reason;
/// `$now` is the parameter of the current time. Run in the transaction that gave the cards
/// their new version.
pub(super) fn outbox_sql(now: usize, filter: &str) -> String {
    format!(
        "INSERT INTO outbox (kind, card_id, card_version, target, notify, state, attempts, due_at, created_at) \
         SELECT 'apple_push', c.id, c.version, d.push_token, c.notify, 'pending', 0, ${now}, ${now} \
         FROM cards c JOIN registrations r ON r.card_id = c.id JOIN devices d ON d.id = r.device_id \
         WHERE d.scheme = 'ApplePass' AND {filter} \
         UNION ALL \
         SELECT 'google_object', c.id, c.version, c.google_object_id, c.notify, 'pending', 0, ${now}, ${now} \
         FROM cards c WHERE c.google_object_id IS NOT NULL AND {filter}"
    )
}

/// Queues the deliveries of the cards `card_ids` (see [`outbox_sql`]).
pub(super) async fn enqueue(
    tx: &mut Tx,
    card_ids: &[&str],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let filter = format!("c.id IN ({})", placeholders(2, card_ids.len()));
    let mut values = Vec::with_capacity(1 + card_ids.len());
    values.extend(args![now]);
    values.extend(card_ids.iter().map(|id| Arg::from(*id)));
    tx.execute(&outbox_sql(1, &filter), &values).await
}
