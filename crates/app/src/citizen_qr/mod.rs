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
//!   one of them). A scan never goes to the network: it works offline
//!   ([`trust_cache`], [`scan`]).
//! - A cached revocation list is never replaced by an older one, so a
//!   replayed old list cannot un-revoke a credential.
//! - Everything a scan finds is routed (`cds_qr::route`); links are shown,
//!   never opened by the app; ID-card QRs are unsigned and labelled so.
//! - Showing a QR is a disclosure: it goes to the access log.

use crate::attachments::data_url;
use crate::error::{from_qr, from_vault};
use crate::{lock, AppCore};
use cds_api::DocumentKind;
use cds_vault::{NewDisclosure, StoredCredential, SELF_PROFILE_ID};
use cds_view::{ErrorKind, IpcError, MyQrView, QrCodeView, QrDisclosure, QrOptionView};
use std::sync::Mutex;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub mod activation;
pub mod refresh;
pub mod scan;
pub mod trust_cache;

pub use scan::url_host;

/// Vault device value: the bearer token the city gave this device.
pub(crate) const DEVICE_TOKEN: &str = "qr/device-token";

/// QR state that is not in the vault.
#[derive(Default)]
pub struct QrState {
    refresh_error: Mutex<Option<IpcError>>,
    last_refresh_attempt: Mutex<Option<i64>>,
    trust_error: Mutex<Option<IpcError>>,
    last_trust_attempt: Mutex<Option<i64>>,
}

pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// `079•••••0123`: the one masking rule, the domain's.
pub use cds_domain::text::mask_number;

/// The disclosure a stored credential names (the vault keeps the wire
/// code), `None` for a code this version does not know.
pub(crate) fn disclosure_of(code: &str) -> Option<QrDisclosure> {
    QrDisclosure::from_code(code)
}

pub(crate) fn option_view(c: &StoredCredential, now: i64) -> Option<QrOptionView> {
    Some(QrOptionView {
        disclosure: disclosure_of(&c.disclosure)?,
        not_after: c.not_after.clone(),
        seconds_left: parse_rfc3339(&c.not_after).map_or(0, |t| t - now),
    })
}

impl AppCore {
    pub(crate) fn city(&self) -> Result<&cds_sync::CityClient, IpcError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// "Mã QR của tôi".
    pub fn my_qr(&self) -> Result<MyQrView, IpcError> {
        let v = self.vault()?;
        let v = lock(&v);
        let enrolled = v.device_value(DEVICE_TOKEN).map_err(from_vault)?.is_some();
        let set = v.credentials(SELF_PROFILE_ID).map_err(from_vault)?;
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

    /// Renders one credential for showing, and logs the disclosure.
    pub fn show_qr(&self, disclosure: QrDisclosure) -> Result<QrCodeView, IpcError> {
        let v = self.vault()?;
        let mut v = lock(&v);
        let set = v
            .credentials(SELF_PROFILE_ID)
            .map_err(from_vault)?
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
        let svg = cds_qr::render::render_svg(&c.text, 512).map_err(from_qr)?;
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
        .map_err(from_vault)?;
        Ok(QrCodeView {
            disclosure,
            svg,
            holder_name: set.full_name.clone(),
            photo_data_url,
            not_after: c.not_after.clone(),
            seconds_left,
        })
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
}
