//! Where a scanned payload goes.

use crate::cccd::{parse_cccd_qr, UnverifiedCccdQr};
use crate::credential::PREFIX;
use crate::QrError;

/// Largest payload routed; a QR code holds at most 2953 bytes, so anything
/// larger did not come from a QR code.
pub const MAX_PAYLOAD_LEN: usize = 2953;
/// Text longer than this is routed as [`Routed::TooLarge`] rather than
/// shown: nobody reads 2 KB off a screen.
pub const MAX_TEXT_SHOWN: usize = 2048;

/// A scanned payload, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// A citizen credential (`CDS1:`): send to verification.
    CitizenCredential(String),
    /// A chip ID card QR, parsed (unsigned: fills forms, proves nothing).
    CccdCard(Box<UnverifiedCccdQr>),
    /// Looks like a CCCD QR but is not a valid one (missing field, 31/02,
    /// number disagreeing with the date of birth…).
    InvalidCccd(QrError),
    /// A web link: show it with a warning, open only if the user confirms.
    Url { url: String, warning: &'static str },
    /// Plain text: show it.
    Text(String),
    /// Binary data: nothing to show.
    Binary { len: usize, message: String },
    /// Too much data to be a QR payload or to show.
    TooLarge { len: usize, message: String },
}

/// Warning shown with a scanned URL.
pub const URL_WARNING: &str = "Mã QR này chứa một đường link. Chỉ mở nếu bạn tin nguồn của nó. / \
This QR code holds a web link. Open it only if you trust where it came from.";

impl Routed {
    /// Stable code: `citizen_credential`, `cccd_card`, `invalid_cccd`, `url`,
    /// `text`, `binary`, `too_large`.
    pub fn kind(&self) -> &'static str {
        match self {
            Routed::CitizenCredential(_) => "citizen_credential",
            Routed::CccdCard(_) => "cccd_card",
            Routed::InvalidCccd(_) => "invalid_cccd",
            Routed::Url { .. } => "url",
            Routed::Text(_) => "text",
            Routed::Binary { .. } => "binary",
            Routed::TooLarge { .. } => "too_large",
        }
    }
}

/// Routes raw payload bytes (as a decoder gives them).
pub fn route_bytes(bytes: &[u8]) -> Routed {
    if bytes.len() > MAX_PAYLOAD_LEN {
        return too_large(bytes.len());
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !has_binary_controls(text) => route(text),
        _ => binary(bytes.len()),
    }
}

/// Routes a scanned text.
pub fn route(text: &str) -> Routed {
    if text.len() > MAX_PAYLOAD_LEN {
        return too_large(text.len());
    }
    if has_binary_controls(text) {
        return binary(text.len());
    }
    let trimmed = text.trim();
    if trimmed.starts_with(PREFIX) {
        return Routed::CitizenCredential(trimmed.to_owned());
    }
    if looks_like_cccd(trimmed) {
        return match parse_cccd_qr(trimmed) {
            Ok(card) => Routed::CccdCard(Box::new(card)),
            Err(e) => Routed::InvalidCccd(e),
        };
    }
    let lower = trimmed.to_ascii_lowercase();
    if ["http://", "https://", "www."]
        .iter()
        .any(|p| lower.starts_with(p))
        && !trimmed.contains(char::is_whitespace)
    {
        return Routed::Url {
            url: trimmed.to_owned(),
            warning: URL_WARNING,
        };
    }
    if text.len() > MAX_TEXT_SHOWN {
        return too_large(text.len());
    }
    Routed::Text(text.to_owned())
}

/// A CCCD QR starts with 12 digits and a `|`.
fn looks_like_cccd(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 13 && b[..12].iter().all(u8::is_ascii_digit) && b[12] == b'|'
        || (text.matches('|').count() >= 5 && b.first().is_some_and(u8::is_ascii_digit))
}

fn has_binary_controls(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{fffd}')
}

fn binary(len: usize) -> Routed {
    Routed::Binary {
        len,
        message: format!(
            "Mã QR chứa {len} byte dữ liệu nhị phân, không phải mã công dân, CCCD, đường link hay văn bản. / \
             The QR code holds {len} bytes of binary data: not a citizen code, an ID card, a link or text."
        ),
    }
}

fn too_large(len: usize) -> Routed {
    Routed::TooLarge {
        len,
        message: format!(
            "Mã QR chứa quá nhiều dữ liệu ({len} byte). / The QR code holds too much data ({len} bytes)."
        ),
    }
}
