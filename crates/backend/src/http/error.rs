//! How a [`BackendError`] travels over HTTP: its status, a JSON
//! [`ApiErrorBody`], and `Retry-After` / `WWW-Authenticate` where they apply.
//! Server faults are logged and answered without detail.

use crate::BackendError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cds_api::{ApiErrorBody, ApiErrorKind};

impl IntoResponse for BackendError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let message = if kind == ApiErrorKind::Internal {
            tracing::error!(error = %self, "request failed");
            "internal server error".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(ApiErrorBody { kind, message })).into_response();
        let headers = response.headers_mut();
        match &self {
            BackendError::RateLimited {
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
