//! Checks on what the citizen enters, before anything is written.

use cds_api::DocumentKind;
use cds_domain::{id_number, Sex};
use time::{Date, Month};

use crate::error::VaultError;
use crate::{DocumentInput, NewAttachment, NewProfile};
use cds_api::{FieldType, LICENCE_CLASSES};
use std::collections::BTreeMap;

/// Largest attachment the vault accepts: 20 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = cds_domain::MAX_ATTACHMENT_BYTES as usize;
/// Longest full name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest one-line field value, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest multi-line field value (an address), in characters.
pub const MAX_LONG_TEXT_CHARS: usize = 1000;
/// Most free `(label, value)` pairs on an "other" document.
pub const MAX_CUSTOM_FIELDS: usize = 50;
/// Longest document number (other than a CCCD), in characters.
pub const MAX_NUMBER_CHARS: usize = 40;
/// Longest attachment file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A document that passed every check: values trimmed (empty ones dropped)
/// and normalised (upper-case passport numbers and licence classes).
#[derive(Debug)]
pub(crate) struct ValidDocument {
    pub kind: DocumentKind,
    pub fields: BTreeMap<String, String>,
    pub custom_fields: Vec<(String, String)>,
}

#[derive(Debug)]
pub(crate) struct ValidAttachment<'a> {
    pub file_name: String,
    /// Sniffed from the content; the declared type is ignored.
    pub mime: &'static str,
    pub bytes: &'a [u8],
}

fn internal(e: impl std::fmt::Display) -> VaultError {
    VaultError::Storage(format!("internal date error: {e}"))
}

