//! Enrolments, devices, credentials and the claim guard in PostgreSQL.

use super::{in_tx, on_client, PgResult, PgStore};
use crate::store::{
    Admission, AttemptId, ClaimOutcome, CredentialRecord, Credentials, Device, DeviceId, Devices,
    Enrollment, Enrollments, NewDevice, NewEnrollment, StoreResult,
};
use async_trait::async_trait;
use cds_qr::credential::Subject;
use tokio_postgres::GenericClient;

async fn find_enrollment(
    c: &impl GenericClient,
    code_sha256: &str,
) -> PgResult<Option<Enrollment>> {
    let row = c
        .query_opt(
            "SELECT id_number, full_name, date_of_birth, expires_at, claimed_at
             FROM enrollments WHERE code_sha256 = $1",
            &[&code_sha256],
        )
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    Ok(Some(Enrollment {
        subject: Subject {
            id_number: r.try_get(0)?,
            full_name: r.try_get(1)?,
            date_of_birth: r.try_get(2)?,
        },
        expires_at: r.try_get(3)?,
        claimed_at: r.try_get(4)?,
    }))
}

async fn insert_credential(
    c: &impl GenericClient,
    r: &CredentialRecord,
    device: Option<DeviceId>,
) -> PgResult<()> {
    c.execute(
        "INSERT INTO credentials (id, kid, disclosure, id_number, issued_at, expires, device_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &r.credential_id,
            &r.kid,
            &r.disclosure,
            &r.id_number,
            &r.issued_at,
            &r.expires,
            &device.map(|d| d.0),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl Enrollments for PgStore {
    async fn insert_enrollment(&self, new: NewEnrollment) -> StoreResult<bool> {
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "INSERT INTO enrollments (code_sha256, id_number, full_name, date_of_birth,
                                              created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (code_sha256) DO NOTHING",
                    &[
                        &new.code_sha256,
                        &new.subject.id_number,
                        &new.subject.full_name,
                        &new.subject.date_of_birth,
                        &new.created_at,
                        &new.expires_at,
                    ],
                )
                .await?;
            Ok(n == 1)
        })
    }

    async fn enrollment_by_code(&self, code_sha256: &str) -> StoreResult<Option<Enrollment>> {
        on_client!(self, |c| { find_enrollment(c, code_sha256).await })
    }

    async fn claim_code(
        &self,
        code_sha256: &str,
        now: i64,
        device: NewDevice,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<ClaimOutcome> {
        in_tx!(self, |tx| {
            // The condition is in the UPDATE itself: check and consumption
            // are one step; of two concurrent claims one is retried and
            // then finds the code used.
            let claimed = tx
                .query_opt(
                    "UPDATE enrollments SET claimed_at = $2
                     WHERE code_sha256 = $1 AND claimed_at IS NULL AND $2 < expires_at
                     RETURNING id",
                    &[&code_sha256, &now],
                )
                .await?;
            let Some(row) = claimed else {
                // Nothing written: ending without a commit is a rollback of
                // nothing.
                return Ok(match find_enrollment(&tx, code_sha256).await? {
                    None => ClaimOutcome::Unknown,
                    Some(e) if e.claimed_at.is_some() => ClaimOutcome::AlreadyUsed,
                    Some(e) => ClaimOutcome::Expired {
                        expires_at: e.expires_at,
                    },
                });
            };
            let enrollment_id: i64 = row.try_get(0)?;
            let row = tx
                .query_one(
                    "INSERT INTO devices (token_sha256, enrollment_id, device_name, created_at,
                                          last_used_at)
                     VALUES ($1, $2, $3, $4, $4)
                     RETURNING id",
                    &[
                        &device.token_sha256,
                        &enrollment_id,
                        &device.device_name,
                        &now,
                    ],
                )
                .await?;
            let device_id = DeviceId(row.try_get(0)?);
            for c in &credentials {
                insert_credential(&tx, c, Some(device_id)).await?;
            }
            Ok(ClaimOutcome::Claimed { device: device_id })
        })
    }

    async fn admit_claim_attempt(
        &self,
        now: i64,
        window_secs: i64,
        max: u32,
    ) -> StoreResult<Admission> {
        // Serializable: two instances counting at once cannot both see
        // room for one more; the loser is retried and sees the count.
        in_tx!(self, |tx| {
            tx.execute(
                "DELETE FROM claim_attempts WHERE at <= $1",
                &[&now.saturating_sub(window_secs)],
            )
            .await?;
            let row = tx
                .query_one("SELECT COUNT(*), MIN(at) FROM claim_attempts", &[])
                .await?;
            let count: i64 = row.try_get(0)?;
            let oldest: Option<i64> = row.try_get(1)?;
            if count >= i64::from(max) {
                return Ok(Admission::Refused {
                    oldest_at: oldest.unwrap_or(now),
                });
            }
            let row = tx
                .query_one(
                    "INSERT INTO claim_attempts (at) VALUES ($1) RETURNING id",
                    &[&now],
                )
                .await?;
            Ok(Admission::Admitted(AttemptId(row.try_get(0)?)))
        })
    }

    async fn release_claim_attempt(&self, attempt: AttemptId) -> StoreResult<()> {
        in_tx!(self, |tx| {
            tx.execute("DELETE FROM claim_attempts WHERE id = $1", &[&attempt.0])
                .await?;
            Ok(())
        })
    }
}

