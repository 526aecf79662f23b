//! The sync client: the only code in the app that talks to the city backend.
//!
//! Two parts:
//! - [`CityClient`], a small typed HTTPS client for the `/v1` API in
//!   `cds-api`. It trusts exactly the roots it is given (the city's CA, or
//!   the local development CA), never the platform's whole store unless asked.
//! - [`drain_outbox`], which delivers every application queued in the vault.
//!
//! # Exactly once
//!
//! The idempotency key is made when the citizen presses submit and is stored
//! with the queued application. Delivery is "at least once" from the device
//! (we retry until the backend answers), and the backend stores each key at
//! most once, so the result is exactly once. A lost response is harmless: the
//! retry gets the same receipt back (HTTP 200 instead of 201). The vault
//! marks an application delivered only after a receipt whose key matches.

use cds_api::{
    ApiErrorBody, ApiErrorKind, ApplicationReceipt, Health, ServiceInfo, SubmitApplication,
    API_PREFIX, IDEMPOTENCY_HEADER,
};
use cds_vault::{Vault, VaultError};
use std::time::Duration;

/// Errors of the sync crate.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// DNS, connect, timeout: the backend could not be reached.
    #[error("the city backend at {url} could not be reached: {detail}")]
    Unreachable { url: String, detail: String },
    /// The TLS handshake failed, typically an untrusted certificate.
    #[error("the city backend's TLS certificate is not trusted: {detail}")]
    TlsUntrusted { detail: String },
    /// The backend answered with an API error.
    #[error("the city backend rejected the request ({status}, {kind:?}): {message}")]
    Rejected {
        status: u16,
        kind: ApiErrorKind,
        message: String,
    },
    /// The backend answered something that is not the API.
    #[error("unexpected answer from the city backend: {0}")]
    Protocol(String),
    /// The configuration (URL, CA file) is unusable.
    #[error("invalid sync configuration: {0}")]
    Config(String),
    /// The vault failed while recording a delivery.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl SyncError {
    /// Stable code for the UI (`{kind, message}` across IPC).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Unreachable { .. } => "backend_unreachable",
            SyncError::TlsUntrusted { .. } => "tls_untrusted",
            SyncError::Rejected { .. } | SyncError::Protocol(_) => "backend_rejected",
            SyncError::Config(_) => "internal",
            SyncError::Vault(e) => e.kind(),
        }
    }

    /// Whether retrying later can help (network trouble), as opposed to a
    /// definite answer from the city that will not change by itself.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Unreachable { .. } | SyncError::TlsUntrusted { .. }
        ) || matches!(self, SyncError::Rejected { status, .. } if *status >= 500)
    }
}

/// A typed client for the city backend.
#[derive(Clone, Debug)]
pub struct CityClient {
    base: String,
    http: reqwest::Client,
}

impl CityClient {
    /// `base_url` is like `https://localhost:8443`. `extra_root_pem` is a PEM
    /// bundle of CA certificates to trust; when it is `None` the platform's
    /// web PKI roots are not used either, so pass the city CA explicitly.
    pub fn new(base_url: &str, extra_root_pem: Option<&[u8]>) -> Result<Self, SyncError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !base.starts_with("https://") {
            // Personal data only ever travels over TLS.
            return Err(SyncError::Config(format!(
                "backend URL must start with https:// (got `{base}`)"
            )));
        }
        // reqwest's rustls backend needs a process-wide crypto provider; pick
        // ring explicitly. Installing twice is harmless (returns Err).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .https_only(true)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("cong-dan-so/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = extra_root_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| SyncError::Config(format!("CA bundle is not valid PEM: {e}")))?;
            if certs.is_empty() {
                return Err(SyncError::Config("CA bundle holds no certificate".into()));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Self { base, http })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base, API_PREFIX, path)
    }

    fn map_send_error(&self, e: reqwest::Error) -> SyncError {
        // reqwest hides rustls' error type; walk the source chain for the
        // certificate failure so the UI can say "untrusted" not "offline".
        let mut chain = String::new();
        let mut src: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = src {
            chain.push_str(&s.to_string());
            chain.push_str(": ");
            src = s.source();
        }
        let lower = chain.to_lowercase();
        if lower.contains("certificate")
            || lower.contains("unknownissuer")
            || lower.contains("invalid peer")
            || lower.contains("handshake")
        {
            SyncError::TlsUntrusted { detail: chain }
        } else {
            SyncError::Unreachable {
                url: self.base.clone(),
                detail: chain,
            }
        }
    }

    async fn decode<T: serde::de::DeserializeOwned>(
        &self,
        resp: reqwest::Response,
    ) -> Result<T, SyncError> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.map_send_error(e))?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Protocol(format!("bad JSON in {status} answer: {e}")))
        } else {
            match serde_json::from_slice::<ApiErrorBody>(&bytes) {
                Ok(body) => Err(SyncError::Rejected {
                    status: status.as_u16(),
                    kind: body.kind,
                    message: body.message,
                }),
                Err(_) => Err(SyncError::Protocol(format!(
                    "HTTP {status} without an API error body"
                ))),
            }
        }
    }

    pub async fn health(&self) -> Result<Health, SyncError> {
        let resp = self
            .http
            .get(self.url("/health"))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
    }

    pub async fn services(&self) -> Result<Vec<ServiceInfo>, SyncError> {
        let resp = self
            .http
            .get(self.url("/services"))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
    }

    /// Submits one application. Safe to call again with the same payload.
    pub async fn submit(&self, app: &SubmitApplication) -> Result<ApplicationReceipt, SyncError> {
        let resp = self
            .http
            .post(self.url("/applications"))
            .header(IDEMPOTENCY_HEADER, &app.idempotency_key)
            .json(app)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        let receipt: ApplicationReceipt = self.decode(resp).await?;
        if receipt.idempotency_key != app.idempotency_key {
            return Err(SyncError::Protocol(
                "receipt is for a different idempotency key".into(),
            ));
        }
        Ok(receipt)
    }

    /// Current status of a delivered application.
    pub async fn application(&self, case_number: &str) -> Result<ApplicationReceipt, SyncError> {
        let resp = self
            .http
            .get(self.url(&format!("/applications/{case_number}")))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
    }
}