fn check_text(
    field: &'static str,
    label: &str,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<(), VaultError> {
    let n = value.chars().count();
    if n > max {
        return Err(VaultError::invalid(
            field,
            format!("{label} has {n} characters; at most {max} are allowed"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(VaultError::invalid(
            field,
            format!("{label} contains control characters"),
        ));
    }
    Ok(())
}

pub(crate) fn parse_date(field: &'static str, label: &str, s: &str) -> Result<Date, VaultError> {
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
            field,
            format!("{label} must be written YYYY-MM-DD, got {s:?}"),
        ));
    }
    // The shape is checked above for its own message; the date rule is the
    // domain's.
    let date = cds_domain::date::parse_iso_date(s).ok_or_else(|| {
        VaultError::invalid(field, format!("{label}: {s} is not a real calendar date"))
    })?;
    let earliest = Date::from_calendar_date(1900, Month::January, 1).map_err(internal)?;
    if date < earliest {
        return Err(VaultError::invalid(
            field,
            format!("{label} {s} is before 1900"),
        ));
    }
    Ok(date)
}

/// Checks a document against its kind's schema; `today` is the latest
/// calendar date anywhere on Earth, so a paper issued today (Vietnam time)
/// is never "in the future".
pub(crate) fn validate_document(
    doc: &DocumentInput,
    today: Date,
) -> Result<ValidDocument, VaultError> {
    check_document(doc, today, true)
}

/// [`validate_document`] for a document restored from a backup: every
/// value is checked by the same rules, but a required field may be
/// missing, because the vault itself holds such documents: those migrated
/// from version 1, which knew only the number, the name and the date of
/// birth (the citizen fills in the rest when editing, where
/// [`validate_document`] asks for it).
pub(crate) fn validate_restored_document(
    doc: &DocumentInput,
    today: Date,
) -> Result<ValidDocument, VaultError> {
    check_document(doc, today, false)
}

fn check_document(
    doc: &DocumentInput,
    today: Date,
    enforce_required: bool,
) -> Result<ValidDocument, VaultError> {
    let kind = doc.kind;
    let specs = kind.fields();
    for key in doc.fields.keys() {
        if kind.field(key).is_none() {
            return Err(VaultError::invalid(
                "fields",
                format!("a {} has no field {key:?}", kind.label_en().to_lowercase()),
            ));
        }
    }
    let mut fields = BTreeMap::new();
    for spec in specs {
        let label = spec.label_en;
        let raw = doc.fields.get(spec.key).map(|v| v.trim()).unwrap_or("");
        if raw.is_empty() {
            if spec.required && enforce_required {
                return Err(VaultError::invalid(
                    spec.key,
                    format!("{label} is required"),
                ));
            }
            continue;
        }
        let value = match spec.ty {
            FieldType::Text => {
                let max = match spec.key {
                    "full_name" | "father_name" | "mother_name" => MAX_NAME_CHARS,
                    "number" => MAX_NUMBER_CHARS,
                    _ => MAX_TEXT_CHARS,
                };
                check_text(spec.key, label, raw, max, false)?;
                raw.to_owned()
            }
            FieldType::LongText => {
                check_text(spec.key, label, raw, MAX_LONG_TEXT_CHARS, true)?;
                raw.to_owned()
            }
            FieldType::Date => {
                parse_date(spec.key, label, raw)?;
                raw.to_owned()
            }
            FieldType::Digits(n) => {
                if raw.len() != n as usize || !raw.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(VaultError::invalid(
                        spec.key,
                        format!(
                            "{label} is exactly {n} digits (0-9); got {} characters{}",
                            raw.chars().count(),
                            if raw.bytes().all(|b| b.is_ascii_digit()) {
                                ""
                            } else {
                                ", not all of them digits"
                            }
                        ),
                    ));
                }
                raw.to_owned()
            }
            FieldType::Choice(choices) => {
                let code = raw.to_lowercase();
                if !choices.iter().any(|(c, _, _)| *c == code) {
                    let allowed: Vec<&str> = choices.iter().map(|(c, _, _)| *c).collect();
                    return Err(VaultError::invalid(
                        spec.key,
                        format!("{label} must be one of {}", allowed.join(", ")),
                    ));
                }
                code
            }
            FieldType::Classes => normalise_classes(spec.key, raw)?,
        };
        fields.insert(spec.key.to_owned(), value);
    }
    check_kind_rules(kind, &mut fields, today)?;

    let custom_fields = if kind == DocumentKind::Other {
        if doc.custom_fields.len() > MAX_CUSTOM_FIELDS {
            return Err(VaultError::invalid(
                "custom_fields",
                format!("at most {MAX_CUSTOM_FIELDS} extra fields are allowed"),
            ));
        }
        let mut out = Vec::with_capacity(doc.custom_fields.len());
        for (label, value) in &doc.custom_fields {
            let (label, value) = (label.trim(), value.trim());
            if label.is_empty() && value.is_empty() {
                continue;
            }
            if label.is_empty() {
                return Err(VaultError::invalid(
                    "custom_fields",
                    "an extra field has a value but no label",
                ));
            }
            check_text("custom_fields", "an extra field's label", label, 100, false)?;
            check_text(
                "custom_fields",
                "an extra field's value",
                value,
                MAX_LONG_TEXT_CHARS,
                true,
            )?;
            out.push((label.to_owned(), value.to_owned()));
        }
        out
    } else {
        if !doc.custom_fields.is_empty() {
            return Err(VaultError::invalid(
                "custom_fields",
                "only an \"other\" document has free fields",
            ));
        }
        Vec::new()
    };
    Ok(ValidDocument {
        kind,
        fields,
        custom_fields,
    })
}

fn normalise_classes(field: &'static str, raw: &str) -> Result<String, VaultError> {
    let mut out: Vec<&str> = Vec::new();
    for part in raw.split(',') {
        let code = part.trim().to_uppercase();
        if code.is_empty() {
            continue;
        }
        let known = LICENCE_CLASSES
            .iter()
            .find(|c| **c == code)
            .ok_or_else(|| {
                VaultError::invalid(
                    field,
                    format!("{code:?} is not a driving-licence class (A1, A, B1, B, C1, C, D1, D2, D, BE, C1E, CE, D1E, D2E, DE, or legacy A2, A3, A4, B2, E, FB2, FC, FD, FE)"),
                )
            })?;
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(VaultError::invalid(field, "at least one class is required"));
    }
    Ok(out.join(", "))
}

