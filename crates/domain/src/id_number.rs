//! The 12-digit personal identification number (số định danh cá nhân), the
//! number of a CCCD / Căn cước card (Decree 137/2015/ND-CP art. 13,
//! Circular 07/2016/TT-BCA art. 7):
//!
//! ```text
//!  048 3 03 001234
//!  │   │ │  └ random
//!  │   │ └ the last two digits of the birth year
//!  │   └ century of birth and sex
//!  └ province where the birth was registered
//! ```
//!
//! - Digits 1–3: the province where the **birth was registered**, in the
//!   63-province list of the circular's appendix
//!   ([`BIRTH_REGISTRATION_PROVINCES`]). Those codes are part of every number
//!   ever issued; the 2025 reorganisation into 34 provinces did not renumber
//!   anyone, so this table is not the list of today's provinces (that is
//!   the administrative-units table).
//! - Digit 4: century of birth and sex: 0/1 male/female born 1900–1999,
//!   2/3 born 2000–2099, 4/5 2100–2199, 6/7 2200–2299, 8/9 2300–2399.
//! - Digits 5–6: the last two digits of the birth year.
//! - Digits 7–12: random.
//!
//! The rules here report every disagreement as an [`IdNumberProblem`] with a
//! stable code and a Vietnamese and an English message; a form shows the
//! first, a scanned card lists them all.

use crate::person::Sex;
use time::Date;

/// Digits in a personal identification number.
pub const ID_NUMBER_LEN: usize = 12;

/// Birth-registration province codes (the first three digits of a personal
/// identification number) and the names of those provinces before the 2025
/// reorganisation, Circular 07/2016/TT-BCA, appendix 1. Sorted by code.
pub const BIRTH_REGISTRATION_PROVINCES: [(u16, &str); 63] = [
    (1, "Hà Nội"),
    (2, "Hà Giang"),
    (4, "Cao Bằng"),
    (6, "Bắc Kạn"),
    (8, "Tuyên Quang"),
    (10, "Lào Cai"),
    (11, "Điện Biên"),
    (12, "Lai Châu"),
    (14, "Sơn La"),
    (15, "Yên Bái"),
    (17, "Hòa Bình"),
    (19, "Thái Nguyên"),
    (20, "Lạng Sơn"),
    (22, "Quảng Ninh"),
    (24, "Bắc Giang"),
    (25, "Phú Thọ"),
    (26, "Vĩnh Phúc"),
    (27, "Bắc Ninh"),
    (30, "Hải Dương"),
    (31, "Hải Phòng"),
    (33, "Hưng Yên"),
    (34, "Thái Bình"),
    (35, "Hà Nam"),
    (36, "Nam Định"),
    (37, "Ninh Bình"),
    (38, "Thanh Hóa"),
    (40, "Nghệ An"),
    (42, "Hà Tĩnh"),
    (44, "Quảng Bình"),
    (45, "Quảng Trị"),
    (46, "Thừa Thiên Huế"),
    (48, "Đà Nẵng"),
    (49, "Quảng Nam"),
    (51, "Quảng Ngãi"),
    (52, "Bình Định"),
    (54, "Phú Yên"),
    (56, "Khánh Hòa"),
    (58, "Ninh Thuận"),
    (60, "Bình Thuận"),
    (62, "Kon Tum"),
    (64, "Gia Lai"),
    (66, "Đắk Lắk"),
    (67, "Đắk Nông"),
    (68, "Lâm Đồng"),
    (70, "Bình Phước"),
    (72, "Tây Ninh"),
    (74, "Bình Dương"),
    (75, "Đồng Nai"),
    (77, "Bà Rịa - Vũng Tàu"),
    (79, "Hồ Chí Minh"),
    (80, "Long An"),
    (82, "Tiền Giang"),
    (83, "Bến Tre"),
    (84, "Trà Vinh"),
    (86, "Vĩnh Long"),
    (87, "Đồng Tháp"),
    (89, "An Giang"),
    (91, "Kiên Giang"),
    (92, "Cần Thơ"),
    (93, "Hậu Giang"),
    (94, "Sóc Trăng"),
    (95, "Bạc Liêu"),
    (96, "Cà Mau"),
];

