//! Checks on what the citizen enters, before anything is written.

use cds_api::DocumentKind;
use time::macros::format_description;
use time::{Date, Month};

use crate::error::VaultError;
use crate::NewDocument;

/// Largest attachment the vault accepts: 20 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// Longest full name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest document number (other than a CCCD), in characters.
pub const MAX_NUMBER_CHARS: usize = 40;
/// Longest attachment file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// Province codes (first three digits of a 12-digit personal identification
/// number): where the birth was registered, per Circular 07/2016/TT-BCA.
const PROVINCE_CODES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// A document that passed every check, trimmed.
#[derive(Debug)]
pub(crate) struct ValidDocument<'a> {
    pub kind: DocumentKind,
    pub number: String,
    pub full_name: String,
    pub date_of_birth: String,
    pub attachments: Vec<ValidAttachment<'a>>,
}

#[derive(Debug)]
pub(crate) struct ValidAttachment<'a> {
    pub file_name: String,
    /// Sniffed from the content; the declared type is ignored.
    pub mime: &'static str,
    pub bytes: &'a [u8],
}

/// Checks `doc`; `today` is the latest calendar date anywhere on Earth, so a
/// baby born today (Vietnam time) is never "born in the future".
pub(crate) fn validate_document(
    doc: &NewDocument,
    today: Date,
) -> Result<ValidDocument<'_>, VaultError> {
    let number = doc.number.trim();
    if number.is_empty() {
        return Err(VaultError::invalid(
            "number",
            "the document number is empty",
        ));
    }
    if doc.kind == DocumentKind::Cccd {
        check_cccd_number(number)?;
    } else {
        if number.chars().count() > MAX_NUMBER_CHARS {
            return Err(VaultError::invalid(
                "number",
                format!("the document number is longer than {MAX_NUMBER_CHARS} characters"),
            ));
        }
        if number.chars().any(char::is_control) {
            return Err(VaultError::invalid(
                "number",
                "the document number contains control characters",
            ));
        }
    }

    let full_name = doc.full_name.trim();
    if full_name.is_empty() {
        return Err(VaultError::invalid("full_name", "the full name is empty"));
    }
    let name_len = full_name.chars().count();
    if name_len > MAX_NAME_CHARS {
        return Err(VaultError::invalid(
            "full_name",
            format!(
                "the full name has {name_len} characters; at most {MAX_NAME_CHARS} are allowed"
            ),
        ));
    }
    if full_name.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "full_name",
            "the full name contains control characters",
        ));
    }

    let date_of_birth = doc.date_of_birth.trim();
    check_date_of_birth(date_of_birth, today)?;

    let attachments = doc
        .attachments
        .iter()
        .map(|a| {
            let file_name = a.file_name.trim();
            if file_name.is_empty() {
                return Err(VaultError::invalid(
                    "attachments",
                    "an attachment has no file name",
                ));
            }
            if file_name.chars().count() > MAX_FILE_NAME_CHARS
                || file_name.chars().any(char::is_control)
            {
                return Err(VaultError::invalid(
                    "attachments",
                    format!(
                        "the file name is longer than {MAX_FILE_NAME_CHARS} characters or \
                         contains control characters"
                    ),
                ));
            }
            if a.bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(VaultError::invalid(
                    "attachments",
                    format!(
                        "{file_name} is {} bytes; an attachment may be at most {} bytes (20 MiB)",
                        a.bytes.len(),
                        MAX_ATTACHMENT_BYTES
                    ),
                ));
            }
            let mime = sniff_mime(&a.bytes).ok_or_else(|| {
                VaultError::invalid(
                    "attachments",
                    format!(
                        "{file_name} is not a JPEG, PNG, WebP or GIF image or a PDF document \
                         (checked by its content, not its name)"
                    ),
                )
            })?;
            Ok(ValidAttachment {
                file_name: file_name.to_owned(),
                mime,
                bytes: &a.bytes,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(ValidDocument {
        kind: doc.kind,
        number: number.to_owned(),
        full_name: full_name.to_owned(),
        date_of_birth: date_of_birth.to_owned(),
        attachments,
    })
}

fn check_cccd_number(number: &str) -> Result<(), VaultError> {
    if number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VaultError::invalid(
            "number",
            format!(
                "a CCCD number is exactly 12 digits (0-9); this one has {} characters{}",
                number.chars().count(),
                if number.bytes().all(|b| b.is_ascii_digit()) {
                    ""
                } else {
                    ", not all of them digits"
                }
            ),
        ));
    }
    let province: u16 = number[..3]
        .parse()
        .map_err(|_| VaultError::invalid("number", "a CCCD number is exactly 12 digits"))?;
    if !PROVINCE_CODES.contains(&province) {
        return Err(VaultError::invalid(
            "number",
            format!(
                "a CCCD number starts with a province code; {:03} is not one",
                province
            ),
        ));
    }
    Ok(())
}

