//! The sync client: the only code in the app that talks to the city backend.
//!
//! Two parts:
//! - [`CityClient`], a small typed HTTPS client for the `/v1` API in
//!   `cds-api`. It trusts exactly the roots it is given (the city's CA, or
//!   the local development CA), never the platform's whole store unless asked.
//! - [`drain`], which delivers every application waiting in an [`Outbox`]
//!   (the app's vault implements it; this crate does not know the vault).
//!
//! # Citizen credentials
//!
//! The citizen types the activation code from the city's service counter;
//! [`CityClient::claim_credentials`] trades it for a device token and signed
//! credentials, [`CityClient::refresh_credentials`] gets new ones with that
//! token before they expire, and [`CityClient::forget_device`] signs the
//! device out. The token is a bearer secret: keep it in the vault, never in
//! logs. Every answer of the city that is an error is [`SyncError::Rejected`]
//! with its HTTP status, the server's kind and message (see
//! [`SyncError::server_error`]): a `401` has [`SyncError::kind`]
//! `unauthorized` (sign in again with a new code), a `429` has
//! `rate_limited` with the server's `Retry-After` in `retry_after_secs`, and
//! wrong, used and expired codes carry `invalid_code`, `code_used` and
//! `code_expired` (kind `backend_rejected`).
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
    ApiErrorBody, ApiErrorKind, ApplicationReceipt, ClaimCredentials, CredentialBundle, Health,
    RevocationListBody, ServiceInfo, SubmitApplication, TrustListBody, API_PREFIX,
    IDEMPOTENCY_HEADER,
};
use std::collections::HashSet;
use std::time::Duration;

pub mod backoff;

/// Errors of the sync crate.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// DNS, connect, timeout: the backend could not be reached.
    #[error("the city backend at {url} could not be reached: {detail}")]
    Unreachable { url: String, detail: String },
    /// The TLS handshake failed, typically an untrusted certificate.
    #[error("the city backend's TLS certificate is not trusted: {detail}")]
    TlsUntrusted { detail: String },
    /// The backend answered with an API error. A 401 (unknown or signed-out
    /// device token) and a 429 (too many attempts) are recognised by their
    /// status even without an API body.
    #[error("the city backend rejected the request ({status}, {kind:?}): {message}")]
    Rejected {
        status: u16,
        kind: ApiErrorKind,
        message: String,
        /// The `Retry-After` seconds of a 429, when the server sent them.
        retry_after_secs: Option<u64>,
    },
    /// The city (or a proxy or load balancer in front of it) answered a
    /// 5xx or 408, with or without the API's body: it is there but cannot
    /// answer now. Temporary, never a refusal.
    #[error("the city backend is temporarily unavailable (HTTP {status}): {message}")]
    Unavailable {
        status: u16,
        message: String,
        /// The `Retry-After` seconds, when the answer carried them.
        retry_after_secs: Option<u64>,
    },
    /// The backend answered something that is not the API.
    #[error("unexpected answer from the city backend: {0}")]
    Protocol(String),
    /// The configuration (URL, CA file) is unusable.
    #[error("invalid sync configuration: {0}")]
    Config(String),
}

impl SyncError {
    /// Stable code for the UI (`{kind, message}` across IPC).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Unreachable { .. } | SyncError::Unavailable { .. } => "backend_unreachable",
            SyncError::TlsUntrusted { .. } => "tls_untrusted",
            // The app says "sign in again" and "wait" for these two.
            SyncError::Rejected { status: 401, .. } => "unauthorized",
            SyncError::Rejected { status: 429, .. } => "rate_limited",
            SyncError::Rejected { .. } | SyncError::Protocol(_) => "backend_rejected",
            SyncError::Config(_) => "internal",
        }
    }

    /// Whether retrying later can help (network trouble), as opposed to a
    /// definite answer from the city that will not change by itself.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Unreachable { .. }
                | SyncError::TlsUntrusted { .. }
                | SyncError::Unavailable { .. }
        ) || matches!(self, SyncError::Rejected { status, .. } if *status >= 500 || *status == 429)
    }

    /// How long the city asked us to wait (`Retry-After` of a 429 or 503).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            SyncError::Rejected {
                retry_after_secs, ..
            }
            | SyncError::Unavailable {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => None,
        }
    }

    /// The server's error kind and message, when the backend answered with an
    /// API error (e.g. `code_used` and why), so the UI can be specific.
    pub fn server_error(&self) -> Option<(ApiErrorKind, &str)> {
        match self {
            SyncError::Rejected { kind, message, .. } => Some((*kind, message)),
            _ => None,
        }
    }
}

