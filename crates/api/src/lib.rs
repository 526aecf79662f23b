//! Wire types of the city backend's HTTP API (`/v1`).
//!
//! This crate is the contract between the app (`cds-sync`) and the reference
//! backend (`cds-backend`). It holds plain data only: no I/O, no keys, no UI.
//! Everything here is JSON over HTTPS; field names are `snake_case`.
//!
//! Invariants:
//! - A [`SubmitApplication`] carries an `idempotency_key` made on the device
//!   when the citizen pressed "submit". The backend stores each key at most
//!   once, so retrying a submission can never create a second application.
//! - Errors travel as [`ApiErrorBody`], RFC 9457 problem details
//!   (`application/problem+json`) with one extension member, `kind`: a
//!   stable machine-readable code that the app translates. `detail` is for
//!   logs and developers.

use serde::{Deserialize, Serialize};

// The domain's enums and the document field schema are the contract's
// vocabulary: one copy, in cds-domain, re-exported here for the wire types
// and their users.
pub use cds_domain::disclosure::{DisclosureChannel, QrDisclosure};
pub use cds_domain::document::{
    Choices, DocumentKind, FieldSpec, FieldType, LICENCE_CLASSES, SEX_CHOICES,
};

/// Path prefix of every endpoint of this API version.
pub const API_PREFIX: &str = "/v1";
/// HTTP header that must repeat the body's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// One public service in the city's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceInfo {
    /// Stable code, e.g. `"1.001612"` (national catalogue style).
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub agency_vi: String,
    pub agency_en: String,
    /// Fee in Vietnamese đồng; 0 when free.
    pub fee_vnd: u64,
    /// Legal processing time in working days.
    pub processing_days: u32,
    /// Whether the whole procedure can be done online ("toàn trình").
    pub fully_online: bool,
    /// Papers the applicant must provide; filled from the vault.
    pub required_documents: Vec<DocumentKind>,
}

/// The applicant as declared on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Applicant {
    /// 12-digit personal identification number (số định danh cá nhân).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{12}$", example = "048095001234")
    )]
    pub id_number: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Lê Thị Hồng Nhung", max_length = 200)
    )]
    pub full_name: String,
    /// ISO date `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "1995-08-19"))]
    pub date_of_birth: String,
}

/// A paper sent with an application, as structured data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRef {
    pub kind: DocumentKind,
    /// The paper's own number (CCCD number, passport number…).
    #[cfg_attr(feature = "openapi", schema(example = "048095001234", max_length = 64))]
    pub number: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Lê Thị Hồng Nhung", max_length = 200)
    )]
    pub full_name: String,
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "1995-08-19"))]
    pub date_of_birth: String,
    /// Number of attachments (photos, scans) the citizen holds for it.
    #[cfg_attr(feature = "openapi", schema(maximum = 50))]
    pub attachment_count: u32,
}

/// `POST /v1/applications` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "idempotency_key": "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01",
    "service_code": "1.001612",
    "applicant": {
        "id_number": "048095001234",
        "full_name": "Lê Thị Hồng Nhung",
        "date_of_birth": "1995-08-19"
    },
    "documents": [{
        "kind": "cccd",
        "number": "048095001234",
        "full_name": "Lê Thị Hồng Nhung",
        "date_of_birth": "1995-08-19",
        "attachment_count": 1
    }],
    "submitted_at": "2026-03-02T09:15:00+07:00"
})))]
pub struct SubmitApplication {
    /// UUID made on the device when the citizen pressed submit.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    )]
    pub idempotency_key: String,
    #[cfg_attr(feature = "openapi", schema(example = "1.001612"))]
    pub service_code: String,
    pub applicant: Applicant,
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub documents: Vec<DocumentRef>,
    /// RFC 3339 time on the device when the citizen pressed submit.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-03-02T09:15:00+07:00"))]
    pub submitted_at: String,
}

/// Where an application stands at the city: the domain's one enum (same
/// wire names), so app, backend and UI cannot drift apart.
pub use cds_domain::ApplicationStatus;

/// The backend's answer to a submission or a status lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationReceipt {
    /// Case number assigned by the city, e.g. `"HS-2026-000001"`.
    pub case_number: String,
    pub idempotency_key: String,
    pub service_code: String,
    pub status: ApplicationStatus,
    /// RFC 3339 time the city first stored the application.
    pub received_at: String,
    /// Promised completion date (`YYYY-MM-DD`).
    pub due_date: String,
}

