//! Signing credentials: by an operator, for a claimed device, and the signed
//! revocation list.

use crate::credentials::{
    b64, rfc3339, CredentialIssuer, Issued, DEFAULT_ISSUER, MAX_VALIDITY_DAYS,
};
use crate::store::{CredentialRecord, Credentials};
use crate::BackendError;
use cds_api::{BundleCredential, CredentialBundle, RevocationListBody};
use cds_qr::credential::{hex, Claims, Disclosure, RevocationList, Subject};
use uuid::Uuid;

/// Issues and records a credential (operator, admin token).
pub async fn issue_credential<S: Credentials + ?Sized>(
    store: &S,
    issuer: &CredentialIssuer,
    req: cds_api::IssueCredential,
    now: i64,
) -> Result<Issued, BackendError> {
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
        issuer.name(),
        now,
        i64::from(days) * 86_400,
    )
    .map_err(|e| BackendError::Unprocessable(e.to_string()))?;
    let payload = issuer
        .key()
        .issue(&claims)
        .map_err(|e| BackendError::Data(e.to_string()))?;
    let kid = hex(issuer.key().kid());
    store
        .insert_credential(CredentialRecord {
            credential_id: claims.credential_id.to_string(),
            kid: kid.clone(),
            disclosure: disclosure.code().to_owned(),
            id_number: req.id_number,
            issued_at: claims.issued_at,
            expires: claims.expires,
        })
        .await?;
    Ok(Issued {
        claims,
        payload,
        kid,
    })
}

/// Revokes a credential (idempotent: revoking again keeps the first time).
/// Returns the revocation time.
pub async fn revoke_credential<S: Credentials + ?Sized>(
    store: &S,
    id: &str,
    now: i64,
) -> Result<(Uuid, i64), BackendError> {
    let id = Uuid::parse_str(id)
        .map_err(|_| BackendError::BadRequest(format!("`{id}` is not a credential id (UUID)")))?;
    let key = id.to_string();
    let at = store
        .revoke_credential(&key, now)
        .await?
        .ok_or_else(|| BackendError::NotFound(format!("no credential `{key}`")))?;
    Ok((id, at))
}

/// Signs the revocation list of `ids` (revoked, unexpired credential ids,
/// ordered) as of `now`.
pub fn sign_revocations(
    issuer: &CredentialIssuer,
    ids: Vec<String>,
    now: i64,
) -> Result<RevocationListBody, BackendError> {
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
        .key()
        .sign_revocations(&list)
        .map_err(|e| BackendError::Data(e.to_string()))?;
    Ok(RevocationListBody {
        issued_at: now,
        credential_ids: ids,
        signed: b64(&signed),
    })
}

/// A device's credentials, signed for `subject`, and the records the store
/// keeps of them (so revocation and the signed list cover them).
///
/// `over18` is left out for a citizen under 18: it would be a false claim.
pub(crate) fn sign_bundle(
    issuer: &CredentialIssuer,
    subject: &Subject,
    now: i64,
    days: u32,
) -> Result<(CredentialBundle, Vec<CredentialRecord>), BackendError> {
    let kid = hex(issuer.key().kid());
    let mut credentials = Vec::with_capacity(Disclosure::ALL.len());
    let mut records = Vec::with_capacity(Disclosure::ALL.len());
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
        records.push(CredentialRecord {
            credential_id: claims.credential_id.to_string(),
            kid: kid.clone(),
            disclosure: disclosure.code().to_owned(),
            id_number: subject.id_number.clone(),
            issued_at: claims.issued_at,
            expires: claims.expires,
        });
        credentials.push(BundleCredential {
            disclosure,
            credential_id: claims.credential_id.to_string(),
            text,
            not_before: rfc3339(claims.not_before)?,
            not_after: rfc3339(claims.expires)?,
        });
    }
    let bundle = CredentialBundle {
        device_token: None,
        subject_number: subject.id_number.clone(),
        full_name: subject.full_name.clone(),
        credentials,
    };
    Ok((bundle, records))
}

/// Whether an `over18` credential can be signed for `subject` at `now`
/// (`cds-qr` owns the age rule, so ask it rather than repeat it).
fn is_adult(issuer: &CredentialIssuer, subject: &Subject, now: i64) -> bool {
    Claims::new(subject, Disclosure::Over18, issuer.name(), now, 1).is_ok()
}

fn check_province(number: &str, field: &str) -> Result<(), BackendError> {
    let province = cds_domain::id_number::province_code_of(number)
        .and_then(cds_domain::id_number::birth_registration_province);
    if province.is_none() {
        return Err(BackendError::Unprocessable(format!(
            "{field} must be 12 digits starting with a province code"
        )));
    }
    Ok(())
}

/// Checks that a `full` credential could be signed for `subject` at `now`
/// (number with a province code, a name, a real past date of birth).
pub(crate) fn validate_subject(subject: &Subject, now: i64) -> Result<(), BackendError> {
    let cap = crate::domain::rules::caps::NAME_CHARS;
    if subject.full_name.chars().count() > cap {
        return Err(BackendError::Unprocessable(format!(
            "full_name is longer than {cap} characters"
        )));
    }
    check_province(&subject.id_number, "number")?;
    Claims::new(subject, Disclosure::Full, DEFAULT_ISSUER, now, 1)
        .map(|_| ())
        .map_err(|e| BackendError::Unprocessable(e.to_string()))
}
