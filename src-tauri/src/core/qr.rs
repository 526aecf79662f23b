//! The citizen QR, scanning and the officer's offline check.
//!
//! Invariants:
//! - The device token (what lets this device ask the city for fresh
//!   credentials) and the credentials themselves live in the vault, sealed
//!   and device-bound (not in backups). The UI learns only whether the
//!   device is activated.
//! - A citizen QR is checked only against the city's public keys cached in
//!   the vault, downloaded over the pinned HTTPS connection and checked
//!   (key ids must match their keys; the revocation list must be signed by
//!   one of them). A scan never goes to the network: it works offline.
//! - A cached revocation list is never replaced by an older one, so a
//!   replayed old list cannot un-revoke a credential.
//! - Everything a scan finds is routed (`cds_qr::route`); links are shown,
//!   never opened by the app; ID-card QRs are unsigned and labelled so.
//! - Showing a QR is a disclosure: it goes to the access log.

use super::{data_url, lock, now_rfc3339, sync_error, AppCore};
use base64::Engine as _;
use cds_api::{ApiErrorKind, ClaimCredentials, CredentialBundle, DocumentKind, TrustListBody};
use cds_qr::credential::{self, Claims, RevocationList, TrustList, Verification};
use cds_qr::{QrError, Routed};
use cds_sync::SyncError;
use cds_vault::{CredentialSet, NewDisclosure, StoredCredential, Vault, SELF_PROFILE_ID};
use cds_view::{
    CameraView, CccdScanView, ErrorKind, IpcError, MyQrView, QrCodeView, QrDisclosure,
    QrOptionView, ScanImageInput, ScanResultView, TrustStatusView, VerifiedQrView, VerifyOutcome,
};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Vault device value: the bearer token the city gave this device.
pub(crate) const DEVICE_TOKEN: &str = "qr/device-token";
/// Vault device value: [`TrustCache`] as JSON.
pub(crate) const TRUST_CACHE: &str = "qr/trust-list";
/// Vault device value: the last `RevocationListBody` as JSON.
pub(crate) const REVOCATION_CACHE: &str = "qr/revocations";

/// Credentials are refreshed once less than this share of their validity
/// is left: with the default 7 days, after about 4 days, so a phone that
/// is online every few days never shows an expired code.
const REFRESH_WHEN_LEFT: f64 = 0.4;
/// After a failed automatic refresh or download, wait this long before the
/// next try (the sync tick is 5 s; the city should not be hammered).
const RETRY_AFTER_SECS: i64 = 60;
/// The keys and revocation list are re-downloaded when older than this.
const TRUST_MAX_AGE_SECS: i64 = 6 * 3600;
/// Largest picture accepted for scanning, as base64 text (the decoder has
/// its own pixel and byte limits; this one keeps a 200 MB pick off IPC).
const MAX_SCAN_BASE64: usize = 40 * 1024 * 1024;

/// QR state that is not in the vault.
#[derive(Default)]
pub struct QrState {
    refresh_error: Mutex<Option<IpcError>>,
    last_refresh_attempt: Mutex<Option<i64>>,
    trust_error: Mutex<Option<IpcError>>,
    last_trust_attempt: Mutex<Option<i64>>,
    pub(crate) camera: Mutex<Option<super::camera::CameraRun>>,
}

/// What is cached of `GET /v1/trust-list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrustCache {
    body: TrustListBody,
    fetched_at: String,
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn internal(m: impl Into<String>) -> IpcError {
    IpcError::new(ErrorKind::Internal, m)
}

/// `079•••••0123`: recognisable, not copyable off a shoulder.
pub fn mask_number(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() < 8 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 7))
}

/// The city names what is wrong with an activation code (unknown, used,
/// expired); everything else (401, 429, network) is the general mapping.
fn credential_error(e: SyncError) -> IpcError {
    match e.server_error().map(|(kind, _)| kind) {
        Some(ApiErrorKind::InvalidCode | ApiErrorKind::CodeUsed | ApiErrorKind::CodeExpired) => {
            IpcError::new(ErrorKind::ActivationCode, e.to_string())
        }
        _ => sync_error(e),
    }
}