/// `GET /v1/health` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every non-2xx response carries this body: an RFC 9457 problem details
/// object (`application/problem+json`) with the API's own `kind`, which is
/// what the app translates.
///
/// `type` is a `tag:` URI (RFC 4151) naming the kind: stable, and never
/// dereferenced. `message` repeats `detail` for clients written before the
/// body became problem details; new clients read [`ApiErrorBody::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorBody {
    /// `tag:cong-dan-so,2026:problem/<kind>`.
    #[serde(rename = "type", default)]
    pub problem_type: String,
    /// A short summary of the kind, the same for every occurrence.
    #[serde(default)]
    pub title: String,
    /// The HTTP status code of this answer.
    #[serde(default)]
    pub status: u16,
    /// What went wrong this time (for logs and developers, not for
    /// citizens: the app shows its own translated text for `kind`).
    #[serde(default)]
    pub detail: String,
    pub kind: ApiErrorKind,
    /// The same as `detail` (the body's name for it before RFC 9457).
    #[serde(default)]
    pub message: String,
}

impl ApiErrorBody {
    /// The problem details of one error answer.
    pub fn new(kind: ApiErrorKind, status: u16, detail: impl Into<String>) -> ApiErrorBody {
        let detail = detail.into();
        ApiErrorBody {
            problem_type: kind.problem_type(),
            title: kind.title().to_owned(),
            status,
            message: detail.clone(),
            detail,
            kind,
        }
    }

    /// What went wrong: `detail`, or `message` from a server older than
    /// problem details.
    pub fn text(&self) -> &str {
        if self.detail.is_empty() {
            &self.message
        } else {
            &self.detail
        }
    }
}

/// Stable error codes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorKind {
    /// The request body or a field is malformed.
    InvalidInput,
    /// No such service / application.
    NotFound,
    /// The idempotency key was already used with a different payload.
    IdempotencyConflict,
    /// Something failed on the server.
    Internal,
    /// No, an unknown or a forgotten bearer token (device or admin): sign
    /// in again.
    Unauthorized,
    /// The activation code does not exist (mistyped or made up).
    InvalidCode,
    /// The activation code was already claimed; codes are single-use.
    CodeUsed,
    /// The activation code is past its expiry; ask the service counter for a
    /// new one.
    CodeExpired,
    /// Too many failed attempts; the `Retry-After` header says how many
    /// seconds to wait.
    RateLimited,
    /// The body is larger than this route accepts (413).
    PayloadTooLarge,
    /// The request was not received in time (408): a slow or stalled
    /// client. Safe to retry.
    Timeout,
    /// The server cannot answer now (503): overloaded, or its database is
    /// unreachable. Nothing was stored; retry after `Retry-After` seconds.
    Unavailable,
    /// The caller is known but not allowed to do this (403).
    Forbidden,
}

