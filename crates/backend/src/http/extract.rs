//! Extractors: what a handler needs from a request, checked before it runs.
//!
//! Each rejection is a [`BackendError`], so it is answered like every other
//! error (JSON [`cds_api::ApiErrorBody`], `WWW-Authenticate` on 401). Axum
//! runs extractors in argument order; handlers list them in the order the
//! checks must happen (issuing enabled, then the admin token, then the
//! body).

use crate::credentials::CredentialIssuer;
use crate::{AppState, BackendError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A JSON body; malformed JSON is `400 invalid_input` with serde's reason.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = BackendError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> BackendError {
    // The route's body limit (`DefaultBodyLimit`) shows here as a 413.
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return BackendError::PayloadTooLarge(format!(
            "the body is larger than this route accepts: {}",
            rejection.body_text()
        ));
    }
    BackendError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

/// A path parameter; a bad one is `400 invalid_input`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = BackendError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(BackendError::BadRequest(e.body_text())),
        }
    }
}

/// This backend issues credentials (it has a signing key); otherwise
/// `404 not_found`.
#[derive(Debug, Clone)]
pub struct Issuing(pub Arc<CredentialIssuer>);

impl FromRequestParts<AppState> for Issuing {
    type Rejection = BackendError;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Issuing(Arc::clone(state.issuer()?)))
    }
}

/// The caller presented the admin bearer token: `403` when none is
/// configured, `401` when it is missing or wrong.
#[derive(Debug, Clone, Copy)]
pub struct AdminToken;

impl FromRequestParts<AppState> for AdminToken {
    type Rejection = BackendError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        check_admin(state.admin_token.as_deref(), authorization(&parts.headers)?)?;
        Ok(AdminToken)
    }
}

/// A device's bearer token (`Authorization: Bearer <token>`); `401` when
/// missing. Whether the token is known is the rules' question.
#[derive(Debug, Clone)]
pub struct DeviceToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for DeviceToken {
    type Rejection = BackendError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(DeviceToken(
            bearer(authorization(&parts.headers)?)?.to_owned(),
        ))
    }
}

fn authorization(headers: &HeaderMap) -> Result<Option<&str>, BackendError> {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| {
            v.to_str().map_err(|_| {
                BackendError::BadRequest("the Authorization header is not ASCII".into())
            })
        })
        .transpose()
}

/// Checks an `Authorization` header value against the admin token. The
/// comparison is of SHA-256 digests, so its timing tells nothing about how
/// much of the token was right.
fn check_admin(configured: Option<&str>, authorization: Option<&str>) -> Result<(), BackendError> {
    let Some(token) = configured else {
        return Err(BackendError::Forbidden(
            "issuing, revoking and enrolling is disabled: no admin token is configured \
             (start the server with --admin-token-file)"
                .into(),
        ));
    };
    let given = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            BackendError::Unauthorized("an `Authorization: Bearer` admin token is required".into())
        })?;
    let a = ring::digest::digest(&ring::digest::SHA256, given.as_bytes());
    let b = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    if a.as_ref() != b.as_ref() {
        return Err(BackendError::Unauthorized(
            "the admin token is wrong".into(),
        ));
    }
    Ok(())
}

/// The token of an `Authorization: Bearer` header value. The scheme name is
/// case-insensitive (RFC 9110).
fn bearer(authorization: Option<&str>) -> Result<&str, BackendError> {
    authorization
        .and_then(|h| {
            let (scheme, token) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            BackendError::Unauthorized(
                "an `Authorization: Bearer <device token>` header is required".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some("bearer abc")).unwrap(), "abc");
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(Some("Bearer ")).is_err());
        assert!(bearer(None).is_err());
    }

    #[test]
    fn the_admin_check_says_disabled_missing_or_wrong() {
        assert!(matches!(
            check_admin(None, Some("Bearer x")),
            Err(BackendError::Forbidden(_))
        ));
        assert!(matches!(
            check_admin(Some("secret"), None),
            Err(BackendError::Unauthorized(_))
        ));
        assert!(matches!(
            check_admin(Some("secret"), Some("Bearer nope")),
            Err(BackendError::Unauthorized(_))
        ));
        check_admin(Some("secret"), Some("Bearer secret")).unwrap();
    }
}
