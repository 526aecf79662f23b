//! Persistence behind traits, one per aggregate.
//!
//! The rules (`crate::domain`) see only these traits; the SQL lives in the
//! implementations ([`sqlite`], embedded, the default; [`postgres`], for a city
//! running several instances on one database). Every method
//! that changes state is **one atomic operation**: an implementation runs it
//! in one transaction and must stay correct when several backend processes
//! share the database. Nothing here may rely on SQLite's single writer:
//! exactly-once inserts rest on a unique key, case numbers on
//! `UNIQUE(case_year, case_seq)`, claims on a conditional update, the claim
//! guard on a count taken in the same transaction as the insert.
//!
//! The methods are `async` (through `async_trait`, so the store can sit
//! behind `dyn`): a native-async driver implements them directly, and the
//! SQLite store runs its blocking work on tokio's blocking pool.
//!
//! One test suite ([`suite`], run by the `store_suite!` macro) is written
//! against these traits and instantiated for every implementation.

pub mod postgres;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

use async_trait::async_trait;
use cds_api::{ApplicationReceipt, ApplicationStatus, ServiceInfo};
use cds_qr::credential::Subject;

/// What a store can fail with. Driver errors arrive as text: no driver type
/// crosses this boundary, so the rest of the backend does not depend on
/// which database is behind it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, configured or migrated.
    #[error("cannot open database {location}: {message}")]
    Open { location: String, message: String },
    /// The database was written by a newer backend than this one.
    #[error("database schema version {found} is newer than this backend knows ({known})")]
    SchemaTooNew { found: i64, known: usize },
    /// A query failed.
    #[error("database error: {0}")]
    Database(String),
    /// Stored data does not decode (corrupt row…).
    #[error("stored data is invalid: {0}")]
    Data(String),
    /// The worker running the query died.
    #[error("background task failed: {0}")]
    Task(String),
    /// The database cannot be reached now (connection refused or lost, no
    /// pooled connection in time, not migrated yet). Nothing was written:
    /// a transaction cut off before its commit is rolled back by the
    /// database.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A stored status code back to its status (both stores keep the code).
pub(crate) fn decode_status(case_number: &str, status: &str) -> StoreResult<ApplicationStatus> {
    ApplicationStatus::from_code(status).ok_or_else(|| {
        StoreError::Data(format!(
            "application `{case_number}` has unknown status `{status}`"
        ))
    })
}

/// A service's required documents as both stores keep them: a JSON array
/// of document kind codes.
pub(crate) fn encode_required_documents(kinds: &[cds_api::DocumentKind]) -> StoreResult<String> {
    let codes: Vec<&str> = kinds.iter().map(|k| k.code()).collect();
    serde_json::to_string(&codes).map_err(|e| StoreError::Data(e.to_string()))
}

/// The inverse of [`encode_required_documents`]; `None` if it is not one.
pub(crate) fn decode_required_documents(text: &str) -> Option<Vec<cds_api::DocumentKind>> {
    let codes: Vec<String> = serde_json::from_str(text).ok()?;
    codes
        .iter()
        .map(|c| cds_api::DocumentKind::from_code(c))
        .collect()
}

/// The public-service catalogue.
#[async_trait]
pub trait Services: Send + Sync {
    /// Every service, ordered by code.
    async fn services(&self) -> StoreResult<Vec<ServiceInfo>>;
    /// One service by code.
    async fn service(&self, code: &str) -> StoreResult<Option<ServiceInfo>>;
    /// Stores `services` if the catalogue is empty (first start); `true` if
    /// it did. Atomic: two instances starting at once seed once.
    async fn seed_services_if_empty(&self, services: Vec<ServiceInfo>) -> StoreResult<bool>;
}

/// An application to store, everything decided by the rules except its
/// case number, which the store assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub idempotency_key: String,
    /// Hex SHA-256 of `payload_json`.
    pub payload_sha256: String,
    pub payload_json: String,
    pub service_code: String,
    pub status: ApplicationStatus,
    /// RFC 3339, whole seconds.
    pub received_at: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// The year whose sequence numbers the case (the year of `received_at`).
    pub case_year: i32,
}

impl NewApplication {
    /// The receipt of this application once stored under `case_number`.
    pub(crate) fn receipt(&self, case_number: String) -> ApplicationReceipt {
        ApplicationReceipt {
            case_number,
            idempotency_key: self.idempotency_key.clone(),
            service_code: self.service_code.clone(),
            status: self.status,
            received_at: self.received_at.clone(),
            due_date: self.due_date.clone(),
        }
    }
}

/// The result of [`Applications::insert_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored now, with the next case number of its year.
    Created(ApplicationReceipt),
    /// The idempotency key was already stored; nothing was written. The
    /// rules compare `payload_sha256` with the new one.
    Existing {
        receipt: ApplicationReceipt,
        payload_sha256: String,
    },
}

/// One entry of an application's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: ApplicationStatus,
    /// RFC 3339.
    pub changed_at: String,
}

/// Submitted applications.
#[async_trait]
pub trait Applications: Send + Sync {
    /// Stores `new` at most once per idempotency key, giving it case number
    /// `HS-<case_year>-<n>` with `n` one more than the year's highest. Two
    /// concurrent inserts with one key store one row; two with different
    /// keys get different numbers.
    async fn insert_once(&self, new: NewApplication) -> StoreResult<InsertOutcome>;
    /// The receipt of a stored application.
    async fn application(&self, case_number: &str) -> StoreResult<Option<ApplicationReceipt>>;
    /// Sets the status and appends it to the history, atomically. `None`:
    /// no such case.
    async fn set_status(
        &self,
        case_number: &str,
        status: ApplicationStatus,
        changed_at: String,
    ) -> StoreResult<Option<ApplicationReceipt>>;
    /// The status changes of a case, oldest first.
    async fn status_history(&self, case_number: &str) -> StoreResult<Vec<StatusChange>>;
    /// Number of stored applications.
    async fn application_count(&self) -> StoreResult<u64>;
}

