//! The sync service: delivers the outbox, refreshes the statuses of
//! delivered applications and the catalogue, and is the one place the
//! shell's background driver calls ([`AppCore::tick`]).
//!
//! The vault is the outbox: [`VaultOutbox`] implements `cds_sync::Outbox`
//! over the vault's mutex (a short lock per call, never across a network
//! call), and stores every failure with its typed [`DeliveryErrorKind`]
//! ([`delivery_kind`], an exhaustive map from `SyncError`). The
//! [`AppCore::tick`] is what the shell's scheduler drives
//! ([`cds_sync::backoff`]: backoff with full jitter while the city is
//! unavailable, the idle period otherwise).

use crate::error::{from_sync, from_vault};
use crate::{lock, AppCore};
use cds_api::{ApplicationReceipt, SubmitApplication};
use cds_sync::backoff::Attempt;
use cds_sync::{CityClient, Outbox, SyncError};
use cds_vault::{DeliveryErrorKind, Vault};
use cds_view::{ErrorKind, IpcError, SyncReport};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

/// The city client for `url`, trusting the CA in `ca` (or nothing extra).
pub(crate) fn make_client(url: &str, ca: Option<&Path>) -> Result<CityClient, IpcError> {
    let pem = match ca {
        Some(p) => Some(std::fs::read(p).map_err(|e| {
            IpcError::new(
                ErrorKind::TlsUntrusted,
                format!("cannot read the city CA certificate {}: {e}", p.display()),
            )
        })?),
        None => None,
    };
    CityClient::new(url, pem.as_deref()).map_err(from_sync)
}

/// What one drain did.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub delivered: u32,
    /// Idempotency keys the city definitely refused in this run.
    pub refused: Vec<String>,
    /// The error that stopped the run (transient) or the last refusal.
    pub error: Option<IpcError>,
}

/// The vault as the sync crate's outbox.
pub(crate) struct VaultOutbox<'a>(pub &'a Mutex<Vault>);

impl Outbox for VaultOutbox<'_> {
    type Error = IpcError;

    fn pending(&self) -> Result<Vec<SubmitApplication>, IpcError> {
        lock(self.0).pending_applications().map_err(from_vault)
    }

    fn delivered(&self, receipt: &ApplicationReceipt) -> Result<(), IpcError> {
        lock(self.0)
            .mark_delivered(&receipt.idempotency_key, receipt)
            .map_err(from_vault)
    }

    fn failed(&self, key: &str, error: &SyncError) -> Result<(), IpcError> {
        lock(self.0)
            .record_delivery_failure(
                key,
                delivery_kind(error),
                &error.to_string(),
                error.retry_after_secs(),
            )
            .map_err(from_vault)
    }
}

/// Why a delivery failed, as the vault stores it. Exhaustive: a new
/// `SyncError` variant does not compile until it is given a kind here.
pub(crate) fn delivery_kind(e: &SyncError) -> DeliveryErrorKind {
    match e {
        SyncError::Unreachable { .. } => DeliveryErrorKind::Unreachable,
        SyncError::TlsUntrusted { .. } => DeliveryErrorKind::Tls,
        SyncError::Unavailable { .. } => DeliveryErrorKind::ServerUnavailable,
        SyncError::Rejected {
            status: 401 | 403, ..
        } => DeliveryErrorKind::Unauthorized,
        SyncError::Rejected { status: 429, .. } => DeliveryErrorKind::RateLimited,
        SyncError::Rejected { .. } => DeliveryErrorKind::Refused,
        SyncError::Protocol(_) => DeliveryErrorKind::BadResponse,
        SyncError::Config(_) => DeliveryErrorKind::Internal,
    }
}

