//! The PostgreSQL store: a pool of connections (`deadpool-postgres` over
//! `tokio-postgres`), every state change in one SERIALIZABLE transaction
//! that is retried when the database answers a serialization failure.
//!
//! Why `tokio-postgres` with a pool, not sqlx: it is natively async, needs
//! no database at compile time (sqlx's checked macros do), brings no SQLite
//! of its own (sqlx's `sqlite` feature would link a second libsqlite3 beside
//! rusqlite's bundled one), and its SQL is exactly what we write, which
//! keeps it within what CockroachDB and YugabyteDB run too.
//!
//! Several backend processes may share one database: nothing here holds
//! state between calls. Exactly-once inserts rest on the unique idempotency
//! key, case numbers on `UNIQUE (case_year, case_seq)`, claims on a
//! conditional update, the claim guard on a count taken in the same
//! serializable transaction as its insert.
//!
//! Connections go over a Unix socket or the network without TLS: put the
//! database on the same host or a private network (TLS to the database is
//! not built yet).

mod applications;
mod enrollments;
pub(crate) mod migrations;

use crate::store::{Store, StoreError, StoreResult};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Transactions are tried this many times before a serialization failure
/// is reported.
pub(crate) const MAX_TX_ATTEMPTS: u32 = 8;

/// The PostgreSQL implementation of every store trait. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Serialization failures retried so far (for tests and metrics).
    retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// An error inside a store operation: the driver's, or one of ours.
/// Private, so `?` works on both while no driver type leaves this module.
pub(crate) enum PgError {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Pg(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Pg(e) => db_err(&e),
            PgError::Store(e) => e,
        }
    }
}

pub(crate) type PgResult<T> = Result<T, PgError>;

pub(crate) fn db_err(e: &tokio_postgres::Error) -> StoreError {
    // The driver's Display is terse ("db error"); the database's own
    // message and code say what happened.
    match e.as_db_error() {
        Some(db) => StoreError::Database(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::Database(e.to_string()),
    }
}

impl PgError {
    /// Whether running the transaction again may succeed: a serialization
    /// failure or deadlock (SQLSTATE 40001, 40P01); a unique violation,
    /// which is how PostgreSQL may answer the loser of two concurrent
    /// inserts (two instances taking the same case number or storing the
    /// same idempotency key; retried, it reads what the winner stored); and
    /// a duplicate table or object, how the loser of two concurrent
    /// migrations is answered. A violation that is not a race fails again
    /// and is reported after the last attempt.
    pub(crate) fn is_retryable(&self) -> bool {
        let PgError::Pg(e) = self else {
            return false;
        };
        e.code().is_some_and(|c| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
                SqlState::DUPLICATE_TABLE,
                SqlState::DUPLICATE_OBJECT,
            ]
            .contains(c)
        })
    }
}

/// A short, growing, jittered pause before retrying a transaction, so two
/// conflicting transactions do not collide again at once.
pub(crate) async fn retry_pause(attempt: u32) {
    let base = 2u64.saturating_pow(attempt.min(6)); // 2..64 ms
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % base.max(1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Runs `$body` in a SERIALIZABLE transaction bound to `$tx`, committing
/// when it evaluates to `Ok`, retrying the whole transaction on a retryable
/// failure (see [`PgError::is_retryable`]). Evaluates to `StoreResult<T>`.
/// A `return` in the body ends the transaction without committing: use it
/// only on paths that wrote nothing.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:block) => {{
        let store: &$crate::store::postgres::PgStore = $store;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: $crate::store::postgres::PgResult<_> = async {
                let mut client = store.client().await?;
                let client: &mut tokio_postgres::Client = &mut client;
                let $tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::Serializable)
                    .start()
                    .await?;
                // `?` in the body leaves this block: the transaction is
                // dropped, which rolls it back.
                let value = {
                    let body: $crate::store::postgres::PgResult<_> = $body;
                    body
                }?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err(e)
                    if e.is_retryable() && attempt < $crate::store::postgres::MAX_TX_ATTEMPTS =>
                {
                    store.note_retry();
                    $crate::store::postgres::retry_pause(attempt).await;
                }
                Err(e) => break Err($crate::store::StoreError::from(e)),
            }
        }
    }};
}
pub(crate) use in_tx;

