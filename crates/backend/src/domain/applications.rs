//! Submitting applications exactly once, looking them up, changing status.

use crate::domain::rules;
use crate::store::{Applications, InsertOutcome, NewApplication, Services};
use crate::BackendError;
use cds_api::{ApplicationReceipt, ApplicationStatus, SubmitApplication};
use cds_domain::Clock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The result of [`submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    pub receipt: ApplicationReceipt,
    /// `true` when this call stored the application, `false` when it was
    /// already stored under the same key with the same payload.
    pub created: bool,
}

/// Stores a submission exactly once.
///
/// Validates it (shape, catalogue, required documents), then lets the store
/// insert it once per idempotency key. If the key is already stored, the
/// stored payload digest decides: equal → the stored receipt
/// (`created: false`); different → [`BackendError::IdempotencyConflict`].
pub async fn submit<S>(
    store: &S,
    clock: &dyn Clock,
    req: SubmitApplication,
) -> Result<SubmitOutcome, BackendError>
where
    S: Services + Applications + ?Sized,
{
    let now = clock.now();
    rules::validate_submission(&req, now.date())?;
    let (payload_json, digest) = rules::payload_digest(&req)?;
    let service = store.service(&req.service_code).await?.ok_or_else(|| {
        BackendError::Unprocessable(format!(
            "unknown service_code `{}`: not in the catalogue",
            req.service_code
        ))
    })?;
    rules::check_against_service(&req, &service)?;
    let today = now.date();
    let due = rules::add_working_days(today, service.processing_days).ok_or_else(|| {
        BackendError::Data(format!("due date of `{}` out of range", service.code))
    })?;
    let new = NewApplication {
        idempotency_key: req.idempotency_key.clone(),
        payload_sha256: digest.clone(),
        payload_json,
        service_code: req.service_code.clone(),
        status: ApplicationStatus::Received,
        received_at: rfc3339_seconds(now)?,
        due_date: rules::format_iso_date(due),
        case_year: today.year(),
    };
    match store.insert_once(new).await? {
        InsertOutcome::Created(receipt) => Ok(SubmitOutcome {
            receipt,
            created: true,
        }),
        InsertOutcome::Existing {
            receipt,
            payload_sha256,
        } if payload_sha256 == digest => Ok(SubmitOutcome {
            receipt,
            created: false,
        }),
        InsertOutcome::Existing { receipt, .. } => Err(BackendError::IdempotencyConflict(format!(
            "idempotency key `{}` was already used for a different application ({})",
            req.idempotency_key, receipt.case_number
        ))),
    }
}

fn not_found(case_number: &str) -> BackendError {
    BackendError::NotFound(format!("no application with case number `{case_number}`"))
}

/// The receipt of a stored application.
pub async fn application<S: Applications + ?Sized>(
    store: &S,
    case_number: &str,
) -> Result<ApplicationReceipt, BackendError> {
    store
        .application(case_number)
        .await?
        .ok_or_else(|| not_found(case_number))
}

/// Changes an application's status (the city's back office; here the
/// `set-status` admin command) and records it, at the clock's now, in the
/// status history.
pub async fn set_status<S: Applications + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    case_number: &str,
    status: ApplicationStatus,
) -> Result<ApplicationReceipt, BackendError> {
    let changed_at = rfc3339_seconds(clock.now())?;
    store
        .set_status(case_number, status, changed_at)
        .await?
        .ok_or_else(|| not_found(case_number))
}

/// RFC 3339 in whole seconds (what receipts carry).
pub(crate) fn rfc3339_seconds(now: OffsetDateTime) -> Result<String, BackendError> {
    let secs = OffsetDateTime::from_unix_timestamp(now.unix_timestamp())
        .map_err(|e| BackendError::Data(format!("bad clock: {e}")))?;
    secs.format(&Rfc3339)
        .map_err(|e| BackendError::Data(format!("cannot format time: {e}")))
}
