//! One transaction over either engine, for store methods whose work is too long for the
//! `read!`/`write!` macros: SQL with `$n` placeholders, arguments as [`Arg`]s, rows decoded
//! into structs that derive `FromRow` for both engines.
//!
//! On PostgreSQL, [`Tx::lock_suffix`] gives `FOR UPDATE` so a read-modify-write holds the row;
//! SQLite needs none because its single writer connection runs one transaction at a time.
//!
//! A transaction that loses a race the database resolves by aborting it (a deadlock or a
//! serialization failure on PostgreSQL, `SQLITE_BUSY` past the busy timeout) is run again by
//! [`Store::retrying`], a few times with a short jittered back-off, so no caller sees it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::{Db, Store, StoreError, StoreResult};

/// How many times a transaction is run in all before its transient failure is given up.
const ATTEMPTS: u32 = 5;
/// The first back-off; each next one doubles, plus up to as much again at random.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);

/// Whether a database error is a lost race that the same transaction run again may win:
/// PostgreSQL's serialization failure (SQLSTATE 40001) and deadlock (40P01), SQLite's
/// `SQLITE_BUSY` (with its extended codes).
pub fn is_transient(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return matches!(pg.code(), "40001" | "40P01");
    }
    const SQLITE_BUSY: i32 = 5;
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == SQLITE_BUSY)
}

/// An error that may be a transient database failure.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_transient(e))
    }
}

/// A bind argument. Engines agree on text, 64-bit integers and timestamps.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Time(Option<DateTime<Utc>>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(Some(v))
    }
}

impl From<Option<DateTime<Utc>>> for Arg {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Arg::Time(v)
    }
}

/// `args![a, b, c]` builds an array of [`Arg`]s from anything convertible.
macro_rules! args {
    ($($v:expr),* $(,)?) => { [$(crate::store::tx::Arg::from($v)),*] };
}
pub(crate) use args;

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Binds `$args` onto `$query` (a query of either engine).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Time(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Rows that decode on both engines.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

impl Store {
    /// Runs `attempt`, one whole transaction, again while it fails transiently, up to
    /// [`ATTEMPTS`] times in all with a jittered exponential back-off in between.
    pub(crate) async fn retrying<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, E>
    where
        E: Transient,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut backoff = FIRST_BACKOFF;
        for _ in 1..ATTEMPTS {
            match attempt().await {
                Err(e) if e.is_transient() => {
                    tracing::debug!("transaction lost a race with another; running it again");
                    let jitter = backoff.mul_f64(rand::random::<f64>());
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = backoff.saturating_mul(2);
                }
                done => return done,
            }
        }
        attempt().await
    }

    /// Runs one writing statement on its own (no explicit transaction: one round trip).
    pub(crate) async fn execute(&self, sql: &str, args: &[Arg]) -> StoreResult<u64> {
        Ok(match &self.db {
            Db::Sqlite { write, .. } => bind_args!(sqlx::query(sql), args)
                .execute(write)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => bind_args!(sqlx::query(sql), args)
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    /// Runs one writing statement that returns rows (`… RETURNING`) on its own.
    pub(crate) async fn execute_returning<T: Row>(
        &self,
        sql: &str,
        args: &[Arg],
    ) -> StoreResult<Vec<T>> {
        self.fetch_rows(true, sql, args).await
    }

    /// Runs one reading statement on the reading pool.
    pub(crate) async fn select<T: Row>(&self, sql: &str, args: &[Arg]) -> StoreResult<Vec<T>> {
        self.fetch_rows(false, sql, args).await
    }

    /// The rows of one statement, on SQLite's writing pool when `write` (PostgreSQL has one).
    async fn fetch_rows<T: Row>(
        &self,
        write: bool,
        sql: &str,
        args: &[Arg],
    ) -> StoreResult<Vec<T>> {
        let sqlite = match &self.db {
            Db::Sqlite { write: pool, .. } if write => pool,
            Db::Sqlite { read, .. } => read,
            Db::Postgres(pool) => {
                return Ok(bind_args!(sqlx::query_as(sql), args)
                    .fetch_all(pool)
                    .await?);
            }
        };
        Ok(bind_args!(sqlx::query_as(sql), args)
            .fetch_all(sqlite)
            .await?)
    }

    /// Starts a writing transaction.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match &self.db {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite.
    pub fn lock_suffix(&self) -> &'static str {
        match self {
            Tx::Sqlite(_) => "",
            Tx::Postgres(_) => " FOR UPDATE",
        }
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_args!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_args!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> sqlx::Result<Vec<T>> {
        match self {
            Tx::Sqlite(tx) => {
                bind_args!(sqlx::query_as(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_args!(sqlx::query_as(sql), args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    pub async fn fetch_optional<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> sqlx::Result<Option<T>> {
        match self {
            Tx::Sqlite(tx) => {
                bind_args!(sqlx::query_as(sql), args)
                    .fetch_optional(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_args!(sqlx::query_as(sql), args)
                    .fetch_optional(&mut **tx)
                    .await
            }
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Where a read runs: on the reading pool, or inside a transaction (seeing its writes).
pub(crate) enum On<'a> {
    Pool(&'a Store),
    Tx(&'a mut Tx),
}

impl On<'_> {
    pub(crate) async fn fetch_all<T: Row>(self, sql: &str, args: &[Arg]) -> StoreResult<Vec<T>> {
        match self {
            On::Pool(store) => store.select(sql, args).await,
            On::Tx(tx) => Ok(tx.fetch_all(sql, args).await?),
        }
    }

    pub(crate) async fn fetch_optional<T: Row>(
        self,
        sql: &str,
        args: &[Arg],
    ) -> StoreResult<Option<T>> {
        match self {
            On::Pool(store) => Ok(store.select(sql, args).await?.into_iter().next()),
            On::Tx(tx) => Ok(tx.fetch_optional(sql, args).await?),
        }
    }
}

/// `$from, $from+1, …` for `n` placeholders: the list of an `IN (…)` or a `VALUES` row.
pub fn placeholders(from: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 4);
    for i in from..from + n {
        if i > from {
            s.push_str(", ");
        }
        s.push('$');
        s.push_str(&i.to_string());
    }
    s
}

/// `($1, …, $c), ($c+1, …), …`: the `VALUES` rows of a multi-row `INSERT`.
pub fn value_rows(rows: usize, columns: usize) -> String {
    let mut s = String::with_capacity(rows * columns * 5);
    for i in 0..rows {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('(');
        s.push_str(&placeholders(i * columns + 1, columns));
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{placeholders, value_rows};

    #[test]
    fn value_rows_number_across_rows() {
        assert_eq!(value_rows(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn placeholders_number_from_the_given_index() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(placeholders(1, 0), "");
    }
}
