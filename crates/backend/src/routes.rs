//! The HTTP API: router factory and handlers.

use crate::{AppState, BackendError};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use cds_api::{
    ApplicationReceipt, Health, ServiceInfo, SubmitApplication, API_PREFIX, IDEMPOTENCY_HEADER,
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

fn json_rejection(rejection: JsonRejection) -> BackendError {
    BackendError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

async fn not_found(method: Method, uri: Uri) -> BackendError {
    BackendError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> BackendError {
    BackendError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
