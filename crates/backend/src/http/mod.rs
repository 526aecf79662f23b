//! The HTTP API: router factory, extractors, handlers, limits, metrics,
//! the OpenAPI contract and the error-to-HTTP mapping.
//!
//! Who may call what:
//! - public: `GET /health`, `/ready`, `/v1/health`, `/v1/openapi.json`,
//!   `/v1/services`, `/v1/applications/{case}`, `/v1/trust-list`,
//!   `/v1/revocations`, and `POST /v1/applications`;
//! - operator (admin bearer token): `POST /v1/credentials`,
//!   `POST /v1/credentials/{id}/revoke`, `POST /v1/enrollments`;
//! - anyone holding an activation code: `POST /v1/credentials/claim`
//!   (guarded against guessing, see [`crate::enrollment`]);
//! - a claimed device (its bearer token): `POST /v1/credentials/refresh`,
//!   `DELETE /v1/devices/current`;
//! - the operator listener ([`operator_app`], plain HTTP, loopback by
//!   default): `GET /health`, `/ready`, `/metrics`.
//!
//! Layers, outermost first: metrics and the access log ([`metrics`]), then
//! the in-flight cap and the request deadline ([`limits`]), then each
//! route's body limit and extractors.

mod error;
pub mod extract;
pub mod limits;
pub mod metrics;
mod openapi;
mod ops;
mod routes;

pub use limits::{Limits, RETRY_UNAVAILABLE_SECS};
pub use metrics::Metrics;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use cds_api::API_PREFIX;
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Builds the public router over `state`: the `/v1` API, `/health`,
/// `/ready` and `/v1/openapi.json`.
///
/// Every non-2xx answer, including unknown routes, wrong methods and
/// malformed JSON, is problem details ([`cds_api::ApiErrorBody`]).
pub fn app(state: AppState) -> Router {
    let gate = limits::Gate::new(state.limits(), Arc::clone(state.metrics()));
    routers()
        .0
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(gate, limits::gate))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(state.metrics()),
            metrics::track,
        ))
        .with_state(state)
}

/// The contract, as `/v1/openapi.json` serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routers().1
}

fn routers() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use limits::{DEFAULT_BODY_BYTES as NONE, SMALL_BODY_BYTES as SMALL};
    use routes::*;
    let body = DefaultBodyLimit::max;
    let api = OpenApiRouter::new()
        .routes(routes!(health).layer(body(NONE)))
        .routes(routes!(services).layer(body(NONE)))
        .routes(routes!(submit).layer(body(limits::SUBMISSION_BODY_BYTES)))
        .routes(routes!(application).layer(body(NONE)))
        .routes(routes!(trust_list).layer(body(NONE)))
        .routes(routes!(issue_credential).layer(body(SMALL)))
        .routes(routes!(revoke_credential).layer(body(NONE)))
        .routes(routes!(revocations).layer(body(NONE)))
        .routes(routes!(create_enrollment).layer(body(SMALL)))
        .routes(routes!(claim_credentials).layer(body(SMALL)))
        .routes(routes!(refresh_credentials).layer(body(NONE)))
        .routes(routes!(forget_device).layer(body(NONE)));
    let probes = OpenApiRouter::new()
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready));
    let doc = <openapi::ApiDoc as utoipa::OpenApi>::openapi();
    let (router, mut spec) = OpenApiRouter::with_openapi(doc)
        .nest(API_PREFIX, api)
        .merge(probes)
        .split_for_parts();
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    openapi::add_common_answers(&mut spec);
    // Serialized once: the document is the same for the process's life.
    let json = axum::body::Bytes::from(serde_json::to_vec(&spec).unwrap_or_default());
    let router = router
        .route(
            &format!("{API_PREFIX}/openapi.json"),
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json,
                    )
                }
            }),
        )
        .method_not_allowed_fallback(method_not_allowed);
    (router, spec)
}

/// The operator listener's router: `/health`, `/ready` and `/metrics`
/// (Prometheus text). Serve it on a loopback or private address only
/// ([`crate::serve_operator`]).
pub fn operator_app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(routes::not_found)
        .with_state(state)
}
