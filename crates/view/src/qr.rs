//! QR view types: the citizen's own signed QR, scanning (camera or a picked
//! picture) and the officer's offline check.
//!
//! Invariant, as for the rest of this crate: nothing here carries key
//! material. The device token that lets the app refresh its credentials
//! stays in the vault; the UI only learns whether the citizen is enrolled.

use crate::IpcError;
use serde::{Deserialize, Serialize};

pub use cds_domain::disclosure::QrDisclosure;

/// One credential the device holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOptionView {
    pub disclosure: QrDisclosure,
    /// RFC 3339 UTC.
    pub not_after: String,
    /// Seconds until it expires (negative: expired that long ago).
    pub seconds_left: i64,
}

/// "Mã QR của tôi": whether the device holds the citizen's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyQrView {
    /// The device was activated (it holds credentials and a device token).
    pub enrolled: bool,
    pub full_name: Option<String>,
    /// The identification number with its middle hidden (`079•••••0123`):
    /// enough to recognise, not enough to copy off a shoulder.
    pub number_masked: Option<String>,
    pub options: Vec<QrOptionView>,
    /// RFC 3339 UTC of the last download from the city.
    pub fetched_at: Option<String>,
    /// Why the last automatic refresh failed, if it did.
    pub refresh_error: Option<IpcError>,
}

/// Activation: the one-time code the city handed to the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateInput {
    pub code: String,
}

/// A citizen QR ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCodeView {
    pub disclosure: QrDisclosure,
    /// The QR symbol as a standalone SVG (dark on white, quiet zone
    /// included).
    pub svg: String,
    pub holder_name: String,
    /// The holder's photo from their CCCD in the vault, when there is one
    /// (shown beside the code for the person checking; it is not in the
    /// code).
    pub photo_data_url: Option<String>,
    /// RFC 3339 UTC.
    pub not_after: String,
    pub seconds_left: i64,
}

/// The result of checking a citizen QR offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyOutcome {
    /// Signed by the city, inside its validity window, not revoked.
    Valid,
    Expired,
    NotYetValid,
    Revoked,
    /// Unknown key or a signature that does not match: forged or altered.
    Forged,
    /// Not a well-formed citizen QR.
    Malformed,
}

/// A checked citizen QR (officer mode). The personal fields are present
/// only when the signature was good and the credential discloses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedQrView {
    pub outcome: VerifyOutcome,
    /// English detail for support (why it is forged or malformed).
    pub detail: String,
    pub disclosure: Option<QrDisclosure>,
    pub full_name: Option<String>,
    pub id_number: Option<String>,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub over_18: Option<bool>,
    pub issuer: Option<String>,
    /// RFC 3339 UTC.
    pub not_before: Option<String>,
    /// RFC 3339 UTC.
    pub expires: Option<String>,
    /// RFC 3339 UTC of the revocation list used (how fresh "not revoked"
    /// is); `None` when the device has never downloaded one.
    pub revocations_as_of: Option<String>,
}

/// A chip ID card QR, parsed. Unsigned: it fills forms, it proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CccdScanView {
    /// `cccd2021` or `can_cuoc2024`.
    pub generation: String,
    pub number: String,
    pub old_id: Option<String>,
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `M` or `F` (the vault's sex codes).
    pub sex: String,
    pub place_of_residence: String,
    /// ISO `YYYY-MM-DD`.
    pub issue_date: String,
    pub province: String,
    pub father_name: Option<String>,
    pub mother_name: Option<String>,
    /// A CCCD with this number already in the vault (any profile).
    pub existing_document_id: Option<String>,
}

/// Where a scanned code was routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScanResultView {
    /// A citizen QR: checked offline.
    Credential {
        check: VerifiedQrView,
    },
    /// A chip ID card QR: offered to the identity form.
    Cccd {
        card: CccdScanView,
    },
    /// Looked like an ID card QR but is not a valid one; `message` lists
    /// what disagrees (Vietnamese / English).
    InvalidCccd {
        message: String,
    },
    /// A web link: shown with a warning, never opened by the app itself.
    Url {
        url: String,
        host: String,
    },
    Text {
        text: String,
    },
    /// Binary data or too much data: nothing to show.
    Unreadable {
        len: u64,
        message: String,
    },
}

/// A picture picked by the citizen (screenshot, photo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanImageInput {
    pub file_name: String,
    pub data_base64: String,
}

/// The camera scanner, polled by the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraView {
    pub running: bool,
    pub camera_name: Option<String>,
    pub frames: u64,
    /// The latest frame, small, as a JPEG data URL.
    pub preview_data_url: Option<String>,
    pub result: Option<ScanResultView>,
    pub error: Option<IpcError>,
}

/// Whether a camera can be used here (the UI shows camera buttons only
/// then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraAvailabilityView {
    pub available: bool,
    /// The first camera's name ("Integrated Camera").
    pub camera_name: Option<String>,
}

/// The camera open to photograph a paper, polled by the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoView {
    pub running: bool,
    pub camera_name: Option<String>,
    pub frames: u64,
    /// Size the photo will have (the newest frame's), 0 before the first.
    pub width: u32,
    pub height: u32,
    /// The newest frame, small, as a JPEG data URL.
    pub preview_data_url: Option<String>,
    pub error: Option<IpcError>,
}

/// A photo just taken: JPEG bytes for the add form or the document's
/// attachments (not stored yet; the citizen decides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedPhotoView {
    pub mime: String,
    pub data_base64: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// The city's public keys and revocation list as cached on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustStatusView {
    pub keys: u32,
    pub issuer: Option<String>,
    /// RFC 3339 UTC of the last successful download of the keys.
    pub keys_fetched_at: Option<String>,
    /// RFC 3339 UTC at which the city signed the cached revocation list.
    pub revocations_as_of: Option<String>,
    pub revoked: u32,
    /// Why the last update failed, if it did.
    pub error: Option<IpcError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disclosure_codes_match_the_wire() {
        for d in QrDisclosure::ALL {
            assert_eq!(QrDisclosure::from_code(d.code()), Some(d));
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.code())
            );
        }
        assert_eq!(QrDisclosure::from_code("everything"), None);
    }

    #[test]
    fn scan_results_are_tagged() {
        let r = ScanResultView::Url {
            url: "https://x.example".into(),
            host: "x.example".into(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(r#"{"type":"url""#), "{json}");
        let back: ScanResultView = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
