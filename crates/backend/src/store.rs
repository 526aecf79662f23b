//! The SQLite store: schema migrations, the seed catalogue and the
//! exactly-once application insert.

use crate::rules;
use crate::BackendError;
use cds_api::{
    ApplicationReceipt, ApplicationStatus, DocumentKind, ServiceInfo, SubmitApplication,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Numbered schema migrations. Migration `i` (0-based) brings the database
/// from `PRAGMA user_version = i` to `i + 1`. Append only; never edit one
/// that has shipped.
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
];

/// Shared state of the backend: the database.
///
/// Cheap to clone. All database work runs on tokio's blocking pool
/// ([`tokio::task::spawn_blocking`]), one statement batch at a time under the
/// mutex.
#[derive(Clone)]
pub struct AppState {
    db: Arc<Mutex<Connection>>,
    /// The city's credential signing key, when this backend issues
    /// credentials (see [`crate::credentials`]).
    pub(crate) issuer: Option<Arc<crate::credentials::CredentialIssuer>>,
    /// Bearer token required to issue and revoke credentials.
    pub(crate) admin_token: Option<Arc<str>>,
    /// Unix seconds "now"; replaceable so tests can expire codes and let
    /// rate-limit windows pass without sleeping.
    pub(crate) clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Failed activation-code claims, shared by every clone of the state.
    pub(crate) claim_guard: Arc<Mutex<crate::enrollment::ClaimGuard>>,
    /// Validity of credentials issued to devices (claim and refresh).
    pub(crate) credential_validity_days: u32,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The result of [`AppState::submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    pub receipt: ApplicationReceipt,
    /// `true` when this call stored the application, `false` when it was
    /// already stored under the same key with the same payload.
    pub created: bool,
}

impl AppState {
    /// Opens (creating if needed) the database file at `path`, migrates it to
    /// the current schema and seeds the catalogue if it is empty.
    pub fn open(path: &Path) -> Result<AppState, BackendError> {
        let wrap = |source| BackendError::OpenDatabase {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(wrap)?;
        configure(&mut conn, true).map_err(wrap)?;
        Self::from_connection(conn).map_err(|e| match e {
            BackendError::Database(source) => wrap(source),
            other => other,
        })
    }

    /// A fresh private in-memory database (tests, demos).
    pub fn in_memory() -> Result<AppState, BackendError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&mut conn, false)?;
        Self::from_connection(conn)
    }

    fn from_connection(mut conn: Connection) -> Result<AppState, BackendError> {
        migrate(&mut conn)?;
        seed_catalogue_if_empty(&mut conn)?;
        Ok(AppState {
            db: Arc::new(Mutex::new(conn)),
            issuer: None,
            admin_token: None,
            clock: Arc::new(crate::credentials::unix_now),
            claim_guard: Arc::default(),
            credential_validity_days: crate::enrollment::DEFAULT_DEVICE_VALIDITY_DAYS,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn with_db<T, F>(&self, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, BackendError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no half-done write: an
            // open transaction rolls back when dropped. Keep serving.
            let mut conn = db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .map_err(|e| BackendError::Task(e.to_string()))?
    }

    /// The catalogue, ordered by service code.
    pub async fn services(&self) -> Result<Vec<ServiceInfo>, BackendError> {
        self.with_db(|conn| {
            let mut stmt = conn.prepare(
                "SELECT code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                        processing_days, fully_online, required_documents
                 FROM services ORDER BY code",
            )?;
            let rows = stmt.query_map([], service_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(decode_service(row?)?);
            }
            Ok(out)
        })
        .await
    }

    /// Stores a submission exactly once.
    ///
    /// Validates it (shape, catalogue, required documents), then inserts it
    /// in one `IMMEDIATE` transaction with `ON CONFLICT(idempotency_key) DO
    /// NOTHING`: the UNIQUE constraint, not a prior lookup, decides who wins.
    /// If the key is already stored, the stored payload digest decides:
    /// equal → the stored receipt (`created: false`); different →
    /// [`BackendError::IdempotencyConflict`].
    pub async fn submit(&self, req: SubmitApplication) -> Result<SubmitOutcome, BackendError> {
        let now = OffsetDateTime::now_utc();
        rules::validate_submission(&req, now.date())?;
        let (payload_json, digest) = rules::payload_digest(&req)?;
        self.with_db(move |conn| insert_once(conn, &req, &payload_json, &digest, now))
            .await
    }

    /// The receipt of a stored application.
    pub async fn application(&self, case_number: &str) -> Result<ApplicationReceipt, BackendError> {
        let case_number = case_number.to_owned();
        self.with_db(move |conn| {
            find_receipt(conn, By::CaseNumber, &case_number)?.ok_or_else(|| {
                BackendError::NotFound(format!("no application with case number `{case_number}`"))
            })
        })
        .await
    }

    /// Changes an application's status (the city's back office; here the
    /// `set-status` admin command) and records it in the status history.
    pub async fn set_status(
        &self,
        case_number: &str,
        status: ApplicationStatus,
    ) -> Result<ApplicationReceipt, BackendError> {
        let case_number = case_number.to_owned();
        let changed_at = now_rfc3339(OffsetDateTime::now_utc())?;
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM applications WHERE case_number = ?1",
                    [&case_number],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else {
                return Err(BackendError::NotFound(format!(
                    "no application with case number `{case_number}`"
                )));
            };
            tx.execute(
                "UPDATE applications SET status = ?1 WHERE id = ?2",
                params![status.code(), id],
            )?;
            tx.execute(
                "INSERT INTO status_history (application_id, status, changed_at)
                 VALUES (?1, ?2, ?3)",
                params![id, status.code(), changed_at],
            )?;
            let receipt = find_receipt(&tx, By::CaseNumber, &case_number)?.ok_or_else(|| {
                BackendError::Data(format!("application `{case_number}` vanished"))
            })?;
            tx.commit()?;
            Ok(receipt)
        })
        .await
    }

    /// Number of stored applications.
    pub async fn application_count(&self) -> Result<u64, BackendError> {
        self.with_db(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))?;
            u64::try_from(n).map_err(|_| BackendError::Data(format!("negative count {n}")))
        })
        .await
    }

    /// The schema version (`PRAGMA user_version`) of the open database.
    pub async fn schema_version(&self) -> Result<i64, BackendError> {
        self.with_db(|conn| Ok(user_version(conn)?)).await
    }
}

