//! The sync service: delivers the outbox, refreshes the statuses of
//! delivered applications and the catalogue, and is the one place the
//! shell's background driver calls ([`AppCore::tick`]).
//!
//! Seams for the sync crate's coming `Outbox` trait and scheduler:
//! - [`drain`] is the only code that sends queued applications; it becomes
//!   a call to `cds_sync`'s drain once the vault implements `Outbox` here.
//! - [`record_delivery_failure`] / [`stored_delivery_error`] are the only
//!   code that writes and reads a delivery failure; they switch to the
//!   vault's typed `DeliveryErrorKind` when it lands.
//! - [`AppCore::tick`] is what the shell's scheduler drives
//!   ([`cds_sync::backoff`]: backoff with full jitter while the city is
//!   unavailable, the idle period otherwise).

use crate::error::{from_sync, from_vault};
use crate::{lock, AppCore};
use cds_sync::backoff::Attempt;
use cds_sync::{CityClient, SyncError};
use cds_vault::Vault;
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

/// Stores why a delivery failed, kind first: `"<kind>[/<retry secs>] <message>"`,
/// so the kind is read back as written, never guessed from English text.
/// (The vault keeps one text per application today; its typed
/// `DeliveryErrorKind` replaces this encoding.)
pub(crate) fn record_delivery_failure(
    vault: &mut Vault,
    key: &str,
    e: &IpcError,
) -> Result<(), IpcError> {
    let head = match e.retry_after_secs {
        Some(secs) => format!("{}/{secs}", e.kind.code()),
        None => e.kind.code().to_owned(),
    };
    vault
        .record_delivery_error(key, &format!("{head} {}", e.message))
        .map_err(from_vault)
}

/// The stored delivery failure as the UI sees it. A text stored by an older
/// version (no kind in front) is shown as it is, with the `internal` kind:
/// the next delivery attempt stores it again with its kind.
pub(crate) fn stored_delivery_error(stored: &str) -> IpcError {
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
/// `refused`. Stops at the first transient failure (no point hammering an
/// unreachable city); a definite refusal is recorded on that application
/// and the run goes on with the next. Takes the vault's lock only between
/// network calls, never across one.
pub(crate) async fn drain(
    vault: &Mutex<Vault>,
    client: &CityClient,
    refused: &HashSet<String>,
) -> Result<Drained, IpcError> {
    let pending = lock(vault).pending_applications().map_err(from_vault)?;
    let mut out = Drained::default();
    for app in pending {
        if refused.contains(&app.idempotency_key) {
            continue;
        }
        match client.submit(&app).await {
            Ok(receipt) => {
                lock(vault)
                    .mark_delivered(&app.idempotency_key, &receipt)
                    .map_err(from_vault)?;
                out.delivered += 1;
            }
            Err(e) => {
                let transient = is_transient(&e);
                let err = from_sync(e);
                record_delivery_failure(&mut lock(vault), &app.idempotency_key, &err)?;
                tracing::warn!(key = %app.idempotency_key, error = %err, "delivery failed");
                out.error = Some(err);
                if transient {
                    break;
                }
                out.refused.push(app.idempotency_key.clone());
            }
        }
    }
    Ok(out)
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

/// Whether trying again later can help. The sync crate's classification
/// (by variant and status), in one place here so its coming status-first
/// rule applies to the app unchanged.
fn is_transient(e: &SyncError) -> bool {
    e.is_transient()
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

    #[test]
    fn a_stored_delivery_error_keeps_its_kind_and_retry_after() {
        let e = stored_delivery_error("rate_limited/30 too many attempts");
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after_secs, Some(30));
        assert_eq!(e.message, "too many attempts");
        let e = stored_delivery_error("backend_unreachable the city could not be reached");
        assert_eq!(e.kind, ErrorKind::BackendUnreachable);
        assert_eq!(e.retry_after_secs, None);
        // Older vaults stored only the English text.
        let e = stored_delivery_error("the city backend at https://x could not be reached: d");
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(e.message.starts_with("the city backend"));
    }
}