/// An enrolment to store: the hash of its activation code and the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollment {
    pub code_sha256: String,
    pub subject: Subject,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
}

/// A stored enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub subject: Subject,
    pub expires_at: i64,
    pub claimed_at: Option<i64>,
}

/// A device registered by a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub token_sha256: String,
    pub device_name: String,
}

/// A store's id for a registered device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceId(pub i64);

/// An active device and the citizen it was enrolled for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub subject: Subject,
}

/// What revocation and audit need of an issued credential (no name, no
/// date of birth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// UUID, hyphenated.
    pub credential_id: String,
    pub kid: String,
    pub disclosure: String,
    pub id_number: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires: i64,
}

/// The result of [`Enrollments::claim_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The code is now used, the device registered and the credentials
    /// recorded for it.
    Claimed { device: DeviceId },
    /// No enrolment has this code.
    Unknown,
    /// The code was claimed before (possibly a moment ago, by a concurrent
    /// claim).
    AlreadyUsed,
    /// The code expired at `expires_at`.
    Expired { expires_at: i64 },
}

/// A store's id for one admitted claim attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptId(pub i64);

/// The result of [`Enrollments::admit_claim_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; release it with [`Enrollments::release_claim_attempt`] if
    /// the claim succeeds.
    Admitted(AttemptId),
    /// The window is full; its oldest counted attempt was at `oldest_at`.
    Refused { oldest_at: i64 },
}

/// Activation codes and the brute-force guard in front of them.
#[async_trait]
pub trait Enrollments: Send + Sync {
    /// Stores an enrolment; `false` if its code hash is already stored
    /// (used codes included), so the caller draws another code.
    async fn insert_enrollment(&self, new: NewEnrollment) -> StoreResult<bool>;
    /// The enrolment of a code hash.
    async fn enrollment_by_code(&self, code_sha256: &str) -> StoreResult<Option<Enrollment>>;
    /// Consumes the code if it is unused and `now < expires_at`, registers
    /// `device` and records `credentials` for it: all or nothing. Of two
    /// concurrent claims of one code exactly one gets `Claimed`.
    async fn claim_code(
        &self,
        code_sha256: &str,
        now: i64,
        device: NewDevice,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<ClaimOutcome>;
    /// Counts one claim attempt at `now`, unless `max` attempts are already
    /// counted within the `window_secs` before `now` (attempts at or before
    /// `now - window_secs` no longer count). Check and count are one atomic
    /// step, so concurrent attempts, on any instance, cannot exceed `max`.
    async fn admit_claim_attempt(
        &self,
        now: i64,
        window_secs: i64,
        max: u32,
    ) -> StoreResult<Admission>;
    /// The attempt succeeded: it stops counting.
    async fn release_claim_attempt(&self, attempt: AttemptId) -> StoreResult<()>;
}

/// Devices registered by claims.
#[async_trait]
pub trait Devices: Send + Sync {
    /// The device with this token hash, unless it was signed out.
    async fn active_device(&self, token_sha256: &str) -> StoreResult<Option<Device>>;
    /// Marks the device used at `now` and records its new credentials, if
    /// it is still active; `false` (nothing written) if it was signed out.
    async fn record_refresh(
        &self,
        device: DeviceId,
        now: i64,
        credentials: Vec<CredentialRecord>,
    ) -> StoreResult<bool>;
    /// Signs the device out; `false` if no active device has this token.
    async fn forget_device(&self, token_sha256: &str, now: i64) -> StoreResult<bool>;
}

/// Issued credentials and their revocation.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Records a credential issued by an operator (no device).
    async fn insert_credential(&self, record: CredentialRecord) -> StoreResult<()>;
    /// Revokes a credential at `now`, keeping the first time if it already
    /// was; the revocation time, or `None` if no such credential.
    async fn revoke_credential(&self, credential_id: &str, now: i64) -> StoreResult<Option<i64>>;
    /// Ids of revoked credentials that have not expired at `now`, ordered.
    async fn revoked_ids(&self, now: i64) -> StoreResult<Vec<String>>;
}

/// Everything the backend stores.
#[async_trait]
pub trait Store: Services + Applications + Enrollments + Devices + Credentials {
    /// The schema version, for operators and tests.
    async fn schema_version(&self) -> StoreResult<i64>;

    /// The newest schema version this backend knows.
    fn latest_schema_version(&self) -> i64;

    /// Brings the database to [`Store::latest_schema_version`] when the
    /// store was made without touching it (PostgreSQL's
    /// `PgStore::connect_lazy`). Safe to call again, and from several
    /// instances at once.
    async fn prepare(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Whether the database is reachable and at this backend's schema:
    /// its version, or [`StoreError::Unavailable`] saying why not.
    async fn ready(&self) -> StoreResult<i64> {
        let found = self.schema_version().await?;
        let known = self.latest_schema_version();
        if found == known {
            Ok(found)
        } else {
            Err(StoreError::Unavailable(format!(
                "the database is at schema version {found}, this backend needs {known}"
            )))
        }
    }

    /// Transactions run again after a serialization failure (0 where
    /// there are none).
    fn retried_transactions(&self) -> u64 {
        0
    }
}
