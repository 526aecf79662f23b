//! The handlers. Each one takes its checks as extractors
//! ([`super::extract`]) and calls one operation of [`AppState`].
//!
//! Each carries its OpenAPI operation (`#[utoipa::path]`): its success
//! answers and the errors only it gives. The errors every route can give
//! (400, 408, 413, 500, 503, and 401 where a token is needed) are added to
//! every operation in one place ([`super::openapi`]), so the contract
//! cannot forget one.

use super::extract::{AdminToken, ApiJson, ApiPath, DeviceToken, Issuing};
use crate::{AppState, BackendError};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use cds_api::{
    ApplicationReceipt, ClaimCredentials, CreateEnrollment, CredentialBundle, EnrollmentCode,
    Health, IssueCredential, IssuedCredential, RevocationListBody, RevokedCredential, ServiceInfo,
    SubmitApplication, TrustListBody, IDEMPOTENCY_HEADER,
};

/// The problem details body, for the annotations.
use cds_api::ApiErrorBody as Problem;

#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The API is up", body = Health)))]
pub(super) async fn health() -> Json<Health> {
    super::ops::health().await
}

#[utoipa::path(get, path = "/services", tag = "catalogue",
    responses((status = 200, description = "The catalogue, ordered by code", body = Vec<ServiceInfo>)))]
pub(super) async fn services(
    State(state): State<AppState>,
) -> Result<Json<Vec<ServiceInfo>>, BackendError> {
    Ok(Json(state.services().await?))
}

#[utoipa::path(post, path = "/applications", tag = "applications",
    request_body = SubmitApplication,
    params(("Idempotency-Key" = String, Header,
        description = "The body's `idempotency_key` again (a UUID made on the device)",
        example = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01")),
    responses(
        (status = 201, description = "Stored: a new case", body = ApplicationReceipt),
        (status = 200, description = "Already stored under this key: the same receipt", body = ApplicationReceipt),
        (status = 409, description = "The key was used for a different application", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable (named in `detail`)", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SubmitApplication>,
) -> Result<(StatusCode, Json<ApplicationReceipt>), BackendError> {
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

#[utoipa::path(get, path = "/applications/{case_number}", tag = "applications",
    params(("case_number" = String, Path, description = "Like `HS-2026-000001`")),
    responses(
        (status = 200, description = "The case's receipt and status", body = ApplicationReceipt),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn application(
    State(state): State<AppState>,
    ApiPath(case_number): ApiPath<String>,
) -> Result<Json<ApplicationReceipt>, BackendError> {
    Ok(Json(state.application(&case_number).await?))
}

#[utoipa::path(get, path = "/trust-list", tag = "credentials",
    responses(
        (status = 200, description = "The city's public signing keys", body = TrustListBody),
        (status = 404, description = "This backend does not issue credentials", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn trust_list(Issuing(issuer): Issuing) -> Json<TrustListBody> {
    Json(issuer.trust_list())
}

#[utoipa::path(post, path = "/credentials", tag = "credentials",
    request_body = IssueCredential,
    security(("admin" = [])),
    responses(
        (status = 201, description = "Signed", body = IssuedCredential),
        (status = 403, description = "No admin token is configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This backend does not issue credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn issue_credential(
    State(state): State<AppState>,
    _: Issuing,
    _: AdminToken,
    ApiJson(req): ApiJson<IssueCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), BackendError> {
    let issued = state.issue_credential(req, state.now()).await?;
    Ok((StatusCode::CREATED, Json(issued.to_wire()?)))
}

#[utoipa::path(post, path = "/credentials/{id}/revoke", tag = "credentials",
    params(("id" = String, Path, description = "The credential's UUID",
        example = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01")),
    security(("admin" = [])),
    responses(
        (status = 200, description = "Revoked (again: the first revocation time)", body = RevokedCredential),
        (status = 403, description = "No admin token is configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such credential, or this backend does not issue credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn revoke_credential(
    State(state): State<AppState>,
    _: Issuing,
    _: AdminToken,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RevokedCredential>, BackendError> {
    let (id, revoked_at) = state.revoke_credential(&id, state.now()).await?;
    Ok(Json(RevokedCredential {
        credential_id: id.to_string(),
        revoked_at,
    }))
}

#[utoipa::path(get, path = "/revocations", tag = "credentials",
    responses(
        (status = 200, description = "The signed list of revoked credentials", body = RevocationListBody),
        (status = 404, description = "This backend does not issue credentials", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn revocations(
    State(state): State<AppState>,
) -> Result<Json<RevocationListBody>, BackendError> {
    Ok(Json(state.revocations(state.now()).await?))
}

#[utoipa::path(post, path = "/enrollments", tag = "enrolment",
    request_body = CreateEnrollment,
    security(("admin" = [])),
    responses(
        (status = 201, description = "The single-use activation code to hand over", body = EnrollmentCode),
        (status = 403, description = "No admin token is configured on this server", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This backend does not issue credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create_enrollment(
    State(state): State<AppState>,
    // Without a signing key a code could never be claimed.
    _: Issuing,
    _: AdminToken,
    ApiJson(req): ApiJson<CreateEnrollment>,
) -> Result<(StatusCode, Json<EnrollmentCode>), BackendError> {
    let code = state.create_enrollment(req, state.now()).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

#[utoipa::path(post, path = "/credentials/claim", tag = "enrolment",
    request_body = ClaimCredentials,
    responses(
        (status = 200, description = "The device token and fresh credentials", body = CredentialBundle),
        (status = 404, description = "Unknown code (`invalid_code`), or this backend does not issue credentials", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code was already claimed (`code_used`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired (`code_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed claims; see `Retry-After`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub(super) async fn claim_credentials(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClaimCredentials>,
) -> Result<Json<CredentialBundle>, BackendError> {
    Ok(Json(state.claim_credentials(req, state.now()).await?))
}

#[utoipa::path(post, path = "/credentials/refresh", tag = "enrolment",
    security(("device" = [])),
    responses(
        (status = 200, description = "Fresh credentials (no device token)", body = CredentialBundle),
        (status = 404, description = "This backend does not issue credentials", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn refresh_credentials(
    State(state): State<AppState>,
    DeviceToken(token): DeviceToken,
) -> Result<Json<CredentialBundle>, BackendError> {
    Ok(Json(state.refresh_credentials(&token, state.now()).await?))
}

#[utoipa::path(delete, path = "/devices/current", tag = "enrolment",
    security(("device" = [])),
    responses((status = 204, description = "Signed out: the token no longer works")))]
pub(super) async fn forget_device(
    State(state): State<AppState>,
    DeviceToken(token): DeviceToken,
) -> Result<StatusCode, BackendError> {
    state.forget_device(&token, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn not_found(method: Method, uri: Uri) -> BackendError {
    BackendError::NotFound(format!("no route for {method} {}", uri.path()))
}

pub(super) async fn method_not_allowed(method: Method, uri: Uri) -> BackendError {
    BackendError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
