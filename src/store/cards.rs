//! Cards: issue, read (by id, code or serial), change status. Every change of what a card
//! shows bumps `version` and moves `updated_at` strictly forward (see `next_card_mtime`).

use chrono::{DateTime, Utc};

use super::rows::CardRow;
use super::tx::{Tx, args};
use super::{Store, StoreError, StoreResult, is_unique_violation, next_card_mtime, now, read};
use crate::domain::card::CardBundle;
use crate::domain::codes::{CardCode, SerialNumber};
use crate::domain::ids::{CardId, MemberId};
use crate::domain::model::{Card, CardStatus};

pub(super) const COLUMNS: &str = "id, program_id, member_id, account_id, serial, auth_token, code, status, version, updated_at, created_at, notify, google_object_id";

/// Gives every card matching `$column = $id` a new version inside transaction `$tx`, with one
/// modification time later than the newest of them.
macro_rules! bump_cards {
    ($tx:expr, $column:literal, $id:expr) => {{
        let newest = concat!("SELECT MAX(updated_at) FROM cards WHERE ", $column, " = $1");
        let bump = concat!(
            "UPDATE cards SET version = version + 1, updated_at = $2, notify = NULL WHERE ",
            $column,
            " = $1"
        );
        let latest: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(newest)
            .bind($id)
            .fetch_one(&mut *$tx)
            .await?;
        let mtime = crate::store::next_card_mtime(
            latest.unwrap_or(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
        );
        sqlx::query(bump)
            .bind($id)
            .bind(mtime)
            .execute(&mut *$tx)
            .await?;
        // The wallets get the new face like any other change of the cards.
        let filter = concat!("c.", $column, " = $1 AND c.status <> 'revoked'");
        sqlx::query(&crate::store::ledger::outbox_sql(2, filter))
            .bind($id)
            .bind(crate::store::now())
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use bump_cards;

impl Store {
    /// Inserts a new card. `Conflict { field: "member_id" }` when the member already has a
    /// card of the program; `Conflict { field: "code" }` when a random code or serial
    /// collided (the caller draws new ones). A card with a Google object gets, in the same
    /// transaction, the outbox row that inserts the object.
    pub async fn insert_card(&self, c: &Card) -> StoreResult<()> {
        let sql = "INSERT INTO cards (id, program_id, member_id, account_id, serial, auth_token, code, status, version, updated_at, created_at, google_object_id) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        let values = args![
            c.id.as_str(),
            c.program_id.as_str(),
            c.member_id.as_str(),
            c.account_id.as_str(),
            c.serial.as_str(),
            c.auth_token.expose(),
            c.code.as_str(),
            c.status.as_str(),
            c.version,
            c.updated_at,
            c.created_at,
            c.google_object_id.as_deref()
        ];
        let mut tx = self.begin().await?;
        let result = async {
            tx.execute(sql, &values).await?;
            if c.google_object_id.is_some() {
                super::ledger::enqueue(&mut tx, &[c.id.as_str()], now()).await?;
            }
            Ok::<(), sqlx::Error>(())
        }
        .await;
        match result {
            Ok(()) => {
                tx.commit().await?;
                if c.google_object_id.is_some() {
                    self.wake_dispatchers();
                }
                Ok(())
            }
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                Err(self.card_conflict(c).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn card_conflict(&self, c: &Card) -> StoreError {
        let sql = "SELECT COUNT(*) FROM cards WHERE program_id = $1 AND member_id = $2";
        let taken: Result<i64, sqlx::Error> = read!(self, pool => sqlx::query_scalar(sql)
            .bind(c.program_id.as_str())
            .bind(c.member_id.as_str())
            .fetch_one(pool)
            .await);
        match taken {
            Ok(n) if n > 0 => StoreError::Conflict { field: "member_id" },
            Ok(_) => StoreError::Conflict { field: "code" },
            Err(e) => e.into(),
        }
    }

    async fn card_where(&self, column: &str, value: &str) -> StoreResult<Card> {
        card_where(super::tx::On::Pool(self), column, value).await
    }

    pub async fn get_card(&self, id: &CardId) -> StoreResult<Card> {
        self.card_where("id", id.as_str()).await
    }

    pub async fn get_card_by_code(&self, code: &CardCode) -> StoreResult<Card> {
        self.card_where("code", code.as_str()).await
    }

    /// The cards of a member, oldest first.
    pub async fn member_cards(&self, member: &MemberId) -> StoreResult<Vec<Card>> {
        let sql = format!("SELECT {COLUMNS} FROM cards WHERE member_id = $1 ORDER BY id");
        let rows: Vec<CardRow> =
            read!(self, pool => sqlx::query_as(&sql).bind(member.as_str()).fetch_all(pool).await)?;
        rows.into_iter().map(Card::try_from).collect()
    }

    pub async fn get_card_by_serial(&self, serial: &SerialNumber) -> StoreResult<Card> {
        self.card_where("serial", serial.as_str()).await
    }

    /// The card with its program, member and account.
    pub async fn card_bundle(&self, card: Card) -> StoreResult<CardBundle> {
        let program = self.get_program(&card.program_id).await?;
        let member = self.get_member(&card.member_id).await?;
        let account = self.get_account(&card.account_id).await?;
        let holder = super::Holder::of(&program, &card.account_id, Some(&card.member_id));
        let balance = self.shown_balance(&program, holder.key()).await?;
        Ok(CardBundle {
            card,
            program,
            member,
            account,
            balance,
        })
    }

    /// Gives a card issued while Google Wallet was off its object `object_id`, and queues the
    /// object's insert in the same transaction; false when the card has an object already (or
    /// is revoked).
    pub async fn attach_google_object(
        &self,
        card_id: &CardId,
        object_id: &str,
    ) -> StoreResult<bool> {
        let sql = "UPDATE cards SET google_object_id = $2 \
                   WHERE id = $1 AND google_object_id IS NULL AND status <> 'revoked'";
        let mut tx = self.begin().await?;
        let attached = tx.execute(sql, &args![card_id.as_str(), object_id]).await? > 0;
        if attached {
            super::ledger::enqueue(&mut tx, &[card_id.as_str()], now()).await?;
        }
        tx.commit().await?;
        if attached {
            self.wake_dispatchers();
        }
        Ok(attached)
    }

    /// Moves a card from `from` to `to`, as one conditional update: a concurrent change of
    /// status makes this one fail with `Conflict { field: "status" }` instead of being lost.
    pub async fn set_card_status(&self, card: &Card, to: CardStatus) -> StoreResult<Card> {
        let mut tx = self.begin().await?;
        if !set_status_in(&mut tx, card, to).await? {
            return Err(StoreError::Conflict { field: "status" });
        }
        tx.commit().await?;
        self.wake_dispatchers();
        self.get_card(&card.id).await
    }
}

/// The status change of [`Store::set_card_status`] inside `tx`: a new version and modification
/// time, and the wallets' deliveries queued. False when the card's status is no longer
/// `card.status` (changed meanwhile); nothing is written then.
pub(super) async fn set_status_in(
    tx: &mut Tx,
    card: &Card,
    to: CardStatus,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE cards SET status = $3, version = version + 1, updated_at = $4, notify = NULL WHERE id = $1 AND status = $2";
    let mtime: DateTime<Utc> = next_card_mtime(card.updated_at);
    let done = tx
        .execute(
            sql,
            &args![card.id.as_str(), card.status.as_str(), to.as_str(), mtime],
        )
        .await?;
    if done == 0 {
        return Ok(false);
    }
    // The wallets learn of the new status like of any other change of the card.
    super::ledger::enqueue(tx, &[card.id.as_str()], now()).await?;
    Ok(true)
}

/// The card whose unique `column` is `value`.
pub(super) async fn card_where(
    on: super::tx::On<'_>,
    column: &str,
    value: &str,
) -> StoreResult<Card> {
    let sql = format!("SELECT {COLUMNS} FROM cards WHERE {column} = $1");
    let row: Option<CardRow> = on.fetch_optional(&sql, &args![value]).await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}
