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
//! key (`ON CONFLICT DO NOTHING`), case numbers on a counter row per year
//! bumped by one statement (see `applications.rs`) and `UNIQUE (case_year,
//! case_seq)`, claims on a conditional update, the claim guard on a count
//! taken in the same serializable transaction as its insert.
//!
//! Connections go over a Unix socket, or TCP with or without TLS: with
//! `sslmode=require` (or `verify-ca`, `verify-full`) and
//! `sslrootcert=FILE` the database's certificate is verified against that
//! CA and its name ([`tls`]).
//!
//! A database that is down is not fatal: [`PgStore::connect_lazy`] makes
//! the pool without connecting, every operation answers
//! [`StoreError::Unavailable`] until [`Store::prepare`] has migrated the
//! database, and a lost connection is `Unavailable` too (the transaction it
//! carried is rolled back by the server, so no half-written row is left).

mod applications;
mod enrollments;
pub(crate) mod migrations;
mod tls;

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
    /// Set once the database is migrated; until then every operation is
    /// refused, so nothing runs against an old schema.
    migrated: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// `false` on the copy that runs the migrations themselves.
    gated: bool,
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
    // message and code say what happened. Only the message: the DETAIL of
    // a constraint violation quotes the row's values.
    match e.as_db_error() {
        // Class 08 (connection exception), 57P01-03 (the server is shutting
        // down or starting): the database went away, not our query.
        Some(db) if is_unavailable(db.code()) => {
            StoreError::Unavailable(format!("{} ({})", db.message(), db.code().code()))
        }
        Some(db) => StoreError::Database(format!("{} ({})", db.message(), db.code().code())),
        // No answer from the database at all: the connection was refused,
        // closed or timed out.
        None if e.is_closed()
            || std::error::Error::source(e)
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()) =>
        {
            StoreError::Unavailable(with_causes(e))
        }
        None => StoreError::Database(with_causes(e)),
    }
}

/// The driver's message and its causes ("error performing TLS handshake:
/// invalid peer certificate: UnknownIssuer"): its own text alone often
/// hides what went wrong.
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn is_unavailable(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
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
        let store = Self::connect_lazy(conninfo)?;
        store.migrate().await.map_err(|e| match e {
            StoreError::SchemaTooNew { .. } => e,
            StoreError::Database(m)
            | StoreError::Data(m)
            | StoreError::Task(m)
            | StoreError::Unavailable(m) => StoreError::Open {
                location: redact(conninfo),
                message: m,
            },
            StoreError::Open { .. } => e,
        })?;
        Ok(store)
    }

    /// A store for `conninfo` that has not connected yet: every operation
    /// is [`StoreError::Unavailable`] until [`Store::prepare`] succeeds
    /// (the server retries it while the database is down at start-up).
    /// Fails only on a connection string that does not parse.
    pub fn connect_lazy(conninfo: &str) -> StoreResult<PgStore> {
        let open_err = |message: String| StoreError::Open {
            location: redact(conninfo),
            message,
        };
        let tls = tls::from_conninfo(conninfo)?;
        let config = tokio_postgres::Config::from_str(&tls.conninfo)
            .map_err(|e| open_err(format!("not a connection string: {e}")))?;
        let manager_config = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls.client {
            None => Manager::from_config(config, NoTls, manager_config()),
            Some(client) => Manager::from_config(
                config,
                tokio_postgres_rustls::MakeRustlsConnect::new(client),
                manager_config(),
            ),
        };
        // A request waits at most this long for a pooled connection, and a
        // new connection at most this long to open, so a database that is
        // down or black-holed answers 503 in seconds rather than hanging
        // every request until its deadline.
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        Ok(PgStore {
            pool,
            retries: Default::default(),
            migrated: Default::default(),
            gated: true,
        })
    }

    pub(crate) async fn client(&self) -> PgResult<deadpool_postgres::Object> {
        if self.gated && !self.migrated.load(std::sync::atomic::Ordering::Acquire) {
            return Err(PgError::Store(StoreError::Unavailable(
                "the database is not migrated yet".into(),
            )));
        }
        self.pool.get().await.map_err(|e| {
            // Whether the pool timed out waiting or could not connect (the
            // server is down, refuses us, or has no such database), the
            // database is out of reach now: 503, not 500. The driver's
            // error is described by the server's own message and code.
            let detail = match &e {
                deadpool_postgres::PoolError::Backend(pg) => db_err(pg).to_string(),
                other => other.to_string(),
            };
            PgError::Store(StoreError::Unavailable(format!(
                "no database connection available: {detail}"
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
        self.migrate_to(migrations::MIGRATIONS.len()).await?;
        self.migrated
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    pub(crate) async fn migrate_to(&self, target: usize) -> StoreResult<()> {
        let ungated = PgStore {
            gated: false,
            ..self.clone()
        };
        ungated.migrate_ungated(target).await
    }

    async fn migrate_ungated(&self, target: usize) -> StoreResult<()> {
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
pub(crate) fn redact(conninfo: &str) -> String {
    if let Some((scheme, rest)) = conninfo.split_once("://") {
        // postgresql://user:secret@host/db?password=secret
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _)) => format!("{name}:…@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<&str> = query
                    .split('&')
                    .map(|p| {
                        if p.starts_with("password=") {
                            "password=…"
                        } else {
                            p
                        }
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
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
    fn latest_schema_version(&self) -> i64 {
        i64::try_from(migrations::MIGRATIONS.len()).unwrap_or(i64::MAX)
    }

    async fn prepare(&self) -> StoreResult<()> {
        if self.migrated.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        self.migrate().await
    }

    fn retried_transactions(&self) -> u64 {
        PgStore::retried_transactions(self)
    }

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
