//! The crate's one error type. How it travels over HTTP is in
//! `http/error.rs`.

use axum::http::StatusCode;
use cds_api::ApiErrorKind;

/// Everything that can go wrong in the backend: bad requests, storage,
/// certificates, networking.
///
/// The first group are the caller's mistakes and map to 4xx responses; the
/// rest are the server's own failures and map to `500 internal` (their detail
/// goes to the log, not to the client).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The request itself is malformed (bad JSON, missing header…): 400.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but its content is not acceptable: 422.
    #[error("{0}")]
    Unprocessable(String),
    /// No such application / route: 404.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this HTTP method: 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// No or a wrong bearer token (admin or device): 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(String),
    /// The activation code does not exist: 404 `invalid_code`.
    #[error("{0}")]
    InvalidCode(String),
    /// The activation code was already claimed: 409 `code_used`.
    #[error("{0}")]
    CodeUsed(String),
    /// The activation code expired: 410 `code_expired`.
    #[error("{0}")]
    CodeExpired(String),
    /// Too many failed claims: 429 `rate_limited` with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        retry_after_secs: u64,
        message: String,
    },
    /// The operation is disabled on this server: 403.
    #[error("{0}")]
    Forbidden(String),
    /// The idempotency key was already used with a different payload: 409.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// The body is larger than the route accepts: 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request did not arrive (or was not answered) in time: 408.
    #[error("{0}")]
    Timeout(String),
    /// The server cannot answer now, and stored nothing: overloaded, or
    /// its database is unreachable or not migrated yet. 503 with
    /// `Retry-After`.
    #[error("{message}")]
    Unavailable {
        retry_after_secs: u64,
        message: String,
    },

    /// The database could not be opened, configured or migrated.
    #[error("cannot open database {location}: {message}")]
    OpenDatabase { location: String, message: String },
    /// The database was written by a newer backend than this one.
    #[error("database schema version {found} is newer than this backend knows ({known})")]
    SchemaTooNew { found: i64, known: usize },
    /// A query failed (the driver's message; no driver type leaves the
    /// store).
    #[error("database error: {0}")]
    Database(String),
    /// Stored data does not decode (corrupt row, bad seed catalogue…).
    #[error("stored data is invalid: {0}")]
    Data(String),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Making the development certificates failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS material or configuration is unusable.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A background task died.
    #[error("background task failed: {0}")]
    Task(String),
}

impl BackendError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BackendError::Io {
            context: context.into(),
            source,
        }
    }

    /// HTTP status and API error kind for this error.
    pub fn status_and_kind(&self) -> (StatusCode, ApiErrorKind) {
        match self {
            BackendError::BadRequest(_) => (StatusCode::BAD_REQUEST, ApiErrorKind::InvalidInput),
            BackendError::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorKind::InvalidInput)
            }
            BackendError::NotFound(_) => (StatusCode::NOT_FOUND, ApiErrorKind::NotFound),
            BackendError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, ApiErrorKind::InvalidInput)
            }
            BackendError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ApiErrorKind::Unauthorized),
            BackendError::InvalidCode(_) => (StatusCode::NOT_FOUND, ApiErrorKind::InvalidCode),
            BackendError::CodeUsed(_) => (StatusCode::CONFLICT, ApiErrorKind::CodeUsed),
            BackendError::CodeExpired(_) => (StatusCode::GONE, ApiErrorKind::CodeExpired),
            BackendError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ApiErrorKind::RateLimited)
            }
            BackendError::Forbidden(_) => (StatusCode::FORBIDDEN, ApiErrorKind::Forbidden),
            BackendError::IdempotencyConflict(_) => {
                (StatusCode::CONFLICT, ApiErrorKind::IdempotencyConflict)
            }
            BackendError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ApiErrorKind::PayloadTooLarge)
            }
            BackendError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, ApiErrorKind::Timeout),
            BackendError::Unavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, ApiErrorKind::Unavailable)
            }
            BackendError::OpenDatabase { .. }
            | BackendError::SchemaTooNew { .. }
            | BackendError::Database(_)
            | BackendError::Data(_)
            | BackendError::Io { .. }
            | BackendError::Certificate(_)
            | BackendError::Tls(_)
            | BackendError::Task(_) => (StatusCode::INTERNAL_SERVER_ERROR, ApiErrorKind::Internal),
        }
    }
}
