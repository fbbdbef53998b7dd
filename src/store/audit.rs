//! The audit trail's rows: written in the caller's transaction ([`insert_audit`]) or on their
//! own, read newest first with filters.

use chrono::{DateTime, Utc};

use super::tx::{Arg, Tx, args};
use super::{Page, Store, StoreResult};
use crate::audit::{AuditEntry, AuditRecord};

/// Writes `entry` in the caller's transaction.
pub(crate) async fn insert_audit(tx: &mut Tx, entry: &AuditEntry) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO audit_log \
               (at, actor, actor_name, action, target, account_id, card_id, details) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let values = args![
        entry.at,
        entry.actor.as_str(),
        entry.actor_name.as_str(),
        entry.action.as_str(),
        entry.target.as_str(),
        entry.account_id.as_deref(),
        entry.card_id.as_deref(),
        entry.details.to_string()
    ];
    tx.execute(sql, &values).await?;
    Ok(())
}

/// What the trail is filtered by; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub account_id: Option<String>,
    pub card_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries older than this one (the previous page's `next_after`).
    pub before_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    actor: String,
    actor_name: String,
    action: String,
    target: String,
    account_id: Option<String>,
    card_id: Option<String>,
    details: String,
}

impl Store {
    /// Writes one entry on its own (for an action whose change is not a store transaction).
    pub async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The entries that pass `filter`, newest first, `limit` at most.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Page<AuditRecord>> {
        let mut conditions = Vec::new();
        let mut values: Vec<Arg> = Vec::new();
        let mut add = |condition: &str, value: Arg| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("${}", values.len())));
        };
        if let Some(actor) = &filter.actor {
            add("actor = ?", Arg::from(actor.as_str()));
        }
        if let Some(account) = &filter.account_id {
            add("account_id = ?", Arg::from(account.as_str()));
        }
        if let Some(card) = &filter.card_id {
            add("card_id = ?", Arg::from(card.as_str()));
        }
        if let Some(from) = filter.from {
            add("at >= ?", Arg::from(from));
        }
        if let Some(to) = filter.to {
            add("at < ?", Arg::from(to));
        }
        if let Some(before) = filter.before_id {
            add("id < ?", Arg::from(before));
        }
        let condition = match conditions.is_empty() {
            true => String::new(),
            false => format!("WHERE {}", conditions.join(" AND ")),
        };
        values.push(Arg::from(i64::from(limit) + 1));
        let sql = format!(
            "SELECT id, at, actor, actor_name, action, target, account_id, card_id, details \
             FROM audit_log {condition} ORDER BY id DESC LIMIT ${}",
            values.len()
        );
        let rows: Vec<AuditRow> = self.select(&sql, &values).await?;
        let items = rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at: r.at,
                actor: r.actor,
                actor_name: r.actor_name,
                action: r.action,
                target: r.target,
                account_id: r.account_id,
                card_id: r.card_id,
                details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok(Page::from_rows(items, limit, |e: &AuditRecord| {
            e.id.to_string()
        }))
    }
}
