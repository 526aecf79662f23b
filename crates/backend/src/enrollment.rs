//! Citizen enrolment: activation codes, device tokens and credential bundles.
//!
//! The model is an activation letter or a code handed over at the city's
//! service counter:
//!
//! 1. An operator checks the citizen's card in person and calls
//!    `POST /v1/enrollments` (admin token) or runs `cds-backend enroll`. The
//!    backend answers a one-time code like `K7QM-4ZPX` valid for
//!    [`CODE_VALIDITY_SECS`].
//! 2. The citizen types the code into the app, which calls
//!    `POST /v1/credentials/claim`. The code is consumed, and the app gets a
//!    random 256-bit device token plus freshly signed credentials.
//! 3. Later the app calls `POST /v1/credentials/refresh` with
//!    `Authorization: Bearer <device token>` for new credentials, and
//!    `DELETE /v1/devices/current` to sign the device out.
//!
//! Codes and tokens are stored only as SHA-256 hex, so a copy of the database
//! does not hand out working device tokens. Codes have only 40 bits, so a
//! stolen database could be searched for a *pending* code's preimage; the
//! 15-minute expiry bounds that window.
//!
//! Wrong guesses are limited globally: more than [`MAX_FAILED_CLAIMS`]
//! failed claims within [`CLAIM_WINDOW_SECS`] answer `429 rate_limited` until
//! the window passes. At 10 guesses a minute, finding one pending code among
//! 2^40 takes on the order of 10^5 years. Because the limit is global, an
//! attacker can keep claims refused for everyone (a denial of service, not a
//! break-in); a deployment would add per-client limits in front.

use crate::credentials::{rfc3339, validate_subject, CredentialIssuer, MAX_VALIDITY_DAYS};
use crate::{AppState, BackendError};
use cds_api::{BundleCredential, ClaimCredentials, CreateEnrollment, CredentialBundle};
use cds_qr::credential::{hex, Claims, Disclosure, Subject};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::VecDeque;
use std::sync::{Arc, PoisonError};

/// How long an activation code can be claimed.
pub const CODE_VALIDITY_SECS: i64 = 15 * 60;
/// Failed claims allowed within [`CLAIM_WINDOW_SECS`] before `429`.
pub const MAX_FAILED_CLAIMS: usize = 10;
/// The sliding window of the brute-force guard.
pub const CLAIM_WINDOW_SECS: i64 = 60;
/// Default validity of credentials issued to devices
/// (`--credential-validity-days`).
pub const DEFAULT_DEVICE_VALIDITY_DAYS: u32 = 7;
/// Longest device name accepted, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 100;

/// Code symbols: digits and capitals without 0/O and 1/I, which people
/// confuse when reading a code aloud or off paper. 32 symbols = 5 bits each.
const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Symbols per code: 8 x 5 = 40 bits.
const CODE_LEN: usize = 8;

/// Recent failed claims (Unix seconds), oldest first.
#[derive(Debug, Default)]
pub(crate) struct ClaimGuard {
    attempts: VecDeque<i64>,
}

impl ClaimGuard {
    /// Admits one claim attempt at `now`, counting it as failed until
    /// [`ClaimGuard::succeeded`] says otherwise. Counting up front means
    /// concurrent guesses cannot slip past the limit between check and
    /// record.
    fn admit(&mut self, now: i64) -> Result<(), BackendError> {
        while self
            .attempts
            .front()
            .is_some_and(|t| *t <= now - CLAIM_WINDOW_SECS)
        {
            self.attempts.pop_front();
        }
        if self.attempts.len() >= MAX_FAILED_CLAIMS {
            let oldest = self.attempts.front().copied().unwrap_or(now);
            let retry_after_secs = u64::try_from(oldest + CLAIM_WINDOW_SECS - now)
                .unwrap_or(1)
                .max(1);
            return Err(BackendError::RateLimited {
                retry_after_secs,
                message: format!(
                    "too many wrong activation codes were tried; try again in \
                     {retry_after_secs} s"
                ),
            });
        }
        self.attempts.push_back(now);
        Ok(())
    }

    /// The attempt admitted at `at` succeeded: it no longer counts.
    fn succeeded(&mut self, at: i64) {
        if let Some(i) = self.attempts.iter().rposition(|t| *t == at) {
            self.attempts.remove(i);
        }
    }
}

