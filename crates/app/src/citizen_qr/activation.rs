//! Activation with the one-time code, storing what the city sends, and
//! forgetting the device.

use super::trust_cache::load_trust;
use super::{now_unix, rfc3339, DEVICE_TOKEN};
use crate::error::{from_sync, from_vault, internal};
use crate::{lock, now_rfc3339, AppCore};
use cds_api::{ApiErrorKind, ClaimCredentials, CredentialBundle};
use cds_qr::credential::{self, RevocationList, TrustList, Verification};
use cds_sync::SyncError;
use cds_vault::{CredentialSet, SELF_PROFILE_ID};
use cds_view::{ErrorKind, IpcError, MyQrView, QrDisclosure};

/// The city names what is wrong with an activation code (unknown, used,
/// expired); everything else (401, 429, network) is the general mapping.
pub(crate) fn credential_error(e: SyncError) -> IpcError {
    match e.server_error().map(|(kind, _)| kind) {
        Some(ApiErrorKind::InvalidCode | ApiErrorKind::CodeUsed | ApiErrorKind::CodeExpired) => {
            IpcError::new(ErrorKind::ActivationCode, e.to_string())
        }
        _ => from_sync(e),
    }
}

/// Checks what the city sent before storing it: every credential must be
/// well formed, say what the bundle says it says, and (when this device
/// has the keys) verify as valid. A bad bundle is refused whole.
pub(crate) fn check_bundle(
    bundle: &CredentialBundle,
    trust: Option<&TrustList>,
    now: i64,
) -> Result<CredentialSet, IpcError> {
    let bad = |m: String| {
        IpcError::new(
            ErrorKind::BackendRejected,
            format!("the city sent an unusable credential: {m}"),
        )
    };
    let mut creds = Vec::new();
    for d in QrDisclosure::ALL {
        let Some(c) = bundle.credentials.iter().find(|c| c.disclosure == d) else {
            // The city never signs "over 18" for a minor: that one may be
            // missing, the others may not.
            if d == QrDisclosure::Over18 {
                continue;
            }
            return Err(bad(format!("no {} credential", d.code())));
        };
        let claims = match trust {
            Some(t) => match credential::verify(&c.text, t, &RevocationList::default(), now) {
                Verification::Valid(c) | Verification::NotYetValid(c) => c,
                other => return Err(bad(other.message())),
            },
            None => credential::decode(&c.text)
                .and_then(|u| u.claims_unverified())
                .map_err(|e| bad(e.to_string()))?,
        };
        if claims.disclosure != d || claims.credential_id.to_string() != c.credential_id {
            return Err(bad(format!(
                "the {} credential does not match its description",
                d.code()
            )));
        }
        creds.push(cds_vault::StoredCredential {
            disclosure: d.code().to_owned(),
            credential_id: c.credential_id.clone(),
            text: c.text.clone(),
            not_before: rfc3339(claims.not_before),
            not_after: rfc3339(claims.expires),
        });
    }
    Ok(CredentialSet {
        profile_id: SELF_PROFILE_ID.to_owned(),
        subject_number: bundle.subject_number.clone(),
        full_name: bundle.full_name.clone(),
        credentials: creds,
        fetched_at: now_rfc3339(),
    })
}

impl AppCore {
    /// and stores the three credentials it gets back.
    pub async fn activate_qr(&self, code: &str) -> Result<MyQrView, IpcError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(IpcError::invalid(
                "code",
                "enter the activation code the city gave you",
            ));
        }
        // Fail before spending the one-time code if the vault cannot keep
        // what the city sends back.
        self.vault()?;
        let client = self.city()?;
        let bundle = client
            .claim_credentials(&ClaimCredentials {
                code: code.to_owned(),
                device_name: format!("Công dân số ({})", std::env::consts::OS),
            })
            .await
            .map_err(credential_error)?;
        let token = bundle
            .device_token
            .clone()
            .ok_or_else(|| internal("the city did not send a device token"))?;
        // The code is spent now: keep the token first, so that whatever
        // goes wrong below, the device can still refresh later instead of
        // needing a new code from the counter.
        self.with_vault(|v| v.set_device_value(DEVICE_TOKEN, token.as_bytes()))?;
        // Best effort: with the keys, the credentials are verified before
        // they are stored; without them (the keys' URL failing alone) they
        // are at least decoded and matched.
        let _ = self.update_trust().await;
        self.store_bundle(&bundle)?;
        *lock(&self.qr.refresh_error) = None;
        self.my_qr()
    }

    /// Checks what the city sent against the cached keys (if any) and
    /// replaces the stored set with it.
    pub(crate) fn store_bundle(&self, bundle: &CredentialBundle) -> Result<(), IpcError> {
        let set = {
            let v = self.vault()?;
            let trust = load_trust(&lock(&v)).ok().flatten().map(|(t, _)| t);
            check_bundle(bundle, trust.as_ref(), now_unix())?
        };
        self.with_vault(|v| v.store_credentials(&set))
    }

    /// Removes the credentials and the device token, telling the city first
    /// so the token stops working. If the city cannot be reached nothing is
    /// removed (the citizen can retry), except when the city already
    /// forgot the device.
    pub async fn forget_qr(&self) -> Result<(), IpcError> {
        let token = {
            let v = self.vault()?;
            let t = lock(&v).device_value(DEVICE_TOKEN).map_err(from_vault)?;
            t.map(|t| String::from_utf8_lossy(&t).into_owned())
        };
        if let Some(token) = token {
            match self.city()?.forget_device(&token).await {
                Ok(()) => {}
                // Already forgotten by the city: forget it here too.
                Err(SyncError::Rejected { status: 401, .. }) => {}
                Err(e) => return Err(credential_error(e)),
            }
        }
        self.with_vault(|v| {
            v.delete_credentials(SELF_PROFILE_ID)?;
            v.delete_device_value(DEVICE_TOKEN)
        })?;
        *lock(&self.qr.refresh_error) = None;
        Ok(())
    }
}