/// What one [`drain_outbox`] run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: Vec<ApplicationReceipt>,
    pub still_pending: usize,
    /// Kind code and message of the error that stopped the run, if any.
    pub error: Option<(&'static str, String)>,
}

/// Anything that can hold the vault while we talk to the network.
///
/// The app keeps the vault behind a mutex; holding it across an `await` on
/// the network would freeze the UI, so [`drain_outbox`] takes short locks
/// through this trait instead.
pub trait VaultAccess {
    fn with_vault<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R;
}

impl VaultAccess for std::sync::Mutex<Vault> {
    fn with_vault<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R {
        // A poisoned lock only means another thread panicked mid-call; the
        // vault's own transactions keep the file consistent, so carry on.
        let mut guard = match self.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }
}

/// Delivers every queued application, oldest first.
///
/// Stops at the first transient failure (no point hammering an unreachable
/// server) and records the error on that application. A definite rejection
/// (4xx) is recorded on that application and the run goes on with the next.
pub async fn drain_outbox(
    vault: &impl VaultAccess,
    client: &CityClient,
) -> Result<DrainReport, SyncError> {
    let pending = vault.with_vault(|v| v.pending_applications())?;
    let mut report = DrainReport::default();
    let mut remaining = pending.len();
    for app in pending {
        match client.submit(&app).await {
            Ok(receipt) => {
                vault.with_vault(|v| v.mark_delivered(&app.idempotency_key, &receipt))?;
                report.delivered.push(receipt);
                remaining -= 1;
            }
            Err(e) => {
                let msg = e.to_string();
                vault.with_vault(|v| v.record_delivery_error(&app.idempotency_key, &msg))?;
                tracing::warn!(key = %app.idempotency_key, error = %msg, "delivery failed");
                let transient = e.is_transient();
                report.error = Some((e.kind(), msg));
                if transient {
                    break;
                }
            }
        }
    }
    report.still_pending = remaining;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_http() {
        let err = CityClient::new("http://localhost:8080", None).unwrap_err();
        assert!(matches!(err, SyncError::Config(_)), "{err}");
    }

    #[test]
    fn rejects_garbage_ca_bundle() {
        let err = CityClient::new("https://localhost:1", Some(b"not a pem")).unwrap_err();
        assert!(matches!(err, SyncError::Config(_)), "{err}");
    }

    #[test]
    fn transient_classification() {
        let unreachable = SyncError::Unreachable {
            url: "u".into(),
            detail: "d".into(),
        };
        assert!(unreachable.is_transient());
        assert_eq!(unreachable.kind(), "backend_unreachable");
        let rejected = SyncError::Rejected {
            status: 422,
            kind: ApiErrorKind::InvalidInput,
            message: "m".into(),
        };
        assert!(!rejected.is_transient());
        let server = SyncError::Rejected {
            status: 503,
            kind: ApiErrorKind::Internal,
            message: "m".into(),
        };
        assert!(server.is_transient());
    }
}
