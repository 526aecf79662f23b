//! The refresh policy: new credentials before the old ones run out, and
//! the automatic upkeep the background tick drives.

use super::activation::credential_error;
use super::trust_cache::load_trust;
use super::{now_unix, parse_rfc3339, DEVICE_TOKEN};
use crate::error::{from_vault, internal};
use crate::{lock, AppCore};
use cds_vault::{CredentialSet, SELF_PROFILE_ID};
use cds_view::{ErrorKind, IpcError, MyQrView, QrDisclosure};
use std::sync::Mutex;

/// Credentials are refreshed once less than this share of their validity
/// is left: with the default 7 days, after about 4 days, so a phone that
/// is online every few days never shows an expired code.
const REFRESH_WHEN_LEFT: f64 = 0.4;
/// After a failed automatic refresh or download, wait this long before the
/// next try (the sync tick is 5 s; the city should not be hammered).
const RETRY_AFTER_SECS: i64 = 60;
/// The keys and revocation list are re-downloaded when older than this.
pub(crate) const TRUST_MAX_AGE_SECS: i64 = 6 * 3600;

/// Whether a set should be refreshed now: one is missing, expired, or has
/// less than [`REFRESH_WHEN_LEFT`] of its validity left.
pub(crate) fn refresh_due(set: Option<&CredentialSet>, now: i64) -> bool {
    let Some(set) = set else { return true };
    // "Over 18" is absent for a minor; the other two are always issued.
    let has = |d: QrDisclosure| set.credentials.iter().any(|c| c.disclosure == d.code());
    if !has(QrDisclosure::Full) || !has(QrDisclosure::NameOnly) {
        return true;
    }
    set.credentials.iter().any(|c| {
        match (parse_rfc3339(&c.not_before), parse_rfc3339(&c.not_after)) {
            (Some(nbf), Some(exp)) if exp > nbf => {
                let left = (exp - now) as f64;
                left < (exp - nbf) as f64 * REFRESH_WHEN_LEFT
            }
            _ => true,
        }
    })
}

impl AppCore {
    /// Downloads fresh credentials with the device token.
    pub async fn refresh_qr(&self) -> Result<MyQrView, IpcError> {
        *lock(&self.qr.last_refresh_attempt) = Some(now_unix());
        let result = self.refresh_inner().await;
        *lock(&self.qr.refresh_error) = result.as_ref().err().cloned();
        result?;
        self.my_qr()
    }

    async fn refresh_inner(&self) -> Result<(), IpcError> {
        let token = {
            let v = self.vault()?;
            let t = lock(&v).device_value(DEVICE_TOKEN).map_err(from_vault)?;
            t.ok_or_else(|| {
                IpcError::new(
                    ErrorKind::Unauthorized,
                    "this device has not been activated for a citizen QR",
                )
            })?
        };
        let token = String::from_utf8(token.to_vec())
            .map_err(|_| internal("the stored device token is not text"))?;
        let bundle = self
            .city()?
            .refresh_credentials(&token)
            .await
            .map_err(credential_error)?;
        self.store_bundle(&bundle)
    }

    /// Automatic upkeep, from the sync tick: refresh credentials that are
    /// due, re-download keys that are old. Failures are kept for the UI and
    /// retried after [`RETRY_AFTER_SECS`].
    pub async fn qr_tick(&self) {
        let Ok(v) = self.vault() else { return };
        let now = now_unix();
        let (enrolled, due, trust_old) = {
            let v = lock(&v);
            let enrolled = matches!(v.device_value(DEVICE_TOKEN), Ok(Some(_)));
            let set = v.credentials(SELF_PROFILE_ID).ok().flatten();
            let trust_old = match load_trust(&v) {
                Ok(Some((_, c))) => {
                    parse_rfc3339(&c.fetched_at).is_none_or(|t| now - t > TRUST_MAX_AGE_SECS)
                }
                _ => true,
            };
            (enrolled, refresh_due(set.as_ref(), now), trust_old)
        };
        let waited =
            |last: &Mutex<Option<i64>>| lock(last).is_none_or(|t| now - t >= RETRY_AFTER_SECS);
        if trust_old && waited(&self.qr.last_trust_attempt) {
            let _ = self.update_trust().await;
        }
        if enrolled && due && waited(&self.qr.last_refresh_attempt) {
            let _ = self.refresh_qr().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rfc3339;
    use super::*;
    use cds_vault::StoredCredential;

    fn cred(d: &str, nbf: i64, exp: i64) -> StoredCredential {
        StoredCredential {
            disclosure: d.into(),
            credential_id: "x".into(),
            text: "CDS1:".into(),
            not_before: rfc3339(nbf),
            not_after: rfc3339(exp),
        }
    }

    #[test]
    fn refresh_is_due_when_little_validity_is_left() {
        let day = 86_400;
        let set = |exp_of_last: i64| CredentialSet {
            profile_id: SELF_PROFILE_ID.into(),
            subject_number: "079203001234".into(),
            full_name: "A".into(),
            credentials: vec![
                cred("full", 0, 7 * day),
                cred("over18", 0, 7 * day),
                cred("name_only", 0, exp_of_last),
            ],
            fetched_at: rfc3339(0),
        };
        assert!(!refresh_due(Some(&set(7 * day)), day));
        assert!(refresh_due(Some(&set(7 * day)), 5 * day));
        assert!(refresh_due(Some(&set(2 * day)), day + day / 2));
        assert!(refresh_due(None, 0));
        let mut partial = set(7 * day);
        partial.credentials.pop();
        assert!(refresh_due(Some(&partial), day), "name only missing");
        // A minor has no "over 18": not a reason to refresh.
        let mut minor = set(7 * day);
        minor.credentials.remove(1);
        assert!(!refresh_due(Some(&minor), day));
    }
}
