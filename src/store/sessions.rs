//! Staff sessions of the HTML pages: created at sign-in by a staff user (e-mail and password)
//! or with an API key of the desk or admin role, found by the SHA-256 of the cookie's token,
//! ended at sign-out, expiry, the user's deactivation or "sign out everywhere", or the key's
//! revocation.

use chrono::{DateTime, Utc};

use super::tx::args;
use super::{Role, Store, StoreError, StoreResult, read};
use crate::domain::ids::{ApiKeyId, StaffUserId};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub role: Role,
    /// What unsafe requests of this session must carry (`X-CSRF-Token` or a form field).
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    /// The key the session was opened with (`None`: the bootstrap key from the settings);
    /// revoking it ends the session.
    pub api_key_id: Option<ApiKeyId>,
    /// For a session of the bootstrap key: that key's fingerprint. A change of the key in the
    /// settings ends the session.
    pub bootstrap_key: Option<String>,
    /// The staff user who signed in (`None`: a session opened with a key).
    pub user_id: Option<StaffUserId>,
    /// Read back, not written: the user's name (or the stored key's), and a desk user's desk.
    pub name: Option<String>,
    pub desk: Option<String>,
}

impl Store {
    /// Starts a session; expired ones are deleted on the way.
    pub async fn insert_web_session(
        &self,
        token_hash: &str,
        session: &WebSession,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM web_sessions WHERE expires_at <= $1",
            &args![now],
        )
        .await?;
        let sql = "INSERT INTO web_sessions \
                   (token_hash, role, csrf, created_at, expires_at, api_key_id, bootstrap_key, \
                    user_id) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let values = args![
            token_hash,
            session.role.as_str(),
            session.csrf.as_str(),
            now,
            session.expires_at,
            session.api_key_id.as_ref().map(ApiKeyId::as_str),
            session.bootstrap_key.as_deref(),
            session.user_id.as_ref().map(StaffUserId::as_str)
        ];
        tx.execute(sql, &values).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this token hash, unless it expired, its user is deactivated, it was
    /// opened with an admin key and staff users exist now (an admin key opens the pages of a
    /// fresh install only), or it was opened with a bootstrap key other than the one whose
    /// fingerprint is `bootstrap_key` (`None`: none is set now). A user's session has the
    /// user's role now.
    pub async fn find_web_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        bootstrap_key: Option<&str>,
    ) -> StoreResult<Option<WebSession>> {
        let sql = "SELECT COALESCE(u.role, s.role), s.csrf, s.expires_at, s.api_key_id, \
                   s.bootstrap_key, s.user_id, COALESCE(u.name, k.name), u.desk \
                   FROM web_sessions s \
                   LEFT JOIN staff_users u ON u.id = s.user_id \
                   LEFT JOIN api_keys k ON k.id = s.api_key_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2 \
                   AND (s.user_id IS NULL OR u.deactivated_at IS NULL) \
                   AND (s.user_id IS NOT NULL OR s.role <> 'admin' \
                        OR NOT EXISTS (SELECT 1 FROM staff_users)) \
                   AND (s.api_key_id IS NOT NULL OR s.user_id IS NOT NULL \
                        OR s.bootstrap_key = $3)";
        type Row = (
            String,
            String,
            DateTime<Utc>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let row: Option<Row> = read!(self, pool => sqlx::query_as(sql)
            .bind(token_hash)
            .bind(now)
            .bind(bootstrap_key)
            .fetch_optional(pool)
            .await)?;
        row.map(
            |(role, csrf, expires_at, key, bootstrap_key, user, name, desk)| {
                Ok(WebSession {
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("session role `{role}`")))?,
                    csrf,
                    expires_at,
                    api_key_id: key.map(ApiKeyId::from_db),
                    bootstrap_key,
                    user_id: user.map(StaffUserId::from_db),
                    name,
                    desk,
                })
            },
        )
        .transpose()
    }

    /// Ends a session (sign-out).
    pub async fn delete_web_session(&self, token_hash: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM web_sessions WHERE token_hash = $1",
            &args![token_hash],
        )
        .await?;
        Ok(())
    }
}
