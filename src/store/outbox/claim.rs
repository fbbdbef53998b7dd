//! Claiming deliveries, and telling a live claimer from a dead one.
//!
//! A claim leases its rows (`locked_until`) and names its [`Claimer`] (`locked_by`). Rows of a
//! claimer that is alive wait for it until the lease runs out (it may be stuck); rows of a
//! claimer that has died are taken at once:
//! - **PostgreSQL**: every claimer holds a shared advisory lock keyed by its id on a connection
//!   of its own for as long as it lives. The server drops the lock with the connection, so a
//!   crashed or killed process's rows are free the moment its connection closes; a claim checks
//!   `pg_locks` for the lock of the rows' claimer.
//! - **SQLite**: the database file belongs to one process. A claimer other than this process's
//!   belonged to an earlier run of it, which is dead.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use sqlx::{Connection, PgConnection};
use tokio::sync::Mutex;

use super::super::tx::args;
use super::super::{Db, Engine, Store, StoreResult};
use super::{COLUMNS, Delivery};

/// The first key of the advisory locks claimers hold ("WC"), the second being the claimer id.
const LOCK_SPACE: i32 = 0x5743;

/// How often a held liveness lock's connection is checked before a claim.
const LOCK_CHECK: Duration = Duration::from_secs(5);

/// Who claims deliveries: one id per process, drawn when it first claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claimer(i32);

impl Claimer {
    /// This process. An id per process rather than per `Store`: on SQLite, two stores of one
    /// process (tests do this) must see each other's claims as alive.
    pub fn this_process() -> Claimer {
        static ID: OnceLock<Claimer> = OnceLock::new();
        *ID.get_or_init(Claimer::random)
    }

    /// A claimer of its own (another process, as tests play it).
    pub fn random() -> Claimer {
        Claimer(rand::rng().random_range(1..=i32::MAX))
    }
}

/// The liveness locks this store holds on PostgreSQL, with when each was last checked.
#[derive(Default)]
pub(in crate::store) struct Liveness {
    held: Mutex<HashMap<Claimer, (PgConnection, Instant)>>,
}

impl Liveness {
    /// Makes sure `claimer`'s lock is held by a connection that still answers.
    async fn hold(&self, db: &Db, claimer: Claimer) -> StoreResult<()> {
        let Db::Postgres(pool) = db else {
            return Ok(());
        };
        let mut held = self.held.lock().await;
        if let Some((conn, checked)) = held.get_mut(&claimer) {
            if checked.elapsed() < LOCK_CHECK {
                return Ok(());
            }
            if conn.ping().await.is_ok() {
                *checked = Instant::now();
                return Ok(());
            }
            tracing::warn!("the outbox liveness connection was lost; taking the lock again");
            held.remove(&claimer);
        }
        // A connection of its own, out of the pool: it lives as long as the claimer.
        let mut conn = pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock_shared($1, $2)")
            .bind(LOCK_SPACE)
            .bind(claimer.0)
            .execute(&mut conn)
            .await?;
        held.insert(claimer, (conn, Instant::now()));
        Ok(())
    }

    /// Lets every lock go (the store is closing).
    pub(in crate::store) async fn release(&self) {
        let held = std::mem::take(&mut *self.held.lock().await);
        for (_, (conn, _)) in held {
            let _ = conn.close().await;
        }
    }
}

impl Store {
    /// Claims due pending deliveries of `kind` for `claimer`: the targets of the `limit` oldest
    /// due rows, with every due row of those targets, leased until `now + lease`. A row counts
    /// as due when it is pending, its time has come, and nobody holds it: no lease, a lease
    /// run out, or a claimer that has died.
    pub async fn claim_deliveries(
        &self,
        kind: &str,
        claimer: Claimer,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        self.liveness.hold(&self.db, claimer).await?;
        let (skip_locked, dead_claimer) = match self.engine() {
            Engine::Postgres => (
                " FOR UPDATE SKIP LOCKED",
                "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' \
                 AND l.classid::bigint = $6 AND l.objid::bigint = locked_by \
                 AND l.objsubid = 2 AND l.granted)",
            ),
            Engine::Sqlite => ("", "$6 = $6"),
        };
        let due = format!(
            "kind = $2 AND state = 'pending' AND due_at <= $3 \
             AND (locked_until IS NULL OR locked_until <= $3 \
                  OR (locked_by IS NOT NULL AND locked_by <> $5 AND {dead_claimer}))"
        );
        // Both selections skip rows another claim holds, so two claims never wait on each
        // other (waiting on rows locked in different orders could deadlock); a token whose
        // rows two claims split gets two pushes, never a row twice.
        let sql = format!(
            "UPDATE outbox SET locked_until = $1, locked_by = $5, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE {due} AND target IN (SELECT target FROM \
               (SELECT target FROM outbox WHERE {due} ORDER BY due_at, id LIMIT $4{skip_locked}) picked){skip_locked}) \
             RETURNING {COLUMNS}"
        );
        let args = args![
            now + lease,
            kind,
            now,
            i64::from(limit),
            i64::from(claimer.0),
            i64::from(LOCK_SPACE)
        ];
        let mut rows: Vec<Delivery> = self.execute_returning(&sql, &args).await?;
        rows.sort_by_key(|d| d.id);
        Ok(rows)
    }
}