/// The kind the UI shows for a stored delivery failure. Exhaustive, and
/// the same as [`crate::error::from_sync`] gives for the error that was
/// stored (a test checks every `SyncError` shape).
pub(crate) fn view_kind(kind: DeliveryErrorKind) -> ErrorKind {
    match kind {
        DeliveryErrorKind::Unreachable
        | DeliveryErrorKind::Timeout
        | DeliveryErrorKind::ServerUnavailable => ErrorKind::BackendUnreachable,
        DeliveryErrorKind::Tls => ErrorKind::TlsUntrusted,
        DeliveryErrorKind::RateLimited => ErrorKind::RateLimited,
        DeliveryErrorKind::Unauthorized => ErrorKind::Unauthorized,
        DeliveryErrorKind::Refused | DeliveryErrorKind::BadResponse => ErrorKind::BackendRejected,
        DeliveryErrorKind::Internal => ErrorKind::Internal,
    }
}

/// The stored delivery failure of an application as the UI sees it.
pub(crate) fn stored_delivery_error(r: &cds_vault::ApplicationRecord) -> Option<IpcError> {
    let message = r.last_error.as_deref()?;
    let err = match r.last_error_kind {
        Some(kind) => IpcError::new(view_kind(kind), message),
        None => legacy_delivery_error(message),
    };
    Some(match r.last_error_retry_after_secs {
        Some(secs) => err.with_retry_after(secs),
        None => err,
    })
}

/// A failure stored without a typed kind, by an earlier version: as text
/// `"<kind>[/<retry secs>] <message>"`, or (older still) the English
/// message alone, shown with the `internal` kind. The next delivery attempt
/// stores it again, typed.
fn legacy_delivery_error(stored: &str) -> IpcError {
    let decoded = stored.split_once(' ').and_then(|(head, message)| {
        let (code, secs) = match head.split_once('/') {
            Some((code, secs)) => (code, Some(secs.parse::<u64>().ok()?)),
            None => (head, None),
        };
        Some(IpcError {
            retry_after_secs: secs,
            ..IpcError::new(ErrorKind::from_code(code)?, message)
        })
    });
    decoded.unwrap_or_else(|| IpcError::new(ErrorKind::Internal, stored))
}

/// Delivers every queued application, oldest first, except those in
/// `refused` (see [`cds_sync::drain`]), and records each failure on its
/// application, typed.
pub(crate) async fn drain(
    vault: &Mutex<Vault>,
    client: &CityClient,
    refused: &HashSet<String>,
) -> Result<Drained, IpcError> {
    let report = cds_sync::drain(&VaultOutbox(vault), client, refused).await?;
    Ok(Drained {
        delivered: report.delivered.len() as u32,
        refused: report.rejected,
        error: report.error.map(from_sync),
    })
}

/// Whether an error of the background sync means "the city is not
/// available now" (back off and retry), as opposed to a refusal or a local
/// problem that retrying sooner or later does not change.
fn is_temporary_kind(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::BackendUnreachable | ErrorKind::TlsUntrusted | ErrorKind::RateLimited
    )
}

impl AppCore {
    /// Delivers the whole outbox (refused applications included: the
    /// citizen asked), refreshes delivered applications' statuses and the
    /// catalogue. Safe to call from several places at once.
    pub async fn sync(&self) -> SyncReport {
        self.sync_with(true).await
    }

    /// The background tick's sync: like [`AppCore::sync`], but applications
    /// the city refused are not sent again.
    pub async fn sync_background(&self) -> SyncReport {
        self.sync_with(false).await
    }

    /// The background work, driven by the shell's scheduler
    /// ([`cds_sync::backoff::run`]): deliver what is pending, then keep the
    /// citizen QR and the city's keys fresh. Says whether the city was
    /// unavailable, so the scheduler backs off instead of trying every few
    /// seconds while the device is offline.
    pub async fn tick(&self) -> Attempt {
        let mut attempt = Attempt::Done;
        if self.has_pending() {
            let report = self.sync_background().await;
            if let Some(e) = &report.error {
                if is_temporary_kind(e.kind) {
                    attempt = Attempt::Unavailable {
                        retry_after: e.retry_after_secs.map(std::time::Duration::from_secs),
                    };
                }
            }
        }
        self.qr_tick().await;
        attempt
    }

