//! Pure formatting and parsing helpers: dates, money, search folding.
//!
//! Kept free of the DOM so they are unit-tested on the host. The only
//! exceptions, [`today`] and [`local_date_time`], ask the JS `Date` for the
//! device's local calendar and must only be called in the browser.

use crate::i18n::Lang;

/// Why a typed date of birth was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    Empty,
    /// Not `dd/mm/yyyy` (or ISO `yyyy-mm-dd`).
    Format,
    /// A well-formed date that is not on the calendar, e.g. 31/02/1990.
    Impossible,
    Future,
}

/// A calendar day as `(year, month, day)`.
pub type Ymd = (i32, u32, u32);

/// The calendar rules are the domain's (one copy for vault, backend and UI).
pub use cds_domain::date::days_in_month;

/// Parses a date of birth as Vietnamese citizens write it, `dd/mm/yyyy`
/// (also `d/m/yyyy`, with `.`, `-` or spaces as separators; an ISO
/// `yyyy-mm-dd` pasted from elsewhere is accepted too), and returns it as
/// ISO `YYYY-MM-DD`, the form the vault stores.
///
/// Eight bare digits are read as `ddmmyyyy`: phone number pads (the field
/// asks for one) often have no `/`, and the CCCD's QR code uses that form.
pub fn parse_dob(input: &str, today: Ymd) -> Result<String, DateError> {
    parse_date(input, today)
}

/// Parses a date like [`parse_dob`]; dates after `latest` are refused as
/// [`DateError::Future`] (an expiry date passes a far-future `latest`).
pub fn parse_date(input: &str, latest: Ymd) -> Result<String, DateError> {
    let today = latest;
    let s = input.trim();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    let compact;
    let s = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        compact = format!("{}/{}/{}", &s[..2], &s[2..4], &s[4..]);
        compact.as_str()
    } else {
        s
    };
    let parts: Vec<&str> = s
        .split(|c: char| c == '/' || c == '.' || c == '-' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(DateError::Format);
    }
    let (d, m, y) = if parts[0].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else {
        (parts[0], parts[1], parts[2])
    };
    if d.len() > 2 || m.len() > 2 || y.len() != 4 {
        return Err(DateError::Format);
    }
    // Lengths are checked above, so these parses cannot overflow.
    let (d, m, y): (u32, u32, i32) = (
        d.parse().map_err(|_| DateError::Format)?,
        m.parse().map_err(|_| DateError::Format)?,
        y.parse().map_err(|_| DateError::Format)?,
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || y < 1900 {
        return Err(DateError::Impossible);
    }
    if (y, m, d) > today {
        return Err(DateError::Future);
    }
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// `1990-02-28` → `28/02/1990`. Anything else (or an RFC 3339 time, whose
/// date part is used) is shown as it came rather than hidden.
pub fn iso_to_display(iso: &str) -> String {
    let date = iso.get(..10).unwrap_or(iso);
    let b = date.as_bytes();
    let well_formed = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if well_formed {
        format!("{}/{}/{}", &date[8..10], &date[5..7], &date[..4])
    } else {
        iso.to_owned()
    }
}

/// Money in đồng: `20.000 ₫` in Vietnamese, `20,000 ₫` in English.
pub fn format_vnd(amount: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    };
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out.push_str(" ₫");
    out
}

/// Today's date on the device (local time). Browser only.
pub fn today() -> Ymd {
    let now = js_sys::Date::new_0();
    (
        now.get_full_year() as i32,
        now.get_month() + 1,
        now.get_date(),
    )
}

/// The file name of a photo taken now: `<prefix> 2026-11-29 10.45.07.jpg`
/// in local time (dots, not colons: colons are not allowed in file names
/// on Windows, where an exported attachment may end up). Browser only.
pub fn photo_file_name(prefix: &str) -> String {
    let now = js_sys::Date::new_0();
    photo_name_at(
        prefix,
        (
            now.get_full_year() as i32,
            now.get_month() + 1,
            now.get_date(),
        ),
        (now.get_hours(), now.get_minutes(), now.get_seconds()),
    )
}

