//! Signed citizen credentials: the city's signing key, issuing, revoking and
//! the public trust and revocation lists.
//!
//! The signing key is a P-256 PKCS#8 file in the backend's data directory
//! (`--signing-key`, default `cds-credential-key.p8` beside the database), made on first start
//! with mode 0600 and never committed. Its public key is served by
//! `GET /v1/trust-list`; verifiers (officers' apps, `cds-backend verify`)
//! check credentials offline against it.
//!
//! # Citizen authentication
//!
//! Operators issue and revoke any credential with the admin bearer token
//! (`--admin-token-file`; without one, `POST /v1/credentials`, revoking and
//! enrolling are refused with 403). Citizens get their own credentials
//! through an activation-code enrolment ([`crate::enrollment`]): an operator
//! who has checked the citizen's card at the service counter makes a
//! single-use code (`POST /v1/enrollments` or `cds-backend enroll`), the app
//! claims it (`POST /v1/credentials/claim`) for a device token and then
//! refreshes its credentials with that token (`POST /v1/credentials/refresh`).
//!
//! Limits, stated plainly:
//! - an activation code is exactly as strong as the channel that delivers
//!   it: whoever reads the code first within its 15 minutes becomes the
//!   citizen's device. Hand it over in person, never by SMS or e-mail to an
//!   unverified address;
//! - the operator's identity check at the counter is the only proof of
//!   identity; there is no VNeID (national eID) federation and no second
//!   factor on the device;
//! - a device token is a bearer secret: whoever copies it can refresh until
//!   the device is signed out (`DELETE /v1/devices/current`). Signing out does
//!   not revoke credentials already issued; they expire after
//!   `--credential-validity-days` (default 7) unless the operator revokes
//!   them.

use crate::{AppState, BackendError};
use cds_api::{RevocationListBody, TrustListBody, TrustedKey};
use cds_qr::credential::{hex, Claims, Disclosure, RevocationList, SigningKey, Subject};
use rusqlite::{params, OptionalExtension};
use std::path::Path;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest validity a credential may be issued for, in days.
pub const MAX_VALIDITY_DAYS: u32 = 30;
/// Issuer name written into credentials.
pub const DEFAULT_ISSUER: &str = "Công dân số (reference city)";

/// The city's credential signing key and issuer name.
#[derive(Debug)]
pub struct CredentialIssuer {
    key: SigningKey,
    name: String,
}

impl CredentialIssuer {
    /// Loads the PKCS#8 key at `path`, or makes one there (mode 0600) if no
    /// file exists.
    pub fn load_or_create(path: &Path) -> Result<CredentialIssuer, BackendError> {
        let pkcs8 = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pkcs8 =
                    SigningKey::generate_pkcs8().map_err(|e| BackendError::Data(e.to_string()))?;
                write_private(path, &pkcs8)?;
                pkcs8
            }
            Err(e) => {
                return Err(BackendError::io(
                    format!("cannot read the signing key {}", path.display()),
                    e,
                ))
            }
        };
        let key = SigningKey::from_pkcs8(&pkcs8)
            .map_err(|e| BackendError::Data(format!("signing key {}: {e}", path.display())))?;
        Ok(CredentialIssuer {
            key,
            name: DEFAULT_ISSUER.to_owned(),
        })
    }

    /// An issuer over an existing key (tests).
    pub fn from_key(key: SigningKey) -> CredentialIssuer {
        CredentialIssuer {
            key,
            name: DEFAULT_ISSUER.to_owned(),
        }
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The issuer name written into credentials.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public trust list: this key.
    pub fn trust_list(&self) -> TrustListBody {
        TrustListBody {
            issuer: self.name.clone(),
            keys: vec![TrustedKey {
                kid: hex(self.key.kid()),
                alg: "ES256".into(),
                public_key: b64(self.key.public_key()),
            }],
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| BackendError::io(format!("cannot create {}", parent.display()), e))?;
    }
    let mut f = opts
        .open(path)
        .map_err(|e| BackendError::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| BackendError::io(format!("cannot write {}", path.display()), e))
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A credential as issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub claims: Claims,
    pub payload: String,
    pub kid: String,
}