    async fn sync_with(&self, retry_refused: bool) -> SyncReport {
        let _gate = self.sync_gate.lock().await;
        let refused = if retry_refused {
            lock(&self.refused).clear();
            HashSet::new()
        } else {
            lock(&self.refused).clone()
        };
        let report = self.sync_inner(&refused).await;
        *lock(&self.last_sync_error) = report.error.clone();
        report
    }

    async fn sync_inner(&self, refused: &HashSet<String>) -> SyncReport {
        let vault = match self.vault() {
            Ok(v) => v,
            Err(e) => {
                return SyncReport {
                    delivered: 0,
                    still_pending: 0,
                    error: Some(e),
                }
            }
        };
        let pending_now = || {
            lock(&vault)
                .pending_applications()
                .map(|p| p.len() as u32)
                .unwrap_or(0)
        };
        let client = match &self.client {
            Ok(c) => c,
            Err(e) => {
                return SyncReport {
                    delivered: 0,
                    still_pending: pending_now(),
                    error: Some(e.clone()),
                }
            }
        };
        let (delivered, mut error) = match drain(&vault, client, refused).await {
            Ok(d) => {
                lock(&self.refused).extend(d.refused);
                (d.delivered, d.error)
            }
            Err(e) => (0, Some(e)),
        };
        if error.is_none() {
            if let Err(e) = self.refresh_statuses(&vault, client).await {
                error = Some(e);
            }
            self.refresh_catalogue(client).await;
        }
        SyncReport {
            delivered,
            still_pending: pending_now(),
            error,
        }
    }