fn check_kind_rules(
    kind: DocumentKind,
    fields: &mut BTreeMap<String, String>,
    today: Date,
) -> Result<(), VaultError> {
    let date = |fields: &BTreeMap<String, String>,
                key: &'static str|
     -> Result<Option<Date>, VaultError> {
        match fields.get(key) {
            Some(v) => parse_date(key, key, v).map(Some),
            None => Ok(None),
        }
    };
    let dob = date(fields, "date_of_birth")?;
    if let Some(d) = dob {
        if d > today {
            return Err(VaultError::invalid(
                "date_of_birth",
                format!("the date of birth {d} is in the future"),
            ));
        }
    }
    for key in ["issue_date", "valid_from"] {
        if let Some(issued) = date(fields, key)? {
            if kind != DocumentKind::HealthInsurance && issued > today {
                return Err(VaultError::invalid(
                    key,
                    format!("the date of issue {issued} is in the future"),
                ));
            }
            if let Some(d) = dob {
                if issued < d {
                    return Err(VaultError::invalid(
                        key,
                        format!("the date of issue {issued} is before the date of birth {d}"),
                    ));
                }
            }
        }
    }
    if let Some(expiry) = date(fields, "expiry_date")? {
        let start = match date(fields, "issue_date")? {
            Some(d) => Some(d),
            None => date(fields, "valid_from")?,
        };
        if let Some(start) = start {
            if expiry <= start {
                return Err(VaultError::invalid(
                    "expiry_date",
                    format!("the expiry date {expiry} must be after the date of issue {start}"),
                ));
            }
        }
    }
    match kind {
        DocumentKind::Cccd => {
            if let Some(number) = fields.get("number") {
                let sex = fields.get("sex").map(String::as_str);
                check_cccd_number(number, dob, sex)?;
            }
        }
        DocumentKind::Passport => {
            if let Some(number) = fields.get_mut("number") {
                let up = number.to_uppercase();
                let b = up.as_bytes();
                if b.len() != 8
                    || !b[0].is_ascii_uppercase()
                    || !b[1..].iter().all(u8::is_ascii_digit)
                {
                    return Err(VaultError::invalid(
                        "number",
                        "a Vietnamese passport number is one letter and 7 digits, e.g. C1234567",
                    ));
                }
                *number = up;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A 12-digit personal identification number against the document's date
/// of birth and sex: the rule is [`cds_domain::id_number::check_id_number`];
/// a form shows its first problem.
pub(crate) fn check_cccd_number(
    number: &str,
    dob: Option<Date>,
    sex: Option<&str>,
) -> Result<(), VaultError> {
    let sex = sex.and_then(Sex::from_code);
    match id_number::check_id_number(number, dob, sex)
        .into_iter()
        .next()
    {
        Some(problem) => Err(VaultError::invalid("number", problem.en)),
        None => Ok(()),
    }
}

/// The sex code (`nam` / `nu`) encoded in a valid CCCD number's 4th digit.
pub(crate) fn cccd_sex(number: &str) -> Option<&'static str> {
    id_number::sex_of(number).map(Sex::code)
}

/// Checks one attachment: name, size (≤ 20 MiB) and content type by magic
/// bytes.
pub(crate) fn validate_attachment(a: &NewAttachment) -> Result<ValidAttachment<'_>, VaultError> {
    let file_name = a.file_name.trim();
    if file_name.is_empty() {
        return Err(VaultError::invalid(
            "attachments",
            "an attachment has no file name",
        ));
    }
    if file_name.chars().count() > MAX_FILE_NAME_CHARS || file_name.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "attachments",
            format!(
                "the file name is longer than {MAX_FILE_NAME_CHARS} characters or \
                 contains control characters"
            ),
        ));
    }
    if a.bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(VaultError::TooLarge {
            max: MAX_ATTACHMENT_BYTES as u64,
        });
    }
    let mime = sniff_mime(&a.bytes).ok_or(VaultError::UnsupportedFile)?;
    Ok(ValidAttachment {
        file_name: file_name.to_owned(),
        mime,
        bytes: &a.bytes,
    })
}

