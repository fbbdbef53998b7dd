//! What the console shows around client companies: companies found by name or ERP number, a
//! company's recent orders and its order totals per currency, every invite, and who enrolled
//! through an invite.

use chrono::{DateTime, Utc};

use super::rows::{AccountRow, Page};
use super::tx::args;
use super::{Store, StoreResult};
use crate::domain::ids::{AccountId, InviteId};
use crate::domain::model::Account;

/// One order of a company, as its page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountOrder {
    pub external_id: String,
    pub source: String,
    /// Who placed it, when the order names a person.
    pub member_id: Option<String>,
    pub member_name: Option<String>,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub currency: String,
    pub placed_at: DateTime<Utc>,
}

/// A company's orders in one currency: how many, and their amount net of refunds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CurrencyTotal {
    pub currency: String,
    pub orders: i64,
    pub net_minor: i64,
}

/// A person who enrolled through an invite.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Enrolled {
    pub member_id: String,
    pub account_id: String,
    pub name: String,
    pub consented_at: DateTime<Utc>,
}

/// How many people a company has and how many cards they hold (not revoked).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountCounts {
    pub account_id: String,
    pub people: i64,
    pub cards: i64,
}

/// A manual adjustment of a card, as its page lists it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AdjustmentLine {
    pub amount: i64,
    pub author: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// `text` as a `LIKE` pattern matching it anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// Up to `limit` companies whose name or ERP number contains `q` (case-insensitive; on
    /// SQLite only for ASCII letters), by name.
    pub async fn search_accounts(&self, q: &str, limit: u32) -> StoreResult<Vec<Account>> {
        let sql = "SELECT id, name, external_id, created_at, updated_at FROM accounts \
            WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(external_id, '')) LIKE $1 ESCAPE '\\' \
            ORDER BY name, id LIMIT $2";
        let rows: Vec<AccountRow> = self
            .select(sql, &args![contains_pattern(q.trim()), i64::from(limit)])
            .await?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    /// The company's latest `limit` orders, newest first.
    pub async fn account_orders(
        &self,
        account: &AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AccountOrder>> {
        let sql = "SELECT o.external_id, o.source, o.member_id, m.name AS member_name, \
            o.amount_minor, o.refunded_minor, o.currency, o.placed_at \
            FROM orders o LEFT JOIN members m ON m.id = o.member_id \
            WHERE o.account_id = $1 ORDER BY o.placed_at DESC, o.id DESC LIMIT $2";
        self.select(sql, &args![account.as_str(), i64::from(limit)])
            .await
    }

    /// The company's orders per currency: count and amount net of refunds, by currency code.
    pub async fn account_totals(&self, account: &AccountId) -> StoreResult<Vec<CurrencyTotal>> {
        let sql = "SELECT currency, COUNT(*) AS orders, \
            CAST(COALESCE(SUM(amount_minor - refunded_minor), 0) AS BIGINT) AS net_minor \
            FROM orders WHERE account_id = $1 GROUP BY currency ORDER BY currency";
        self.select(sql, &args![account.as_str()]).await
    }

    /// Every invite, oldest first, a page at a time (`after`: the last id seen).
    pub async fn all_invites(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<crate::domain::invites::Invite>> {
        self.invites_page(None, after, limit).await
    }

    /// People and live cards of every company that has any, by account id.
    pub async fn account_counts(&self) -> StoreResult<Vec<AccountCounts>> {
        let sql = "SELECT m.account_id, COUNT(*) AS people, \
            CAST(COALESCE(SUM((SELECT COUNT(*) FROM cards c \
                WHERE c.member_id = m.id AND c.status <> 'revoked')), 0) AS BIGINT) AS cards \
            FROM members m GROUP BY m.account_id ORDER BY m.account_id";
        self.select(sql, &[]).await
    }

    /// The card's latest `limit` manual adjustments, newest first.
    pub async fn card_adjustments(
        &self,
        card: &crate::domain::ids::CardId,
        limit: u32,
    ) -> StoreResult<Vec<AdjustmentLine>> {
        let sql = "SELECT amount, author, reason, created_at FROM adjustments \
            WHERE card_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2";
        self.select(sql, &args![card.as_str(), i64::from(limit)])
            .await
    }

    /// Who enrolled through `invite`, in the order they did.
    pub async fn invite_enrollments(&self, invite: &InviteId) -> StoreResult<Vec<Enrolled>> {
        let sql = "SELECT e.member_id, m.account_id, m.name, e.consented_at \
            FROM enrollments e JOIN members m ON m.id = e.member_id \
            WHERE e.invite_id = $1 ORDER BY e.consented_at, e.member_id";
        self.select(sql, &args![invite.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn a_search_takes_wildcards_literally_and_ignores_case() {
        assert_eq!(contains_pattern("AcMe"), "%acme%");
        assert_eq!(contains_pattern("10%_a\\b"), "%10\\%\\_a\\\\b%");
    }
}
