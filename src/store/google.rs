//! Google Wallet: save/delete callbacks as they arrive, each once by its nonce; the
//! notifying updates sent to each object (Google allows 3 per object in 24 hours); and what
//! Google has of each class (by content hash) and object (by card version).

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
        let n = self
            .execute(sql, &args![nonce, event_type, class_id, object_id, now])
            .await?;
        Ok(n > 0)
    }

    /// Callbacks counted by event type (`save`, `del`), for `/metrics` and the analytics.
    pub async fn google_callback_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let sql = "SELECT event_type, COUNT(*) FROM google_callbacks GROUP BY event_type ORDER BY event_type";
        Ok(read!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    /// Notifying updates sent to `object_id` since `since`.
    pub async fn google_notifications_since(
        &self,
        object_id: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let sql = "SELECT COUNT(*) FROM google_notifications WHERE object_id = $1 AND sent_at > $2";
        let n: i64 = read!(self, pool => sqlx::query_scalar(sql)
            .bind(object_id)
            .bind(since)
            .fetch_one(pool)
            .await)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Records a notifying update sent to `object_id`, and forgets those older than a day.
    pub async fn record_google_notification(
        &self,
        object_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let insert = "INSERT INTO google_notifications (object_id, sent_at) VALUES ($1, $2)";
        tx.execute(insert, &args![object_id, at]).await?;
        let prune = "DELETE FROM google_notifications WHERE object_id = $1 AND sent_at <= $2";
        tx.execute(prune, &args![object_id, at - chrono::TimeDelta::days(1)])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets notifications sent before `before` to objects that were not notified since
    /// (the others are pruned as they are notified); returns how many.
    pub async fn prune_google_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let sql = "DELETE FROM google_notifications WHERE sent_at <= $1";
        self.execute(sql, &args![before]).await
    }

    /// The content hash of `program_id`'s class as last accepted by Google.
    pub async fn google_class_hash(&self, program_id: &str) -> StoreResult<Option<String>> {
        let sql = "SELECT content_hash FROM google_classes WHERE program_id = $1";
        Ok(read!(self, pool => sqlx::query_scalar(sql)
            .bind(program_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Records that Google accepted `program_id`'s class with content `hash`.
    pub async fn record_google_class(
        &self,
        program_id: &str,
        class_id: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO google_classes (program_id, class_id, content_hash, synced_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (program_id) DO UPDATE SET \
                   class_id = excluded.class_id, content_hash = excluded.content_hash, synced_at = excluded.synced_at";
        self.execute(sql, &args![program_id, class_id, hash, now])
            .await?;
        Ok(())
    }

    /// The card version Google last accepted for the card's object; `None` while the object
    /// is not inserted.
    pub async fn google_synced_version(&self, card_id: &str) -> StoreResult<Option<i64>> {
        let sql = "SELECT google_synced_version FROM cards WHERE id = $1";
        let version: Option<Option<i64>> = read!(self, pool => sqlx::query_scalar(sql)
            .bind(card_id)
            .fetch_optional(pool)
            .await)?;
        Ok(version.flatten())
    }

    /// Records that Google accepted `version` of the card's object (never moving back).
    pub async fn set_google_synced_version(&self, card_id: &str, version: i64) -> StoreResult<()> {
        let sql = "UPDATE cards SET google_synced_version = $2 WHERE id = $1 \
                   AND (google_synced_version IS NULL OR google_synced_version < $2)";
        self.execute(sql, &args![card_id, version]).await?;
        Ok(())
    }
}
