//! The OpenAPI 3.1 contract, generated from the handlers' annotations and
//! the wire types' schemas (utoipa), and served at `/v1/openapi.json`.
//!
//! The answers every operation can give are added here rather than on each
//! handler, so none is forgotten: 400 (malformed JSON, a bad path or
//! header), 408 (the request did not arrive in time), 413 (body over the
//! route's limit), 500, 503 (overloaded, or the database is unreachable),
//! and 401 on the operations that need a token.

use cds_api::{ApiErrorBody, ApiErrorKind, PROBLEM_JSON};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, ResponseBuilder};
use utoipa::Modify;

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Công dân số: city backend API",
        description = "The `/v1` API the Công dân số app talks to. Every error is RFC 9457 \
            problem details (`application/problem+json`) with a `kind` the app translates.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    components(schemas(ApiErrorBody, ApiErrorKind)),
    modifiers(&Security),
    tags(
        (name = "operations", description = "Liveness and readiness"),
        (name = "catalogue", description = "Public services"),
        (name = "applications", description = "Submitting applications and following them"),
        (name = "credentials", description = "Signed citizen QR credentials"),
        (name = "enrolment", description = "Devices enrolled with an activation code"),
    )
)]
pub(crate) struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Adds the answers every operation can give (see the module docs).
pub(crate) fn add_common_answers(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_to(op);
        }
    }
}

fn add_to(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut common = vec![
        ("400", "Malformed request: bad JSON, path or header"),
        ("408", "The request did not arrive in time; safe to retry"),
        ("413", "The body is larger than this route accepts"),
        ("500", "Internal server error"),
        (
            "503",
            "Overloaded, or the database is unreachable; nothing was stored. See `Retry-After`",
        ),
    ];
    if secured {
        common.push(("401", "No, an unknown or a wrong bearer token"));
    }
    for (status, description) in common {
        if op.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                Content::new(Some(Ref::from_schema_name("ApiErrorBody"))),
            )
            .build();
        op.responses
            .responses
            .insert(status.to_owned(), response.into());
    }
}
