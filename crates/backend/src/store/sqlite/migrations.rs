//! The SQLite schema: numbered, forward-only migrations.
//!
//! Migration `i` (0-based) brings the database from `PRAGMA user_version = i`
//! to `i + 1`. Append only; never edit one that has shipped.

use super::db_err;
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: catalogue and applications.
    "CREATE TABLE services (
        code               TEXT PRIMARY KEY NOT NULL,
        name_vi            TEXT NOT NULL,
        name_en            TEXT NOT NULL,
        agency_vi          TEXT NOT NULL,
        agency_en          TEXT NOT NULL,
        fee_vnd            INTEGER NOT NULL CHECK (fee_vnd >= 0),
        processing_days    INTEGER NOT NULL CHECK (processing_days >= 0),
        fully_online       INTEGER NOT NULL CHECK (fully_online IN (0, 1)),
        -- JSON array of document kind codes
        required_documents TEXT NOT NULL
    ) STRICT;
    CREATE TABLE applications (
        id              INTEGER PRIMARY KEY,
        case_number     TEXT NOT NULL UNIQUE,
        case_year       INTEGER NOT NULL,
        case_seq        INTEGER NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload_sha256  TEXT NOT NULL,
        payload_json    TEXT NOT NULL,
        service_code    TEXT NOT NULL REFERENCES services(code),
        status          TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        due_date        TEXT NOT NULL,
        UNIQUE (case_year, case_seq)
    ) STRICT;",
    // 2: status history (written by set-status) and a lookup index.
    "CREATE TABLE status_history (
        id             INTEGER PRIMARY KEY,
        application_id INTEGER NOT NULL REFERENCES applications(id),
        status         TEXT NOT NULL,
        changed_at     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX status_history_by_application ON status_history(application_id);
    CREATE INDEX applications_by_service ON applications(service_code);",
    // 3: signed citizen credentials (issue #4). Only what revocation and
    // audit need: no name or date of birth.
    "CREATE TABLE credentials (
        id          TEXT PRIMARY KEY NOT NULL,
        kid         TEXT NOT NULL,
        disclosure  TEXT NOT NULL,
        id_number   TEXT NOT NULL,
        issued_at   INTEGER NOT NULL,
        expires     INTEGER NOT NULL,
        revoked_at  INTEGER
    ) STRICT;
    CREATE INDEX credentials_revoked ON credentials(revoked_at) WHERE revoked_at IS NOT NULL;",
    // 4: citizen enrolment (see `crate::enrollment`). Codes and device
    // tokens are stored only as SHA-256 hex. Name and date of birth are kept
    // with the enrolment because every refresh signs them again.
    "CREATE TABLE enrollments (
        id            INTEGER PRIMARY KEY,
        code_sha256   TEXT NOT NULL UNIQUE,
        id_number     TEXT NOT NULL,
        full_name     TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        claimed_at    INTEGER
    ) STRICT;
    CREATE TABLE devices (
        id            INTEGER PRIMARY KEY,
        token_sha256  TEXT NOT NULL UNIQUE,
        enrollment_id INTEGER NOT NULL UNIQUE REFERENCES enrollments(id),
        device_name   TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER NOT NULL,
        forgotten_at  INTEGER
    ) STRICT;
    ALTER TABLE credentials ADD COLUMN device_id INTEGER REFERENCES devices(id);
    CREATE INDEX credentials_by_device ON credentials(device_id) WHERE device_id IS NOT NULL;",
    // 5: the claim guard's counted attempts (Unix seconds). It was kept in
    // memory; in the database it holds across restarts and, with a shared
    // database, across instances.
    "CREATE TABLE claim_attempts (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX claim_attempts_by_time ON claim_attempts(at);",
];

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Applies the pending migrations, all in one write transaction (so two
/// processes opening a fresh file cannot both migrate it).
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    migrate_to(conn, MIGRATIONS.len())
}

pub(crate) fn migrate_to(conn: &mut Connection, target: usize) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let found = user_version(&tx).map_err(db_err)?;
    let too_new = || StoreError::SchemaTooNew {
        found,
        known: MIGRATIONS.len(),
    };
    let current = usize::try_from(found).map_err(|_| too_new())?;
    if current > MIGRATIONS.len() {
        return Err(too_new());
    }
    if current >= target {
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        tx.execute_batch(sql).map_err(db_err)?;
        let version =
            i64::try_from(i + 1).map_err(|_| StoreError::Data("too many migrations".into()))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(())
}