/// A profile that passed every check, trimmed.
pub(crate) fn validate_profile(p: &NewProfile, today: Date) -> Result<NewProfile, VaultError> {
    let full_name = p.full_name.trim();
    if full_name.is_empty() {
        return Err(VaultError::invalid("full_name", "the full name is empty"));
    }
    check_text(
        "full_name",
        "the full name",
        full_name,
        MAX_NAME_CHARS,
        false,
    )?;
    let date_of_birth = match p.date_of_birth.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let d = parse_date("date_of_birth", "the date of birth", s)?;
            if d > today {
                return Err(VaultError::invalid(
                    "date_of_birth",
                    format!("the date of birth {s} is in the future"),
                ));
            }
            Some(s.to_owned())
        }
    };
    Ok(NewProfile {
        full_name: full_name.to_owned(),
        relation: p.relation,
        date_of_birth,
    })
}

/// A PIN is 6 or more digits, not all the same and not a run (123456,
/// 987654); a passphrase (anything not all digits) is 8 or more characters.
pub(crate) fn check_pin_strength(pin: &str) -> Result<(), VaultError> {
    if pin.chars().any(char::is_control) {
        return Err(VaultError::WeakPin("it contains control characters".into()));
    }
    let digits: Vec<u8> = pin.bytes().collect();
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        if digits.len() < 6 {
            return Err(VaultError::WeakPin("a PIN needs at least 6 digits".into()));
        }
        if digits.iter().all(|d| *d == digits[0]) {
            return Err(VaultError::WeakPin(
                "a PIN must not repeat one digit".into(),
            ));
        }
        let steps: Vec<i16> = digits
            .windows(2)
            .map(|w| i16::from(w[1]) - i16::from(w[0]))
            .collect();
        if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
            return Err(VaultError::WeakPin(
                "a PIN must not be a run of consecutive digits".into(),
            ));
        }
        return Ok(());
    }
    if pin.chars().count() < 8 {
        return Err(VaultError::WeakPin(
            "a passphrase needs at least 8 characters (or use a PIN of 6+ digits)".into(),
        ));
    }
    if pin.trim().is_empty() {
        return Err(VaultError::WeakPin("the passphrase is blank".into()));
    }
    Ok(())
}

