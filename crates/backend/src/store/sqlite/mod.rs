//! The SQLite store: one file (or a private in-memory database), WAL,
//! `synchronous=FULL`.
//!
//! Every operation runs as one closure on tokio's blocking pool, with the
//! connection under a mutex, and each state change in one `IMMEDIATE`
//! transaction. Correctness does not come from the mutex: the constraints
//! and conditional updates described in [`crate::store`] also hold for a
//! second process writing the same file (the `enroll`, `revoke` and
//! `set-status` commands do).

mod applications;
mod enrollments;
pub(crate) mod migrations;

use crate::store::{Store, StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The SQLite implementation of every store trait. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// An error inside a store closure: SQLite's own, or one of ours. Private,
/// so `?` works on both there while no `rusqlite` type leaves this module.
pub(crate) enum SqlError {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> Self {
        SqlError::Sql(e)
    }
}

impl From<StoreError> for SqlError {
    fn from(e: StoreError) -> Self {
        SqlError::Store(e)
    }
}

impl From<SqlError> for StoreError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Sql(e) => db_err(e),
            SqlError::Store(e) => e,
        }
    }
}

pub(crate) type SqlResult<T> = Result<T, SqlError>;

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates
    /// it to the current schema.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let wrap = |e: StoreError| match e {
            StoreError::SchemaTooNew { .. } => e,
            other => StoreError::Open {
                location: path.display().to_string(),
                message: match other {
                    StoreError::Database(m) | StoreError::Data(m) => m,
                    other => other.to_string(),
                },
            },
        };
        let mut conn = Connection::open(path).map_err(|e| wrap(db_err(e)))?;
        configure(&mut conn, true).map_err(|e| wrap(db_err(e)))?;
        migrations::migrate(&mut conn).map_err(wrap)?;
        Ok(Self::from_connection(conn))
    }

    /// A fresh private in-memory database (tests, demos).
    pub fn in_memory() -> StoreResult<SqliteStore> {
        let mut conn = Connection::open_in_memory().map_err(db_err)?;
        configure(&mut conn, false).map_err(db_err)?;
        migrations::migrate(&mut conn)?;
        Ok(Self::from_connection(conn))
    }

    fn from_connection(conn: Connection) -> SqliteStore {
        SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// [`crate::store::Services::seed_services_if_empty`] for synchronous
    /// callers right after opening (`AppState::open` runs outside and inside
    /// runtimes).
    pub(crate) fn seed_services_now(&self, services: &[cds_api::ServiceInfo]) -> StoreResult<bool> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(applications::seed(&mut conn, services)?)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn with_db<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> SqlResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no half-done write: an
            // open transaction rolls back when dropped. Keep serving.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn).map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn configure(conn: &mut Connection, file: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if file {
        // journal_mode answers with the resulting mode.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL journal mode");
        }
        // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so
        // after a power loss a case the citizen got a 201 for could vanish
        // and its number be given to someone else.
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn schema_version(&self) -> StoreResult<i64> {
        self.with_db(|c| Ok(migrations::user_version(c)?)).await
    }

    fn latest_schema_version(&self) -> i64 {
        i64::try_from(migrations::MIGRATIONS.len()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::migrations::{migrate, migrate_to, user_version, MIGRATIONS};
    use super::*;
    use crate::store::{Applications, Enrollments, NewEnrollment, Services};

    crate::store::suite::store_suite!({
        // A file store, as served: WAL and synchronous=FULL in play.
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("suite.sqlite3")).unwrap();
        (store, dir)
    });

    #[tokio::test]
    async fn a_file_database_uses_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("w.sqlite3")).unwrap();
        let (mode, sync, fk) = store
            .with_db(|c| {
                let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
                let sync: i64 = c.pragma_query_value(None, "synchronous", |r| r.get(0))?;
                let fk: i64 = c.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
                Ok((mode, sync, fk))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        // 2 = FULL (0 OFF, 1 NORMAL, 3 EXTRA).
        assert_eq!(sync, 2);
        assert_eq!(fk, 1);
    }

    #[tokio::test]
    async fn migrating_from_version_1_keeps_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 1).unwrap();
            assert_eq!(user_version(&conn).unwrap(), 1);
            conn.execute(
                "INSERT INTO services (code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                                       processing_days, fully_online, required_documents)
                 VALUES ('1.001612', 'a', 'b', 'c', 'd', 0, 1, 1, '[]')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO applications (case_number, case_year, case_seq, idempotency_key,
                                           payload_sha256, payload_json, service_code, status,
                                           received_at, due_date)
                 VALUES ('HS-2026-000001', 2026, 1, 'k', 'd', '{}', '1.001612', 'received',
                         '2026-03-02T01:00:00Z', '2026-03-03')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            MIGRATIONS.len() as i64
        );
        let found = store.application("HS-2026-000001").await.unwrap().unwrap();
        assert_eq!(found.idempotency_key, "k");
        // The tables of later migrations exist: status history works.
        store
            .set_status(
                "HS-2026-000001",
                cds_api::ApplicationStatus::Approved,
                "2026-03-03T00:00:00Z".into(),
            )
            .await
            .unwrap();
        assert_eq!(
            store.status_history("HS-2026-000001").await.unwrap().len(),
            1
        );
        // Migrating again is a no-op.
        store
            .with_db(|c| {
                migrate(c)?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            MIGRATIONS.len() as i64
        );
    }

    #[tokio::test]
    async fn a_version_3_database_with_credentials_upgrades_to_enrolment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 3).unwrap();
            conn.execute(
                "INSERT INTO credentials (id, kid, disclosure, id_number, issued_at, expires)
                 VALUES ('7f1c1f5e-4e55-4c3e-9a51-2a4d1c9b8a01', 'k', 'full', '001099012345',
                         1, 2)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            MIGRATIONS.len() as i64
        );
        let (old_row_device, tables) = store
            .with_db(|c| {
                let d: Option<i64> =
                    c.query_row("SELECT device_id FROM credentials", [], |r| r.get(0))?;
                let t: i64 = c.query_row(
                    "SELECT COUNT(*) FROM sqlite_master
                     WHERE type = 'table' AND name IN ('enrollments', 'devices')",
                    [],
                    |r| r.get(0),
                )?;
                Ok((d, t))
            })
            .await
            .unwrap();
        assert_eq!(old_row_device, None);
        assert_eq!(tables, 2);
        // The upgraded file takes enrolments.
        assert!(store
            .insert_enrollment(NewEnrollment {
                code_sha256: "c".into(),
                subject: cds_qr::credential::Subject {
                    id_number: "001099012345".into(),
                    full_name: "Trần Thị Bích".into(),
                    date_of_birth: "1988-11-30".into(),
                },
                created_at: 1,
                expires_at: 2,
            })
            .await
            .unwrap());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        match SqliteStore::open(&path) {
            Err(StoreError::SchemaTooNew { found: 99, known }) => {
                assert_eq!(known, MIGRATIONS.len())
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn an_unreadable_file_is_a_clear_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.sqlite3");
        std::fs::write(
            &path,
            b"this is not a database, just some text padding it out",
        )
        .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("junk.sqlite3"), "{err}");
    }

    #[tokio::test]
    async fn an_in_memory_store_is_migrated_and_empty() {
        let store = SqliteStore::in_memory().unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            MIGRATIONS.len() as i64
        );
        assert!(store.services().await.unwrap().is_empty());
        assert_eq!(store.application_count().await.unwrap(), 0);
    }
}
