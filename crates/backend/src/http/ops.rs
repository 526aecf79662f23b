//! Probes and metrics for whoever runs the backend: a load balancer asks
//! `/health` (is the process alive) and `/ready` (may it take traffic: the
//! database is reachable and migrated, the catalogue is seeded); Prometheus
//! scrapes `/metrics` on the operator listener.

use crate::{AppState, BackendError};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cds_api::Health;
use serde::Serialize;

/// `GET /ready` body when ready.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Readiness {
    /// Always `ready`.
    status: String,
    /// The database's schema version (this backend's latest).
    schema_version: i64,
}

#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is alive (says nothing of the database)", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Database reachable and migrated, catalogue seeded: send traffic", body = Readiness),
        (status = 503, description = "Not ready (the database is down or not migrated yet); `detail` says which",
            body = cds_api::ApiErrorBody, content_type = "application/problem+json")))]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, Response> {
    match state.readiness().await {
        Ok(schema_version) => Ok(Json(Readiness {
            status: "ready".to_owned(),
            schema_version,
        })),
        // Unlike other 503s the reason is the point of this probe; it
        // names the database state, never credentials.
        Err(reason) => Err(super::error::problem(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            cds_api::ApiErrorKind::Unavailable,
            reason,
        )),
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, BackendError> {
    let ready = if state.readiness().await.is_ok() {
        1.0
    } else {
        0.0
    };
    let mut extra = vec![(
        "cds_ready",
        "1 when the database is reachable and migrated and the catalogue seeded.",
        ready,
    )];
    let retries = state.store().retried_transactions() as f64;
    extra.push((
        "cds_store_transaction_retries",
        "Transactions run again after a serialization failure (PostgreSQL).",
        retries,
    ));
    let body = state.metrics().render(&extra);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