#[async_trait]
impl Devices for PgStore {
    async fn active_device(&self, token_sha256: &str) -> StoreResult<Option<Device>> {
        on_client!(self, |c| {
            let row = c
                .query_opt(
                    "SELECT d.id, e.id_number, e.full_name, e.date_of_birth
                     FROM devices d JOIN enrollments e ON e.id = d.enrollment_id
                     WHERE d.token_sha256 = $1 AND d.forgotten_at IS NULL",
                    &[&token_sha256],
                )
                .await?;
            let Some(r) = row else {
                return Ok(None);
            };
            Ok(Some(Device {
                id: DeviceId(r.try_get(0)?),
                subject: Subject {
                    id_number: r.try_get(1)?,
                    full_name: r.try_get(2)?,
                    date_of_birth: r.try_get(3)?,
                },
            }))
        })
    }

    async fn record_refresh(
        &self,
        device: DeviceId,
        now: i64,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<bool> {
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET last_used_at = $2 WHERE id = $1 AND forgotten_at IS NULL",
                    &[&device.0, &now],
                )
                .await?;
            if n == 0 {
                return Ok(false);
            }
            for c in &credentials {
                insert_credential(&tx, c, Some(device)).await?;
            }
            Ok(true)
        })
    }

    async fn forget_device(&self, token_sha256: &str, now: i64) -> StoreResult<bool> {
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET forgotten_at = $2
                     WHERE token_sha256 = $1 AND forgotten_at IS NULL",
                    &[&token_sha256, &now],
                )
                .await?;
            Ok(n == 1)
        })
    }
}

#[async_trait]
impl Credentials for PgStore {
    async fn insert_credential(&self, record: CredentialRecord) -> StoreResult<()> {
        in_tx!(self, |tx| { insert_credential(&tx, &record, None).await })
    }

    async fn revoke_credential(&self, credential_id: &str, now: i64) -> StoreResult<Option<i64>> {
        in_tx!(self, |tx| {
            tx.execute(
                "UPDATE credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&credential_id, &now],
            )
            .await?;
            let row = tx
                .query_opt(
                    "SELECT revoked_at FROM credentials WHERE id = $1",
                    &[&credential_id],
                )
                .await?;
            Ok(match row {
                Some(r) => r.try_get::<_, Option<i64>>(0)?,
                None => None,
            })
        })
    }

    async fn revoked_ids(&self, now: i64) -> StoreResult<Vec<String>> {
        on_client!(self, |c| {
            let rows = c
                .query(
                    "SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND expires > $1",
                    &[&now],
                )
                .await?;
            let mut ids = rows
                .iter()
                .map(|r| Ok(r.try_get::<_, String>(0)?))
                .collect::<PgResult<Vec<_>>>()?;
            // Byte order, whatever the database's collation.
            ids.sort();
            Ok(ids)
        })
    }
}
