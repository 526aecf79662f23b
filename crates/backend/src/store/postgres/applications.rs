//! The catalogue and applications in PostgreSQL.

use super::{in_tx, on_client, PgResult, PgStore};
use crate::store::{
    decode_required_documents, decode_status, encode_required_documents, Applications,
    InsertOutcome, NewApplication, Services, StatusChange, StoreError, StoreResult,
};
use async_trait::async_trait;
use cds_api::{ApplicationReceipt, ApplicationStatus, ServiceInfo};
use tokio_postgres::{GenericClient, Row};

const SERVICE_COLUMNS: &str = "code, name_vi, name_en, agency_vi, agency_en, fee_vnd,
                               processing_days, fully_online, required_documents";

const RECEIPT_COLUMNS: &str = "case_number, idempotency_key, service_code, status, received_at,
                               due_date, payload_sha256";

fn decode_service(row: &Row) -> PgResult<ServiceInfo> {
    let code: String = row.try_get(0)?;
    let bad = |what: &str| StoreError::Data(format!("service `{code}`: bad {what}"));
    let fee: i64 = row.try_get(5)?;
    let days: i32 = row.try_get(6)?;
    let kinds: String = row.try_get(8)?;
    let required_documents =
        decode_required_documents(&kinds).ok_or_else(|| bad("required_documents"))?;
    Ok(ServiceInfo {
        fee_vnd: u64::try_from(fee).map_err(|_| bad("fee_vnd"))?,
        processing_days: u32::try_from(days).map_err(|_| bad("processing_days"))?,
        name_vi: row.try_get(1)?,
        name_en: row.try_get(2)?,
        agency_vi: row.try_get(3)?,
        agency_en: row.try_get(4)?,
        fully_online: row.try_get(7)?,
        required_documents,
        code,
    })
}

/// A receipt and its stored payload digest from a row of `RECEIPT_COLUMNS`.
fn decode_receipt(row: &Row) -> PgResult<(ApplicationReceipt, String)> {
    let case_number: String = row.try_get(0)?;
    let status: String = row.try_get(3)?;
    let status = decode_status(&case_number, &status)?;
    Ok((
        ApplicationReceipt {
            idempotency_key: row.try_get(1)?,
            service_code: row.try_get(2)?,
            status,
            received_at: row.try_get(4)?,
            due_date: row.try_get(5)?,
            case_number,
        },
        row.try_get(6)?,
    ))
}

async fn find_by(
    c: &impl GenericClient,
    column: &str,
    value: &str,
) -> PgResult<Option<(ApplicationReceipt, String)>> {
    let sql = format!("SELECT {RECEIPT_COLUMNS} FROM applications WHERE {column} = $1");
    match c.query_opt(sql.as_str(), &[&value]).await? {
        Some(row) => Ok(Some(decode_receipt(&row)?)),
        None => Ok(None),
    }
}

#[async_trait]
impl Services for PgStore {
    async fn services(&self) -> StoreResult<Vec<ServiceInfo>> {
        on_client!(self, |c| {
            let rows = c
                .query(
                    format!("SELECT {SERVICE_COLUMNS} FROM services").as_str(),
                    &[],
                )
                .await?;
            let mut all = rows
                .iter()
                .map(decode_service)
                .collect::<PgResult<Vec<_>>>()?;
            // Byte order of the code, whatever the database's collation
            // (`en_US` would ignore the dots).
            all.sort_by(|a, b| a.code.cmp(&b.code));
            Ok(all)
        })
    }

    async fn service(&self, code: &str) -> StoreResult<Option<ServiceInfo>> {
        on_client!(self, |c| {
            let row = c
                .query_opt(
                    format!("SELECT {SERVICE_COLUMNS} FROM services WHERE code = $1").as_str(),
                    &[&code],
                )
                .await?;
            row.as_ref().map(decode_service).transpose()
        })
    }

    async fn seed_services_if_empty(&self, services: Vec<ServiceInfo>) -> StoreResult<bool> {
        // Serializable: of two instances seeding an empty catalogue at once,
        // one commits and the other is retried, finds it seeded, and stops.
        in_tx!(self, |tx| {
            let row = tx.query_one("SELECT COUNT(*) FROM services", &[]).await?;
            if row.try_get::<_, i64>(0)? != 0 {
                return Ok(false);
            }
            for s in &services {
                let fee = i64::try_from(s.fee_vnd)
                    .map_err(|_| StoreError::Data(format!("fee of `{}` too large", s.code)))?;
                let days = i32::try_from(s.processing_days).map_err(|_| {
                    StoreError::Data(format!("processing days of `{}` too large", s.code))
                })?;
                let kinds = encode_required_documents(&s.required_documents)?;
                tx.execute(
                    format!(
                        "INSERT INTO services ({SERVICE_COLUMNS})
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    )
                    .as_str(),
                    &[
                        &s.code,
                        &s.name_vi,
                        &s.name_en,
                        &s.agency_vi,
                        &s.agency_en,
                        &fee,
                        &days,
                        &s.fully_online,
                        &kinds,
                    ],
                )
                .await?;
            }
            Ok(true)
        })
    }
}

impl PgStore {
    /// The stored receipt under `key`, as an insert's answer.
    async fn existing(&self, key: &str) -> StoreResult<Option<InsertOutcome>> {
        on_client!(self, |c| {
            Ok(find_by(c, "idempotency_key", key)
                .await?
                .map(|(receipt, payload_sha256)| InsertOutcome::Existing {
                    receipt,
                    payload_sha256,
                }))
        })
    }
}

