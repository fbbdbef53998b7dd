//! The storage boundary: one `Store` over SQLite (embedded, the default) and PostgreSQL (by
//! URL). The SQL is written once with `$n` placeholders, which both engines accept, and run
//! against whichever pool is configured; where the engines differ the method says so.
//!
//! SQLite allows one writer at a time, so it gets a single-connection write pool (writers
//! queue in-process instead of failing with `SQLITE_BUSY`) beside a pool for readers.

mod accounts;
mod analytics;
mod api_keys;
mod audit;
mod booking;
mod cache;
mod cards;
mod companies;
mod designs;
mod devices;
mod erase;
mod google;
mod invites;
mod ledger;
mod links;
mod members;
mod outbox;
mod programs;
mod rows;
mod sessions;
mod staff;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// What [`Store::card_bundle`] assembles (a domain type, named here too for callers of the store).
pub use crate::domain::card::CardBundle;
pub use analytics::{
    ACTIVE_DAYS, Analytics, AnalyticsQuery, Bucket, CardCounts, ExportCursor, ExportedOrder,
    GoogleEvents, Installs, OrderExport, OrderTotals, Point, ProgramAnalytics, PushCounts, Rewards,
    TierCount,
};
pub use api_keys::{ApiKeyRecord, RevokeError, Role};
pub use audit::AuditFilter;
pub use booking::Booking;
pub use companies::{AccountCounts, AccountOrder, AdjustmentLine, CurrencyTotal, Enrolled};
pub use designs::{ImageRecord, NewImage};
pub use devices::{DeviceLog, DeviceRecord, NewRegistration, Registered};
pub use erase::{ERASED_NAME, Erasure, ExportCard, MemberExport};
pub use invites::NewEnrollment;
pub use ledger::{
    BookError, CardRequest, CardRequestKind, CardVersion, EntryRow, Holder, HolderChange, Keyed,
    KeyedTable, OrderRecord, RefundRecord, Target,
};
pub use links::{EmailLink, LinkPurpose, RecentLinks};
pub use members::{MemberKey, normalize_email};
pub use outbox::{
    CHANNEL as OUTBOX_CHANNEL, Claimer, DeadLetter, Delivery, DeliveryEnd, MAIL as MAIL_KIND,
    OutboxStats, Signals,
};
pub use rows::Page;
pub use sessions::WebSession;
pub use staff::{NewStaffLink, StaffChange, StaffChangeError, StaffLinkPurpose, StaffUser};
pub use tx::Transient;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `field` names the input that collided.
    #[error("conflict on {field}")]
    Conflict { field: &'static str },
    /// A stored value no longer parses: a bug or a manual edit of the database.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// Cheap to clone: the pools are reference-counted.
#[derive(Clone)]
pub struct Store {
    db: Db,
    cache: std::sync::Arc<cache::Cache>,
    /// Wakes this process's dispatchers after a commit that queued deliveries.
    wake: std::sync::Arc<outbox::Signals>,
    /// The liveness locks of this store's claimers (PostgreSQL).
    liveness: std::sync::Arc<outbox::Liveness>,
}

/// Runs `$body` with `$pool` bound to the engine's reading pool; the body is compiled once per
/// engine, so the same SQL serves both.
macro_rules! read {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            crate::store::Db::Sqlite { read: $pool, .. } => $body,
            crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Like `read!` with the writing pool.
macro_rules! write {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            crate::store::Db::Sqlite { write: $pool, .. } => $body,
            crate::store::Db::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {read, write};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`); SQLite files and their folder
    /// are created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        let db = if url.starts_with("sqlite:") {
            connect_sqlite(url, max_connections).await?
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Db::Postgres(pool)
        };
        Ok(Store {
            db,
            cache: Default::default(),
            wake: Default::default(),
            liveness: Default::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.db {
            Db::Sqlite { .. } => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies the embedded migrations of the engine; safe to run on every start.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every embedded migration is applied.
    pub async fn is_ready(&self) -> bool {
        let (latest, sql) = (
            match self.engine() {
                Engine::Sqlite => SQLITE_MIGRATIONS.iter().map(|m| m.version).max(),
                Engine::Postgres => POSTGRES_MIGRATIONS.iter().map(|m| m.version).max(),
            },
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
        );
        let applied: Result<Option<i64>, sqlx::Error> =
            read!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await);
        matches!((applied, latest), (Ok(a), Some(l)) if a == Some(l))
    }

    pub async fn close(&self) {
        self.liveness.release().await;
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

async fn connect_sqlite(url: &str, max_connections: u32) -> StoreResult<Db> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let file = options.get_filename();
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
    }
    if file != Path::new(":memory:") {
        create_private(file).map_err(sqlx::Error::Io)?;
    }
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await?;
    Ok(Db::Sqlite { read, write })
}

/// Creates the database file readable by its owner only (0600), as the key files are, when it
/// does not exist yet: SQLite would create it 0644, and gives its `-wal` and `-shm` files the
/// database file's permissions.
fn create_private(file: &Path) -> std::io::Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The current time at the precision both engines store (microseconds).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

/// The next modification time of a card: whole seconds (HTTP dates have no more) and
/// strictly after the previous one, so two changes within a second still differ.
pub fn next_card_mtime(previous: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
    now.max(previous + TimeDelta::seconds(1))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_mtimes_strictly_increase_in_whole_seconds() {
        let first = next_card_mtime(DateTime::<Utc>::UNIX_EPOCH);
        let second = next_card_mtime(first);
        assert!(second > first);
        assert_eq!(second.timestamp_subsec_nanos(), 0);
    }
}
