//! The HTTP API: router factory and handlers.
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

use crate::enrollment::bearer;
use crate::{AppState, BackendError};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use cds_api::{
    ApplicationReceipt, ClaimCredentials, CreateEnrollment, CredentialBundle, EnrollmentCode,
    Health, IssueCredential, IssuedCredential, RevocationListBody, RevokedCredential, ServiceInfo,
    SubmitApplication, TrustListBody, API_PREFIX, IDEMPOTENCY_HEADER,
};

/// Builds the `/v1` API router over `state`.
///
/// Every non-2xx answer, including unknown routes, wrong methods and
/// malformed JSON, is a JSON [`cds_api::ApiErrorBody`].
pub fn app(state: AppState) -> Router {
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
        .with_state(state)
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

async fn services(State(state): State<AppState>) -> Result<Json<Vec<ServiceInfo>>, BackendError> {
    Ok(Json(state.services().await?))
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<SubmitApplication>, JsonRejection>,
) -> Result<(StatusCode, Json<ApplicationReceipt>), BackendError> {
    let Json(req) = body.map_err(json_rejection)?;
    let header = match headers.get(IDEMPOTENCY_HEADER) {
        None => {
            return Err(BackendError::BadRequest(format!(
                "the `{IDEMPOTENCY_HEADER}` header is required"
            )))
        }
        Some(v) => v.to_str().map_err(|_| {
            BackendError::BadRequest(format!("the `{IDEMPOTENCY_HEADER}` header is not ASCII"))
        })?,
    };
    if header != req.idempotency_key {
        return Err(BackendError::BadRequest(format!(
            "the `{IDEMPOTENCY_HEADER}` header `{header}` does not match the body's \
             idempotency_key `{}`",
            req.idempotency_key
        )));
    }
    let outcome = state.submit(req).await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome.receipt)))
}

async fn application(
    State(state): State<AppState>,
    case_number: Result<Path<String>, PathRejection>,
) -> Result<Json<ApplicationReceipt>, BackendError> {
    let Path(case_number) = case_number.map_err(|e| BackendError::BadRequest(e.body_text()))?;
    Ok(Json(state.application(&case_number).await?))
}

async fn trust_list(State(state): State<AppState>) -> Result<Json<TrustListBody>, BackendError> {
    Ok(Json(state.issuer()?.trust_list()))
}

fn authorization(headers: &HeaderMap) -> Result<Option<&str>, BackendError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| {
            v.to_str().map_err(|_| {
                BackendError::BadRequest("the Authorization header is not ASCII".into())
            })
        })
        .transpose()
}

async fn issue_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<IssueCredential>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedCredential>), BackendError> {
    state.issuer()?;
    state.check_admin(authorization(&headers)?)?;
    let Json(req) = body.map_err(json_rejection)?;
    let issued = state.issue_credential(req, state.now()).await?;
    Ok((StatusCode::CREATED, Json(issued.to_wire()?)))
}

async fn revoke_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RevokedCredential>, BackendError> {
    state.issuer()?;
    state.check_admin(authorization(&headers)?)?;
    let Path(id) = id.map_err(|e| BackendError::BadRequest(e.body_text()))?;
    let (id, revoked_at) = state.revoke_credential(&id, state.now()).await?;
    Ok(Json(RevokedCredential {
        credential_id: id.to_string(),
        revoked_at,
    }))
}

async fn revocations(
    State(state): State<AppState>,
) -> Result<Json<RevocationListBody>, BackendError> {
    Ok(Json(state.revocations(state.now()).await?))
}

async fn create_enrollment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CreateEnrollment>, JsonRejection>,
) -> Result<(StatusCode, Json<EnrollmentCode>), BackendError> {
    // Without a signing key a code could never be claimed.
    state.issuer()?;
    state.check_admin(authorization(&headers)?)?;
    let Json(req) = body.map_err(json_rejection)?;
    let code = state.create_enrollment(req, state.now()).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

async fn claim_credentials(
    State(state): State<AppState>,
    body: Result<Json<ClaimCredentials>, JsonRejection>,
) -> Result<Json<CredentialBundle>, BackendError> {
    let Json(req) = body.map_err(json_rejection)?;
    Ok(Json(state.claim_credentials(req, state.now()).await?))
}

async fn refresh_credentials(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<CredentialBundle>, BackendError> {
    let token = bearer(authorization(&headers)?)?;
    Ok(Json(state.refresh_credentials(token, state.now()).await?))
}

async fn forget_device(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, BackendError> {
    let token = bearer(authorization(&headers)?)?;
    state.forget_device(token, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn json_rejection(rejection: JsonRejection) -> BackendError {
    BackendError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

async fn not_found(method: Method, uri: Uri) -> BackendError {
    BackendError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> BackendError {
    BackendError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