/// Stable codes of [`IdNumberProblem::code`].
pub mod problem {
    /// Not 12 ASCII digits.
    pub const SHAPE: &str = "shape";
    /// The first three digits are no birth-registration province.
    pub const PROVINCE_CODE: &str = "province_code";
    /// The 4th digit disagrees with the date of birth or the sex.
    pub const CENTURY_SEX_DIGIT: &str = "century_sex_digit";
    /// Digits 5–6 are not the last two digits of the birth year.
    pub const BIRTH_YEAR_DIGITS: &str = "birth_year_digits";
}

/// One thing wrong with an identification number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumberProblem {
    /// Stable code, one of [`problem`] (users of this type may add their
    /// own, such as a card's `issue_before_birth`).
    pub code: &'static str,
    /// Vietnamese message.
    pub vi: String,
    /// English message.
    pub en: String,
}

impl std::fmt::Display for IdNumberProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.vi, self.en)
    }
}

/// The birth-registration province of a 3-digit code, if it is one.
pub fn birth_registration_province(code: u16) -> Option<&'static str> {
    BIRTH_REGISTRATION_PROVINCES
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .and_then(|i| BIRTH_REGISTRATION_PROVINCES.get(i))
        .map(|(_, name)| *name)
}

/// Whether `s` is 12 ASCII digits (the wire contract's shape check; the
/// other rules need a date of birth and a sex).
pub fn is_id_number_shape(s: &str) -> bool {
    s.len() == ID_NUMBER_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

fn digits(number: &str) -> Option<[u8; ID_NUMBER_LEN]> {
    if !is_id_number_shape(number) {
        return None;
    }
    let mut out = [0u8; ID_NUMBER_LEN];
    for (d, b) in out.iter_mut().zip(number.bytes()) {
        *d = b - b'0';
    }
    Some(out)
}

/// The century and sex a 4th digit stands for: the first year of the
/// century (1900 for 0 and 1, … 2300 for 8 and 9) and the sex (even male,
/// odd female).
pub fn century_and_sex(digit: u8) -> Option<(i32, Sex)> {
    if digit > 9 {
        return None;
    }
    let start = 1900 + 100 * i32::from(digit / 2);
    let sex = if digit % 2 == 0 { Sex::Nam } else { Sex::Nu };
    Some((start, sex))
}

/// The sex a well-shaped number encodes.
pub fn sex_of(number: &str) -> Option<Sex> {
    digits(number)
        .and_then(|d| century_and_sex(d[3]))
        .map(|(_, s)| s)
}

/// The birth-registration province code of a well-shaped number (whether
/// or not it is one of the 63).
pub fn province_code_of(number: &str) -> Option<u16> {
    digits(number).map(|d| u16::from(d[0]) * 100 + u16::from(d[1]) * 10 + u16::from(d[2]))
}

/// The shape: exactly 12 ASCII digits.
pub fn check_shape(number: &str) -> Result<(), IdNumberProblem> {
    if is_id_number_shape(number) {
        Ok(())
    } else {
        Err(IdNumberProblem {
            code: problem::SHAPE,
            vi: "số định danh cá nhân gồm đúng 12 chữ số (0-9)".into(),
            en: "a personal identification number is exactly 12 digits (0-9)".into(),
        })
    }
}

/// The first three digits against [`BIRTH_REGISTRATION_PROVINCES`]; `None`
/// when they are one of them or the number is not well shaped (that is
/// [`check_shape`]'s to say).
pub fn check_province(number: &str) -> Option<IdNumberProblem> {
    let code = province_code_of(number)?;
    if birth_registration_province(code).is_some() {
        return None;
    }
    Some(IdNumberProblem {
        code: problem::PROVINCE_CODE,
        vi: format!(
            "số định danh bắt đầu bằng mã tỉnh nơi đăng ký khai sinh; {code:03} không phải mã tỉnh"
        ),
        en: format!(
            "a personal identification number starts with the province code of the birth \
             registration; {code:03} is not a province code"
        ),
    })
}

/// The 4th to 6th digits against the holder's date of birth and sex, in
/// this order: century, sex, birth year. What is not known (`None`) is not
/// checked; a number that is not well shaped gives no problem here.
pub fn check_against_holder(
    number: &str,
    dob: Option<Date>,
    sex: Option<Sex>,
) -> Vec<IdNumberProblem> {
    let mut problems = Vec::new();
    let Some(d) = digits(number) else {
        return problems;
    };
    let g = d[3];
    let Some((century_start, coded_sex)) = century_and_sex(g) else {
        return problems;
    };
    let century_end = century_start + 99;
    if let Some(dob) = dob {
        let year = dob.year();
        if !(century_start..=century_end).contains(&year) {
            problems.push(IdNumberProblem {
                code: problem::CENTURY_SEX_DIGIT,
                vi: format!(
                    "chữ số thứ 4 của số định danh ({g}) chỉ người sinh năm \
                     {century_start}-{century_end}, nhưng ngày sinh là năm {year}"
                ),
                en: format!(
                    "the 4th digit of the number ({g}) means born in \
                     {century_start}-{century_end}, but the date of birth is in {year}"
                ),
            });
        }
    }
    if let Some(sex) = sex {
        if sex != coded_sex {
            problems.push(IdNumberProblem {
                code: problem::CENTURY_SEX_DIGIT,
                vi: format!(
                    "chữ số thứ 4 của số định danh ({g}) chỉ giới tính {}, nhưng giới tính ghi {}",
                    coded_sex.label_vi(),
                    sex.label_vi()
                ),
                en: format!(
                    "the 4th digit of the number ({g}) means {}, but the sex is {}",
                    coded_sex.label_en(),
                    sex.label_en()
                ),
            });
        }
    }
    if let Some(dob) = dob {
        let year = dob.year();
        let yy = u32::from(d[4]) * 10 + u32::from(d[5]);
        let dob_yy = year.rem_euclid(100).unsigned_abs();
        if yy != dob_yy {
            problems.push(IdNumberProblem {
                code: problem::BIRTH_YEAR_DIGITS,
                vi: format!(
                    "chữ số thứ 5-6 của số định danh là hai số cuối của năm sinh \
                     ({dob_yy:02}), không phải {yy:02}"
                ),
                en: format!(
                    "digits 5-6 of the number are the last two digits of the birth year \
                     ({dob_yy:02}), not {yy:02}"
                ),
            });
        }
    }
    problems
}

/// Every rule: the shape (alone, when it fails), then the province, the
/// century, the sex and the birth year.
pub fn check_id_number(number: &str, dob: Option<Date>, sex: Option<Sex>) -> Vec<IdNumberProblem> {
    if let Err(p) = check_shape(number) {
        return vec![p];
    }
    let mut problems: Vec<IdNumberProblem> = check_province(number).into_iter().collect();
    problems.extend(check_against_holder(number, dob, sex));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use time::Month;

    fn codes(p: &[IdNumberProblem]) -> Vec<&'static str> {
        p.iter().map(|p| p.code).collect()
    }

    fn born(year: i32) -> Option<Date> {
        Date::from_calendar_date(year, Month::January, 1).ok()
    }

    #[test]
    fn the_shape_is_twelve_ascii_digits() {
        assert!(is_id_number_shape("001099012345"));
        for bad in [
            "00109901234",
            "0010990123456",
            "00109901234a",
            "００1099012345",
            "０79095001234",
            "",
        ] {
            assert!(!is_id_number_shape(bad), "{bad:?}");
            assert_eq!(
                codes(&check_id_number(bad, None, None)),
                ["shape"],
                "{bad:?}"
            );
            assert!(check_against_holder(bad, born(1999), Some(Sex::Nam)).is_empty());
            assert!(check_province(bad).is_none());
        }
    }

    #[test]
    fn all_63_birth_registration_provinces() {
        assert_eq!(BIRTH_REGISTRATION_PROVINCES.len(), 63);
        let codes: Vec<u16> = BIRTH_REGISTRATION_PROVINCES
            .iter()
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(codes.first(), Some(&1));
        assert_eq!(codes.last(), Some(&96));
        // Sorted, so the lookup may binary-search.
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        for missing in [
            0, 3, 5, 7, 9, 13, 16, 18, 21, 23, 28, 29, 32, 39, 41, 43, 47, 50, 53, 55, 57, 59, 61,
            63, 65, 69, 71, 73, 76, 78, 81, 85, 88, 90, 97, 999,
        ] {
            assert!(!codes.contains(&missing), "{missing}");
            assert_eq!(birth_registration_province(missing), None);
        }
        for (code, name) in [
            (1, "Hà Nội"),
            (79, "Hồ Chí Minh"),
            (48, "Đà Nẵng"),
            (49, "Quảng Nam"),
            (31, "Hải Phòng"),
            (92, "Cần Thơ"),
            (46, "Thừa Thiên Huế"),
            (96, "Cà Mau"),
        ] {
            assert_eq!(birth_registration_province(code), Some(name));
        }
        assert_eq!(province_code_of("048303001234"), Some(48));
        let p = check_province("003099012345").unwrap();
        assert_eq!(p.code, "province_code");
        assert!(
            p.en.contains("province code") && p.en.contains("003"),
            "{p}"
        );
        assert!(check_province("096099012345").is_none());
    }

    #[test]
    fn century_digits_follow_circular_07_2016() {
        for (g, year, sex) in [
            (0, 1999, Sex::Nam),
            (1, 1950, Sex::Nu),
            (2, 2001, Sex::Nam),
            (3, 2010, Sex::Nu),
            (4, 2101, Sex::Nam),
            (5, 2150, Sex::Nu),
            (6, 2201, Sex::Nam),
            (7, 2250, Sex::Nu),
            (8, 2301, Sex::Nam),
            (9, 2350, Sex::Nu),
        ] {
            let yy = year % 100;
            let n = format!("001{g}{yy:02}012345");
            assert_eq!(check_id_number(&n, born(year), Some(sex)), [], "{n}");
            assert_eq!(sex_of(&n), Some(sex));
        }
        // 8 and 9 are the 24th century, not the 19th.
        assert_eq!(
            codes(&check_id_number("001899012345", born(1899), Some(Sex::Nam))),
            ["century_sex_digit"]
        );
        assert_eq!(century_and_sex(10), None);
    }

    #[test]
    fn disagreements_with_the_holder_are_each_listed_in_order() {
        let dob = Some(date!(1995 - 08 - 15));
        assert_eq!(check_id_number("079095001234", dob, Some(Sex::Nam)), []);
        // 4th digit 1 = female 1900-1999, but the holder is male.
        let p = check_id_number("079195001234", dob, Some(Sex::Nam));
        assert_eq!(codes(&p), ["century_sex_digit"]);
        assert!(p[0].en.contains("means female"), "{}", p[0]);
        assert!(p[0].vi.contains("giới tính Nữ"), "{}", p[0]);
        // 4th digit 2 = born 2000-2099.
        let p = check_id_number("079295001234", dob, Some(Sex::Nam));
        assert_eq!(codes(&p), ["century_sex_digit"]);
        assert!(p[0].en.contains("born in 2000-2099"), "{}", p[0]);
        // Digits 5-6 must be 95.
        let p = check_id_number("079096001234", dob, Some(Sex::Nam));
        assert_eq!(codes(&p), ["birth_year_digits"]);
        assert!(p[0].en.contains("(95), not 96"), "{}", p[0]);
        // Everything wrong at once, in order.
        assert_eq!(
            codes(&check_id_number(
                "099398012345",
                Some(date!(1999 - 03 - 15)),
                Some(Sex::Nam)
            )),
            [
                "province_code",
                "century_sex_digit",
                "century_sex_digit",
                "birth_year_digits"
            ]
        );
        // What is not known is not checked.
        assert_eq!(check_id_number("079195001234", None, None), []);
        // A woman born in 2003.
        assert_eq!(
            check_id_number("048303001234", Some(date!(2003 - 01 - 02)), Some(Sex::Nu)),
            []
        );
        assert_eq!(sex_of("048303001234"), Some(Sex::Nu));
        assert_eq!(sex_of("04830300123"), None);
    }

    #[test]
    fn problems_show_both_languages() {
        let p = check_id_number("003099012345", None, None);
        let shown = p[0].to_string();
        assert!(
            shown.contains(&p[0].vi) && shown.contains(&p[0].en),
            "{shown}"
        );
        assert!(
            shown.starts_with("số định danh"),
            "Vietnamese first: {shown}"
        );
    }
}
