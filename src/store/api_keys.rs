//! API keys. Only a SHA-256 of each secret is stored (the secrets are 256 random bits, so a
//! slow hash adds nothing); the key's public id finds the row and the hashes are compared in
//! constant time.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult, read, write};
use crate::domain::ids::ApiKeyId;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Order-desk staff: look cards up, book orders and redemptions.
    Desk,
    /// The supplier's ERP: orders and refunds only.
    ErpWebhook,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Desk => "desk",
            Role::ErpWebhook => "erp-webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Admin, Role::Desk, Role::ErpWebhook]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    pub async fn insert_api_key(&self, k: &ApiKeyRecord) -> StoreResult<()> {
        let sql = "INSERT INTO api_keys (id, name, role, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
        write!(self, pool => sqlx::query(sql)
            .bind(k.id.as_str())
            .bind(&k.name)
            .bind(k.role.as_str())
            .bind(&k.secret_hash)
            .bind(k.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live (not revoked) key with this id; cached for [`cache::TTL`](super::cache::TTL).
    pub async fn find_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        if let Some(key) = self.cache.api_key(id.as_str()) {
            return Ok(key);
        }
        let key = self.read_api_key(id).await?;
        self.cache.set_api_key(key.clone());
        Ok(key)
    }

    async fn read_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        let sql = "SELECT id, name, role, secret_hash, created_at FROM api_keys WHERE id = $1 AND revoked_at IS NULL";
        let row: Option<(String, String, String, String, DateTime<Utc>)> =
            read!(self, pool => sqlx::query_as(sql).bind(id.as_str()).fetch_optional(pool).await)?;
        let (id, name, role, secret_hash, created_at) = row.ok_or(StoreError::NotFound)?;
        let role =
            Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role of {id}")))?;
        Ok(ApiKeyRecord {
            id: ApiKeyId::from_db(id),
            name,
            role,
            secret_hash,
            created_at,
        })
    }

    pub async fn count_api_keys(&self, role: Role) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM api_keys WHERE role = $1 AND revoked_at IS NULL";
        Ok(read!(self, pool => sqlx::query_scalar(sql).bind(role.as_str()).fetch_one(pool).await)?)
    }
}