/// Runs `$body` on a pooled connection bound to `$c`, with no explicit
/// transaction: for a body that is **one statement that only reads**. One
/// statement is atomic by itself and a read-only one cannot fail to
/// serialize, so the hot read paths (catalogue, status lookups, device
/// checks) skip `in_tx!`'s BEGIN and COMMIT round trips. Evaluates to
/// `StoreResult<T>`.
macro_rules! on_client {
    ($store:expr, |$c:ident| $body:block) => {{
        let store: &$crate::store::postgres::PgStore = $store;
        let outcome: $crate::store::postgres::PgResult<_> = async {
            let client = store.client().await?;
            let $c: &tokio_postgres::Client = &client;
            let body: $crate::store::postgres::PgResult<_> = $body;
            body
        }
        .await;
        outcome.map_err($crate::store::StoreError::from)
    }};
}
pub(crate) use on_client;

impl PgStore {
    /// Connects to the database named by `conninfo` (libpq style:
    /// `host=/run/postgresql user=cds dbname=cds`, or a `postgresql://`
    /// URL) and migrates it to the current schema. Two instances starting
    /// at once are safe (see [`migrations`]).
    pub async fn connect(conninfo: &str) -> StoreResult<PgStore> {
        let open_err = |message: String| StoreError::Open {
            location: redact(conninfo),
            message,
        };
        let config = tokio_postgres::Config::from_str(conninfo)
            .map_err(|e| open_err(format!("not a connection string: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        let store = PgStore {
            pool,
            retries: Default::default(),
        };
        store.migrate().await.map_err(|e| match e {
            StoreError::SchemaTooNew { .. } => e,
            StoreError::Database(m) | StoreError::Data(m) | StoreError::Task(m) => open_err(m),
            StoreError::Open { message, .. } => open_err(message),
        })?;
        Ok(store)
    }

    pub(crate) async fn client(&self) -> PgResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            PgError::Store(StoreError::Database(format!(
                "no database connection available: {e}"
            )))
        })
    }

    pub(crate) fn note_retry(&self) {
        self.retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many transactions were retried after a serialization failure.
    pub fn retried_transactions(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.migrate_to(migrations::MIGRATIONS.len()).await
    }

    pub(crate) async fn migrate_to(&self, target: usize) -> StoreResult<()> {
        in_tx!(self, |tx| {
            tx.batch_execute(migrations::BOOKKEEPING).await?;
            Ok(())
        })?;
        let known = migrations::MIGRATIONS.len();
        let found = self.schema_version().await?;
        match usize::try_from(found) {
            Ok(v) if v <= known => {}
            _ => return Err(StoreError::SchemaTooNew { found, known }),
        }
        for (i, sql) in migrations::MIGRATIONS.iter().enumerate().take(target) {
            let version =
                i32::try_from(i + 1).map_err(|_| StoreError::Data("too many migrations".into()))?;
            in_tx!(self, |tx| {
                let done = tx
                    .query_opt(
                        "SELECT 1 FROM schema_migrations WHERE version = $1",
                        &[&version],
                    )
                    .await?;
                if done.is_none() {
                    tx.batch_execute(sql).await?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .await?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// The connection string without its password, for messages.
fn redact(conninfo: &str) -> String {
    conninfo
        .split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=…"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl Store for PgStore {
    async fn schema_version(&self) -> StoreResult<i64> {
        on_client!(self, |c| {
            let row = c
                .query_one(
                    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                    &[],
                )
                .await?;
            Ok(row.try_get::<_, i64>(0)?)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
