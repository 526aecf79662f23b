//! The CCCD / Căn cước QR parser.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_domain::id_number::{
    birth_registration_province, BIRTH_REGISTRATION_PROVINCES as PROVINCE_CODES,
};
use cds_domain::Sex;
use cds_qr::cccd::{parse_cccd_qr, CardGeneration};
use cds_qr::QrError;
use proptest::prelude::*;

const GOOD: &str =
    "001099012345|123456789|Nguyễn Văn An|15031999|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|20042021";

#[test]
fn parses_a_2021_cccd() {
    let c = parse_cccd_qr(GOOD).unwrap();
    assert_eq!(c.generation, CardGeneration::Cccd2021);
    assert_eq!(c.number, "001099012345");
    assert_eq!(c.old_id.as_deref(), Some("123456789"));
    assert_eq!(c.full_name, "Nguyễn Văn An");
    assert_eq!(c.date_of_birth, "1999-03-15");
    assert_eq!(c.sex, Sex::Nam);
    assert_eq!(c.sex.code(), "nam");
    assert_eq!(c.place_of_residence, "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội");
    assert_eq!(c.issue_date, "2021-04-20");
    assert_eq!(c.province, "Hà Nội");
    assert!(c.cancelled_ids.is_empty() && c.extra_fields.is_empty());
}

#[test]
fn empty_old_id_female_2000s_and_trailing_separator() {
    let c =
        parse_cccd_qr("079305001234||Trần Thị Bích|01012005|Nữ|Quận 1, TP Hồ Chí Minh|05052022|\n")
            .unwrap();
    assert_eq!(c.old_id, None);
    assert_eq!(c.sex, Sex::Nu);
    assert_eq!(c.province, "Hồ Chí Minh");
    assert_eq!(c.generation, CardGeneration::Cccd2021);
}

#[test]
fn decomposed_nu_is_accepted() {
    let c =
        parse_cccd_qr("079305001234||Trần Thị Bích|01012005|Nu\u{31b}\u{303}|Q1|05052022").unwrap();
    assert_eq!(c.sex, Sex::Nu);
}

#[test]
fn parses_a_2024_can_cuoc_of_a_child_with_parents_and_cancelled_id() {
    let c = parse_cccd_qr(
        "001215000123||Lê Minh Châu|02022015|Nam|Phường Láng Hạ, Đống Đa, Hà Nội|10082024|001215000999|Lê Văn Bình|Phạm Thị Dung|",
    )
    .unwrap();
    assert_eq!(c.generation, CardGeneration::CanCuoc2024);
    assert_eq!(c.cancelled_ids, vec!["001215000999".to_owned()]);
    assert_eq!(c.father_name.as_deref(), Some("Lê Văn Bình"));
    assert_eq!(c.mother_name.as_deref(), Some("Phạm Thị Dung"));
    assert_eq!(c.issue_date, "2024-08-10");
}

#[test]
fn a_card_issued_since_july_2024_is_a_can_cuoc_even_with_seven_fields() {
    let c = parse_cccd_qr("001099012345||Nguyễn Văn An|15031999|Nam|Hà Nội|01072024").unwrap();
    assert_eq!(c.generation, CardGeneration::CanCuoc2024);
}

#[test]
fn unknown_extra_fields_are_kept() {
    let c = parse_cccd_qr(&format!("{GOOD}|@@@|12/12")).unwrap();
    assert_eq!(c.extra_fields, vec!["@@@".to_owned(), "12/12".to_owned()]);
}

fn format_err(s: &str) -> String {
    match parse_cccd_qr(s) {
        Err(QrError::CccdFormat(m)) => m,
        other => panic!("{s:?}: {other:?}"),
    }
}

#[test]
fn missing_fields_say_which() {
    let m = format_err("001099012345|123456789|Nguyễn Văn An|15031999|Nam|Hà Nội");
    assert!(
        m.contains("6 `|`-separated") && m.contains("issue date"),
        "{m}"
    );
    let m = format_err("001099012345");
    assert!(m.contains("old ID"), "{m}");
    assert!(format_err("").contains("1 `|`"));
}

#[test]
fn impossible_dates_are_refused() {
    let m = format_err("001099012345||Nguyễn Văn An|31021999|Nam|Hà Nội|20042021");
    assert!(
        m.contains("31/02/1999") && m.contains("not a real date"),
        "{m}"
    );
    assert!(format_err("001099012345||A|29021999|Nam|HN|20042021").contains("29/02/1999"));
    // 2000 is a leap year.
    assert!(parse_cccd_qr("001200012345||A|29022000|Nam|HN|20042021").is_ok());
    assert!(format_err("001099012345||A|1503199|Nam|HN|20042021").contains("8 digits"));
    assert!(format_err("001099012345||A|15031999|Nam|HN|00002021").contains("issue date"));
}

#[test]
fn bad_fields_are_named() {
    assert!(format_err("00109901234|x|A|15031999|Nam|HN|20042021").contains("12 digits"));
    assert!(format_err("001099012345|12345|A|15031999|Nam|HN|20042021").contains("old ID"));
    assert!(format_err("001099012345||A1|15031999|Nam|HN|20042021").contains("name"));
    assert!(format_err("001099012345||A|15031999|Male|HN|20042021").contains("Nam"));
    assert!(format_err("001099012345||A|15031999|Nam||20042021").contains("address"));
    assert!(format_err("001099012345||A|15031999|Nam|H\u{7}N|20042021").contains("control"));
}