/// SHA-256 hex of a secret, as stored.
fn sha256_hex(secret: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], BackendError> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| BackendError::Data("the system random generator failed".into()))?;
    Ok(out)
}

/// A fresh code, normalized (no dash).
fn new_code() -> Result<String, BackendError> {
    let bytes = random_bytes::<CODE_LEN>()?;
    // 256 is a multiple of 32, so masking keeps every symbol equally likely.
    Ok(bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect())
}

/// `K7QM4ZPX` -> `K7QM-4ZPX`, for reading aloud and typing.
fn display_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// The code as typed -> its normalized form: case, dashes and blanks are
/// ignored. `None` if it cannot be a code at all.
pub(crate) fn normalize_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A device token: base64url (no padding) of 256 random bits.
fn new_device_token() -> Result<String, BackendError> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The token of an `Authorization: Bearer` header value. The scheme name is
/// case-insensitive (RFC 9110).
pub(crate) fn bearer(authorization: Option<&str>) -> Result<&str, BackendError> {
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

fn device_unknown() -> BackendError {
    BackendError::Unauthorized(
        "this device token is unknown or was signed out; claim a new activation code".into(),
    )
}

/// The enrolled citizen, as stored.
struct Enrolled {
    subject: Subject,
}

impl AppState {
    /// This state with another clock (Unix seconds); tests use it to expire
    /// codes and pass rate-limit windows without sleeping.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> AppState {
        self.clock = Arc::new(clock);
        self
    }

    /// This state issuing device credentials valid for `days`, clamped to
    /// 1..=[`MAX_VALIDITY_DAYS`].
    pub fn with_credential_validity_days(mut self, days: u32) -> AppState {
        self.credential_validity_days = days.clamp(1, MAX_VALIDITY_DAYS);
        self
    }

    /// Now, by this state's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Records an enrolment for a citizen whose card the operator checked,
    /// and returns its one-time activation code (valid
    /// [`CODE_VALIDITY_SECS`] from `now`).
    pub async fn create_enrollment(
        &self,
        req: CreateEnrollment,
        now: i64,
    ) -> Result<cds_api::EnrollmentCode, BackendError> {
        let subject = Subject {
            id_number: req.number.trim().to_owned(),
            full_name: req.full_name.trim().to_owned(),
            date_of_birth: req.date_of_birth.trim().to_owned(),
        };
        // Refuse now what could not be signed at claim time.
        validate_subject(&subject, now)?;
        let expires_at = now + CODE_VALIDITY_SECS;
        let expires_text = rfc3339(expires_at)?;
        let code = self
            .with_db(move |conn| {
                // UNIQUE(code_sha256) also keeps a used code from ever being
                // handed out again; on the rare clash, draw another.
                for _ in 0..8 {
                    let code = new_code()?;
                    let inserted = conn.execute(
                        "INSERT INTO enrollments (code_sha256, id_number, full_name, date_of_birth,
                                                  created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (code_sha256) DO NOTHING",
                        params![
                            sha256_hex(&code),
                            subject.id_number,
                            subject.full_name,
                            subject.date_of_birth,
                            now,
                            expires_at
                        ],
                    )?;
                    if inserted == 1 {
                        return Ok(code);
                    }
                }
                Err(BackendError::Data(
                    "could not draw an unused activation code".into(),
                ))
            })
            .await?;
        Ok(cds_api::EnrollmentCode {
            code: display_code(&code),
            expires_at: expires_text,
        })
    }

    /// Claims an activation code: consumes it, registers a device and returns
    /// its token with freshly signed credentials. Failures count towards the
    /// global brute-force guard.
    pub async fn claim_credentials(
        &self,
        req: ClaimCredentials,
        now: i64,
    ) -> Result<CredentialBundle, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        let device_name = req.device_name.trim().to_owned();
        if device_name.is_empty() || device_name.chars().count() > MAX_DEVICE_NAME_CHARS {
            return Err(BackendError::Unprocessable(format!(
                "device_name must be 1 to {MAX_DEVICE_NAME_CHARS} characters"
            )));
        }
        self.claim_guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(now)?;
        let Some(code) = normalize_code(&req.code) else {
            return Err(BackendError::InvalidCode(format!(
                "`{}` is not an activation code: it has {CODE_LEN} letters and digits, \
                 like K7QM-4ZPX",
                req.code.trim()
            )));
        };
        let token = new_device_token()?;
        let token_hash = sha256_hex(&token);
        let days = self.credential_validity_days;
        let bundle = self
            .with_db(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row = tx
                    .query_row(
                        "SELECT id, id_number, full_name, date_of_birth, expires_at, claimed_at
                         FROM enrollments WHERE code_sha256 = ?1",
                        [sha256_hex(&code)],
                        |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                Subject {
                                    id_number: r.get(1)?,
                                    full_name: r.get(2)?,
                                    date_of_birth: r.get(3)?,
                                },
                                r.get::<_, i64>(4)?,
                                r.get::<_, Option<i64>>(5)?,
                            ))
                        },
                    )
                    .optional()?;
                let shown = display_code(&code);
                let Some((enrollment_id, subject, expires_at, claimed_at)) = row else {
                    return Err(BackendError::InvalidCode(format!(
                        "activation code {shown} does not exist; check it for typos"
                    )));
                };
                if claimed_at.is_some() {
                    return Err(BackendError::CodeUsed(format!(
                        "activation code {shown} was already used; each code works once, \
                         ask the service counter for a new one"
                    )));
                }
                if now >= expires_at {
                    return Err(BackendError::CodeExpired(format!(
                        "activation code {shown} expired at {}; ask the service counter for \
                         a new one",
                        rfc3339(expires_at)?
                    )));
                }
                tx.execute(
                    "UPDATE enrollments SET claimed_at = ?2 WHERE id = ?1",
                    params![enrollment_id, now],
                )?;
                tx.execute(
                    "INSERT INTO devices (token_sha256, enrollment_id, device_name, created_at,
                                          last_used_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![token_hash, enrollment_id, device_name, now],
                )?;
                let device_id = tx.last_insert_rowid();
                let enrolled = Enrolled { subject };
                let bundle = issue_bundle(&tx, &issuer, &enrolled, device_id, now, days)?;
                // Consuming the code, registering the device and recording
                // the credentials commit together or not at all.
                tx.commit()?;
                Ok(bundle)
            })
            .await?;
        self.claim_guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .succeeded(now);
        Ok(CredentialBundle {
            device_token: Some(token),
            ..bundle
        })
    }

    /// Fresh credentials for the device holding `token`.
    pub async fn refresh_credentials(
        &self,
        token: &str,
        now: i64,
    ) -> Result<CredentialBundle, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        let token_hash = sha256_hex(token);
        let days = self.credential_validity_days;
        self.with_db(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (device_id, enrolled) =
                find_device(&tx, &token_hash)?.ok_or_else(device_unknown)?;
            tx.execute(
                "UPDATE devices SET last_used_at = ?2 WHERE id = ?1",
                params![device_id, now],
            )?;
            let bundle = issue_bundle(&tx, &issuer, &enrolled, device_id, now, days)?;
            tx.commit()?;
            Ok(bundle)
        })
        .await
    }

    /// Signs the device holding `token` out: the token stops working. Its
    /// credentials stay valid until they expire (the operator can revoke
    /// them).
    pub async fn forget_device(&self, token: &str, now: i64) -> Result<(), BackendError> {
        let token_hash = sha256_hex(token);
        self.with_db(move |conn| {
            let n = conn.execute(
                "UPDATE devices SET forgotten_at = ?2
                 WHERE token_sha256 = ?1 AND forgotten_at IS NULL",
                params![token_hash, now],
            )?;
            if n == 0 {
                return Err(device_unknown());
            }
            Ok(())
        })
        .await
    }
}

