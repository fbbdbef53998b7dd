//! Google Wallet save/delete callbacks as they arrive, each once by its nonce.

use chrono::{DateTime, Utc};

use super::tx::args;
use super::{Store, StoreResult, read};

impl Store {
    /// Records a verified callback; false when its nonce was seen before (a redelivery).
    pub async fn record_google_callback(
        &self,
        nonce: &str,
        event_type: &str,
        class_id: &str,
        object_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql = "INSERT INTO google_callbacks (nonce, event_type, class_id, object_id, received_at) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nonce) DO NOTHING";
        let mut tx = self.begin().await?;
        let n = tx
            .execute(sql, &args![nonce, event_type, class_id, object_id, now])
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Callbacks counted by event type (`save`, `del`), for `/metrics` and the analytics.
    pub async fn google_callback_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let sql = "SELECT event_type, COUNT(*) FROM google_callbacks GROUP BY event_type ORDER BY event_type";
        Ok(read!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }
}
