//! The per-kind field schema the document form is generated from.
//!
//! The schema itself lives in `cds-api` (`DocumentKind::fields()`), shared
//! with the vault's validation; this module adds what only the UI needs:
//! the element id of each field (some are fixed for the end-to-end tests)
//! and client-side checks that save a round trip.

use cds_view::DocumentKind;
pub use cds_view::{FieldSpec, FieldType, LICENCE_CLASSES};

use crate::format::{parse_date, DateError, Ymd};
use crate::i18n::{Lang, K};

/// The fields of a kind, in form order (`cds_api`'s schema).
pub fn fields(kind: DocumentKind) -> &'static [FieldSpec] {
    kind.fields()
}

/// The form element id of a field. The three fields the first release had
/// keep their ids (`#doc-number`, `#doc-name`, `#doc-dob`).
pub fn field_id(key: &str) -> String {
    match key {
        "number" => "doc-number".to_owned(),
        "full_name" => "doc-name".to_owned(),
        "date_of_birth" => "doc-dob".to_owned(),
        other => format!("doc-field-{other}"),
    }
}

pub fn label(f: &FieldSpec, lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => f.label_vi,
        Lang::En => f.label_en,
    }
}

/// Cleans and checks one typed value. Returns the value as sent on the wire
/// (dates ISO, digits without spaces); an empty optional field gives `""`.
pub fn check_value(f: &FieldSpec, raw: &str, today: Ymd) -> Result<String, K> {
    let v = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        return if f.required {
            Err(K::ErrFieldRequired)
        } else {
            Ok(String::new())
        };
    }
    match f.ty {
        FieldType::Text | FieldType::LongText => Ok(raw.trim().to_owned()),
        FieldType::Digits(n) => {
            let d: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            if d.len() == n as usize && d.bytes().all(|b| b.is_ascii_digit()) {
                Ok(d)
            } else if f.key == "number" && n == 12 {
                Err(K::ErrCccdDigits)
            } else {
                Err(K::ErrDigits)
            }
        }
        FieldType::Date => {
            // A birth date cannot be in the future; an expiry date can.
            let limit = if f.key == "date_of_birth" {
                today
            } else {
                (9999, 12, 31)
            };
            parse_date(&v, limit).map_err(|e| match e {
                DateError::Empty => K::ErrFieldRequired,
                DateError::Format => K::ErrDateFormat,
                DateError::Impossible => K::ErrDateImpossible,
                DateError::Future => K::ErrDobFuture,
            })
        }
        FieldType::Choice(options) => options
            .iter()
            .find(|(code, _, _)| *code == v)
            .map(|(code, _, _)| (*code).to_owned())
            .ok_or(K::ErrFieldRequired),
        FieldType::Classes => {
            let mut out = Vec::new();
            for c in v.split([',', ' ', ';']).filter(|c| !c.is_empty()) {
                let c = c.to_uppercase();
                if !LICENCE_CLASSES.contains(&c.as_str()) {
                    return Err(K::ErrClasses);
                }
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            if out.is_empty() {
                return Err(K::ErrClasses);
            }
            Ok(out.join(","))
        }
    }
}

/// A stored value as the form shows it (ISO dates as dd/mm/yyyy).
pub fn display_value(f: &FieldSpec, stored: &str) -> String {
    match f.ty {
        FieldType::Date => crate::format::iso_to_display(stored),
        FieldType::Classes => stored.replace(',', ", "),
        _ => stored.to_owned(),
    }
}

/// A stored value as the detail view shows it (choices by their label).
pub fn shown_value(f: &FieldSpec, stored: &str, lang: Lang) -> String {
    match f.ty {
        FieldType::Choice(options) => options
            .iter()
            .find(|(code, _, _)| *code == stored)
            .map(|(_, vi, en)| match lang {
                Lang::Vi => (*vi).to_owned(),
                Lang::En => (*en).to_owned(),
            })
            .unwrap_or_else(|| stored.to_owned()),
        _ => display_value(f, stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Ymd = (2026, 3, 15);

    fn spec(key: &str) -> &'static FieldSpec {
        fields(DocumentKind::Cccd)
            .iter()
            .find(|f| f.key == key)
            .unwrap()
    }

    #[test]
    fn every_kind_has_fields_with_both_labels() {
        for k in DocumentKind::ALL {
            assert!(!fields(k).is_empty(), "{k:?}");
            for f in fields(k) {
                assert!(!f.label_vi.is_empty() && !f.label_en.is_empty());
            }
        }
    }

    #[test]
    fn legacy_ids_are_kept() {
        assert_eq!(field_id("number"), "doc-number");
        assert_eq!(field_id("full_name"), "doc-name");
        assert_eq!(field_id("date_of_birth"), "doc-dob");
        assert_eq!(field_id("sex"), "doc-field-sex");
    }

    #[test]
    fn dates_become_iso_and_digits_lose_spaces() {
        assert_eq!(
            check_value(spec("date_of_birth"), "05/09/1990", TODAY).unwrap(),
            "1990-09-05"
        );
        assert_eq!(
            check_value(spec("date_of_birth"), "16/03/2026", TODAY),
            Err(K::ErrDobFuture)
        );
        assert_eq!(
            check_value(spec("number"), "001 099 012345", TODAY).unwrap(),
            "001099012345"
        );
        assert_eq!(
            check_value(spec("number"), "12345", TODAY),
            Err(K::ErrCccdDigits)
        );
        assert_eq!(
            check_value(spec("number"), "", TODAY),
            Err(K::ErrFieldRequired)
        );
        if let Some(exp) = fields(DocumentKind::Cccd)
            .iter()
            .find(|f| f.key == "expiry_date")
        {
            assert_eq!(check_value(exp, "01/01/2040", TODAY).unwrap(), "2040-01-01");
        }
    }

    #[test]
    fn licence_classes_are_normalised() {
        let f = fields(DocumentKind::DrivingLicence)
            .iter()
            .find(|f| matches!(f.ty, FieldType::Classes))
            .unwrap();
        assert_eq!(check_value(f, "a1, b", TODAY).unwrap(), "A1,B");
        assert_eq!(check_value(f, "Z9", TODAY), Err(K::ErrClasses));
    }
}