/// The active device with this token hash, and its enrolled citizen.
///
/// The lookup compares hashes, so its timing tells nothing useful about the
/// token itself.
fn find_device(
    conn: &Connection,
    token_hash: &str,
) -> Result<Option<(i64, Enrolled)>, BackendError> {
    Ok(conn
        .query_row(
            "SELECT d.id, e.id_number, e.full_name, e.date_of_birth
             FROM devices d JOIN enrollments e ON e.id = d.enrollment_id
             WHERE d.token_sha256 = ?1 AND d.forgotten_at IS NULL",
            [token_hash],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Enrolled {
                        subject: Subject {
                            id_number: r.get(1)?,
                            full_name: r.get(2)?,
                            date_of_birth: r.get(3)?,
                        },
                    },
                ))
            },
        )
        .optional()?)
}

/// Signs the bundle's credentials and records them (with the device) in
/// `credentials`, so revocation and the signed revocation list cover them.
///
/// `over18` is left out for a citizen under 18: it would be a false claim.
fn issue_bundle(
    conn: &Connection,
    issuer: &CredentialIssuer,
    enrolled: &Enrolled,
    device_id: i64,
    now: i64,
    days: u32,
) -> Result<CredentialBundle, BackendError> {
    let subject = &enrolled.subject;
    let kid = hex(issuer.key().kid());
    let mut credentials = Vec::with_capacity(Disclosure::ALL.len());
    for disclosure in Disclosure::ALL {
        if disclosure == Disclosure::Over18 && !is_adult(issuer, subject, now) {
            continue;
        }
        let claims = Claims::new(
            subject,
            disclosure,
            issuer.name(),
            now,
            i64::from(days) * 86_400,
        )
        .map_err(|e| BackendError::Data(format!("stored enrolment: {e}")))?;
        let text = issuer
            .key()
            .issue(&claims)
            .map_err(|e| BackendError::Data(e.to_string()))?;
        conn.execute(
            "INSERT INTO credentials (id, kid, disclosure, id_number, issued_at, expires,
                                      device_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                claims.credential_id.to_string(),
                kid,
                disclosure.code(),
                subject.id_number,
                claims.issued_at,
                claims.expires,
                device_id
            ],
        )?;
        credentials.push(BundleCredential {
            disclosure: disclosure.code().to_owned(),
            credential_id: claims.credential_id.to_string(),
            text,
            not_before: rfc3339(claims.not_before)?,
            not_after: rfc3339(claims.expires)?,
        });
    }
    Ok(CredentialBundle {
        device_token: None,
        subject_number: subject.id_number.clone(),
        full_name: subject.full_name.clone(),
        credentials,
    })
}

