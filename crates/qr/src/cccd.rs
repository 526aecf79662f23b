//! Parser for the QR code printed on Vietnamese chip identity cards.
//!
//! # Formats
//!
//! - **2021 CCCD** (front of the card, Circular 06/2021/TT-BCA): seven
//!   `|`-separated fields
//!   `number(12) | old CMND number (9, may be empty) | full name |
//!   date of birth ddmmyyyy | sex "Nam"/"Nữ" | permanent address |
//!   issue date ddmmyyyy`.
//! - **2024 Căn cước** (back of the card, Law 26/2023/QH15): the same seven
//!   leading fields (the address is then the place of residence), followed
//!   by further fields that vary between cards seen in the wild: cancelled
//!   identification numbers (9 or 12 digits, several may be joined by `,`),
//!   and for children the father's and mother's names; often the trailing
//!   fields are just empty. The ministry has not published a field list, so
//!   fields after the seventh are classified by their content (numbers →
//!   cancelled ids, names → parents in order father, mother) and anything
//!   else is kept verbatim in [`UnverifiedCccdQr::extra_fields`].
//!
//! Field counts are tolerated (trailing empty fields, a trailing `|`, extra
//! fields); content is checked strictly: real dates (31/02 is refused), a
//! 12-digit number whose province code, sex/century digit and birth-year
//! digits agree with the other fields (Circular 07/2016/TT-BCA, art. 7).
//! Every disagreement is listed in [`QrError::CccdInconsistent`].
//!
//! The QR is **not signed**: it fills forms and proves nothing, hence the
//! type's name [`UnverifiedCccdQr`].

use crate::QrError;
use cds_domain::id_number;
use time::{Date, Month};

/// Longest CCCD QR text accepted.
pub const MAX_CCCD_LEN: usize = 2048;
const MAX_NAME_CHARS: usize = 100;
const MAX_ADDRESS_CHARS: usize = 400;

use cds_domain::{IdNumberProblem, Sex};

/// Which card the QR most likely comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardGeneration {
    /// Chip CCCD (2021 layout, seven fields).
    Cccd2021,
    /// Căn cước (issued from 1 July 2024, or extra fields present).
    CanCuoc2024,
}

/// The content of a chip ID card's QR code. **Unsigned**: it is what the
/// card says, checked for internal consistency, not verified by anyone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnverifiedCccdQr {
    pub generation: CardGeneration,
    /// 12-digit personal identification number.
    pub number: String,
    /// Old 9-digit (or 12-digit) CMND number, if printed.
    pub old_id: Option<String>,
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub sex: Sex,
    /// Permanent address (2021) or place of residence (2024).
    pub place_of_residence: String,
    /// ISO `YYYY-MM-DD`.
    pub issue_date: String,
    /// Province of the number's first three digits.
    pub province: String,
    /// Cancelled identification numbers (2024 cards).
    pub cancelled_ids: Vec<String>,
    /// Father's name (2024 cards of children).
    pub father_name: Option<String>,
    /// Mother's name (2024 cards of children).
    pub mother_name: Option<String>,
    /// Non-empty fields after the seventh that were not recognised.
    pub extra_fields: Vec<String>,
}

const FIELD_NAMES: [&str; 7] = [
    "number (số định danh)",
    "old ID number (số CMND)",
    "full name (họ và tên)",
    "date of birth (ngày sinh)",
    "sex (giới tính)",
    "address (nơi thường trú / nơi cư trú)",
    "issue date (ngày cấp)",
];

fn format_err(m: impl Into<String>) -> QrError {
    QrError::CccdFormat(m.into())
}