pub(crate) fn rfc3339(unix: i64) -> Result<String, BackendError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| BackendError::Data(format!("time {unix} is out of range")))
}

impl Issued {
    pub fn to_wire(&self) -> Result<cds_api::IssuedCredential, BackendError> {
        Ok(cds_api::IssuedCredential {
            credential_id: self.claims.credential_id.to_string(),
            payload: self.payload.clone(),
            kid: self.kid.clone(),
            disclosure: self.claims.disclosure.code().to_owned(),
            not_before: rfc3339(self.claims.not_before)?,
            expires: rfc3339(self.claims.expires)?,
        })
    }
}

impl AppState {
    /// This state with a credential issuer.
    pub fn with_issuer(mut self, issuer: CredentialIssuer) -> AppState {
        self.issuer = Some(Arc::new(issuer));
        self
    }

    /// This state with the admin bearer token required to issue and revoke.
    pub fn with_admin_token(mut self, token: &str) -> AppState {
        self.admin_token = Some(Arc::from(token));
        self
    }

    pub(crate) fn issuer(&self) -> Result<&Arc<CredentialIssuer>, BackendError> {
        self.issuer
            .as_ref()
            .ok_or_else(|| BackendError::NotFound("this backend does not issue credentials".into()))
    }

    /// Checks an `Authorization` header value against the admin token.
    pub(crate) fn check_admin(&self, authorization: Option<&str>) -> Result<(), BackendError> {
        let Some(token) = &self.admin_token else {
            return Err(BackendError::Forbidden(
                "issuing, revoking and enrolling is disabled: no admin token is configured \
                 (start the server with --admin-token-file)"
                    .into(),
            ));
        };
        let given = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                BackendError::Unauthorized(
                    "an `Authorization: Bearer` admin token is required".into(),
                )
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

    /// Issues and records a credential.
    pub async fn issue_credential(
        &self,
        req: cds_api::IssueCredential,
        now: i64,
    ) -> Result<Issued, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        let disclosure = Disclosure::from_code(&req.disclosure).ok_or_else(|| {
            BackendError::Unprocessable(format!(
                "unknown disclosure `{}`; use full, over18 or name_only",
                req.disclosure
            ))
        })?;
        let days = req.validity_days.unwrap_or(MAX_VALIDITY_DAYS);
        if !(1..=MAX_VALIDITY_DAYS).contains(&days) {
            return Err(BackendError::Unprocessable(format!(
                "validity_days must be 1 to {MAX_VALIDITY_DAYS}"
            )));
        }
        check_province(&req.id_number, "id_number")?;
        let subject = Subject {
            id_number: req.id_number.clone(),
            full_name: req.full_name.clone(),
            date_of_birth: req.date_of_birth.clone(),
        };
        let claims = Claims::new(
            &subject,
            disclosure,
            &issuer.name,
            now,
            i64::from(days) * 86_400,
        )
        .map_err(|e| BackendError::Unprocessable(e.to_string()))?;
        let payload = issuer
            .key
            .issue(&claims)
            .map_err(|e| BackendError::Data(e.to_string()))?;
        let kid = hex(issuer.key.kid());
        let row = (
            claims.credential_id.to_string(),
            kid.clone(),
            disclosure.code().to_owned(),
            req.id_number,
            claims.issued_at,
            claims.expires,
        );
        self.with_db(move |conn| {
            conn.execute(
                "INSERT INTO credentials (id, kid, disclosure, id_number, issued_at, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.0, row.1, row.2, row.3, row.4, row.5],
            )?;
            Ok(())
        })
        .await?;
        Ok(Issued {
            claims,
            payload,
            kid,
        })
    }

