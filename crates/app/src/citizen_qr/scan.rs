//! Scanning: a picked picture or a camera frame, routed to what it holds
//! (a citizen QR checked offline, an ID card, a link, text).

use super::trust_cache::{load_revocations, load_trust};
use super::{now_unix, rfc3339};
use crate::error::from_qr;
use crate::{lock, AppCore};
use base64::Engine as _;
use cds_api::DocumentKind;
use cds_qr::credential::{self, Claims, Verification};
use cds_qr::Routed;
use cds_view::{
    CccdScanView, ErrorKind, IpcError, ScanImageInput, ScanResultView, VerifiedQrView,
    VerifyOutcome,
};

/// Largest picture accepted for scanning, as base64 text (the decoder has
/// its own pixel and byte limits; this one keeps a 200 MB pick off IPC).
const MAX_SCAN_BASE64: usize = 40 * 1024 * 1024;

pub(crate) fn verified_view(
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
        disclosure: c.map(|c| c.disclosure),
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

/// Orders found symbols so that the most useful one is shown when a
/// picture holds several codes (a citizen QR, then an ID card, then the
/// rest).
pub(crate) fn rank(r: &Routed) -> u8 {
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
            .map_err(from_qr)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