impl ApiErrorKind {
    /// The stable `snake_case` code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            ApiErrorKind::InvalidInput => "invalid_input",
            ApiErrorKind::NotFound => "not_found",
            ApiErrorKind::IdempotencyConflict => "idempotency_conflict",
            ApiErrorKind::Internal => "internal",
            ApiErrorKind::Unauthorized => "unauthorized",
            ApiErrorKind::InvalidCode => "invalid_code",
            ApiErrorKind::CodeUsed => "code_used",
            ApiErrorKind::CodeExpired => "code_expired",
            ApiErrorKind::RateLimited => "rate_limited",
            ApiErrorKind::PayloadTooLarge => "payload_too_large",
            ApiErrorKind::Timeout => "timeout",
            ApiErrorKind::Unavailable => "unavailable",
            ApiErrorKind::Forbidden => "forbidden",
        }
    }

    /// Every kind (for tests and documentation).
    pub const ALL: [ApiErrorKind; 13] = [
        ApiErrorKind::InvalidInput,
        ApiErrorKind::NotFound,
        ApiErrorKind::IdempotencyConflict,
        ApiErrorKind::Internal,
        ApiErrorKind::Unauthorized,
        ApiErrorKind::InvalidCode,
        ApiErrorKind::CodeUsed,
        ApiErrorKind::CodeExpired,
        ApiErrorKind::RateLimited,
        ApiErrorKind::PayloadTooLarge,
        ApiErrorKind::Timeout,
        ApiErrorKind::Unavailable,
        ApiErrorKind::Forbidden,
    ];

    /// The problem type URI of this kind (RFC 9457 `type`).
    pub fn problem_type(self) -> String {
        format!("tag:cong-dan-so,2026:problem/{}", self.code())
    }

    /// The problem's short summary (RFC 9457 `title`), in English: the app
    /// shows its own translation of the kind, never this.
    pub fn title(self) -> &'static str {
        match self {
            ApiErrorKind::InvalidInput => "The request is not valid",
            ApiErrorKind::NotFound => "Not found",
            ApiErrorKind::IdempotencyConflict => {
                "The idempotency key was used for a different request"
            }
            ApiErrorKind::Internal => "Internal server error",
            ApiErrorKind::Unauthorized => "Authentication required",
            ApiErrorKind::InvalidCode => "Unknown activation code",
            ApiErrorKind::CodeUsed => "Activation code already used",
            ApiErrorKind::CodeExpired => "Activation code expired",
            ApiErrorKind::RateLimited => "Too many attempts",
            ApiErrorKind::PayloadTooLarge => "Request body too large",
            ApiErrorKind::Timeout => "Request not received in time",
            ApiErrorKind::Unavailable => "Service temporarily unavailable",
            ApiErrorKind::Forbidden => "Not allowed",
        }
    }
}

/// The catalogue snapshot shipped with both the app and the reference backend
/// (`assets/catalogue.json`). The backend seeds its database from it; the app
/// uses it offline until the first sync brings the city's current catalogue.
pub const SEED_CATALOGUE_JSON: &str = include_str!("../../../assets/catalogue.json");

/// Parses [`SEED_CATALOGUE_JSON`].
pub fn seed_catalogue() -> Result<Vec<ServiceInfo>, ApiError> {
    serde_json::from_str(SEED_CATALOGUE_JSON).map_err(|e| ApiError::Catalogue(e.to_string()))
}

/// Errors from parsing wire values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("catalogue is not valid JSON: {0}")]
    Catalogue(String),
}

// ---------------------------------------------------------------------------
// Citizen credentials (issue #4): signed QR credentials, trust list,
// revocations. The credential itself is an opaque `CDS1:` text; its format
// and verification live in `cds-qr`.

/// `POST /v1/credentials` body: issue a signed credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueCredential {
    /// 12-digit personal identification number.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{12}$", example = "048095001234")
    )]
    pub id_number: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Lê Thị Hồng Nhung", max_length = 200)
    )]
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "1995-08-19"))]
    pub date_of_birth: String,
    /// `full`, `over18` or `name_only`: what the credential discloses.
    #[cfg_attr(feature = "openapi", schema(example = "full"))]
    pub disclosure: String,
    /// Validity in days (1..=30); 30 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<u32>,
}

/// `POST /v1/credentials` answer (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedCredential {
    /// UUID; the handle for revocation.
    pub credential_id: String,
    /// The QR text (`CDS1:…`).
    pub payload: String,
    /// Hex key id of the signing key.
    pub kid: String,
    pub disclosure: QrDisclosure,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339; the app refreshes the credential before this.
    pub expires: String,
}

/// One public key of the city's trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedKey {
    /// Hex key id (first 8 bytes of SHA-256 of the public key).
    pub kid: String,
    /// Always `ES256` (ECDSA P-256 with SHA-256).
    pub alg: String,
    /// Standard base64 of the 65-byte uncompressed SEC1 public key.
    pub public_key: String,
}

/// `GET /v1/trust-list` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustListBody {
    /// The issuer name carried in credentials.
    pub issuer: String,
    pub keys: Vec<TrustedKey>,
}

/// `GET /v1/revocations` body. `signed` is authoritative: a verifier checks
/// it against the trust list and ignores the plain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationListBody {
    /// Unix seconds when the list was produced.
    pub issued_at: i64,
    /// Revoked credential ids (UUIDs), for display and debugging.
    pub credential_ids: Vec<String>,
    /// Standard base64 of the COSE_Sign1 revocation list signed by the city.
    pub signed: String,
}

/// `POST /v1/credentials/{id}/revoke` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedCredential {
    pub credential_id: String,
    /// Unix seconds of the (first) revocation.
    pub revoked_at: i64,
}

