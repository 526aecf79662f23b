//! The SQLite schema as numbered migrations (`PRAGMA user_version`), and the
//! per-connection settings.

use rusqlite::Connection;

use crate::error::{db, VaultError};

/// `PRAGMA application_id` of a vault file ("CDSV"), so a vault is told
/// apart from any other SQLite file before anything else is read.
pub(crate) const APPLICATION_ID: i32 = 0x4344_5356;

/// Migration `n` (1-based) takes `user_version` from `n - 1` to `n`. Never
/// edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE meta (
        name       TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL,
        value      BLOB NOT NULL
    );
    CREATE TABLE documents (
        id         TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL,
        body       BLOB NOT NULL
    );
    CREATE TABLE attachments (
        id          TEXT PRIMARY KEY NOT NULL,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        created_at  TEXT NOT NULL,
        meta        BLOB NOT NULL,
        data        BLOB NOT NULL
    );
    CREATE INDEX attachments_by_document ON attachments(document_id);
    CREATE TABLE applications (
        idempotency_key TEXT PRIMARY KEY NOT NULL,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('queued', 'delivered')),
        payload         BLOB NOT NULL,
        receipt         BLOB,
        last_error      BLOB,
        CHECK ((state = 'delivered') = (receipt IS NOT NULL))
    );
    CREATE INDEX applications_by_state ON applications(state, created_at);
    "#,
    // 2: profiles, structured documents with keyed number hashes, thumbnails,
    // application links and history, the access log. The data step
    // (`crate::migrate_data`) then moves v1 documents into the "self"
    // profile and re-seals their bodies in the v2 layout.
    r#"
    CREATE TABLE profiles (
        id         TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL,
        body       BLOB NOT NULL
    );
    ALTER TABLE documents ADD COLUMN profile_id TEXT REFERENCES profiles(id);
    ALTER TABLE documents ADD COLUMN updated_at TEXT;
    ALTER TABLE documents ADD COLUMN number_hash BLOB;
    CREATE UNIQUE INDEX documents_by_number ON documents(number_hash)
        WHERE number_hash IS NOT NULL;
    CREATE INDEX documents_by_profile ON documents(profile_id, created_at);
    ALTER TABLE attachments ADD COLUMN thumb BLOB;
    CREATE TABLE application_documents (
        idempotency_key TEXT NOT NULL
            REFERENCES applications(idempotency_key) ON DELETE CASCADE,
        document_id     TEXT NOT NULL,
        tag             BLOB NOT NULL,
        PRIMARY KEY (idempotency_key, document_id)
    );
    CREATE TABLE application_history (
        id              TEXT PRIMARY KEY NOT NULL,
        idempotency_key TEXT NOT NULL
            REFERENCES applications(idempotency_key) ON DELETE CASCADE,
        at              TEXT NOT NULL,
        body            BLOB NOT NULL
    );
    CREATE INDEX application_history_by_key ON application_history(idempotency_key, at);
    CREATE TABLE disclosures (
        id   TEXT PRIMARY KEY NOT NULL,
        at   TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX disclosures_by_time ON disclosures(at);
    "#,
    // 3: device-bound values (never in backups): each profile's sealed set
    // of signed QR credentials, deleted with the profile, and small named
    // device values (refresh token, cached trust and revocation lists).
    r#"
    CREATE TABLE credentials (
        profile_id TEXT PRIMARY KEY NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        body       BLOB NOT NULL
    );
    CREATE TABLE device_values (
        name  TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    );
    "#,
    // 4: attachment bytes and thumbnails move to sealed files beside the
    // database (`files.rs`); `data` and `thumb` then hold sealed references
    // and these columns the file names. The data step
    // (`crate::migrate::migrate_data`) writes the files and rewrites the rows.
    r#"
    ALTER TABLE attachments ADD COLUMN data_file TEXT;
    ALTER TABLE attachments ADD COLUMN thumb_file TEXT;
    "#,
];

/// The migration that moves attachment bytes out of the database into
/// files (`crate::migrate::v4_files`), after which the open
/// reclaims the space they held (`crate::migrate::reclaim_space`).
pub(crate) const ATTACHMENT_FILES: i64 = 4;

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

pub(crate) fn user_version(conn: &Connection) -> Result<i64, VaultError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)
}