fn problems(s: &str) -> Vec<&'static str> {
    match parse_cccd_qr(s) {
        Err(QrError::CccdInconsistent(p)) => {
            let e = QrError::CccdInconsistent(p.clone()).to_string();
            for x in &p {
                assert!(e.contains(&x.vi) && e.contains(&x.en));
            }
            p.iter().map(|x| x.code).collect()
        }
        other => panic!("{s:?}: {other:?}"),
    }
}

#[test]
fn number_disagreements_are_each_listed() {
    // Province 003 does not exist.
    assert_eq!(
        problems("003099012345||A|15031999|Nam|HN|20042021"),
        ["province_code"]
    );
    // 4th digit 1 = female 1900s, but the card says Nam.
    assert_eq!(
        problems("001199012345||A|15031999|Nam|HN|20042021"),
        ["century_sex_digit"]
    );
    // 4th digit 2 = male 2000s, but born 1999.
    assert_eq!(
        problems("001299012345||A|15031999|Nam|HN|20042021"),
        ["century_sex_digit"]
    );
    // Year digits 98 vs 1999.
    assert_eq!(
        problems("001098012345||A|15031999|Nam|HN|20042021"),
        ["birth_year_digits"]
    );
    // Everything wrong at once.
    assert_eq!(
        problems("099398012345||A|15031999|Nam|HN|20042021"),
        [
            "province_code",
            "century_sex_digit",
            "century_sex_digit",
            "birth_year_digits"
        ]
    );
    // Issued before birth.
    assert_eq!(
        problems("001099012345||A|15031999|Nam|HN|20041998"),
        ["issue_before_birth"]
    );
}

#[test]
fn century_digits_follow_circular_07_2016() {
    for (g, year, sex) in [
        ('0', 1999, "Nam"),
        ('1', 1950, "Nữ"),
        ('2', 2001, "Nam"),
        ('3', 2010, "Nữ"),
        ('4', 2101, "Nam"),
        ('5', 2150, "Nữ"),
        ('6', 2201, "Nam"),
        ('7', 2250, "Nữ"),
        ('8', 2301, "Nam"),
        ('9', 2350, "Nữ"),
    ] {
        let yy = year % 100;
        let s = format!("001{g}{yy:02}012345||A|0101{year}|{sex}|HN|01012399");
        assert!(parse_cccd_qr(&s).is_ok(), "{s}: {:?}", parse_cccd_qr(&s));
    }
    // The circular gives 8 and 9 to the 24th century (2300-2399), not the
    // 19th: this parser used to read them as 1800-1899.
    assert_eq!(
        problems("001899012345||A|01011899|Nam|HN|01012021"),
        ["century_sex_digit"]
    );
}

#[test]
fn all_63_province_codes() {
    assert_eq!(PROVINCE_CODES.len(), 63);
    let codes: Vec<u16> = PROVINCE_CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes.first(), Some(&1));
    assert_eq!(codes.last(), Some(&96));
    assert!(codes.windows(2).all(|w| w[0] < w[1]));
    for missing in [
        3, 5, 7, 9, 13, 16, 18, 21, 23, 28, 29, 32, 39, 41, 43, 47, 50, 53, 55, 57, 59, 61, 63, 65,
        69, 71, 73, 76, 78, 81, 85, 88, 90, 97,
    ] {
        assert!(!codes.contains(&missing), "{missing}");
    }
    for (code, name) in [
        (79, "Hồ Chí Minh"),
        (48, "Đà Nẵng"),
        (31, "Hải Phòng"),
        (92, "Cần Thơ"),
        (46, "Thừa Thiên Huế"),
    ] {
        assert_eq!(birth_registration_province(code), Some(name));
    }
}

#[test]
fn oversized_input_is_refused() {
    let s = format!("{GOOD}|{}", "a".repeat(5000));
    assert!(matches!(parse_cccd_qr(&s), Err(QrError::TooLarge { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_cards_round_trip(
        p in 0usize..63, sex in 0u8..2, year in 1900i32..2100, month in 1u32..=12, day in 1u32..=28,
        serial in 0u32..1_000_000,
        name in "[A-ZĐ][a-zđàáạảãâầấậẩẫ]{1,8}( [A-ZĐ][a-zđàáạảãâầấậẩẫ]{1,8}){1,3}",
    ) {
        let code = PROVINCE_CODES[p].0;
        let g = (year / 100 - 19) as u8 * 2 + sex;
        let number = format!("{code:03}{g}{:02}{serial:06}", year % 100);
        let s = format!("{number}||{name}|{day:02}{month:02}{year}|{}|Hà Nội|01012100", if sex == 0 { "Nam" } else { "Nữ" });
        let c = parse_cccd_qr(&s).unwrap();
        prop_assert_eq!(c.number, number);
        prop_assert_eq!(c.date_of_birth, format!("{year:04}-{month:02}-{day:02}"));
        prop_assert_eq!(c.full_name, name);
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,300}") {
        let _ = parse_cccd_qr(&s);
    }

    #[test]
    fn never_panics_on_pipe_heavy_text(parts in proptest::collection::vec("[0-9A-Za-zữ ]{0,14}", 0..14)) {
        let _ = parse_cccd_qr(&parts.join("|"));
    }
}
