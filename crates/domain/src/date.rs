//! Calendar helpers that several crates need: strict ISO dates, calendar
//! validity, day numbers and age. Pure arithmetic on `time::Date` and plain
//! numbers, so the wasm UI can use them without a JS `Date`.

use time::{Date, Month};

/// Age at which a person is an adult (Civil Code 2015, art. 20): the rule
/// behind the "18 or older" QR.
pub const ADULT_AGE: i32 = 18;

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether `year-month-day` is a day of the (proleptic Gregorian) calendar.
pub fn is_civil_date(year: i32, month: u32, day: u32) -> bool {
    day >= 1 && day <= days_in_month(year, month)
}

/// Days since 1970-01-01 of a civil date (negative before it); `None` when
/// the date is not on the calendar. Howard Hinnant's `days_from_civil`.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i64> {
    if !is_civil_date(year, month, day) {
        return None;
    }
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Parses a strict ISO calendar date `YYYY-MM-DD`: exactly that shape, ASCII
/// digits, and a real day (so `2024-02-31` and `2024-2-1` are refused).
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

/// `YYYY-MM-DD` (years 0–9999; the form the vault stores and the wire
/// carries).
pub fn format_iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Age in full years on `today` (a birthday counts from its day; someone
/// born on 29 February has their birthday on 1 March in a common year).
/// Negative when `today` is before the birth.
pub fn age_on(dob: Date, today: Date) -> i32 {
    let years = today.year() - dob.year();
    let had_birthday = (u8::from(today.month()), today.day()) >= (u8::from(dob.month()), dob.day());
    if had_birthday {
        years
    } else {
        years - 1
    }
}

/// Whether someone born on `dob` is [`ADULT_AGE`] or older on `today`.
pub fn is_adult_on(dob: Date, today: Date) -> bool {
    age_on(dob, today) >= ADULT_AGE
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap_year(2000) && is_leap_year(2024));
        assert!(!is_leap_year(1900) && !is_leap_year(2026));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
        assert_eq!(days_in_month(2026, 13), 0);
        assert_eq!(days_in_month(2026, 0), 0);
        assert!(is_civil_date(2000, 2, 29));
        assert!(!is_civil_date(1900, 2, 29));
        assert!(!is_civil_date(2026, 4, 31));
        assert!(!is_civil_date(2026, 1, 0));
    }

    #[test]
    fn day_numbers_agree_with_the_time_crate() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        for d in [
            date!(1900 - 01 - 01),
            date!(2000 - 02 - 29),
            date!(2025 - 07 - 01),
            date!(2099 - 12 - 31),
        ] {
            let julian_1970 = date!(1970 - 01 - 01).to_julian_day();
            assert_eq!(
                days_from_civil(d.year(), u32::from(u8::from(d.month())), u32::from(d.day())),
                Some(i64::from(d.to_julian_day() - julian_1970)),
                "{d}"
            );
        }
        assert_eq!(days_from_civil(2026, 2, 29), None);
    }

    // Moved from cds-backend's rules.rs (the backend's copy of this parser).
    #[test]
    fn iso_dates_are_strict() {
        assert_eq!(parse_iso_date("2000-02-29"), Some(date!(2000 - 02 - 29)));
        assert_eq!(parse_iso_date("1995-08-15"), Some(date!(1995 - 08 - 15)));
        for bad in [
            "2001-02-29",
            "2024-02-31",
            "2024-13-01",
            "2024-00-10",
            "2024-2-1",
            "24-02-01",
            "2024/02/01",
            "2024-02-01T00:00:00Z",
            " 2024-02-01",
            "２024-02-01",
            "",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
        assert_eq!(format_iso_date(date!(2026 - 03 - 05)), "2026-03-05");
        assert_eq!(
            parse_iso_date(&format_iso_date(date!(0999 - 12 - 31))),
            Some(date!(0999 - 12 - 31))
        );
    }

    #[test]
    fn age_counts_full_years() {
        let dob = date!(2008 - 06 - 15);
        assert_eq!(age_on(dob, date!(2026 - 06 - 14)), 17);
        assert_eq!(age_on(dob, date!(2026 - 06 - 15)), 18);
        assert!(!is_adult_on(dob, date!(2026 - 06 - 14)));
        assert!(is_adult_on(dob, date!(2026 - 06 - 15)));
        assert!(is_adult_on(dob, date!(2030 - 01 - 01)));
        // 29 February: the birthday is 1 March in a common year.
        let leap = date!(2008 - 02 - 29);
        assert!(!is_adult_on(leap, date!(2026 - 02 - 28)));
        assert!(is_adult_on(leap, date!(2026 - 03 - 01)));
        assert_eq!(age_on(dob, date!(2000 - 01 - 01)), -9);
    }
}