pub(crate) fn application_id(conn: &Connection) -> Result<i32, VaultError> {
    conn.pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(db)
}

/// Applies every migration above the file's `user_version`. After the SQL
/// of migration `n`, `data_step(conn, n)` runs the part that needs keys
/// (re-sealing records). The caller holds the transaction, so a failed
/// migration leaves nothing behind.
pub(crate) fn migrate(
    conn: &Connection,
    data_step: &mut dyn FnMut(&Connection, i64) -> Result<(), VaultError>,
) -> Result<(), VaultError> {
    let from = user_version(conn)?;
    if from > LATEST {
        return Err(VaultError::Corrupt(format!(
            "the vault has schema version {from}, newer than this app knows ({LATEST}); \
             update the app"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let to = i as i64 + 1;
        if to <= from {
            continue;
        }
        conn.execute_batch(sql).map_err(db)?;
        data_step(conn, to)?;
        conn.pragma_update(None, "user_version", to).map_err(db)?;
    }
    Ok(())
}

/// Settings that belong to the connection, not the file: safe to apply
/// before the file is verified, because they write nothing.
pub(crate) fn connection_settings(conn: &Connection) -> Result<(), VaultError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db)?;
    // Sorts and temporary indices stay in memory, never in a temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(db)?;
    Ok(())
}

/// Switches the file to write-ahead logging (persistent in the file).
pub(crate) fn enable_wal(conn: &Connection) -> Result<(), VaultError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(db)?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(VaultError::Storage(format!(
            "the vault file cannot use write-ahead logging (journal mode stays {mode})"
        )))
    }
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: copies every WAL frame into the
/// database, truncates the database file to its size, and cuts the WAL
/// file to zero bytes. Must run outside a transaction. A checkpoint kept
/// from completing by another connection's reader is not an error (the
/// pragma's `busy` column); the WAL then just keeps its size.
pub(crate) fn checkpoint_truncate(conn: &Connection) -> Result<(), VaultError> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(drop)
    .map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        names
    }

    #[test]
    fn migrations_from_an_empty_file_reach_latest_and_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.sqlite3");
        std::fs::write(&path, b"").unwrap();
        let mut conn = Connection::open(&path).unwrap();
        connection_settings(&conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(tables(&conn).is_empty());

        let tx = conn.transaction().unwrap();
        migrate(&tx, &mut |_, _| Ok(())).unwrap();
        tx.commit().unwrap();
        assert_eq!(user_version(&conn).unwrap(), LATEST);
        assert_eq!(
            tables(&conn),
            [
                "application_documents",
                "application_history",
                "applications",
                "attachments",
                "credentials",
                "device_values",
                "disclosures",
                "documents",
                "meta",
                "profiles"
            ]
        );

        // Running again changes nothing.
        let tx = conn.transaction().unwrap();
        migrate(&tx, &mut |_, _| Ok(())).unwrap();
        tx.commit().unwrap();
        assert_eq!(user_version(&conn).unwrap(), LATEST);

        // Constraints hold: a delivered application needs a receipt, an
        // attachment needs its document.
        let bad_state = conn.execute(
            "INSERT INTO applications (idempotency_key, created_at, state, payload) \
             VALUES ('k', 't', 'delivered', x'00')",
            [],
        );
        assert!(bad_state.is_err());
        let orphan = conn.execute(
            "INSERT INTO attachments (id, document_id, created_at, meta, data) \
             VALUES ('a', 'nope', 't', x'00', x'00')",
            [],
        );
        assert!(orphan.is_err(), "foreign keys are on");
    }

    #[test]
    fn a_failed_migration_leaves_nothing_and_newer_schemas_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE documents (x)").unwrap();
        let tx = conn.transaction().unwrap();
        assert!(
            migrate(&tx, &mut |_, _| Ok(())).is_err(),
            "table already exists"
        );
        drop(tx); // rolls back
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert_eq!(tables(&conn), ["documents"]);

        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert_eq!(
            migrate(&conn, &mut |_, _| Ok(())).unwrap_err().kind(),
            "corrupt"
        );
    }

    #[test]
    fn wal_is_enabled_on_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.sqlite3")).unwrap();
        enable_wal(&conn).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