fn disclosure_of(code: &str) -> Option<QrDisclosure> {
    QrDisclosure::from_code(code)
}

fn option_view(c: &StoredCredential, now: i64) -> Option<QrOptionView> {
    Some(QrOptionView {
        disclosure: disclosure_of(&c.disclosure)?,
        not_after: c.not_after.clone(),
        seconds_left: parse_rfc3339(&c.not_after).map_or(0, |t| t - now),
    })
}

/// Whether a set should be refreshed now: one is missing, expired, or has
/// less than [`REFRESH_WHEN_LEFT`] of its validity left.
fn refresh_due(set: Option<&CredentialSet>, now: i64) -> bool {
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

/// Checks what the city sent before storing it: every credential must be
/// well formed, say what the bundle says it says, and (when this device
/// has the keys) verify as valid. A bad bundle is refused whole.
fn check_bundle(
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
        let Some(c) = bundle.credentials.iter().find(|c| c.disclosure == d.code()) else {
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
        if claims.disclosure.code() != d.code()
            || claims.credential_id.to_string() != c.credential_id
        {
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

/// The cached keys, checked again on every load (a damaged cache is
/// treated as none, never as "trust anything").
fn load_trust(v: &Vault) -> Result<Option<(TrustList, TrustCache)>, IpcError> {
    let Some(raw) = v.device_value(TRUST_CACHE).map_err(super::vault_error)? else {
        return Ok(None);
    };
    let cache: TrustCache = serde_json::from_slice(&raw)
        .map_err(|e| internal(format!("the cached trust list is unreadable: {e}")))?;
    let list = trust_list_of(&cache.body)?;
    Ok(Some((list, cache)))
}

fn trust_list_of(body: &TrustListBody) -> Result<TrustList, IpcError> {
    let mut list = TrustList::new();
    for k in &body.keys {
        if k.alg != "ES256" {
            continue;
        }
        let public = base64::engine::general_purpose::STANDARD
            .decode(&k.public_key)
            .map_err(|e| internal(format!("trust list key {}: {e}", k.kid)))?;
        let kid = credential::unhex(&k.kid)
            .ok_or_else(|| internal(format!("trust list key id {:?} is not hex", k.kid)))?;
        list.add(&public, Some(&kid))
            .map_err(|e| internal(e.to_string()))?;
    }
    if list.is_empty() {
        return Err(internal("the trust list has no usable key"));
    }
    Ok(list)
}

fn load_revocations(v: &Vault, trust: &TrustList) -> Option<RevocationList> {
    let raw = v.device_value(REVOCATION_CACHE).ok()??;
    let body: cds_api::RevocationListBody = serde_json::from_slice(&raw).ok()?;
    let signed = base64::engine::general_purpose::STANDARD
        .decode(&body.signed)
        .ok()?;
    RevocationList::from_signed(&signed, trust).ok()
}

fn verified_view(
    v: &Verification,
    issuer: Option<String>,
    revocations_as_of: Option<String>,
) -> VerifiedQrView {
    let outcome = match v {
        Verification::Valid(_) => VerifyOutcome::Valid,
        Verification::Expired(_) => VerifyOutcome::Expired,
        Verification::NotYetValid(_) => VerifyOutcome::NotYetValid,
        Verification::Revoked(_) => VerifyOutcome::Revoked,
        Verification::Forged(_) => VerifyOutcome::Forged,
        Verification::Malformed(_) => VerifyOutcome::Malformed,
    };
    let c: Option<&Claims> = v.claims();
    VerifiedQrView {
        outcome,
        detail: v.message(),
        disclosure: c.and_then(|c| disclosure_of(c.disclosure.code())),
        full_name: c.and_then(|c| c.full_name.clone()),
        id_number: c.and_then(|c| c.id_number.clone()),
        date_of_birth: c.and_then(|c| c.date_of_birth.clone()),
        over_18: c.and_then(|c| c.over_18),
        issuer: c.map(|c| c.issuer.clone()).or(issuer),
        not_before: c.map(|c| rfc3339(c.not_before)),
        expires: c.map(|c| rfc3339(c.expires)),
        revocations_as_of,
    }
}

/// The host a link really goes to, shown large next to the warning (the
/// text of a link can say anything; the host is what matters).
pub fn url_host(url: &str) -> String {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .trim_start_matches('/');
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // `user:pass@host` hides the real host behind a trustworthy-looking one.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    host.to_ascii_lowercase()
}

fn qr_error(e: QrError) -> IpcError {
    let kind = match e.kind() {
        "not_an_image" => ErrorKind::NotAnImage,
        "too_large" => ErrorKind::TooLarge,
        "no_qr_code" => ErrorKind::NoQrFound,
        "io" => ErrorKind::Storage,
        _ => ErrorKind::InvalidInput,
    };
    IpcError::new(kind, e.to_string())
}

/// Orders found symbols so that the most useful one is shown when a
/// picture holds several codes (a citizen QR, then an ID card, then the
/// rest).
fn rank(r: &Routed) -> u8 {
    match r {
        Routed::CitizenCredential(_) => 0,
        Routed::CccdCard(_) => 1,
        Routed::InvalidCccd(_) => 2,
        Routed::Url { .. } => 3,
        Routed::Text(_) => 4,
        Routed::Binary { .. } | Routed::TooLarge { .. } => 5,
    }
}

impl AppCore {
    fn city(&self) -> Result<&cds_sync::CityClient, IpcError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// "Mã QR của tôi".
    pub fn my_qr(&self) -> Result<MyQrView, IpcError> {
        let v = self.vault()?;
        let v = lock(&v);
        let enrolled = v
            .device_value(DEVICE_TOKEN)
            .map_err(super::vault_error)?
            .is_some();
        let set = v.credentials(SELF_PROFILE_ID).map_err(super::vault_error)?;
        let now = now_unix();
        Ok(MyQrView {
            enrolled,
            full_name: set.as_ref().map(|s| s.full_name.clone()),
            number_masked: set.as_ref().map(|s| mask_number(&s.subject_number)),
            options: set
                .as_ref()
                .map(|s| {
                    s.credentials
                        .iter()
                        .filter_map(|c| option_view(c, now))
                        .collect()
                })
                .unwrap_or_default(),
            fetched_at: set.map(|s| s.fetched_at),
            refresh_error: lock(&self.qr.refresh_error).clone(),
        })
    }

    /// Activates this device with the one-time code the city handed over,
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
        self.with(|v| v.set_device_value(DEVICE_TOKEN, token.as_bytes()))?;
        // Best effort: with the keys, the credentials are verified before
        // they are stored; without them (the keys' URL failing alone) they
        // are at least decoded and matched.
        let _ = self.update_trust().await;
        self.store_bundle(&bundle)?;
        *lock(&self.qr.refresh_error) = None;
        self.my_qr()
    }

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
            let t = lock(&v)
                .device_value(DEVICE_TOKEN)
                .map_err(super::vault_error)?;
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

    /// Checks what the city sent against the cached keys (if any) and
    /// replaces the stored set with it.
    fn store_bundle(&self, bundle: &CredentialBundle) -> Result<(), IpcError> {
        let set = {
            let v = self.vault()?;
            let trust = load_trust(&lock(&v)).ok().flatten().map(|(t, _)| t);
            check_bundle(bundle, trust.as_ref(), now_unix())?
        };
        self.with(|v| v.store_credentials(&set))
    }

    /// Removes the credentials and the device token, telling the city first
    /// so the token stops working. If the city cannot be reached nothing is
    /// removed (the citizen can retry), except when the city already
    /// forgot the device.
    pub async fn forget_qr(&self) -> Result<(), IpcError> {
        let token = {
            let v = self.vault()?;
            let t = lock(&v)
                .device_value(DEVICE_TOKEN)
                .map_err(super::vault_error)?;
            t.map(|t| String::from_utf8_lossy(&t).into_owned())
        };
        if let Some(token) = token {
            match self.city()?.forget_device(&token).await {
                Ok(()) => {}
                // Already forgotten by the city: forget it here too.
                Err(e) if e.kind() == "unauthorized" => {}
                Err(e) => return Err(credential_error(e)),
            }
        }
        self.with(|v| {
            v.delete_credentials(SELF_PROFILE_ID)?;
            v.delete_device_value(DEVICE_TOKEN)
        })?;
        *lock(&self.qr.refresh_error) = None;
        Ok(())
    }

    /// Renders one credential for showing, and logs the disclosure.
    pub fn show_qr(&self, disclosure: QrDisclosure) -> Result<QrCodeView, IpcError> {
        let v = self.vault()?;
        let mut v = lock(&v);
        let set = v
            .credentials(SELF_PROFILE_ID)
            .map_err(super::vault_error)?
            .ok_or_else(|| {
                IpcError::new(ErrorKind::NotFound, "no citizen QR on this device yet")
            })?;
        let c = set
            .credentials
            .iter()
            .find(|c| c.disclosure == disclosure.code())
            .ok_or_else(|| {
                IpcError::new(
                    ErrorKind::NotFound,
                    format!("no {} credential on this device", disclosure.code()),
                )
            })?;
        let now = now_unix();
        let seconds_left = parse_rfc3339(&c.not_after).map_or(0, |t| t - now);
        if seconds_left <= 0 {
            return Err(IpcError::new(
                ErrorKind::NotFound,
                "this QR has expired: connect to the internet to get a new one",
            ));
        }
        let svg = cds_qr::render::render_svg(&c.text, 512).map_err(qr_error)?;
        // The holder's CCCD, for the photo beside the code.
        let card = v
            .find_by_number(DocumentKind::Cccd, &set.subject_number)
            .ok()
            .flatten();
        let photo_data_url = card.as_ref().and_then(|d| {
            let a = d.attachments.iter().find(|a| a.has_thumbnail)?;
            let bytes = v.thumbnail(&a.id).ok()??;
            Some(data_url("image/jpeg", &bytes))
        });
        let what = match disclosure {
            QrDisclosure::Full => {
                "số định danh, họ tên, ngày sinh / ID number, name, date of birth"
            }
            QrDisclosure::Over18 => "đủ 18 tuổi / over 18",
            QrDisclosure::NameOnly => "họ tên / name",
        };
        v.record_disclosure(&NewDisclosure {
            channel: cds_vault::DisclosureChannel::Qr,
            recipient: "Người quét mã QR (ngoại tuyến) / Whoever scans the QR (offline)".into(),
            purpose: format!("Xuất trình mã QR công dân: {what} / Citizen QR shown: {what}"),
            legal_basis: "Đồng ý của công dân khi xuất trình / The citizen's consent by showing it"
                .into(),
            document_ids: card.map(|d| vec![d.id]).unwrap_or_default(),
        })
        .map_err(super::vault_error)?;
        Ok(QrCodeView {
            disclosure,
            svg,
            holder_name: set.full_name.clone(),
            photo_data_url,
            not_after: c.not_after.clone(),
            seconds_left,
        })
    }

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
        let body = client.trust_list().await.map_err(sync_error)?;
        let trust = trust_list_of(&body)?;
        let revocations = client.revocations().await.map_err(sync_error)?;
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
        self.with(|v| {
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

    /// Scans a picture the citizen picked.
    pub fn scan_image(&self, input: ScanImageInput) -> Result<ScanResultView, IpcError> {
        if input.data_base64.len() > MAX_SCAN_BASE64 {
            return Err(IpcError::new(
                ErrorKind::TooLarge,
                format!("{} is too large to scan", input.file_name),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(input.data_base64.as_bytes())
            .map_err(|e| {
                IpcError::new(ErrorKind::NotAnImage, format!("{}: {e}", input.file_name))
            })?;
        let symbols = cds_qr::scan::Pipeline::default()
            .scan_bytes(&bytes)
            .map_err(qr_error)?;
        let best = symbols
            .iter()
            .map(|s| cds_qr::route_bytes(&s.bytes))
            .min_by_key(rank)
            .ok_or_else(|| IpcError::new(ErrorKind::NoQrFound, "no QR code in the picture"))?;
        self.routed_view(best)
    }

    /// Routes a decoded payload (camera, picture or platform scanner).
    pub fn routed_view(&self, routed: Routed) -> Result<ScanResultView, IpcError> {
        Ok(match routed {
            Routed::CitizenCredential(text) => ScanResultView::Credential {
                check: self.check_credential(&text)?,
            },
            Routed::CccdCard(card) => {
                let existing = self.vault().ok().and_then(|v| {
                    lock(&v)
                        .find_by_number(DocumentKind::Cccd, &card.number)
                        .ok()
                        .flatten()
                        .map(|d| d.id)
                });
                ScanResultView::Cccd {
                    card: CccdScanView {
                        generation: match card.generation {
                            cds_qr::cccd::CardGeneration::Cccd2021 => "cccd2021",
                            cds_qr::cccd::CardGeneration::CanCuoc2024 => "can_cuoc2024",
                        }
                        .to_owned(),
                        number: card.number,
                        old_id: card.old_id,
                        full_name: card.full_name,
                        date_of_birth: card.date_of_birth,
                        sex: card.sex.code().to_owned(),
                        place_of_residence: card.place_of_residence,
                        issue_date: card.issue_date,
                        province: card.province,
                        father_name: card.father_name,
                        mother_name: card.mother_name,
                        existing_document_id: existing,
                    },
                }
            }
            Routed::InvalidCccd(e) => ScanResultView::InvalidCccd {
                message: e.to_string(),
            },
            Routed::Url { url, .. } => ScanResultView::Url {
                host: url_host(&url),
                url,
            },
            Routed::Text(text) => ScanResultView::Text { text },
            Routed::Binary { len, message } | Routed::TooLarge { len, message } => {
                ScanResultView::Unreadable {
                    len: len as u64,
                    message,
                }
            }
        })
    }

    /// The officer's check: offline, against the cached keys and list.
    pub fn check_credential(&self, text: &str) -> Result<VerifiedQrView, IpcError> {
        let v = self.vault()?;
        let v = lock(&v);
        let Some((trust, cache)) = load_trust(&v)? else {
            return Err(IpcError::new(
                ErrorKind::NoTrustList,
                "the city's public keys have not been downloaded on this device yet",
            ));
        };
        let revocations = load_revocations(&v, &trust);
        let as_of = revocations.as_ref().map(|r| rfc3339(r.issued_at));
        let result = credential::verify(text, &trust, &revocations.unwrap_or_default(), now_unix());
        Ok(verified_view(&result, Some(cache.body.issuer), as_of))
    }

    pub fn camera_view(&self) -> CameraView {
        super::camera::view(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked() {
        assert_eq!(mask_number("079203001234"), "079•••••1234");
        assert_eq!(mask_number("123"), "•••");
    }

    #[test]
    fn url_hosts_are_the_real_destination() {
        assert_eq!(
            url_host("https://dichvucong.gov.vn/p/home"),
            "dichvucong.gov.vn"
        );
        assert_eq!(
            url_host("https://dichvucong.gov.vn@evil.example:8443/x"),
            "evil.example"
        );
        assert_eq!(url_host("www.Example.com?x=1"), "www.example.com");
        assert_eq!(url_host("http://[::1]:80/"), "[::1]");
    }

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
