//! The catalogue and applications in SQLite.

use super::{SqlResult, SqliteStore};
use crate::store::{
    decode_required_documents, decode_status, encode_required_documents, Applications,
    InsertOutcome, NewApplication, Services, StatusChange, StoreError, StoreResult,
};
use async_trait::async_trait;
use cds_api::{ApplicationReceipt, ApplicationStatus, ServiceInfo};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

const SERVICE_COLUMNS: &str = "code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                               processing_days, fully_online, required_documents";

#[async_trait]
impl Services for SqliteStore {
    async fn services(&self) -> StoreResult<Vec<ServiceInfo>> {
        self.with_db(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {SERVICE_COLUMNS} FROM services ORDER BY code"
            ))?;
            let rows = stmt.query_map([], service_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(decode_service(row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn service(&self, code: &str) -> StoreResult<Option<ServiceInfo>> {
        let code = code.to_owned();
        self.with_db(move |conn| find_service(conn, &code)).await
    }

    async fn seed_services_if_empty(&self, services: Vec<ServiceInfo>) -> StoreResult<bool> {
        self.with_db(move |conn| seed(conn, &services)).await
    }
}

pub(super) fn seed(conn: &mut Connection, services: &[ServiceInfo]) -> SqlResult<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n: i64 = tx.query_row("SELECT COUNT(*) FROM services", [], |r| r.get(0))?;
    if n != 0 {
        return Ok(false);
    }
    for s in services {
        insert_service(&tx, s)?;
    }
    tx.commit()?;
    Ok(true)
}

fn insert_service(conn: &Connection, s: &ServiceInfo) -> SqlResult<()> {
    let fee = i64::try_from(s.fee_vnd)
        .map_err(|_| StoreError::Data(format!("fee of `{}` too large", s.code)))?;
    let kinds = encode_required_documents(&s.required_documents)?;
    conn.execute(
        &format!(
            "INSERT INTO services ({SERVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
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

fn decode_service(row: ServiceRow) -> SqlResult<ServiceInfo> {
    let (code, name_vi, name_en, agency_vi, agency_en, fee, days, fully_online, kinds) = row;
    let bad = |what: &str| StoreError::Data(format!("service `{code}`: bad {what}"));
    let fee_vnd = u64::try_from(fee).map_err(|_| bad("fee_vnd"))?;
    let processing_days = u32::try_from(days).map_err(|_| bad("processing_days"))?;
    let required_documents =
        decode_required_documents(&kinds).ok_or_else(|| bad("required_documents"))?;
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

fn find_service(conn: &Connection, code: &str) -> SqlResult<Option<ServiceInfo>> {
    let row = conn
        .query_row(
            &format!("SELECT {SERVICE_COLUMNS} FROM services WHERE code = ?1"),
            [code],
            service_row,
        )
        .optional()?;
    row.map(decode_service).transpose()
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
) -> SqlResult<Option<(ApplicationReceipt, String)>> {
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
    let status = decode_status(&case_number, &status)?;
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

fn find_receipt(conn: &Connection, by: By, value: &str) -> SqlResult<Option<ApplicationReceipt>> {
    Ok(find_row(conn, by, value)?.map(|(r, _)| r))
}

fn insert_once(conn: &mut Connection, new: &NewApplication) -> SqlResult<InsertOutcome> {
    // IMMEDIATE: take the write lock up front, so the sequence number read
    // below cannot be raced by another connection to the same file. Even if
    // it were, UNIQUE(case_year, case_seq) would refuse the second row
    // rather than give one number twice.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(case_seq), 0) + 1 FROM applications WHERE case_year = ?1",
        [new.case_year],
        |r| r.get(0),
    )?;
    let case_number = crate::domain::rules::case_number(new.case_year, seq);
    let inserted = tx.execute(
        "INSERT INTO applications (case_number, case_year, case_seq, idempotency_key,
                                   payload_sha256, payload_json, service_code, status,
                                   received_at, due_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (idempotency_key) DO NOTHING",
        params![
            case_number,
            new.case_year,
            seq,
            new.idempotency_key,
            new.payload_sha256,
            new.payload_json,
            new.service_code,
            new.status.code(),
            new.received_at,
            new.due_date
        ],
    )?;
    if inserted == 1 {
        tx.commit()?;
        return Ok(InsertOutcome::Created(new.receipt(case_number)));
    }
    let (receipt, payload_sha256) = find_row(&tx, By::IdempotencyKey, &new.idempotency_key)?
        .ok_or_else(|| {
            StoreError::Data(format!(
                "idempotency key `{}` conflicted but is not stored",
                new.idempotency_key
            ))
        })?;
    drop(tx); // nothing written: roll back
    Ok(InsertOutcome::Existing {
        receipt,
        payload_sha256,
    })
}

#[async_trait]
impl Applications for SqliteStore {
    async fn insert_once(&self, new: NewApplication) -> StoreResult<InsertOutcome> {
        self.with_db(move |conn| insert_once(conn, &new)).await
    }

    async fn application(&self, case_number: &str) -> StoreResult<Option<ApplicationReceipt>> {
        let case_number = case_number.to_owned();
        self.with_db(move |conn| find_receipt(conn, By::CaseNumber, &case_number))
            .await
    }

    async fn set_status(
        &self,
        case_number: &str,
        status: ApplicationStatus,
        changed_at: String,
    ) -> StoreResult<Option<ApplicationReceipt>> {
        let case_number = case_number.to_owned();
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
                return Ok(None);
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
            let receipt = find_receipt(&tx, By::CaseNumber, &case_number)?
                .ok_or_else(|| StoreError::Data(format!("application `{case_number}` vanished")))?;
            tx.commit()?;
            Ok(Some(receipt))
        })
        .await
    }

    async fn status_history(&self, case_number: &str) -> StoreResult<Vec<StatusChange>> {
        let case_number = case_number.to_owned();
        self.with_db(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT h.status, h.changed_at
                 FROM status_history h JOIN applications a ON a.id = h.application_id
                 WHERE a.case_number = ?1 ORDER BY h.id",
            )?;
            let rows = stmt.query_map([&case_number], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (status, changed_at) = row?;
                out.push(StatusChange {
                    status: decode_status(&case_number, &status)?,
                    changed_at,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn application_count(&self) -> StoreResult<u64> {
        self.with_db(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))?;
            Ok(u64::try_from(n).map_err(|_| StoreError::Data(format!("negative count {n}")))?)
        })
        .await
    }
}