/// Parses a CCCD / Căn cước QR text. See the module docs.
pub fn parse_cccd_qr(text: &str) -> Result<UnverifiedCccdQr, QrError> {
    if text.len() > MAX_CCCD_LEN {
        return Err(QrError::TooLarge {
            what: "CCCD QR text",
            size: text.len(),
            limit: MAX_CCCD_LEN,
        });
    }
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let fields: Vec<&str> = text.split('|').map(str::trim).collect();
    if fields.len() < 7 {
        let missing = FIELD_NAMES
            .get(fields.len())
            .copied()
            .unwrap_or("issue date");
        return Err(format_err(format!(
            "it has {} `|`-separated field(s), a CCCD QR has at least 7 \
             (number|old ID|name|date of birth|sex|address|issue date); \
             missing from: {missing}",
            fields.len()
        )));
    }
    if let Some(bad) = fields.iter().position(|f| f.chars().any(char::is_control)) {
        return Err(format_err(format!(
            "field {} contains control characters",
            bad + 1
        )));
    }

    let number = fields[0];
    if !id_number::is_id_number_shape(number) {
        return Err(format_err(format!(
            "the number must be 12 digits, got {:?}",
            number
        )));
    }
    let old_id = match fields[1] {
        "" => None,
        s if (s.len() == 9 || s.len() == 12) && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.to_owned())
        }
        s => {
            return Err(format_err(format!(
                "the old ID number must be empty, 9 or 12 digits, got {s:?}"
            )))
        }
    };
    let full_name = check_name(fields[2], "full name")?;
    let dob = parse_ddmmyyyy(fields[3], "date of birth")?;
    let sex = parse_sex(fields[4])?;
    let address = fields[5];
    if address.is_empty() {
        return Err(format_err(
            "the address (nơi thường trú / nơi cư trú) is empty",
        ));
    }
    if address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format_err(format!(
            "the address is longer than {MAX_ADDRESS_CHARS} characters"
        )));
    }
    let issue = parse_ddmmyyyy(fields[6], "issue date")?;

    let mut problems = Vec::new();
    let province =
        id_number::province_code_of(number).and_then(id_number::birth_registration_province);
    problems.extend(id_number::check_province(number));
    problems.extend(id_number::check_against_holder(
        number,
        Some(dob),
        Some(sex),
    ));
    if issue < dob {
        problems.push(IdNumberProblem {
            code: "issue_before_birth",
            vi: "ngày cấp trước ngày sinh".into(),
            en: "the issue date is before the date of birth".into(),
        });
    }
    if !problems.is_empty() {
        return Err(QrError::CccdInconsistent(problems));
    }

    let mut out = UnverifiedCccdQr {
        generation: CardGeneration::Cccd2021,
        number: number.to_owned(),
        old_id,
        full_name,
        date_of_birth: iso(dob),
        sex,
        place_of_residence: address.to_owned(),
        issue_date: iso(issue),
        province: province.unwrap_or_default().to_owned(),
        cancelled_ids: Vec::new(),
        father_name: None,
        mother_name: None,
        extra_fields: Vec::new(),
    };
    for field in fields[7..].iter().filter(|f| !f.is_empty()) {
        let parts: Vec<&str> = field.split(',').map(str::trim).collect();
        let all_ids = parts
            .iter()
            .all(|p| (p.len() == 9 || p.len() == 12) && p.bytes().all(|b| b.is_ascii_digit()));
        if all_ids {
            out.cancelled_ids
                .extend(parts.iter().map(|p| (*p).to_owned()));
        } else if let Ok(name) = check_name(field, "parent's name") {
            if out.father_name.is_none() {
                out.father_name = Some(name);
            } else if out.mother_name.is_none() {
                out.mother_name = Some(name);
            } else {
                out.extra_fields.push((*field).to_owned());
            }
        } else {
            out.extra_fields.push((*field).to_owned());
        }
    }
    let has_2024_fields =
        !out.cancelled_ids.is_empty() || out.father_name.is_some() || !out.extra_fields.is_empty();
    let since_2024 = Date::from_calendar_date(2024, Month::July, 1)
        .map(|d| issue >= d)
        .unwrap_or(false);
    if has_2024_fields || since_2024 {
        out.generation = CardGeneration::CanCuoc2024;
    }
    Ok(out)
}

fn check_name(s: &str, what: &str) -> Result<String, QrError> {
    let n = s.chars().count();
    if n == 0 {
        return Err(format_err(format!("the {what} is empty")));
    }
    if n > MAX_NAME_CHARS {
        return Err(format_err(format!(
            "the {what} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    let ok = s.chars().all(|c| {
        c.is_alphabetic() || c == ' ' || c == '\'' || c == '-' || c == '.' || is_combining(c)
    }) && s.chars().any(char::is_alphabetic);
    if !ok {
        return Err(format_err(format!(
            "the {what} {s:?} contains characters a name cannot have"
        )));
    }
    Ok(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn is_combining(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

fn parse_ddmmyyyy(s: &str, what: &str) -> Result<Date, QrError> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format_err(format!(
            "the {what} must be 8 digits ddmmyyyy, got {s:?}"
        )));
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
    let (d, m, y) = (num(0..2), num(2..4), num(4..8));
    let month = u8::try_from(m).ok().and_then(|m| Month::try_from(m).ok());
    month
        .and_then(|month| {
            Date::from_calendar_date(i32::from(y), month, u8::try_from(d).unwrap_or(0)).ok()
        })
        .filter(|_| y >= 1800)
        .ok_or_else(|| {
            format_err(format!(
                "the {what} {d:02}/{m:02}/{y:04} is not a real date / {} {d:02}/{m:02}/{y:04} không phải ngày có thật",
                if what == "issue date" { "ngày cấp" } else { "ngày sinh" }
            ))
        })
}

fn parse_sex(s: &str) -> Result<Sex, QrError> {
    // Precomposed "Nữ" and the decomposed forms (u + horn + tilde).
    match s {
        "Nam" | "NAM" | "nam" => Ok(Sex::Nam),
        "Nữ" | "NỮ" | "nữ" | "Nu\u{31b}\u{303}" | "NU\u{31b}\u{303}" | "nu\u{31b}\u{303}"
        | "N\u{1b0}\u{303}" | "n\u{1b0}\u{303}" | "N\u{1af}\u{303}" => Ok(Sex::Nu),
        other => Err(format_err(format!(
            "the sex must be \"Nam\" or \"Nữ\", got {other:?}"
        ))),
    }
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}
