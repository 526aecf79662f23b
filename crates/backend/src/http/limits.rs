//! Limits that keep one client, or many, from taking the server down: body
//! size per route, a deadline per request, a cap on requests in flight.
//! (Header-read and TLS-handshake deadlines are set on the listener, in
//! [`crate::serve`].)

use super::metrics::Metrics;
use crate::BackendError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest body of a submission: a few dozen papers' data, never files.
pub const SUBMISSION_BODY_BYTES: usize = 64 * 1024;
/// Largest body of the small operator and device requests (enrolments,
/// claims, issuing).
pub const SMALL_BODY_BYTES: usize = 4 * 1024;
/// Largest body of any other route (they take none).
pub const DEFAULT_BODY_BYTES: usize = 1024;

/// `Retry-After` of a 503 for overload or an unreachable database.
pub const RETRY_UNAVAILABLE_SECS: u64 = 2;

/// How long a client may take to send its request headers (slowloris).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take, reading its body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests handled at once; more are answered 503 at once rather than
/// queued, so an overloaded instance sheds load and the balancer (or the
/// app's outbox) retries elsewhere or later.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;

/// The limits of one server, chosen at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// What the limit middleware shares.
#[derive(Clone)]
pub(crate) struct Gate {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) request_timeout: Duration,
    pub(crate) metrics: Arc<Metrics>,
}

impl Gate {
    pub(crate) fn new(limits: &Limits, metrics: Arc<Metrics>) -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            request_timeout: limits.request_timeout,
            metrics,
        }
    }
}

/// Admits a request if a permit is free (else 503 with `Retry-After`) and
/// gives it [`Limits::request_timeout`] to finish (else 408).
///
/// A request cut off by the deadline may still have been stored (a SQLite
/// write runs to its end on its own thread; a PostgreSQL transaction whose
/// COMMIT went out may have committed): the 408 says "not known", and a
/// retry with the same idempotency key gets the stored receipt.
pub(crate) async fn gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let Ok(_permit) = gate.permits.clone().try_acquire_owned() else {
        gate.metrics.note_shed();
        return BackendError::Unavailable {
            retry_after_secs: 1,
            message: "too many requests in flight on this instance".into(),
        }
        .into_response();
    };
    match tokio::time::timeout(gate.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => BackendError::Timeout(format!(
            "the request did not complete within {} s; if it was a submission, \
             send it again with the same idempotency key",
            gate.request_timeout.as_secs()
        ))
        .into_response(),
    }
}
