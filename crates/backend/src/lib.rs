//! The reference city backend of Công dân số.
//!
//! No public city backend exists for the app to talk to, so this crate is
//! one: a real HTTPS server (axum over rustls, via axum-server) with an
//! embedded SQLite database. It serves the `/v1` API whose wire types live in
//! [`cds_api`]: health, the public-service catalogue (seeded from
//! [`cds_api::seed_catalogue`]), submitting applications and looking up their
//! status. It also signs citizen QR credentials ([`credentials`]) and lets
//! citizens get their own through an activation-code enrolment
//! ([`enrollment`]). A city can run it as it is, or put it in front of its
//! own systems.
//!
//! # Exactly once
//!
//! The app makes an idempotency key (a UUID) when the citizen presses
//! "submit", and sends it in the body and in the `Idempotency-Key` header; it
//! retries with the same key until it gets an answer. The backend stores each
//! key at most once:
//!
//! - the first request with a key stores the application (`201 Created`);
//! - a retry with the same key and the same payload (compared by the SHA-256
//!   of its canonical JSON) gets the same receipt back (`200 OK`), and nothing
//!   new is stored;
//! - the same key with a different payload is refused
//!   (`409 idempotency_conflict`).
//!
//! The insert runs in one SQLite write transaction and relies on the
//! `UNIQUE(idempotency_key)` constraint (`ON CONFLICT DO NOTHING`), so
//! concurrent identical requests still produce exactly one row.
//!
//! # Why a development CA
//!
//! The app only speaks HTTPS with certificate verification on. On a
//! developer's or tester's machine there is no publicly trusted certificate
//! for `localhost`, so [`tls::ensure_dev_tls`] makes a local CA and a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, and clients are told to
//! trust that one CA. Verification stays real (an untrusting client is
//! refused); the files are generated locally and never committed. A
//! deployment would use the city's real certificate instead.
//!
//! Every error response is RFC 9457 problem details
//! ([`cds_api::ApiErrorBody`], `application/problem+json`, with the API's
//! `kind`); all errors of this crate are [`BackendError`]. The contract is
//! OpenAPI 3.1, generated from the handlers and served at
//! `/v1/openapi.json`.

//! # Layers
//!
//! - [`http`]: routes, extractors, limits, metrics, the OpenAPI contract,
//!   the error-to-HTTP mapping;
//! - [`domain`]: the rules, over the store traits and a clock;
//! - [`store`]: a trait per aggregate and the SQLite implementation. No SQL
//!   outside it, and no driver type in any public API.
//!
//! [`AppState`] ties them together for the handlers and the admin commands.

pub mod credentials;
pub mod domain;
mod error;
pub mod http;
mod state;
pub mod store;
pub mod tls;

pub use cds_api;
/// Re-exported so tests can drive the backend's clock.
pub use cds_domain;
/// Re-exported so clients' tests can verify issued credentials offline.
pub use cds_qr;
pub use domain::applications::SubmitOutcome;
pub use domain::{enrollment, rules};
pub use error::BackendError;
pub use http::app;
pub use state::AppState;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tls::DevTls;

/// Serves the operator router ([`http::operator_app`]: `/health`, `/ready`,
/// `/metrics`) over plain HTTP on `listener` until the task is dropped.
/// Bind it to loopback or a private network: it needs no token.
pub async fn serve_operator(
    listener: std::net::TcpListener,
    state: AppState,
) -> Result<(), BackendError> {
    listener
        .set_nonblocking(true)
        .map_err(|e| BackendError::io("cannot make the operator listener non-blocking", e))?;
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| BackendError::io("cannot use the operator listener", e))?;
    axum::serve(listener, http::operator_app(state))
        .await
        .map_err(|e| BackendError::io("serving the operator listener failed", e))
}

/// How long open connections may finish their requests after shutdown is
/// asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves the API over HTTPS (only) on `listener` until `shutdown` completes,
/// then shuts down gracefully.
///
/// The TLS configuration uses the *ring* crypto provider explicitly, so no
/// process-wide rustls provider needs to be installed.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    tls: &DevTls,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BackendError> {
    let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls.server_config()?));
    let limits = *state.limits();
    listener
        .set_nonblocking(true)
        .map_err(|e| BackendError::io("cannot make the listener non-blocking", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BackendError::io("cannot read the listener's address", e))?;

    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let watcher = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });

    tracing::info!(%addr, "serving https");
    // Slow clients: a TLS handshake or the request headers that do not
    // arrive in time close the connection, so idle or trickling
    // connections (slowloris) cost a socket for seconds, not forever. The
    // body and the handler are bounded by the request deadline
    // (`http::limits`).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .handshake_timeout(limits.tls_handshake_timeout);
    let mut server = axum_server::from_tcp(listener).acceptor(acceptor);
    let timer = hyper_util::rt::TokioTimer::new;
    server
        .http_builder()
        .http1()
        .timer(timer())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    server
        .http_builder()
        .http2()
        .timer(timer())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_concurrent_streams(Some(100));
    let result = server
        .handle(handle)
        .serve(app(state).into_make_service())
        .await;
    watcher.abort();
    result.map_err(|e| BackendError::io(format!("serving on {addr} failed"), e))
}