#[async_trait]
impl Applications for PgStore {
    /// Three single statements, no explicit transaction, so concurrent
    /// submissions never make each other fail:
    ///
    /// 1. a stored key answers first (a replay allocates nothing);
    /// 2. the next case number comes from the year's counter row, bumped
    ///    by one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (concurrent
    ///    bumps queue on the row's lock for the length of one statement,
    ///    where a serializable read of `MAX(case_seq)` made every
    ///    concurrent insert but one fail and retry, and under load give
    ///    up). `GREATEST` with the stored maximum keeps the counter ahead
    ///    of any number written another way (an older backend during an
    ///    upgrade);
    /// 3. the row is inserted with `ON CONFLICT (idempotency_key) DO
    ///    NOTHING`: a concurrent request with the same key that won leaves
    ///    nothing inserted here, and its stored receipt is answered.
    ///
    /// A number drawn in 2 but not used (the key turned out to be stored,
    /// or the process died before 3) is a gap in the year's sequence,
    /// never a number given twice. CockroachDB and YugabyteDB run each of
    /// the three as an implicit transaction, retried by the server.
    async fn insert_once(&self, new: NewApplication) -> StoreResult<InsertOutcome> {
        if let Some(existing) = self.existing(&new.idempotency_key).await? {
            return Ok(existing);
        }
        // A clash on the case number cannot come from this allocator; if
        // one is met all the same, draw again (bounded).
        for _ in 0..super::MAX_TX_ATTEMPTS {
            let seq: i64 = on_client!(self, |c| {
                let row = c
                    .query_one(
                        "INSERT INTO case_counters (case_year, last_seq)
                         VALUES ($1, COALESCE((SELECT MAX(case_seq) FROM applications
                                               WHERE case_year = $1), 0) + 1)
                         ON CONFLICT (case_year) DO UPDATE
                             SET last_seq = GREATEST(case_counters.last_seq + 1,
                                                     EXCLUDED.last_seq)
                         RETURNING last_seq",
                        &[&new.case_year],
                    )
                    .await?;
                Ok(row.try_get(0)?)
            })?;
            let case_number = crate::domain::rules::case_number(new.case_year, seq);
            let inserted = on_client!(self, |c| {
                let outcome = c
                    .query_opt(
                        "INSERT INTO applications (case_number, case_year, case_seq,
                                                   idempotency_key, payload_sha256,
                                                   payload_json, service_code, status,
                                                   received_at, due_date)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         ON CONFLICT (idempotency_key) DO NOTHING
                         RETURNING id",
                        &[
                            &case_number,
                            &new.case_year,
                            &seq,
                            &new.idempotency_key,
                            &new.payload_sha256,
                            &new.payload_json,
                            &new.service_code,
                            &new.status.code(),
                            &new.received_at,
                            &new.due_date,
                        ],
                    )
                    .await;
                match outcome {
                    Ok(row) => Ok(Some(row.is_some())),
                    // Another constraint than the key's: the number.
                    Err(e)
                        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e.into()),
                }
            })?;
            match inserted {
                Some(true) => return Ok(InsertOutcome::Created(new.receipt(case_number))),
                Some(false) => {
                    return self.existing(&new.idempotency_key).await?.ok_or_else(|| {
                        StoreError::Data(format!(
                            "idempotency key `{}` clashed but is not stored",
                            new.idempotency_key
                        ))
                    })
                }
                None => self.note_retry(),
            }
        }
        Err(StoreError::Database(
            "no free case number after repeated draws".into(),
        ))
    }

    async fn application(&self, case_number: &str) -> StoreResult<Option<ApplicationReceipt>> {
        on_client!(self, |c| {
            Ok(find_by(c, "case_number", case_number)
                .await?
                .map(|(r, _)| r))
        })
    }

    async fn set_status(
        &self,
        case_number: &str,
        status: ApplicationStatus,
        changed_at: String,
    ) -> StoreResult<Option<ApplicationReceipt>> {
        in_tx!(self, |tx| {
            let Some(row) = tx
                .query_opt(
                    "UPDATE applications SET status = $2 WHERE case_number = $1 RETURNING id",
                    &[&case_number, &status.code()],
                )
                .await?
            else {
                return Ok(None);
            };
            let id: i64 = row.try_get(0)?;
            tx.execute(
                "INSERT INTO status_history (application_id, seq, status, changed_at)
                 SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3
                 FROM status_history WHERE application_id = $1",
                &[&id, &status.code(), &changed_at],
            )
            .await?;
            let receipt = find_by(&tx, "case_number", case_number)
                .await?
                .map(|(r, _)| r)
                .ok_or_else(|| StoreError::Data(format!("application `{case_number}` vanished")))?;
            Ok(Some(receipt))
        })
    }

    async fn status_history(&self, case_number: &str) -> StoreResult<Vec<StatusChange>> {
        on_client!(self, |c| {
            let rows = c
                .query(
                    "SELECT h.status, h.changed_at
                     FROM status_history h JOIN applications a ON a.id = h.application_id
                     WHERE a.case_number = $1 ORDER BY h.seq",
                    &[&case_number],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let status: String = r.try_get(0)?;
                    Ok(StatusChange {
                        status: decode_status(case_number, &status)?,
                        changed_at: r.try_get(1)?,
                    })
                })
                .collect::<PgResult<Vec<_>>>()
        })
    }

    async fn application_count(&self) -> StoreResult<u64> {
        on_client!(self, |c| {
            let row = c
                .query_one("SELECT COUNT(*) FROM applications", &[])
                .await?;
            let n: i64 = row.try_get(0)?;
            Ok(u64::try_from(n).map_err(|_| StoreError::Data(format!("negative count {n}")))?)
        })
    }
}
