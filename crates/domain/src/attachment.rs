//! Attached files (photos and scans of papers): the size limit and the
//! types accepted, recognised by their bytes.

/// Largest attachment accepted: 20 MiB. The one limit for the UI (checked
/// before reading a picked file), the app core (before decoding) and the
/// vault (before sealing).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

/// The content type of a file by its magic bytes (never by its name or the
/// type a picker claims), for the kinds accepted: JPEG, PNG, WebP, GIF and
/// PDF. `None` for anything else (SVG, which can carry scripts, included).
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    // Moved from cds-vault's validate.rs (the vault's copy of the sniffer).
    #[test]
    fn sniffing_knows_the_accepted_kinds_only() {
        assert_eq!(sniff_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(PNG), Some("image/png"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEB"), None);
        assert_eq!(sniff_mime(b"GIF89a\x01\0"), Some("image/gif"));
        assert_eq!(sniff_mime(b"GIF87a\x01\0"), Some("image/gif"));
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_mime(b"<svg xmlns=..."), None);
        assert_eq!(sniff_mime(b"\xFF\xD8"), None);
        assert_eq!(sniff_mime(b""), None);
    }

    #[test]
    fn the_limit_is_20_mib() {
        assert_eq!(MAX_ATTACHMENT_BYTES, 20_971_520);
    }
}