/// The form of a document number that is hashed for lookups: trimmed,
/// spaces removed, upper case.
pub(crate) fn lookup_form(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The content type by magic bytes, for the kinds the vault accepts: the
/// domain's one sniffer, shared with the app core.
pub(crate) use cds_domain::sniff_mime;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Relation;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 05 - 10);
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    fn cccd() -> DocumentInput {
        let mut fields = BTreeMap::new();
        for (k, v) in [
            ("number", " 079095001234 "),
            ("full_name", "  Nguyễn Văn Bình "),
            ("date_of_birth", "1995-08-15"),
            ("sex", "nam"),
            ("nationality", "Việt Nam"),
            ("place_of_origin", "Hội An, Quảng Nam"),
            ("place_of_residence", "Hải Châu, Đà Nẵng"),
            ("issue_date", "2021-04-01"),
            ("expiry_date", "2035-08-15"),
        ] {
            fields.insert(k.to_owned(), v.to_owned());
        }
        DocumentInput {
            profile_id: "self".into(),
            kind: DocumentKind::Cccd,
            fields,
            custom_fields: vec![],
        }
    }

    fn with(mut d: DocumentInput, key: &str, value: &str) -> DocumentInput {
        d.fields.insert(key.into(), value.into());
        d
    }

    fn field_of(doc: &DocumentInput) -> &'static str {
        match validate_document(doc, TODAY) {
            Err(VaultError::Invalid { field, reason }) => {
                assert!(!reason.is_empty());
                field
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_good_cccd_is_trimmed() {
        let v = validate_document(&cccd(), TODAY).unwrap();
        assert_eq!(v.fields["number"], "079095001234");
        assert_eq!(v.fields["full_name"], "Nguyễn Văn Bình");
        assert_eq!(v.fields.len(), 9);
    }

    #[test]
    fn cccd_number_shape_province_century_sex_and_year() {
        for bad in [
            "07909500123",
            "0790950012345",
            "07909500123a",
            "０79095001234",
        ] {
            assert_eq!(field_of(&with(cccd(), "number", bad)), "number", "{bad:?}");
        }
        let err = validate_document(&with(cccd(), "number", "003095001234"), TODAY).unwrap_err();
        assert!(err.to_string().contains("province code"), "{err}");
        // 4th digit 1 = female born 1900-1999, but sex is male.
        let err = validate_document(&with(cccd(), "number", "079195001234"), TODAY).unwrap_err();
        assert!(err.to_string().contains("means female"), "{err}");
        // 4th digit 2 = born 2000-2099.
        let err = validate_document(&with(cccd(), "number", "079295001234"), TODAY).unwrap_err();
        assert!(err.to_string().contains("born in 2000-2099"), "{err}");
        // Digits 5-6 must be 95.
        let err = validate_document(&with(cccd(), "number", "079096001234"), TODAY).unwrap_err();
        assert!(err.to_string().contains("(95), not 96"), "{err}");
        // A woman born in 2003.
        let d = with(
            with(with(cccd(), "number", "048303001234"), "sex", "nu"),
            "date_of_birth",
            "2003-01-02",
        );
        assert!(validate_document(&d, TODAY).is_ok());
        assert_eq!(cds_domain::BIRTH_REGISTRATION_PROVINCES.len(), 63);
        assert_eq!(cccd_sex("048303001234"), Some("nu"));
    }

    #[test]
    fn required_fields_unknown_keys_and_choices() {
        let mut d = cccd();
        d.fields.remove("full_name");
        assert_eq!(field_of(&d), "full_name");
        let mut d = cccd();
        d.fields.remove("expiry_date");
        assert!(validate_document(&d, TODAY).is_ok(), "không thời hạn");
        assert_eq!(field_of(&with(cccd(), "colour", "x")), "fields");
        assert_eq!(field_of(&with(cccd(), "sex", "x")), "sex");
        assert_eq!(
            field_of(&with(cccd(), "full_name", &"a".repeat(101))),
            "full_name"
        );
        assert_eq!(field_of(&with(cccd(), "full_name", "An\u{0}")), "full_name");
        let mut d = cccd();
        d.custom_fields.push(("a".into(), "b".into()));
        assert_eq!(field_of(&d), "custom_fields");
    }

    #[test]
    fn dates_are_real_and_ordered() {
        for bad in [
            "2023-02-31",
            "2023-13-01",
            "1899-12-31",
            "15/08/1995",
            "1995-8-15",
        ] {
            assert_eq!(
                field_of(&with(cccd(), "issue_date", bad)),
                "issue_date",
                "{bad:?}"
            );
        }
        assert_eq!(
            field_of(&with(cccd(), "date_of_birth", "2026-05-11")),
            "date_of_birth"
        );
        assert_eq!(
            field_of(&with(cccd(), "issue_date", "2027-01-01")),
            "issue_date"
        );
        assert_eq!(
            field_of(&with(cccd(), "issue_date", "1990-01-01")),
            "issue_date"
        );
        let err = validate_document(&with(cccd(), "expiry_date", "2021-04-01"), TODAY).unwrap_err();
        assert!(
            err.to_string().contains("must be after the date of issue"),
            "{err}"
        );
        let err = validate_document(&with(cccd(), "issue_date", "2023-02-31"), TODAY).unwrap_err();
        assert!(
            err.to_string().contains("not a real calendar date"),
            "{err}"
        );
    }

    #[test]
    fn passport_licence_insurance_and_other() {
        let mut fields = BTreeMap::new();
        for (k, v) in [
            ("number", "c1234567"),
            ("full_name", "Trần Thị Mai"),
            ("date_of_birth", "1990-01-01"),
            ("sex", "nu"),
            ("nationality", "Việt Nam"),
            ("place_of_birth", "Đà Nẵng"),
            ("issue_date", "2020-01-01"),
            ("expiry_date", "2030-01-01"),
            ("issuing_authority", "Cục Quản lý xuất nhập cảnh"),
        ] {
            fields.insert(k.to_owned(), v.to_owned());
        }
        let p = DocumentInput {
            profile_id: "self".into(),
            kind: DocumentKind::Passport,
            fields,
            custom_fields: vec![],
        };
        assert_eq!(
            validate_document(&p, TODAY).unwrap().fields["number"],
            "C1234567"
        );
        assert_eq!(field_of(&with(p.clone(), "number", "12345678")), "number");
        assert_eq!(field_of(&with(p, "number", "C123456")), "number");

        assert_eq!(normalise_classes("classes", "a1, b ,A1").unwrap(), "A1, B");
        assert!(normalise_classes("classes", "B3").is_err());
        assert!(normalise_classes("classes", " , ").is_err());

        let other = DocumentInput {
            profile_id: "self".into(),
            kind: DocumentKind::Other,
            fields: [("title".to_string(), "Thẻ thư viện".to_string())].into(),
            custom_fields: vec![("Số thẻ".into(), "TV-001".into()), (" ".into(), " ".into())],
        };
        let v = validate_document(&other, TODAY).unwrap();
        assert_eq!(
            v.custom_fields,
            vec![("Số thẻ".to_string(), "TV-001".to_string())]
        );
        let mut bad = other.clone();
        bad.custom_fields = vec![("".into(), "x".into())];
        assert_eq!(field_of(&bad), "custom_fields");
        let mut bad = other;
        bad.fields.clear();
        assert_eq!(field_of(&bad), "title");
    }

    #[test]
    fn attachments_are_sniffed_and_bounded() {
        let a = |name: &str, bytes: Vec<u8>| NewAttachment {
            file_name: name.into(),
            mime: "image/jpeg".into(),
            bytes,
        };
        assert_eq!(
            validate_attachment(&a("photo.jpg", b"hello".to_vec())).unwrap_err(),
            VaultError::UnsupportedFile
        );
        let mut big = vec![0u8; MAX_ATTACHMENT_BYTES + 1];
        big[..PNG.len()].copy_from_slice(PNG);
        assert_eq!(
            validate_attachment(&a("scan.png", big)).unwrap_err(),
            VaultError::TooLarge {
                max: MAX_ATTACHMENT_BYTES as u64
            }
        );
        let v_png = a(" front.jpg ", PNG.to_vec());
        let v = validate_attachment(&v_png).unwrap();
        assert_eq!((v.mime, v.file_name.as_str()), ("image/png", "front.jpg"));
        assert!(validate_attachment(&a("  ", PNG.to_vec())).is_err());
    }

    #[test]
    fn pins_and_passphrases() {
        for weak in ["", "12345", "111111", "123456", "987654", "abc", "pass wd"] {
            assert_eq!(
                check_pin_strength(weak).unwrap_err().kind(),
                "weak_pin",
                "{weak:?}"
            );
        }
        for ok in ["482915", "1357924680", "đường về nhà", "correct horse"] {
            assert!(check_pin_strength(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn profiles_are_trimmed_and_checked() {
        let p = NewProfile {
            full_name: "  Lê Văn Tí ".into(),
            relation: Relation::Child,
            date_of_birth: Some("2019-06-01".into()),
        };
        assert_eq!(validate_profile(&p, TODAY).unwrap().full_name, "Lê Văn Tí");
        let mut bad = p.clone();
        bad.full_name = " ".into();
        assert!(validate_profile(&bad, TODAY).is_err());
        let mut bad = p;
        bad.date_of_birth = Some("2030-01-01".into());
        assert!(validate_profile(&bad, TODAY).is_err());
    }

    #[test]
    fn sniffing_knows_the_accepted_kinds_only() {
        assert_eq!(sniff_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(PNG), Some("image/png"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_mime(b"GIF89a\x01\0"), Some("image/gif"));
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_mime(b"<svg xmlns=..."), None);
        assert_eq!(sniff_mime(b""), None);
        assert_eq!(lookup_form(" c 123 4567 "), "C1234567");
    }
}
