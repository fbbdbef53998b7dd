//! API keys. Only a SHA-256 of each secret is stored (the secrets are 256 random bits, so a
//! slow hash adds nothing); the key's public id finds the row and the hashes are compared in
//! constant time.

use chrono::{DateTime, Utc};

use super::tx::args;
use super::{Page, Store, StoreError, StoreResult, read, write};
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
    /// Set once, when the key was revoked; a revoked key opens nothing.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key last opened a request, to within [`LAST_USED_PRECISION`].
    pub last_used_at: Option<DateTime<Utc>>,
}

/// How stale a key's `last_used_at` may get before a use writes it again: one write per key
/// and hour at most, whatever the request rate.
pub const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Why a key was not revoked.
#[derive(Debug)]
pub enum RevokeError {
    /// No key has this id.
    NotFound,
    /// It is the last live admin key and no bootstrap key is configured: revoking it would
    /// leave nobody able to administer the service.
    LastAdmin,
    Store(StoreError),
}

impl From<StoreError> for RevokeError {
    fn from(e: StoreError) -> Self {
        RevokeError::Store(e)
    }
}

impl From<sqlx::Error> for RevokeError {
    fn from(e: sqlx::Error) -> Self {
        RevokeError::Store(e.into())
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    name: String,
    role: String,
    secret_hash: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    fn into_record(self) -> StoreResult<ApiKeyRecord> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("role of {}", self.id)))?;
        Ok(ApiKeyRecord {
            id: ApiKeyId::from_db(self.id),
            name: self.name,
            role,
            secret_hash: self.secret_hash,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        })
    }
}

const COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at, last_used_at";

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
        let generation = match self.cache.api_key(id.as_str()) {
            Ok(key) => return Ok(key),
            Err(generation) => generation,
        };
        let key = self.read_api_key(id).await?;
        self.cache.set_api_key(key.clone(), generation);
        Ok(key)
    }

    async fn read_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND revoked_at IS NULL");
        let rows: Vec<KeyRow> = self.select(&sql, &args![id.as_str()]).await?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::NotFound)?
            .into_record()
    }

    /// Records that `key` opened a request at `at`, unless it did so within
    /// [`LAST_USED_PRECISION`] already.
    pub async fn note_api_key_use(&self, key: &ApiKeyRecord, at: DateTime<Utc>) -> StoreResult<()> {
        if key
            .last_used_at
            .is_some_and(|t| at - t < LAST_USED_PRECISION)
        {
            return Ok(());
        }
        let sql = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";
        self.execute(sql, &args![key.id.as_str(), at]).await?;
        self.cache.note_api_key_use(key.id.as_str(), at);
        Ok(())
    }

    /// Every key, revoked ones too, oldest first (ids are time-ordered).
    pub async fn list_api_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<ApiKeyRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<KeyRow> = self
            .select(&sql, &args![after.unwrap_or(""), i64::from(limit) + 1])
            .await?;
        let items = rows
            .into_iter()
            .map(KeyRow::into_record)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |k: &ApiKeyRecord| {
            k.id.to_string()
        }))
    }

    /// Revokes a key and, in the same transaction, ends the staff sessions it opened. Revoking
    /// a revoked key changes nothing and answers it as it is. The last live admin key is kept
    /// unless `bootstrap_key_configured` (the live admin keys are locked while counting, so two
    /// concurrent revocations cannot both pass the check).
    pub async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: DateTime<Utc>,
        bootstrap_key_configured: bool,
    ) -> Result<ApiKeyRecord, RevokeError> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE id = $1{}",
            tx.lock_suffix()
        );
        let mut key = tx
            .fetch_optional::<KeyRow>(&sql, &args![id.as_str()])
            .await?
            .ok_or(RevokeError::NotFound)?
            .into_record()?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        if key.role == Role::Admin && !bootstrap_key_configured {
            let sql = format!(
                "SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL{}",
                tx.lock_suffix()
            );
            let live: Vec<(String,)> = tx.fetch_all(&sql, &[]).await?;
            if live.len() <= 1 {
                return Err(RevokeError::LastAdmin);
            }
        }
        tx.execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1",
            &args![id.as_str(), at],
        )
        .await?;
        tx.execute(
            "DELETE FROM web_sessions WHERE api_key_id = $1",
            &args![id.as_str()],
        )
        .await?;
        tx.commit().await?;
        self.cache.forget_api_key(id.as_str());
        key.revoked_at = Some(at);
        Ok(key)
    }

    pub async fn count_api_keys(&self, role: Role) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM api_keys WHERE role = $1 AND revoked_at IS NULL";
        Ok(read!(self, pool => sqlx::query_scalar(sql).bind(role.as_str()).fetch_one(pool).await)?)
    }
}
