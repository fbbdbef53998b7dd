//! Devices, their registrations for passes, and the logs they send: what the PassKit web
//! service writes and the dispatcher prunes. A device row is kept when its last registration
//! goes: deleting it could race a registration of another pass by the same device (and
//! cascade that one away).

use chrono::{DateTime, Utc};

use super::tx::{Arg, args};
use super::{Page, Store, StoreError, StoreResult, now, read, write};
use crate::domain::codes::SerialNumber;
use crate::domain::devices::{DeviceLibraryId, PushToken, WalletScheme};
use crate::domain::ids::CardId;

/// Whether a registration was new or the device had registered the pass before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    New,
    Existing,
}

/// A device's registration for one card.
#[derive(Debug)]
pub struct NewRegistration<'a> {
    pub device: &'a DeviceLibraryId,
    pub push_token: &'a PushToken,
    pub scheme: WalletScheme,
    pub card: &'a CardId,
}

/// One message a device sent to `POST /v1/log`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceLog {
    pub id: i64,
    pub message: String,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A device as stored: the push token and wallet scheme of its latest registration.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    pub id: DeviceLibraryId,
    pub push_token: PushToken,
    pub scheme: WalletScheme,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    push_token: String,
    scheme: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DeviceRow> for DeviceRecord {
    type Error = StoreError;

    fn try_from(r: DeviceRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of a device"));
        Ok(DeviceRecord {
            id: DeviceLibraryId::parse(&r.id).ok_or_else(|| corrupt("id"))?,
            push_token: PushToken::from_stored(&r.push_token)
                .ok_or_else(|| corrupt("push_token"))?,
            scheme: WalletScheme::parse(&r.scheme).ok_or_else(|| corrupt("scheme"))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Store {
    pub async fn find_device(&self, id: &DeviceLibraryId) -> StoreResult<Option<DeviceRecord>> {
        let sql =
            "SELECT id, push_token, scheme, created_at, updated_at FROM devices WHERE id = $1";
        let row: Option<DeviceRow> =
            read!(self, pool => sqlx::query_as(sql).bind(id.as_str()).fetch_optional(pool).await)?;
        row.map(DeviceRecord::try_from).transpose()
    }

    /// Saves the device with the push token and scheme it presents now (a re-registration
    /// refreshes both) and registers it for the card. An existing registration gets a new
    /// `updated_at`, so the list endpoint reports its pass once more.
    #[tracing::instrument(skip_all, fields(card.id = %r.card))]
    pub async fn register_device(&self, r: &NewRegistration<'_>) -> StoreResult<Registered> {
        let upsert = "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET \
                      push_token = excluded.push_token, scheme = excluded.scheme, \
                      updated_at = excluded.updated_at, push_error = NULL, push_error_at = NULL";
        let insert = "INSERT INTO registrations (device_id, card_id, created_at, updated_at) \
                      VALUES ($1, $2, $3, $3) ON CONFLICT (device_id, card_id) DO NOTHING";
        let touch =
            "UPDATE registrations SET updated_at = $3 WHERE device_id = $1 AND card_id = $2";
        let at = now();
        let (device, card) = (r.device.as_str(), r.card.as_str());
        let mut tx = self.begin().await?;
        tx.execute(
            upsert,
            &args![device, r.push_token.as_str(), r.scheme.as_str(), at],
        )
        .await?;
        let registered = if tx.execute(insert, &args![device, card, at]).await? == 1 {
            Registered::New
        } else {
            tx.execute(touch, &args![device, card, at]).await?;
            Registered::Existing
        };
        tx.commit().await?;
        Ok(registered)
    }

    /// Removes the device's registration for the card; false when there was none.
    pub async fn unregister_device(
        &self,
        device: &DeviceLibraryId,
        card: &CardId,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM registrations WHERE device_id = $1 AND card_id = $2";
        let done = write!(self, pool => sqlx::query(sql)
            .bind(device.as_str())
            .bind(card.as_str())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Deletes every registration of the devices holding `push_token`: what APNs' 410
    /// (`Unregistered`) asks for. With `invalid_since` (the 410's timestamp), a device that
    /// registered again after that moment keeps its registrations. Returns how many went.
    #[tracing::instrument(skip_all)]
    pub async fn delete_registrations_by_push_token(
        &self,
        push_token: &str,
        invalid_since: Option<DateTime<Utc>>,
    ) -> StoreResult<u64> {
        let sql = "DELETE FROM registrations WHERE device_id IN (SELECT id FROM devices \
                   WHERE push_token = $1 AND ($2 IS NULL OR updated_at <= $2))";
        let done = write!(self, pool => sqlx::query(sql)
            .bind(push_token)
            .bind(invalid_since)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Serials of the cards the device is registered for, sorted; with `since`, only those
    /// whose card changed, or whose registration was made or renewed, after it.
    pub async fn updated_serials(
        &self,
        device: &DeviceLibraryId,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<SerialNumber>> {
        let sql = "SELECT c.serial FROM registrations r JOIN cards c ON c.id = r.card_id \
                   WHERE r.device_id = $1 AND ($2 IS NULL OR c.updated_at > $2 \
                   OR COALESCE(r.updated_at, r.created_at) > $2) ORDER BY c.serial";
        let serials: Vec<String> = read!(self, pool => sqlx::query_scalar(sql)
            .bind(device.as_str())
            .bind(since)
            .fetch_all(pool)
            .await)?;
        Ok(serials.into_iter().map(SerialNumber::from_db).collect())
    }

    /// Registrations by the wallet scheme of their device, for `/metrics`.
    pub async fn registration_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let sql = "SELECT d.scheme, COUNT(*) FROM registrations r JOIN devices d ON d.id = r.device_id \
                   GROUP BY d.scheme ORDER BY d.scheme";
        Ok(read!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    /// Stores what a device logged and deletes all but the newest `keep` messages.
    pub async fn insert_device_logs(
        &self,
        messages: &[String],
        user_agent: Option<&str>,
        keep: i64,
    ) -> StoreResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        // One statement: `$1` the user agent and `$2` the time, shared by every row.
        let rows: Vec<String> = (0..messages.len())
            .map(|i| format!("(${}, $1, $2)", i + 3))
            .collect();
        let insert = format!(
            "INSERT INTO device_logs (message, user_agent, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut values = Vec::with_capacity(messages.len() + 2);
        values.extend(args![user_agent, now()]);
        values.extend(messages.iter().map(|m| Arg::from(m.as_str())));
        let prune = "DELETE FROM device_logs WHERE id <= (SELECT MAX(id) FROM device_logs) - $1";
        let mut tx = self.begin().await?;
        tx.execute(&insert, &values).await?;
        tx.execute(prune, &args![keep]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Device logs, newest first; `after` is the id the previous page ended with.
    pub async fn device_logs(
        &self,
        limit: u32,
        after: Option<i64>,
    ) -> StoreResult<Page<DeviceLog>> {
        let sql = "SELECT id, message, user_agent, created_at FROM device_logs \
                   WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2";
        let rows: Vec<DeviceLog> = read!(self, pool => sqlx::query_as(sql)
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        Ok(Page::from_rows(rows, limit, |l| l.id.to_string()))
    }
}