/// Whether an `over18` credential can be signed for `subject` at `now`
/// (`cds-qr` owns the age rule, so ask it rather than repeat it).
fn is_adult(issuer: &CredentialIssuer, subject: &Subject, now: i64) -> bool {
    Claims::new(subject, Disclosure::Over18, issuer.name(), now, 1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_40_bits_of_an_unambiguous_alphabet() {
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), CODE_LEN);
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            assert_eq!(normalize_code(&code), Some(code.clone()));
        }
        assert_eq!(CODE_ALPHABET.len().pow(CODE_LEN as u32), 1 << 40);
    }

    #[test]
    fn typed_codes_ignore_case_dashes_and_blanks() {
        assert_eq!(normalize_code("k7qm-4zpx"), Some("K7QM4ZPX".into()));
        assert_eq!(normalize_code(" K7QM 4ZPX "), Some("K7QM4ZPX".into()));
        assert_eq!(normalize_code("K7QM-4ZP"), None);
        assert_eq!(normalize_code("K7QM-4ZP0"), None);
        assert_eq!(display_code("K7QM4ZPX"), "K7QM-4ZPX");
    }

    #[test]
    fn device_tokens_are_256_bit_base64url() {
        let t = new_device_token().unwrap();
        assert_eq!(t.len(), 43);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(t, new_device_token().unwrap());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some("bearer abc")).unwrap(), "abc");
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(Some("Bearer ")).is_err());
        assert!(bearer(None).is_err());
    }

    #[test]
    fn the_guard_allows_ten_failures_a_minute_and_not_concurrent_extras() {
        let mut g = ClaimGuard::default();
        for _ in 0..MAX_FAILED_CLAIMS {
            g.admit(1000).unwrap();
        }
        match g.admit(1030) {
            Err(BackendError::RateLimited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 30),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        g.admit(1060).unwrap();
        // A success gives its slot back.
        let mut g = ClaimGuard::default();
        for _ in 0..MAX_FAILED_CLAIMS {
            g.admit(5).unwrap();
            g.succeeded(5);
        }
        g.admit(5).unwrap();
    }
}