    /// Revokes a credential (idempotent: revoking again keeps the first
    /// time). Returns the revocation time.
    pub async fn revoke_credential(&self, id: &str, now: i64) -> Result<(Uuid, i64), BackendError> {
        let id = Uuid::parse_str(id).map_err(|_| {
            BackendError::BadRequest(format!("`{id}` is not a credential id (UUID)"))
        })?;
        let key = id.to_string();
        let at = self
            .with_db(move |conn| {
                conn.execute(
                    "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![key, now],
                )?;
                conn.query_row(
                    "SELECT revoked_at FROM credentials WHERE id = ?1",
                    [&key],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()?
                .flatten()
                .ok_or_else(|| BackendError::NotFound(format!("no credential `{key}`")))
            })
            .await?;
        Ok((id, at))
    }

    /// The revocation list (ids of revoked credentials not yet expired),
    /// signed with the issuing key.
    pub async fn revocations(&self, now: i64) -> Result<RevocationListBody, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        let ids: Vec<String> = self
            .with_db(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND expires > ?1
                     ORDER BY id",
                )?;
                let rows = stmt.query_map([now], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for r in rows {
                    out.push(r?);
                }
                Ok(out)
            })
            .await?;
        let mut list = RevocationList {
            issued_at: now,
            revoked: Default::default(),
        };
        for id in &ids {
            list.revoked.insert(
                Uuid::parse_str(id).map_err(|_| BackendError::Data(format!("stored id `{id}`")))?,
            );
        }
        let signed = issuer
            .key
            .sign_revocations(&list)
            .map_err(|e| BackendError::Data(e.to_string()))?;
        Ok(RevocationListBody {
            issued_at: now,
            credential_ids: ids,
            signed: b64(&signed),
        })
    }
}

fn check_province(number: &str, field: &str) -> Result<(), BackendError> {
    if !cds_qr::cccd::PROVINCE_CODES
        .iter()
        .any(|(c, _)| number.get(..3).and_then(|p| p.parse::<u16>().ok()) == Some(*c))
    {
        return Err(BackendError::Unprocessable(format!(
            "{field} must be 12 digits starting with a province code"
        )));
    }
    Ok(())
}

/// Checks that a `full` credential could be signed for `subject` at `now`
/// (number with a province code, a name, a real past date of birth).
pub(crate) fn validate_subject(subject: &Subject, now: i64) -> Result<(), BackendError> {
    check_province(&subject.id_number, "number")?;
    Claims::new(subject, Disclosure::Full, DEFAULT_ISSUER, now, 1)
        .map(|_| ())
        .map_err(|e| BackendError::Unprocessable(e.to_string()))
}

/// Current Unix time.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn unb64(s: &str, what: &str) -> Result<Vec<u8>, BackendError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| BackendError::Unprocessable(format!("{what} is not base64")))
}

/// A verifier's trust list from the served JSON.
pub fn trust_list_from_wire(
    body: &TrustListBody,
) -> Result<cds_qr::credential::TrustList, BackendError> {
    let mut list = cds_qr::credential::TrustList::new();
    for k in &body.keys {
        if k.alg != "ES256" {
            return Err(BackendError::Unprocessable(format!(
                "trust list key {} has unsupported algorithm {}",
                k.kid, k.alg
            )));
        }
        let kid = cds_qr::credential::unhex(&k.kid)
            .ok_or_else(|| BackendError::Unprocessable(format!("kid `{}` is not hex", k.kid)))?;
        list.add(&unb64(&k.public_key, "a public key")?, Some(&kid))
            .map_err(|e| BackendError::Unprocessable(e.to_string()))?;
    }
    Ok(list)
}

/// A verifier's revocation list from the served JSON; its signature is
/// checked against `trust`.
pub fn revocations_from_wire(
    body: &RevocationListBody,
    trust: &cds_qr::credential::TrustList,
) -> Result<RevocationList, BackendError> {
    RevocationList::from_signed(&unb64(&body.signed, "the signed revocation list")?, trust)
        .map_err(|e| BackendError::Unprocessable(e.to_string()))
}