/// What a non-2xx answer means, decided by its **status first**: every 5xx
/// and 408 is temporary whatever its body (a proxy's 502/503/504 page has
/// none of the API's JSON, and the city did not refuse anything); a 429 is
/// rate limiting, with its `Retry-After`; a 401 is "sign in again" even
/// without a body; only another 4xx that carries the API's error body is the
/// city refusing the request. A 4xx without that body is not the API
/// talking, so it is a protocol error, not a refusal.
pub fn classify_error_answer<T>(
    status: u16,
    retry_after_secs: Option<u64>,
    body: &[u8],
) -> Result<T, SyncError> {
    let api = serde_json::from_slice::<ApiErrorBody>(body).ok();
    if status >= 500 || status == 408 {
        return Err(SyncError::Unavailable {
            status,
            message: api
                .map(|b| b.text().to_owned())
                .unwrap_or_else(|| format!("HTTP {status}")),
            retry_after_secs,
        });
    }
    match (status, api) {
        (429, body) => Err(SyncError::Rejected {
            status,
            kind: ApiErrorKind::RateLimited,
            message: body
                .map(|b| b.text().to_owned())
                .unwrap_or_else(|| format!("HTTP {status}")),
            retry_after_secs,
        }),
        (_, Some(body)) => Err(SyncError::Rejected {
            status,
            kind: body.kind,
            message: body.text().to_owned(),
            retry_after_secs: None,
        }),
        (401, None) => Err(SyncError::Rejected {
            status,
            kind: ApiErrorKind::Unauthorized,
            message: format!("HTTP {status}"),
            retry_after_secs: None,
        }),
        (_, None) => Err(SyncError::Protocol(format!(
            "HTTP {status} without an API error body"
        ))),
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
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = resp.bytes().await.map_err(|e| self.map_send_error(e))?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Protocol(format!("bad JSON in {status} answer: {e}")))
        } else {
            classify_error_answer(status.as_u16(), retry_after, &bytes)
        }
    }

    /// Decodes an answer that has no body on success (204).
    async fn expect_empty(&self, resp: reqwest::Response) -> Result<(), SyncError> {
        if resp.status().is_success() {
            return Ok(());
        }
        self.decode::<serde_json::Value>(resp).await.map(|_| ())
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

    /// Trades a one-time activation code for a device token and signed
    /// credentials. The token in the answer is shown only this once.
    pub async fn claim_credentials(
        &self,
        req: &ClaimCredentials,
    ) -> Result<CredentialBundle, SyncError> {
        let resp = self
            .http
            .post(self.url("/credentials/claim"))
            .json(req)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        let bundle: CredentialBundle = self.decode(resp).await?;
        if bundle.device_token.is_none() {
            return Err(SyncError::Protocol(
                "the claim answer carries no device token".into(),
            ));
        }
        Ok(bundle)
    }

    /// Fresh credentials for this device.
    pub async fn refresh_credentials(
        &self,
        device_token: &str,
    ) -> Result<CredentialBundle, SyncError> {
        let resp = self
            .http
            .post(self.url("/credentials/refresh"))
            .bearer_auth(device_token)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
    }

    /// Signs this device out: its token stops working.
    pub async fn forget_device(&self, device_token: &str) -> Result<(), SyncError> {
        let resp = self
            .http
            .delete(self.url("/devices/current"))
            .bearer_auth(device_token)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.expect_empty(resp).await
    }

    /// The city's trust list (public keys that sign credentials).
    pub async fn trust_list(&self) -> Result<TrustListBody, SyncError> {
        let resp = self
            .http
            .get(self.url("/trust-list"))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
    }

    /// The signed revocation list. Check its `signed` field against the trust
    /// list before relying on it.
    pub async fn revocations(&self) -> Result<RevocationListBody, SyncError> {
        let resp = self
            .http
            .get(self.url("/revocations"))
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        self.decode(resp).await
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

/// Where applications wait until the city has them. The app's vault
/// implements it (in `cds-app`); this crate's tests use one in memory.
///
/// Each call is short and synchronous: [`drain`] calls the outbox only
/// between network calls, never across one, so an implementation may take
/// a lock inside each call (the app's vault sits behind a mutex that the UI
/// also needs).
pub trait Outbox {
    /// The outbox's own failure (storage), returned by [`drain`] as it is.
    type Error;

    /// Applications not yet delivered, oldest first.
    fn pending(&self) -> Result<Vec<SubmitApplication>, Self::Error>;

    /// The city has the application: keep its receipt (whose idempotency
    /// key [`CityClient::submit`] has checked); it is no longer pending.
    fn delivered(&self, receipt: &ApplicationReceipt) -> Result<(), Self::Error>;

    /// Delivering `idempotency_key` failed with `error`; it stays pending.
    /// The error is typed: store its kind, not its text.
    fn failed(&self, idempotency_key: &str, error: &SyncError) -> Result<(), Self::Error>;
}

/// What one [`drain`] run did.
#[derive(Debug, Default)]
pub struct DrainReport {
    /// Receipts of the applications delivered in this run, in order.
    pub delivered: Vec<ApplicationReceipt>,
    /// Applications still waiting after the run (held ones included).
    pub still_pending: usize,
    /// The error that stopped the run (a temporary one), or else the last
    /// refusal.
    pub error: Option<SyncError>,
    /// Idempotency keys the city definitely refused in this run. They stay
    /// pending with the reason; resending them unchanged would get the same
    /// answer, so callers hold them back from automatic retries.
    pub rejected: Vec<String>,
}

/// Delivers every pending application, oldest first, except those whose
/// idempotency key is in `held` (the app's background retries hold back
/// what the city already refused; the citizen's "sync now" does not).
///
/// Stops at the first temporary failure ([`SyncError::is_transient`]: no
/// point hammering an unavailable city) and records it on that
/// application. A definite refusal is recorded on its application and the
/// run goes on with the next. Only the outbox's own failure ends the run
/// with `Err`.
pub async fn drain<O: Outbox>(
    outbox: &O,
    client: &CityClient,
    held: &HashSet<String>,
) -> Result<DrainReport, O::Error> {
    let pending = outbox.pending()?;
    let mut report = DrainReport {
        still_pending: pending.len(),
        ..DrainReport::default()
    };
    for app in pending {
        if held.contains(&app.idempotency_key) {
            continue;
        }
        match client.submit(&app).await {
            Ok(receipt) => {
                outbox.delivered(&receipt)?;
                report.delivered.push(receipt);
                report.still_pending -= 1;
            }
            Err(e) => {
                outbox.failed(&app.idempotency_key, &e)?;
                tracing::warn!(key = %app.idempotency_key, error = %e, "delivery failed");
                let transient = e.is_transient();
                report.error = Some(e);
                if transient {
                    break;
                }
                report.rejected.push(app.idempotency_key);
            }
        }
    }
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

    fn classify(status: u16, retry: Option<u64>, body: &str) -> SyncError {
        match classify_error_answer::<()>(status, retry, body.as_bytes()) {
            Err(e) => e,
            Ok(()) => panic!("{status} must be an error"),
        }
    }

    const API_BODY: &str = r#"{"kind":"invalid_input","message":"bad field"}"#;

    #[test]
    fn a_proxys_5xx_page_is_temporary_never_a_refusal() {
        for status in [500, 502, 503, 504, 408] {
            let e = classify(status, None, "<html><body>Bad Gateway</body></html>");
            assert!(
                matches!(e, SyncError::Unavailable { status: s, .. } if s == status),
                "{status}: {e:?}"
            );
            assert!(e.is_transient(), "{status}");
            assert_eq!(e.kind(), "backend_unreachable");
            assert_eq!(e.server_error(), None, "not the city refusing");
        }
        // Even with the API's own body, a 5xx is the city failing, not
        // refusing: retried later.
        let e = classify(500, None, API_BODY);
        assert!(matches!(e, SyncError::Unavailable { .. }), "{e:?}");
        assert!(e.is_transient());
        // A 503's Retry-After is kept.
        assert_eq!(classify(503, Some(120), "").retry_after_secs(), Some(120));
    }

    #[test]
    fn only_a_4xx_with_the_api_body_is_a_refusal() {
        let e = classify(422, None, API_BODY);
        assert!(
            matches!(&e, SyncError::Rejected { status: 422, kind: ApiErrorKind::InvalidInput, message, .. } if message == "bad field"),
            "{e:?}"
        );
        assert!(!e.is_transient());
        // A 4xx without the body is not the API talking.
        let e = classify(404, None, "<html>Not Found</html>");
        assert!(matches!(e, SyncError::Protocol(_)), "{e:?}");
        // 401 and 429 are known by their status alone.
        let e = classify(401, None, "");
        assert_eq!(e.kind(), "unauthorized");
        let e = classify(429, Some(30), "");
        assert_eq!(e.kind(), "rate_limited");
        assert!(e.is_transient());
        assert_eq!(e.retry_after_secs(), Some(30));
        // A Retry-After on a refusal means nothing and is dropped.
        assert_eq!(classify(422, Some(9), API_BODY).retry_after_secs(), None);
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
            retry_after_secs: None,
        };
        assert!(!rejected.is_transient());
        let server = SyncError::Rejected {
            status: 503,
            kind: ApiErrorKind::Internal,
            message: "m".into(),
            retry_after_secs: None,
        };
        assert!(server.is_transient());
        let unauthorized = SyncError::Rejected {
            status: 401,
            kind: ApiErrorKind::Unauthorized,
            message: "m".into(),
            retry_after_secs: None,
        };
        assert_eq!(unauthorized.kind(), "unauthorized");
        assert!(!unauthorized.is_transient());
        let limited = SyncError::Rejected {
            status: 429,
            kind: ApiErrorKind::RateLimited,
            message: "m".into(),
            retry_after_secs: Some(30),
        };
        assert_eq!(limited.kind(), "rate_limited");
        assert!(limited.is_transient());
        let used = SyncError::Rejected {
            status: 409,
            kind: ApiErrorKind::CodeUsed,
            message: "used".into(),
            retry_after_secs: None,
        };
        assert_eq!(used.kind(), "backend_rejected");
        assert_eq!(used.server_error(), Some((ApiErrorKind::CodeUsed, "used")));
    }
}
