//! The HTTP API: router factory, extractors, handlers, limits and the
//! error-to-HTTP mapping.
//!
//! Who may call what:
//! - public: `GET /v1/health`, `/services`, `/applications/{case}`,
//!   `/trust-list`, `/revocations`, and `POST /v1/applications`;
//! - operator (admin bearer token): `POST /v1/credentials`,
//!   `POST /v1/credentials/{id}/revoke`, `POST /v1/enrollments`;
//! - anyone holding an activation code: `POST /v1/credentials/claim`
//!   (guarded against guessing, see [`crate::enrollment`]);
//! - a claimed device (its bearer token): `POST /v1/credentials/refresh`,
//!   `DELETE /v1/devices/current`.

mod error;
pub mod extract;
mod routes;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use cds_api::API_PREFIX;

/// Largest request body accepted, in bytes. Axum's own default, written
/// down so it is a decision rather than an accident; issue 10 sets it per
/// route.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Builds the `/v1` API router over `state`.
///
/// Every non-2xx answer, including unknown routes, wrong methods and
/// malformed JSON, is a JSON [`cds_api::ApiErrorBody`].
pub fn app(state: AppState) -> Router {
    use routes::*;
    let api = Router::new()
        .route("/health", get(health))
        .route("/services", get(services))
        .route("/applications", post(submit))
        .route("/applications/{case_number}", get(application))
        .route("/trust-list", get(trust_list))
        .route("/credentials", post(issue_credential))
        .route("/credentials/{id}/revoke", post(revoke_credential))
        .route("/revocations", get(revocations))
        .route("/enrollments", post(create_enrollment))
        .route("/credentials/claim", post(claim_credentials))
        .route("/credentials/refresh", post(refresh_credentials))
        .route("/devices/current", delete(forget_device))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest(API_PREFIX, api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
