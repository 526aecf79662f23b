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
//! the window passes. The counted attempts live in the store, so the limit
//! holds across restarts and across instances sharing a database. At 10 guesses a minute, finding one pending code among
//! 2^40 takes on the order of 10^5 years. Because the limit is global, an
//! attacker can keep claims refused for everyone (a denial of service, not a
//! break-in); a deployment would add per-client limits in front.

use crate::credentials::{rfc3339, CredentialIssuer};
use crate::domain::issuing::{sign_bundle, validate_subject};
use crate::store::{Admission, ClaimOutcome, Devices, Enrollments, NewDevice, NewEnrollment};
use crate::BackendError;
use cds_api::{ClaimCredentials, CreateEnrollment, CredentialBundle, EnrollmentCode};
use cds_qr::credential::{hex, Subject};

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

/// Whether a device may be refused for its name: 1 to
/// [`MAX_DEVICE_NAME_CHARS`] characters after trimming.
fn check_device_name(name: &str) -> Result<(), BackendError> {
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(BackendError::Unprocessable(format!(
            "device_name must be 1 to {MAX_DEVICE_NAME_CHARS} characters"
        )));
    }
    Ok(())
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

pub(crate) fn device_unknown() -> BackendError {
    BackendError::Unauthorized(
        "this device token is unknown or was signed out; claim a new activation code".into(),
    )
}

/// Records an enrolment for a citizen whose card the operator checked, and
/// returns its one-time activation code (valid [`CODE_VALIDITY_SECS`] from
/// `now`).
pub async fn create_enrollment<S: Enrollments + ?Sized>(
    store: &S,
    req: CreateEnrollment,
    now: i64,
) -> Result<EnrollmentCode, BackendError> {
    let subject = Subject {
        id_number: req.number.trim().to_owned(),
        full_name: req.full_name.trim().to_owned(),
        date_of_birth: req.date_of_birth.trim().to_owned(),
    };
    // Refuse now what could not be signed at claim time.
    validate_subject(&subject, now)?;
    let expires_at = now + CODE_VALIDITY_SECS;
    let expires_text = rfc3339(expires_at)?;
    // The store keeps every code hash unique, which also keeps a used code
    // from ever being handed out again; on the rare clash, draw another.
    for _ in 0..8 {
        let code = new_code()?;
        let inserted = store
            .insert_enrollment(NewEnrollment {
                code_sha256: sha256_hex(&code),
                subject: subject.clone(),
                created_at: now,
                expires_at,
            })
            .await?;
        if inserted {
            return Ok(EnrollmentCode {
                code: display_code(&code),
                expires_at: expires_text,
            });
        }
    }
    Err(BackendError::Data(
        "could not draw an unused activation code".into(),
    ))
}

fn code_used(shown: &str) -> BackendError {
    BackendError::CodeUsed(format!(
        "activation code {shown} was already used; each code works once, \
         ask the service counter for a new one"
    ))
}

fn code_unknown(shown: &str) -> BackendError {
    BackendError::InvalidCode(format!(
        "activation code {shown} does not exist; check it for typos"
    ))
}

fn code_expired(shown: &str, expires_at: i64) -> Result<BackendError, BackendError> {
    Ok(BackendError::CodeExpired(format!(
        "activation code {shown} expired at {}; ask the service counter for a new one",
        rfc3339(expires_at)?
    )))
}

/// Admits one claim attempt at `now` through the store's guard, counting it
/// as failed until the claim succeeds. Counting up front means concurrent
/// guesses cannot slip past the limit between check and record.
async fn admit<S: Enrollments + ?Sized>(
    store: &S,
    now: i64,
) -> Result<crate::store::AttemptId, BackendError> {
    let max = u32::try_from(MAX_FAILED_CLAIMS).unwrap_or(u32::MAX);
    match store
        .admit_claim_attempt(now, CLAIM_WINDOW_SECS, max)
        .await?
    {
        Admission::Admitted(id) => Ok(id),
        Admission::Refused { oldest_at } => {
            let retry_after_secs = u64::try_from(oldest_at + CLAIM_WINDOW_SECS - now)
                .unwrap_or(1)
                .max(1);
            Err(BackendError::RateLimited {
                retry_after_secs,
                message: format!(
                    "too many wrong activation codes were tried; try again in \
                     {retry_after_secs} s"
                ),
            })
        }
    }
}