/// [`photo_file_name`] at a given local date and time.
pub fn photo_name_at(prefix: &str, (y, m, d): Ymd, (hh, mm, ss): (u32, u32, u32)) -> String {
    format!("{prefix} {y:04}-{m:02}-{d:02} {hh:02}.{mm:02}.{ss:02}.jpg")
}

/// An RFC 3339 time shown as local `dd/mm/yyyy hh:mm`. Browser only;
/// falls back to the date part when the JS `Date` cannot parse it.
pub fn local_date_time(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    if d.get_time().is_nan() {
        return iso_to_display(rfc3339);
    }
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// Human size of a file: `850 KB`, `2,4 MB` (Vietnamese decimal comma).
pub fn file_size(bytes: u64, lang: Lang) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        let tenths = (bytes * 10).div_ceil(1024 * 1024);
        let sep = if lang == Lang::Vi { ',' } else { '.' };
        format!("{}{sep}{} MB", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Ymd = (2026, 3, 15);

    #[test]
    fn photo_names_sort_by_time_and_avoid_colons() {
        let a = photo_name_at("Ảnh chụp", (2026, 3, 5), (9, 7, 2));
        assert_eq!(a, "Ảnh chụp 2026-03-05 09.07.02.jpg");
        let b = photo_name_at("Ảnh chụp", (2026, 3, 5), (10, 0, 0));
        assert!(a < b);
        assert!(!a.contains(':'));
    }

    #[test]
    fn dob_in_vietnamese_order_becomes_iso() {
        assert_eq!(parse_dob("05/09/1990", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob(" 5/9/1990 ", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob("05.09.1990", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob("05-09-1990", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob("1990-09-05", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob("29/02/2000", TODAY).unwrap(), "2000-02-29");
        assert_eq!(parse_dob("15/03/2026", TODAY).unwrap(), "2026-03-15");
        assert_eq!(parse_dob("05091990", TODAY).unwrap(), "1990-09-05");
        assert_eq!(parse_dob("01/02/1960", TODAY).unwrap(), "1960-02-01");
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(parse_dob("31/02/1990", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("29/02/1900", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("31/04/1990", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("00/01/1990", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("10/13/1990", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("01/01/1850", TODAY), Err(DateError::Impossible));
    }

    #[test]
    fn malformed_and_future_dates_are_refused() {
        assert_eq!(parse_dob("", TODAY), Err(DateError::Empty));
        assert_eq!(parse_dob("   ", TODAY), Err(DateError::Empty));
        assert_eq!(parse_dob("0509199", TODAY), Err(DateError::Format));
        assert_eq!(parse_dob("31021990", TODAY), Err(DateError::Impossible));
        assert_eq!(parse_dob("05/09/90", TODAY), Err(DateError::Format));
        assert_eq!(parse_dob("5 tháng 9 1990", TODAY), Err(DateError::Format));
        assert_eq!(parse_dob("005/09/1990", TODAY), Err(DateError::Format));
        assert_eq!(parse_dob("16/03/2026", TODAY), Err(DateError::Future));
    }

    #[test]
    fn iso_dates_display_as_dd_mm_yyyy() {
        assert_eq!(iso_to_display("1990-02-28"), "28/02/1990");
        assert_eq!(iso_to_display("2026-01-05T10:00:00Z"), "05/01/2026");
        assert_eq!(iso_to_display("not a date"), "not a date");
        assert_eq!(iso_to_display(""), "");
    }

    #[test]
    fn money() {
        assert_eq!(format_vnd(20_000, Lang::Vi), "20.000 ₫");
        assert_eq!(format_vnd(8_000, Lang::Vi), "8.000 ₫");
        assert_eq!(format_vnd(1_250_000, Lang::Vi), "1.250.000 ₫");
        assert_eq!(format_vnd(500, Lang::Vi), "500 ₫");
        assert_eq!(format_vnd(135_000, Lang::En), "135,000 ₫");
    }

    #[test]
    fn file_sizes() {
        assert_eq!(file_size(1000, Lang::Vi), "1 KB");
        assert_eq!(file_size(2_500_000, Lang::Vi), "2,4 MB");
        assert_eq!(file_size(2_500_000, Lang::En), "2.4 MB");
    }
}
