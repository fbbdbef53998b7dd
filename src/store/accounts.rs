//! Accounts (client companies): create, read, list, update.

use super::cards::bump_cards;
use super::rows::{AccountRow, Page};
use super::tx::{On, args};
use super::{Store, StoreError, StoreResult, is_unique_violation, read, write};
use crate::domain::ids::AccountId;
use crate::domain::model::Account;

const COLUMNS: &str = "id, name, external_id, created_at, updated_at";

/// The account whose unique `column` is `value`.
pub(super) async fn account_where(on: On<'_>, column: &str, value: &str) -> StoreResult<Account> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE {column} = $1");
    let row: Option<AccountRow> = on.fetch_optional(&sql, &args![value]).await?;
    Ok(row.ok_or(StoreError::NotFound)?.into())
}

fn conflict(e: sqlx::Error) -> StoreError {
    // external_id is the only unique column a caller chooses.
    if is_unique_violation(&e) {
        StoreError::Conflict {
            field: "external_id",
        }
    } else {
        e.into()
    }
}

impl Store {
    pub async fn insert_account(&self, a: &Account) -> StoreResult<()> {
        let sql = "INSERT INTO accounts (id, name, external_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
        write!(self, pool => sqlx::query(sql)
            .bind(a.id.as_str())
            .bind(&a.name)
            .bind(&a.external_id)
            .bind(a.created_at)
            .bind(a.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(conflict)?;
        Ok(())
    }

    pub async fn get_account(&self, id: &AccountId) -> StoreResult<Account> {
        account_where(On::Pool(self), "id", id.as_str()).await
    }

    pub async fn find_account_by_external_id(&self, external_id: &str) -> StoreResult<Account> {
        account_where(On::Pool(self), "external_id", external_id).await
    }

    pub async fn list_accounts(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<AccountRow> = read!(self, pool => sqlx::query_as(&sql)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        let items = rows.into_iter().map(Account::from).collect();
        Ok(Page::from_rows(items, limit, |a: &Account| {
            a.id.to_string()
        }))
    }

    /// Saves `a`; when `cards_change` (the name on them changed) its cards get a new version.
    pub async fn update_account(&self, a: &Account, cards_change: bool) -> StoreResult<()> {
        let sql = "UPDATE accounts SET name = $2, external_id = $3, updated_at = $4 WHERE id = $1";
        let result: Result<bool, sqlx::Error> = write!(self, pool => async {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(sql)
                .bind(a.id.as_str())
                .bind(&a.name)
                .bind(&a.external_id)
                .bind(a.updated_at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            if cards_change {
                bump_cards!(tx, "account_id", a.id.as_str());
            }
            tx.commit().await?;
            Ok(true)
        }.await);
        self.wake_dispatchers();
        match result.map_err(conflict)? {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        }
    }
}