fn configure(conn: &mut Connection, file: bool) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if file {
        // journal_mode answers with the resulting mode.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL journal mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(())
}

fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Applies the pending migrations, all in one write transaction (so two
/// processes opening a fresh file cannot both migrate it).
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), BackendError> {
    migrate_to(conn, MIGRATIONS.len())
}

pub(crate) fn migrate_to(conn: &mut Connection, target: usize) -> Result<(), BackendError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    let current = usize::try_from(found).map_err(|_| BackendError::SchemaTooNew {
        found,
        known: MIGRATIONS.len(),
    })?;
    if current > MIGRATIONS.len() {
        return Err(BackendError::SchemaTooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    if current >= target {
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        tx.execute_batch(sql)?;
        let version =
            i64::try_from(i + 1).map_err(|_| BackendError::Data("too many migrations".into()))?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}

fn seed_catalogue_if_empty(conn: &mut Connection) -> Result<(), BackendError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n: i64 = tx.query_row("SELECT COUNT(*) FROM services", [], |r| r.get(0))?;
    if n == 0 {
        let services = cds_api::seed_catalogue().map_err(|e| BackendError::Data(e.to_string()))?;
        for s in &services {
            insert_service(&tx, s)?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn insert_service(conn: &Connection, s: &ServiceInfo) -> Result<(), BackendError> {
    let fee = i64::try_from(s.fee_vnd)
        .map_err(|_| BackendError::Data(format!("fee of `{}` too large", s.code)))?;
    let kinds: Vec<&str> = s.required_documents.iter().map(|k| k.code()).collect();
    let kinds = serde_json::to_string(&kinds).map_err(|e| BackendError::Data(e.to_string()))?;
    conn.execute(
        "INSERT INTO services (code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                               processing_days, fully_online, required_documents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            s.code,
            s.name_vi,
            s.name_en,
            s.agency_vi,
            s.agency_en,
            fee,
            s.processing_days,
            s.fully_online,
            kinds
        ],
    )?;
    Ok(())
}

type ServiceRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    bool,
    String,
);

fn service_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn decode_service(row: ServiceRow) -> Result<ServiceInfo, BackendError> {
    let (code, name_vi, name_en, agency_vi, agency_en, fee, days, fully_online, kinds) = row;
    let bad = |what: &str| BackendError::Data(format!("service `{code}`: bad {what}"));
    let fee_vnd = u64::try_from(fee).map_err(|_| bad("fee_vnd"))?;
    let processing_days = u32::try_from(days).map_err(|_| bad("processing_days"))?;
    let codes: Vec<String> = serde_json::from_str(&kinds).map_err(|_| bad("required_documents"))?;
    let required_documents = codes
        .iter()
        .map(|c| DocumentKind::from_code(c).ok_or_else(|| bad("required_documents")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ServiceInfo {
        code,
        name_vi,
        name_en,
        agency_vi,
        agency_en,
        fee_vnd,
        processing_days,
        fully_online,
        required_documents,
    })
}

fn find_service(conn: &Connection, code: &str) -> Result<Option<ServiceInfo>, BackendError> {
    let row = conn
        .query_row(
            "SELECT code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                    processing_days, fully_online, required_documents
             FROM services WHERE code = ?1",
            [code],
            service_row,
        )
        .optional()?;
    row.map(decode_service).transpose()
}

fn now_rfc3339(now: OffsetDateTime) -> Result<String, BackendError> {
    let secs = OffsetDateTime::from_unix_timestamp(now.unix_timestamp())
        .map_err(|e| BackendError::Data(format!("bad clock: {e}")))?;
    secs.format(&Rfc3339)
        .map_err(|e| BackendError::Data(format!("cannot format time: {e}")))
}

/// Which unique column a lookup uses.
#[derive(Clone, Copy)]
enum By {
    CaseNumber,
    IdempotencyKey,
}

/// Looks an application up; returns its receipt and stored payload digest.
fn find_row(
    conn: &Connection,
    by: By,
    value: &str,
) -> Result<Option<(ApplicationReceipt, String)>, BackendError> {
    let column = match by {
        By::CaseNumber => "case_number",
        By::IdempotencyKey => "idempotency_key",
    };
    let sql = format!(
        "SELECT case_number, idempotency_key, service_code, status, received_at, due_date,
                payload_sha256
         FROM applications WHERE {column} = ?1"
    );
    let row = conn
        .query_row(&sql, [value], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .optional()?;
    let Some((case_number, idempotency_key, service_code, status, received_at, due_date, digest)) =
        row
    else {
        return Ok(None);
    };
    let status = ApplicationStatus::from_code(&status).ok_or_else(|| {
        BackendError::Data(format!(
            "application `{case_number}` has unknown status `{status}`"
        ))
    })?;
    Ok(Some((
        ApplicationReceipt {
            case_number,
            idempotency_key,
            service_code,
            status,
            received_at,
            due_date,
        },
        digest,
    )))
}

fn find_receipt(
    conn: &Connection,
    by: By,
    value: &str,
) -> Result<Option<ApplicationReceipt>, BackendError> {
    Ok(find_row(conn, by, value)?.map(|(r, _)| r))
}

fn insert_once(
    conn: &mut Connection,
    req: &SubmitApplication,
    payload_json: &str,
    digest: &str,
    now: OffsetDateTime,
) -> Result<SubmitOutcome, BackendError> {
    // IMMEDIATE: take the write lock up front, so the sequence number read
    // below cannot be raced by another connection to the same file.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let service = find_service(&tx, &req.service_code)?.ok_or_else(|| {
        BackendError::Unprocessable(format!(
            "unknown service_code `{}`: not in the catalogue",
            req.service_code
        ))
    })?;
    rules::check_against_service(req, &service)?;

    let received_at = now_rfc3339(now)?;
    let today = now.date();
    let due = rules::add_working_days(today, service.processing_days).ok_or_else(|| {
        BackendError::Data(format!("due date of `{}` out of range", service.code))
    })?;
    let due_date = rules::format_iso_date(due)?;
    let year = today.year();
    let seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(case_seq), 0) + 1 FROM applications WHERE case_year = ?1",
        [year],
        |r| r.get(0),
    )?;
    let case_number = rules::case_number(year, seq);
    let status = ApplicationStatus::Received;

    let inserted = tx.execute(
        "INSERT INTO applications (case_number, case_year, case_seq, idempotency_key,
                                   payload_sha256, payload_json, service_code, status,
                                   received_at, due_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (idempotency_key) DO NOTHING",
        params![
            case_number,
            year,
            seq,
            req.idempotency_key,
            digest,
            payload_json,
            req.service_code,
            status.code(),
            received_at,
            due_date
        ],
    )?;

    if inserted == 1 {
        tx.commit()?;
        return Ok(SubmitOutcome {
            receipt: ApplicationReceipt {
                case_number,
                idempotency_key: req.idempotency_key.clone(),
                service_code: req.service_code.clone(),
                status,
                received_at,
                due_date,
            },
            created: true,
        });
    }

    // The key is already stored: same payload → the same receipt.
    let (receipt, stored_digest) = find_row(&tx, By::IdempotencyKey, &req.idempotency_key)?
        .ok_or_else(|| {
            BackendError::Data(format!(
                "idempotency key `{}` conflicted but is not stored",
                req.idempotency_key
            ))
        })?;
    drop(tx); // nothing written: roll back
    if stored_digest == digest {
        Ok(SubmitOutcome {
            receipt,
            created: false,
        })
    } else {
        Err(BackendError::IdempotencyConflict(format!(
            "idempotency key `{}` was already used for a different application ({})",
            req.idempotency_key, receipt.case_number
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cds_api::{Applicant, DocumentRef};

    fn request(key: &str) -> SubmitApplication {
        SubmitApplication {
            idempotency_key: key.into(),
            service_code: "1.001612".into(),
            applicant: Applicant {
                id_number: "001099012345".into(),
                full_name: "Trần Thị Bích".into(),
                date_of_birth: "1988-11-30".into(),
            },
            documents: vec![DocumentRef {
                kind: DocumentKind::Cccd,
                number: "001099012345".into(),
                full_name: "Trần Thị Bích".into(),
                date_of_birth: "1988-11-30".into(),
                attachment_count: 2,
            }],
            submitted_at: "2026-03-02T08:00:00+07:00".into(),
        }
    }

    const KEY1: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01";
    const KEY2: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a02";

    #[tokio::test]
    async fn empty_database_is_migrated_and_seeded() {
        let state = AppState::in_memory().unwrap();
        assert_eq!(
            state.schema_version().await.unwrap(),
            i64::try_from(MIGRATIONS.len()).unwrap()
        );
        let services = state.services().await.unwrap();
        assert_eq!(services, {
            let mut s = cds_api::seed_catalogue().unwrap();
            s.sort_by(|a, b| a.code.cmp(&b.code));
            s
        });
        assert_eq!(state.application_count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn reopening_a_file_keeps_data_and_does_not_reseed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite3");
        let first = AppState::open(&path).unwrap();
        let receipt = first.submit(request(KEY1)).await.unwrap().receipt;
        let n_services = first.services().await.unwrap().len();
        drop(first);

        let again = AppState::open(&path).unwrap();
        assert_eq!(
            again.application(&receipt.case_number).await.unwrap(),
            receipt
        );
        assert_eq!(again.application_count().await.unwrap(), 1);
        assert_eq!(again.services().await.unwrap().len(), n_services);
        let second = again.submit(request(KEY2)).await.unwrap().receipt;
        assert_ne!(second.case_number, receipt.case_number);
    }

    #[test]
    fn migrating_from_version_1_keeps_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        seed_catalogue_if_empty(&mut conn).unwrap();
        let now = OffsetDateTime::now_utc();
        let (json, digest) = rules::payload_digest(&request(KEY1)).unwrap();
        let out = insert_once(&mut conn, &request(KEY1), &json, &digest, now).unwrap();
        assert!(out.created);

        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as i64);
        let has_history: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'status_history'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_history, 1);
        let found = find_receipt(&conn, By::CaseNumber, &out.receipt.case_number).unwrap();
        assert_eq!(found, Some(out.receipt));
        // Migrating again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len() as i64);
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
        let state = AppState::open(&path).unwrap();
        assert_eq!(
            state.schema_version().await.unwrap(),
            i64::try_from(MIGRATIONS.len()).unwrap()
        );
        let (old_row_device, tables) = state
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
        let code = state
            .create_enrollment(
                cds_api::CreateEnrollment {
                    number: "001099012345".into(),
                    full_name: "Trần Thị Bích".into(),
                    date_of_birth: "1988-11-30".into(),
                },
                1_800_000_000,
            )
            .await
            .unwrap();
        assert_eq!(code.code.len(), 9);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        match AppState::open(&path) {
            Err(BackendError::SchemaTooNew { found: 99, known }) => {
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
        let err = AppState::open(&path).unwrap_err();
        assert!(matches!(err, BackendError::OpenDatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("junk.sqlite3"), "{err}");
    }

    #[tokio::test]
    async fn file_database_uses_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(&dir.path().join("w.sqlite3")).unwrap();
        let (mode, fk) = state
            .with_db(|c| {
                let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
                let fk: i64 = c.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
                Ok((mode, fk))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        assert_eq!(fk, 1);
    }

    #[tokio::test]
    async fn case_numbers_count_up_within_the_year() {
        let state = AppState::in_memory().unwrap();
        let a = state.submit(request(KEY1)).await.unwrap().receipt;
        let b = state.submit(request(KEY2)).await.unwrap().receipt;
        let year = a.received_at[..4].to_owned();
        assert_eq!(a.case_number, format!("HS-{year}-000001"));
        assert_eq!(b.case_number, format!("HS-{year}-000002"));
    }

    #[tokio::test]
    async fn set_status_updates_and_records_history() {
        let state = AppState::in_memory().unwrap();
        let r = state.submit(request(KEY1)).await.unwrap().receipt;
        let updated = state
            .set_status(&r.case_number, ApplicationStatus::Approved)
            .await
            .unwrap();
        assert_eq!(updated.status, ApplicationStatus::Approved);
        assert_eq!(
            state.application(&r.case_number).await.unwrap().status,
            ApplicationStatus::Approved
        );
        let history: i64 = state
            .with_db(|c| Ok(c.query_row("SELECT COUNT(*) FROM status_history", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(history, 1);
        assert!(matches!(
            state
                .set_status("HS-2000-999999", ApplicationStatus::Approved)
                .await,
            Err(BackendError::NotFound(_))
        ));
    }
}