    async fn refresh_statuses(
        &self,
        vault: &Mutex<Vault>,
        client: &CityClient,
    ) -> Result<(), IpcError> {
        use cds_api::ApplicationStatus::{Approved, Rejected};
        let open: Vec<_> = lock(vault)
            .list_applications()
            .map_err(from_vault)?
            .into_iter()
            .filter_map(|r| r.receipt)
            .filter(|rc| !matches!(rc.status, Approved | Rejected))
            .collect();
        // One case the city cannot answer for (unknown, a transient error)
        // does not keep the others from being refreshed: every case is
        // asked, and the first failure is reported afterwards.
        let mut first_error = None;
        for old in open {
            match client.application(&old.case_number).await {
                Ok(fresh) if fresh != old => {
                    if let Err(e) = lock(vault).mark_delivered(&old.idempotency_key, &fresh) {
                        first_error.get_or_insert(from_vault(e));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(case = %old.case_number, error = %e, "status refresh failed");
                    first_error.get_or_insert(from_sync(e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn refresh_catalogue(&self, client: &CityClient) {
        match client.services().await {
            Ok(list) if !list.is_empty() => {
                if let Ok(json) = serde_json::to_vec_pretty(&list) {
                    // Write-then-rename so a crash never leaves half a file.
                    let tmp = self.services_cache.with_extension("json.tmp");
                    if std::fs::write(&tmp, json).is_ok() {
                        let _ = std::fs::rename(&tmp, &self.services_cache);
                    }
                }
                *lock(&self.services) = list;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "catalogue refresh failed"),
        }
    }

    /// Whether the background tick has something to send (applications the
    /// city refused do not count; see [`AppCore::sync_background`]).
    pub fn has_pending(&self) -> bool {
        let refused = lock(&self.refused).clone();
        match self.vault() {
            Ok(v) => lock(&v)
                .pending_applications()
                .map(|p| p.iter().any(|a| !refused.contains(&a.idempotency_key)))
                .unwrap_or(false),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cds_api::ApiErrorKind;

    fn record(
        kind: Option<DeliveryErrorKind>,
        message: &str,
        retry: Option<u64>,
    ) -> cds_vault::ApplicationRecord {
        cds_vault::ApplicationRecord {
            submission: SubmitApplication {
                idempotency_key: "k".into(),
                service_code: "1.001612".into(),
                applicant: cds_api::Applicant {
                    id_number: "079201000777".into(),
                    full_name: "Võ Minh Đức".into(),
                    date_of_birth: "2001-12-24".into(),
                },
                documents: vec![],
                submitted_at: "2026-11-28T08:00:00Z".into(),
            },
            receipt: None,
            last_error: Some(message.into()),
            last_error_kind: kind,
            last_error_retry_after_secs: retry,
            created_at: "2026-11-28T08:00:00Z".into(),
        }
    }

    /// Every shape of `SyncError`: the stored kind reads back as the kind
    /// the citizen saw when it happened, with the city's wait.
    #[test]
    fn a_stored_failure_reads_back_as_the_error_that_was_stored() {
        let rejected = |status, kind| SyncError::Rejected {
            status,
            kind,
            message: "m".into(),
            retry_after_secs: (status == 429).then_some(30),
        };
        let all = [
            SyncError::Unreachable {
                url: "u".into(),
                detail: "d".into(),
            },
            SyncError::TlsUntrusted { detail: "d".into() },
            SyncError::Unavailable {
                status: 503,
                message: "m".into(),
                retry_after_secs: Some(120),
            },
            rejected(401, ApiErrorKind::Unauthorized),
            rejected(429, ApiErrorKind::RateLimited),
            rejected(422, ApiErrorKind::InvalidInput),
            SyncError::Protocol("p".into()),
            SyncError::Config("c".into()),
        ];
        for e in all {
            let live = from_sync(clone_error(&e));
            let stored = record(
                Some(delivery_kind(&e)),
                &e.to_string(),
                e.retry_after_secs(),
            );
            let back = stored_delivery_error(&stored).unwrap();
            assert_eq!(back.kind, live.kind, "{e:?}");
            assert_eq!(back.retry_after_secs, live.retry_after_secs, "{e:?}");
            assert_eq!(back.message, live.message);
        }
        assert_eq!(
            delivery_kind(&rejected(403, ApiErrorKind::Unauthorized)),
            DeliveryErrorKind::Unauthorized
        );
        assert!(!delivery_kind(&rejected(422, ApiErrorKind::InvalidInput)).is_temporary());
        assert!(delivery_kind(&rejected(429, ApiErrorKind::RateLimited)).is_temporary());
    }

    fn clone_error(e: &SyncError) -> SyncError {
        match e {
            SyncError::Unreachable { url, detail } => SyncError::Unreachable {
                url: url.clone(),
                detail: detail.clone(),
            },
            SyncError::TlsUntrusted { detail } => SyncError::TlsUntrusted {
                detail: detail.clone(),
            },
            SyncError::Rejected {
                status,
                kind,
                message,
                retry_after_secs,
            } => SyncError::Rejected {
                status: *status,
                kind: *kind,
                message: message.clone(),
                retry_after_secs: *retry_after_secs,
            },
            SyncError::Unavailable {
                status,
                message,
                retry_after_secs,
            } => SyncError::Unavailable {
                status: *status,
                message: message.clone(),
                retry_after_secs: *retry_after_secs,
            },
            SyncError::Protocol(m) => SyncError::Protocol(m.clone()),
            SyncError::Config(m) => SyncError::Config(m.clone()),
        }
    }

    #[test]
    fn a_failure_stored_by_an_earlier_version_keeps_its_kind_and_retry_after() {
        let e = stored_delivery_error(&record(None, "rate_limited/30 too many attempts", None))
            .unwrap();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after_secs, Some(30));
        assert_eq!(e.message, "too many attempts");
        let e = stored_delivery_error(&record(
            None,
            "backend_unreachable the city could not be reached",
            None,
        ))
        .unwrap();
        assert_eq!(e.kind, ErrorKind::BackendUnreachable);
        assert_eq!(e.retry_after_secs, None);
        // Older vaults stored only the English text.
        let e = stored_delivery_error(&record(
            None,
            "the city backend at https://x could not be reached: d",
            None,
        ))
        .unwrap();
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(e.message.starts_with("the city backend"));
        // No failure, nothing shown.
        let mut none = record(None, "", None);
        none.last_error = None;
        assert_eq!(stored_delivery_error(&none), None);
    }
}