/// Claims an activation code: consumes it, registers a device and returns
/// its token with freshly signed credentials. Failures count towards the
/// global brute-force guard.
pub async fn claim_credentials<S: Enrollments + ?Sized>(
    store: &S,
    issuer: &CredentialIssuer,
    validity_days: u32,
    req: ClaimCredentials,
    now: i64,
) -> Result<CredentialBundle, BackendError> {
    let device_name = req.device_name.trim().to_owned();
    check_device_name(&device_name)?;
    let attempt = admit(store, now).await?;
    let Some(code) = normalize_code(&req.code) else {
        return Err(BackendError::InvalidCode(format!(
            "`{}` is not an activation code: it has {CODE_LEN} letters and digits, \
             like K7QM-4ZPX",
            req.code.trim()
        )));
    };
    let shown = display_code(&code);
    let code_hash = sha256_hex(&code);
    // Decide what can be decided from the stored enrolment; the claim below
    // checks again, atomically, so a concurrent claim cannot win twice.
    let Some(enrollment) = store.enrollment_by_code(&code_hash).await? else {
        return Err(code_unknown(&shown));
    };
    if enrollment.claimed_at.is_some() {
        return Err(code_used(&shown));
    }
    if now >= enrollment.expires_at {
        return Err(code_expired(&shown, enrollment.expires_at)?);
    }
    let (bundle, records) = sign_bundle(issuer, &enrollment.subject, now, validity_days)?;
    let token = new_device_token()?;
    let device = NewDevice {
        token_sha256: sha256_hex(&token),
        device_name,
    };
    match store.claim_code(&code_hash, now, device, records).await? {
        ClaimOutcome::Claimed { .. } => {}
        ClaimOutcome::Unknown => return Err(code_unknown(&shown)),
        ClaimOutcome::AlreadyUsed => return Err(code_used(&shown)),
        ClaimOutcome::Expired { expires_at } => return Err(code_expired(&shown, expires_at)?),
    }
    store.release_claim_attempt(attempt).await?;
    Ok(CredentialBundle {
        device_token: Some(token),
        ..bundle
    })
}

/// Fresh credentials for the device holding `token`.
pub async fn refresh_credentials<S: Devices + ?Sized>(
    store: &S,
    issuer: &CredentialIssuer,
    validity_days: u32,
    token: &str,
    now: i64,
) -> Result<CredentialBundle, BackendError> {
    let token_hash = sha256_hex(token);
    let device = store
        .active_device(&token_hash)
        .await?
        .ok_or_else(device_unknown)?;
    let (bundle, records) = sign_bundle(issuer, &device.subject, now, validity_days)?;
    // Signed out between the lookup and now: nothing recorded, refused.
    if !store.record_refresh(device.id, now, records).await? {
        return Err(device_unknown());
    }
    Ok(bundle)
}

/// Signs the device holding `token` out: the token stops working. Its
/// credentials stay valid until they expire (the operator can revoke them).
pub async fn forget_device<S: Devices + ?Sized>(
    store: &S,
    token: &str,
    now: i64,
) -> Result<(), BackendError> {
    if store.forget_device(&sha256_hex(token), now).await? {
        Ok(())
    } else {
        Err(device_unknown())
    }
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

    #[tokio::test]
    async fn the_guard_allows_ten_failures_a_minute_and_not_concurrent_extras() {
        let store = crate::store::sqlite::SqliteStore::in_memory().unwrap();
        for _ in 0..MAX_FAILED_CLAIMS {
            admit(&store, 1000).await.unwrap();
        }
        match admit(&store, 1030).await {
            Err(BackendError::RateLimited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 30),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        admit(&store, 1060).await.unwrap();
        // A success gives its slot back.
        let store = crate::store::sqlite::SqliteStore::in_memory().unwrap();
        for _ in 0..MAX_FAILED_CLAIMS {
            let id = admit(&store, 5).await.unwrap();
            store.release_claim_attempt(id).await.unwrap();
        }
        admit(&store, 5).await.unwrap();
    }
}
