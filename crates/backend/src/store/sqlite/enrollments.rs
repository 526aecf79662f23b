//! Enrolments, devices, credentials and the claim guard in SQLite.

use super::{SqlResult, SqliteStore};
use crate::store::{
    Admission, AttemptId, ClaimOutcome, CredentialRecord, Credentials, Device, DeviceId, Devices,
    Enrollment, Enrollments, NewDevice, NewEnrollment, StoreResult,
};
use async_trait::async_trait;
use cds_qr::credential::Subject;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

fn find_enrollment(conn: &Connection, code_sha256: &str) -> SqlResult<Option<Enrollment>> {
    Ok(conn
        .query_row(
            "SELECT id_number, full_name, date_of_birth, expires_at, claimed_at
             FROM enrollments WHERE code_sha256 = ?1",
            [code_sha256],
            |r| {
                Ok(Enrollment {
                    subject: Subject {
                        id_number: r.get(0)?,
                        full_name: r.get(1)?,
                        date_of_birth: r.get(2)?,
                    },
                    expires_at: r.get(3)?,
                    claimed_at: r.get(4)?,
                })
            },
        )
        .optional()?)
}

fn insert_credential(
    conn: &Connection,
    c: &CredentialRecord,
    device: Option<DeviceId>,
) -> SqlResult<()> {
    conn.execute(
        "INSERT INTO credentials (id, kid, disclosure, id_number, issued_at, expires, device_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.credential_id,
            c.kid,
            c.disclosure,
            c.id_number,
            c.issued_at,
            c.expires,
            device.map(|d| d.0)
        ],
    )?;
    Ok(())
}

#[async_trait]
impl Enrollments for SqliteStore {
    async fn insert_enrollment(&self, new: NewEnrollment) -> StoreResult<bool> {
        self.with_db(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO enrollments (code_sha256, id_number, full_name, date_of_birth,
                                          created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (code_sha256) DO NOTHING",
                params![
                    new.code_sha256,
                    new.subject.id_number,
                    new.subject.full_name,
                    new.subject.date_of_birth,
                    new.created_at,
                    new.expires_at
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn enrollment_by_code(&self, code_sha256: &str) -> StoreResult<Option<Enrollment>> {
        let code_sha256 = code_sha256.to_owned();
        self.with_db(move |conn| find_enrollment(conn, &code_sha256))
            .await
    }

    async fn claim_code(
        &self,
        code_sha256: &str,
        now: i64,
        device: NewDevice,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<ClaimOutcome> {
        let code_sha256 = code_sha256.to_owned();
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The condition is in the UPDATE itself, so the check and the
            // consumption are one step whatever the isolation level.
            let enrollment_id: Option<i64> = tx
                .query_row(
                    "UPDATE enrollments SET claimed_at = ?2
                     WHERE code_sha256 = ?1 AND claimed_at IS NULL AND ?2 < expires_at
                     RETURNING id",
                    params![code_sha256, now],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(enrollment_id) = enrollment_id else {
                return Ok(match find_enrollment(&tx, &code_sha256)? {
                    None => ClaimOutcome::Unknown,
                    Some(e) if e.claimed_at.is_some() => ClaimOutcome::AlreadyUsed,
                    Some(e) => ClaimOutcome::Expired {
                        expires_at: e.expires_at,
                    },
                });
            };
            let device_id: i64 = tx.query_row(
                "INSERT INTO devices (token_sha256, enrollment_id, device_name, created_at,
                                      last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 RETURNING id",
                params![device.token_sha256, enrollment_id, device.device_name, now],
                |r| r.get(0),
            )?;
            let device_id = DeviceId(device_id);
            for c in &credentials {
                insert_credential(&tx, c, Some(device_id))?;
            }
            // Consuming the code, registering the device and recording the
            // credentials commit together or not at all.
            tx.commit()?;
            Ok(ClaimOutcome::Claimed { device: device_id })
        })
        .await
    }

    async fn admit_claim_attempt(
        &self,
        now: i64,
        window_secs: i64,
        max: u32,
    ) -> StoreResult<Admission> {
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM claim_attempts WHERE at <= ?1",
                [now.saturating_sub(window_secs)],
            )?;
            let (count, oldest): (i64, Option<i64>) =
                tx.query_row("SELECT COUNT(*), MIN(at) FROM claim_attempts", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            if count >= i64::from(max) {
                tx.commit()?;
                return Ok(Admission::Refused {
                    oldest_at: oldest.unwrap_or(now),
                });
            }
            let id: i64 = tx.query_row(
                "INSERT INTO claim_attempts (at) VALUES (?1) RETURNING id",
                [now],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(Admission::Admitted(AttemptId(id)))
        })
        .await
    }

    async fn release_claim_attempt(&self, attempt: AttemptId) -> StoreResult<()> {
        self.with_db(move |conn| {
            conn.execute("DELETE FROM claim_attempts WHERE id = ?1", [attempt.0])?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Devices for SqliteStore {
    async fn active_device(&self, token_sha256: &str) -> StoreResult<Option<Device>> {
        let token_sha256 = token_sha256.to_owned();
        // The lookup compares hashes, so its timing tells nothing useful
        // about the token itself.
        self.with_db(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT d.id, e.id_number, e.full_name, e.date_of_birth
                     FROM devices d JOIN enrollments e ON e.id = d.enrollment_id
                     WHERE d.token_sha256 = ?1 AND d.forgotten_at IS NULL",
                    [token_sha256],
                    |r| {
                        Ok(Device {
                            id: DeviceId(r.get(0)?),
                            subject: Subject {
                                id_number: r.get(1)?,
                                full_name: r.get(2)?,
                                date_of_birth: r.get(3)?,
                            },
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn record_refresh(
        &self,
        device: DeviceId,
        now: i64,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<bool> {
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE devices SET last_used_at = ?2 WHERE id = ?1 AND forgotten_at IS NULL",
                params![device.0, now],
            )?;
            if n == 0 {
                return Ok(false);
            }
            for c in &credentials {
                insert_credential(&tx, c, Some(device))?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn forget_device(&self, token_sha256: &str, now: i64) -> StoreResult<bool> {
        let token_sha256 = token_sha256.to_owned();
        self.with_db(move |conn| {
            let n = conn.execute(
                "UPDATE devices SET forgotten_at = ?2
                 WHERE token_sha256 = ?1 AND forgotten_at IS NULL",
                params![token_sha256, now],
            )?;
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl Credentials for SqliteStore {
    async fn insert_credential(&self, record: CredentialRecord) -> StoreResult<()> {
        self.with_db(move |conn| insert_credential(conn, &record, None))
            .await
    }

    async fn revoke_credential(&self, credential_id: &str, now: i64) -> StoreResult<Option<i64>> {
        let key = credential_id.to_owned();
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![key, now],
            )?;
            let at = tx
                .query_row(
                    "SELECT revoked_at FROM credentials WHERE id = ?1",
                    [&key],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()?
                .flatten();
            tx.commit()?;
            Ok(at)
        })
        .await
    }

    async fn revoked_ids(&self, now: i64) -> StoreResult<Vec<String>> {
        self.with_db(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND expires > ?1
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([now], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?);
            }
            Ok(out)
        })
        .await
    }
}
