//! The city's public keys and revocation list, cached in the vault for
//! offline checks. A damaged cache counts as none, never as "trust
//! anything"; an older revocation list never replaces a newer one.

use super::{now_unix, rfc3339};
use crate::error::{from_sync, from_vault, internal};
use crate::{lock, now_rfc3339, AppCore};
use base64::Engine as _;
use cds_api::TrustListBody;
use cds_qr::credential::{self, RevocationList, TrustList};
use cds_vault::Vault;
use cds_view::{ErrorKind, IpcError, TrustStatusView};
use serde::{Deserialize, Serialize};

/// Vault device value: [`TrustCache`] as JSON.
pub(crate) const TRUST_CACHE: &str = "qr/trust-list";
/// Vault device value: the last `RevocationListBody` as JSON.
pub(crate) const REVOCATION_CACHE: &str = "qr/revocations";

/// What is cached of `GET /v1/trust-list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TrustCache {
    pub(crate) body: TrustListBody,
    pub(crate) fetched_at: String,
}

/// The cached keys, checked again on every load (a damaged cache is
/// treated as none, never as "trust anything").
pub(crate) fn load_trust(v: &Vault) -> Result<Option<(TrustList, TrustCache)>, IpcError> {
    let Some(raw) = v.device_value(TRUST_CACHE).map_err(from_vault)? else {
        return Ok(None);
    };
    let cache: TrustCache = serde_json::from_slice(&raw)
        .map_err(|e| internal(format!("the cached trust list is unreadable: {e}")))?;
    let list = trust_list_of(&cache.body)?;
    Ok(Some((list, cache)))
}

/// The city's published keys, read by the one rule
/// ([`TrustList::from_published`]): keys of an algorithm this app does not
/// know are skipped with a warning, a damaged key or no usable key refuses
/// the list.
pub(crate) fn trust_list_of(body: &TrustListBody) -> Result<TrustList, IpcError> {
    let decoded: Vec<Vec<u8>> = body
        .keys
        .iter()
        .map(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(&k.public_key)
                .unwrap_or_default()
        })
        .collect();
    let published =
        body.keys
            .iter()
            .zip(&decoded)
            .map(|(k, public_key)| credential::PublishedKey {
                kid: &k.kid,
                alg: &k.alg,
                public_key,
            });
    let (list, skipped) =
        TrustList::from_published(published).map_err(|e| internal(e.to_string()))?;
    for kid in skipped {
        tracing::warn!(%kid, "trust list key of an unsupported algorithm skipped");
    }
    Ok(list)
}

pub(crate) fn load_revocations(v: &Vault, trust: &TrustList) -> Option<RevocationList> {
    let raw = v.device_value(REVOCATION_CACHE).ok()??;
    let body: cds_api::RevocationListBody = serde_json::from_slice(&raw).ok()?;
    let signed = base64::engine::general_purpose::STANDARD
        .decode(&body.signed)
        .ok()?;
    RevocationList::from_signed(&signed, trust).ok()
}

impl AppCore {
    /// The cached keys and revocation list.
    pub fn trust_status(&self) -> Result<TrustStatusView, IpcError> {
        let v = self.vault()?;
        let v = lock(&v);
        let error = lock(&self.qr.trust_error).clone();
        let Some((trust, cache)) = load_trust(&v)? else {
            return Ok(TrustStatusView {
                keys: 0,
                issuer: None,
                keys_fetched_at: None,
                revocations_as_of: None,
                revoked: 0,
                error,
            });
        };
        let revocations = load_revocations(&v, &trust);
        Ok(TrustStatusView {
            keys: trust.len() as u32,
            issuer: Some(cache.body.issuer),
            keys_fetched_at: Some(cache.fetched_at),
            revocations_as_of: revocations.as_ref().map(|r| rfc3339(r.issued_at)),
            revoked: revocations.map_or(0, |r| r.revoked.len() as u32),
            error,
        })
    }

    /// Downloads the city's keys and revocation list, checks them, and
    /// caches them in the vault for offline checks.
    pub async fn update_trust(&self) -> Result<TrustStatusView, IpcError> {
        *lock(&self.qr.last_trust_attempt) = Some(now_unix());
        let result = self.update_trust_inner().await;
        *lock(&self.qr.trust_error) = result.as_ref().err().cloned();
        result?;
        self.trust_status()
    }

    async fn update_trust_inner(&self) -> Result<(), IpcError> {
        self.vault()?;
        let client = self.city()?;
        let body = client.trust_list().await.map_err(from_sync)?;
        let trust = trust_list_of(&body)?;
        let revocations = client.revocations().await.map_err(from_sync)?;
        let signed = base64::engine::general_purpose::STANDARD
            .decode(&revocations.signed)
            .map_err(|e| internal(format!("the revocation list is not base64: {e}")))?;
        let list = RevocationList::from_signed(&signed, &trust).map_err(|e| {
            IpcError::new(
                ErrorKind::BackendRejected,
                format!("the city's revocation list does not verify: {e}"),
            )
        })?;
        let cache = TrustCache {
            body,
            fetched_at: now_rfc3339(),
        };
        let cache_json = serde_json::to_vec(&cache).map_err(|e| internal(e.to_string()))?;
        let rev_json = serde_json::to_vec(&revocations).map_err(|e| internal(e.to_string()))?;
        self.with_vault(|v| {
            // Never go back to an older list (a replayed one).
            let older =
                load_revocations(v, &trust).is_some_and(|old| old.issued_at > list.issued_at);
            v.set_device_value(TRUST_CACHE, &cache_json)?;
            if !older {
                v.set_device_value(REVOCATION_CACHE, &rev_json)?;
            }
            Ok(())
        })
    }
}
