//! The handlers. Each one takes its checks as extractors
//! ([`super::extract`]) and calls one operation of [`AppState`].

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

pub(super) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

pub(super) async fn services(
    State(state): State<AppState>,
) -> Result<Json<Vec<ServiceInfo>>, BackendError> {
    Ok(Json(state.services().await?))
}

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

pub(super) async fn application(
    State(state): State<AppState>,
    ApiPath(case_number): ApiPath<String>,
) -> Result<Json<ApplicationReceipt>, BackendError> {
    Ok(Json(state.application(&case_number).await?))
}

pub(super) async fn trust_list(Issuing(issuer): Issuing) -> Json<TrustListBody> {
    Json(issuer.trust_list())
}

pub(super) async fn issue_credential(
    State(state): State<AppState>,
    _: Issuing,
    _: AdminToken,
    ApiJson(req): ApiJson<IssueCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), BackendError> {
    let issued = state.issue_credential(req, state.now()).await?;
    Ok((StatusCode::CREATED, Json(issued.to_wire()?)))
}

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

pub(super) async fn revocations(
    State(state): State<AppState>,
) -> Result<Json<RevocationListBody>, BackendError> {
    Ok(Json(state.revocations(state.now()).await?))
}

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

pub(super) async fn claim_credentials(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClaimCredentials>,
) -> Result<Json<CredentialBundle>, BackendError> {
    Ok(Json(state.claim_credentials(req, state.now()).await?))
}

pub(super) async fn refresh_credentials(
    State(state): State<AppState>,
    DeviceToken(token): DeviceToken,
) -> Result<Json<CredentialBundle>, BackendError> {
    Ok(Json(state.refresh_credentials(&token, state.now()).await?))
}

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
