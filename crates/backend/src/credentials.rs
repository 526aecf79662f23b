//! Signed citizen credentials: the city's signing key and the public trust
//! and revocation lists as verifiers read them. The rules of issuing and
//! revoking are in [`crate::domain::issuing`].
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

use crate::BackendError;
use cds_api::{RevocationListBody, TrustListBody, TrustedKey};
use cds_qr::credential::{hex, Claims, RevocationList, SigningKey};
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
            disclosure: self.claims.disclosure,
            not_before: rfc3339(self.claims.not_before)?,
            expires: rfc3339(self.claims.expires)?,
        })
    }
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

/// A verifier's trust list from the served JSON, by the one rule
/// ([`cds_qr::credential::TrustList::from_published`], as the app reads
/// it): keys of another algorithm are skipped with a warning; a damaged key,
/// or no usable key, refuses the list.
pub fn trust_list_from_wire(
    body: &TrustListBody,
) -> Result<cds_qr::credential::TrustList, BackendError> {
    use base64::Engine;
    let decoded: Vec<Vec<u8>> = body
        .keys
        .iter()
        .map(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k.public_key.trim())
                .unwrap_or_default()
        })
        .collect();
    let published =
        body.keys
            .iter()
            .zip(&decoded)
            .map(|(k, public_key)| cds_qr::credential::PublishedKey {
                kid: &k.kid,
                alg: &k.alg,
                public_key,
            });
    let (list, skipped) = cds_qr::credential::TrustList::from_published(published)
        .map_err(|e| BackendError::Unprocessable(e.to_string()))?;
    for kid in skipped {
        tracing::warn!(%kid, "trust list key of an unsupported algorithm skipped");
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