fn check_date_of_birth(s: &str, today: Date) -> Result<(), VaultError> {
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(VaultError::invalid(
            "date_of_birth",
            format!("the date of birth must be written YYYY-MM-DD, got {s:?}"),
        ));
    }
    let date = Date::parse(s, format_description!("[year]-[month]-[day]")).map_err(|_| {
        VaultError::invalid("date_of_birth", format!("{s} is not a real calendar date"))
    })?;
    if date > today {
        return Err(VaultError::invalid(
            "date_of_birth",
            format!("the date of birth {s} is in the future"),
        ));
    }
    let earliest = Date::from_calendar_date(1900, Month::January, 1)
        .map_err(|e| VaultError::Storage(format!("internal date error: {e}")))?;
    if date < earliest {
        return Err(VaultError::invalid(
            "date_of_birth",
            format!("the date of birth {s} is before 1900"),
        ));
    }
    Ok(())
}

/// The content type by magic bytes, for the kinds the vault accepts.
pub(crate) fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
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
    use crate::NewAttachment;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 05 - 10);
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    fn cccd() -> NewDocument {
        NewDocument {
            kind: DocumentKind::Cccd,
            number: " 048095001234 ".into(),
            full_name: "  Nguyễn Thị Ánh Dương ".into(),
            date_of_birth: "1995-08-15".into(),
            attachments: vec![],
        }
    }

    fn field_of(doc: &NewDocument) -> &'static str {
        match validate_document(doc, TODAY) {
            Err(VaultError::Invalid { field, reason }) => {
                assert!(!reason.is_empty());
                field
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn attach(name: &str, mime: &str, bytes: Vec<u8>) -> NewAttachment {
        NewAttachment {
            file_name: name.into(),
            mime: mime.into(),
            bytes,
        }
    }

    #[test]
    fn a_good_cccd_is_trimmed() {
        let doc = cccd();
        let v = validate_document(&doc, TODAY).unwrap();
        assert_eq!(v.number, "048095001234");
        assert_eq!(v.full_name, "Nguyễn Thị Ánh Dương");
        assert_eq!(v.date_of_birth, "1995-08-15");
    }

    #[test]
    fn cccd_needs_exactly_12_digits_and_a_province_code() {
        for bad in [
            "04809500123",
            "0480950012345",
            "04809500123a",
            "０48095001234",
            "",
        ] {
            let doc = NewDocument {
                number: bad.into(),
                ..cccd()
            };
            assert_eq!(field_of(&doc), "number", "{bad:?}");
        }
        let doc = NewDocument {
            number: "003095001234".into(),
            ..cccd()
        };
        let err = validate_document(&doc, TODAY).unwrap_err();
        assert!(err.to_string().contains("province code"), "{err}");
        // Passports are not CCCDs: letters allowed.
        let doc = NewDocument {
            kind: DocumentKind::Passport,
            number: "C1234567".into(),
            ..cccd()
        };
        assert!(validate_document(&doc, TODAY).is_ok());
        assert_eq!(PROVINCE_CODES.len(), 63);
    }

    #[test]
    fn names_are_required_and_bounded() {
        for bad in ["", "   ", &"a".repeat(101), "An\u{0}"] {
            let doc = NewDocument {
                full_name: bad.into(),
                ..cccd()
            };
            assert_eq!(field_of(&doc), "full_name", "{bad:?}");
        }
        let doc = NewDocument {
            full_name: "Ư".repeat(100),
            ..cccd()
        };
        assert!(
            validate_document(&doc, TODAY).is_ok(),
            "100 chars (not bytes) is fine"
        );
    }

    #[test]
    fn dates_must_be_real_past_and_after_1900() {
        for bad in [
            "2023-02-31",
            "2023-13-01",
            "2027-01-01",
            "2026-05-11",
            "1899-12-31",
            "15/08/1995",
            "1995-8-15",
            "",
        ] {
            let doc = NewDocument {
                date_of_birth: bad.into(),
                ..cccd()
            };
            assert_eq!(field_of(&doc), "date_of_birth", "{bad:?}");
        }
        for good in ["2026-05-10", "1900-01-01", "2024-02-29"] {
            let doc = NewDocument {
                date_of_birth: good.into(),
                ..cccd()
            };
            assert!(validate_document(&doc, TODAY).is_ok(), "{good}");
        }
        let err = validate_document(
            &NewDocument {
                date_of_birth: "2023-02-31".into(),
                ..cccd()
            },
            TODAY,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a real calendar date"),
            "{err}"
        );
    }

    #[test]
    fn text_renamed_to_jpg_is_rejected() {
        let doc = NewDocument {
            attachments: vec![attach(
                "photo.jpg",
                "image/jpeg",
                b"hello, I am text\n".to_vec(),
            )],
            ..cccd()
        };
        let err = validate_document(&doc, TODAY).unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("photo.jpg is not a JPEG"), "{err}");
    }

    #[test]
    fn attachments_over_20_mib_are_rejected_naming_the_size() {
        let mut big = vec![0u8; MAX_ATTACHMENT_BYTES + 1];
        big[..PNG.len()].copy_from_slice(PNG);
        let doc = NewDocument {
            attachments: vec![attach("scan.png", "image/png", big)],
            ..cccd()
        };
        let err = validate_document(&doc, TODAY).unwrap_err();
        assert!(err.to_string().contains("20971521 bytes"), "{err}");
        assert!(err.to_string().contains("20 MiB"), "{err}");

        let mut edge = vec![0u8; MAX_ATTACHMENT_BYTES];
        edge[..PNG.len()].copy_from_slice(PNG);
        let doc = NewDocument {
            attachments: vec![attach("scan.png", "image/png", edge)],
            ..cccd()
        };
        assert!(
            validate_document(&doc, TODAY).is_ok(),
            "exactly 20 MiB is allowed"
        );
    }

    #[test]
    fn png_is_accepted_with_the_sniffed_mime() {
        let doc = NewDocument {
            attachments: vec![attach(
                " front.jpg ",
                "application/octet-stream",
                PNG.to_vec(),
            )],
            ..cccd()
        };
        let v = validate_document(&doc, TODAY).unwrap();
        assert_eq!(v.attachments[0].mime, "image/png");
        assert_eq!(v.attachments[0].file_name, "front.jpg");
    }

    #[test]
    fn attachments_need_a_file_name() {
        let doc = NewDocument {
            attachments: vec![attach("  ", "image/png", PNG.to_vec())],
            ..cccd()
        };
        assert_eq!(field_of(&doc), "attachments");
    }

    #[test]
    fn sniffing_knows_the_accepted_kinds_only() {
        assert_eq!(sniff_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(PNG), Some("image/png"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_mime(b"GIF89a\x01\0"), Some("image/gif"));
        assert_eq!(sniff_mime(b"GIF87a"), Some("image/gif"));
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_mime(b"<svg xmlns=..."), None);
        assert_eq!(sniff_mime(b"PK\x03\x04"), None);
        assert_eq!(sniff_mime(b""), None);
        assert_eq!(sniff_mime(&[0xFF, 0xD8]), None);
    }
}
