//! How a [`BackendError`] travels over HTTP: its status, an RFC 9457
//! problem details body ([`ApiErrorBody`], `application/problem+json`, with
//! the API's `kind`), and `Retry-After` / `WWW-Authenticate` where they
//! apply. Server faults are logged and answered without detail.

use crate::BackendError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cds_api::{ApiErrorBody, ApiErrorKind, PROBLEM_JSON};

impl IntoResponse for BackendError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let detail = match kind {
            ApiErrorKind::Internal => {
                tracing::error!(error = %self, "request failed");
                "internal server error".to_owned()
            }
            // The cause (a refused connection, a pool timeout) is for the
            // operator's log; the caller only needs to know to come back.
            ApiErrorKind::Unavailable => {
                tracing::warn!(error = %self, "answered 503");
                "the service is temporarily unavailable; nothing was stored, retry later".to_owned()
            }
            _ => self.to_string(),
        };
        let mut response = problem(status, kind, detail);
        let headers = response.headers_mut();
        match &self {
            BackendError::RateLimited {
                retry_after_secs, ..
            }
            | BackendError::Unavailable {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            // RFC 6750: a 401 names the scheme the client should use.
            BackendError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// A problem details answer.
pub(crate) fn problem(status: StatusCode, kind: ApiErrorKind, detail: String) -> Response {
    let body = ApiErrorBody::new(kind, status.as_u16(), detail);
    // Serializing plain strings and numbers cannot fail; the fallback keeps
    // the answer well-formed even so.
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        json,
    )
        .into_response()
}