// ---------------------------------------------------------------------------
// Citizen enrolment: an operator at the city's service counter checks the
// citizen's card and hands over a one-time activation code; the app claims
// it for a device token and then refreshes its credentials with that token.

/// `POST /v1/enrollments` body (operator only, admin bearer token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateEnrollment {
    /// 12-digit personal identification number.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9]{12}$", example = "048095001234")
    )]
    pub number: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Lê Thị Hồng Nhung", max_length = 200)
    )]
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date, example = "1995-08-19"))]
    pub date_of_birth: String,
}

/// `POST /v1/enrollments` answer (201): the activation code to hand over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentCode {
    /// Like `"K7QM-4ZPX"`: 8 symbols of an alphabet without 0/O and 1/I
    /// (40 bits), shown in two groups. Single-use.
    pub code: String,
    /// RFC 3339; the code cannot be claimed after this.
    pub expires_at: String,
}

/// `POST /v1/credentials/claim` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimCredentials {
    /// The activation code; case, dashes and spaces do not matter.
    #[cfg_attr(feature = "openapi", schema(example = "K7QM-4ZPX"))]
    pub code: String,
    /// A name the citizen recognises the device by (e.g. "Pixel 8").
    #[cfg_attr(feature = "openapi", schema(example = "Pixel 8", max_length = 100))]
    pub device_name: String,
}

/// Answer of `POST /v1/credentials/claim` and `POST /v1/credentials/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialBundle {
    /// The device's bearer token (base64url of 256 random bits). Only in the
    /// claim answer; the server keeps only its hash, so it cannot be shown
    /// again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// The enrolled citizen's 12-digit number.
    pub subject_number: String,
    pub full_name: String,
    /// Freshly signed credentials: `full`, `over18` (only when the citizen
    /// is 18 or older) and `name_only`.
    pub credentials: Vec<BundleCredential>,
}

/// One signed credential of a [`CredentialBundle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleCredential {
    /// What it discloses (`full`, `over18` or `name_only` on the wire).
    pub disclosure: QrDisclosure,
    /// UUID; the handle for revocation.
    pub credential_id: String,
    /// The QR text (`CDS1:…`).
    pub text: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339; refresh before this.
    pub not_after: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_problem_details_with_kind() {
        let body = ApiErrorBody::new(ApiErrorKind::IdempotencyConflict, 409, "x");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"type":"tag:cong-dan-so,2026:problem/idempotency_conflict","title":"The idempotency key was used for a different request","status":409,"detail":"x","kind":"idempotency_conflict","message":"x"}"#
        );
        assert_eq!(body.text(), "x");
    }

    #[test]
    fn an_old_servers_kind_and_message_still_parse() {
        let old: ApiErrorBody =
            serde_json::from_str(r#"{"kind":"code_used","message":"used"}"#).unwrap();
        assert_eq!(old.kind, ApiErrorKind::CodeUsed);
        assert_eq!(old.text(), "used");
        assert_eq!(old.status, 0);
    }

    #[test]
    fn error_kind_codes_match_their_json() {
        let mut codes = std::collections::BTreeSet::new();
        for kind in ApiErrorKind::ALL {
            assert!(codes.insert(kind.code()), "{kind:?} repeats a code");
            assert!(!kind.title().is_empty());
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.code())
            );
        }
    }

    #[test]
    fn the_device_token_is_left_out_of_refresh_answers() {
        let bundle = CredentialBundle {
            device_token: None,
            subject_number: "001099012345".into(),
            full_name: "Nguyễn Văn An".into(),
            credentials: vec![],
        };
        let json = serde_json::to_string(&bundle).unwrap();
        assert!(!json.contains("device_token"), "{json}");
        assert_eq!(
            serde_json::from_str::<CredentialBundle>(&json).unwrap(),
            bundle
        );
    }

    #[test]
    fn seed_catalogue_parses_with_vietnamese_names() {
        let cat = seed_catalogue().unwrap();
        assert!(cat.len() >= 5);
        assert!(cat.iter().any(|s| s.name_vi == "Đăng ký thường trú"));
        let mut codes: Vec<_> = cat.iter().map(|s| s.code.as_str()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), cat.len(), "service codes are unique");
        assert!(cat
            .iter()
            .all(|s| s.required_documents.contains(&DocumentKind::Cccd)));
    }
}
