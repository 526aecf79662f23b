//! Document kinds and their field schema: what a form shows, in what
//! order, and what the vault checks. One copy for the vault, the app core,
//! the city backend and the UI.
//!
//! Field keys are stable: they are stored in the vault and used to fill
//! application forms. Dates are ISO `YYYY-MM-DD`. The serde names of
//! [`DocumentKind`] are stored in vaults and sent on the wire: never rename
//! them.

use crate::DomainError;
use serde::{Deserialize, Serialize};

/// Kinds of personal papers the vault holds and services can ask for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Căn cước công dân: the 12-digit citizen ID card.
    Cccd,
    Passport,
    DrivingLicence,
    BirthCertificate,
    HealthInsurance,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Cccd,
        DocumentKind::Passport,
        DocumentKind::DrivingLicence,
        DocumentKind::BirthCertificate,
        DocumentKind::HealthInsurance,
        DocumentKind::Other,
    ];

    /// Stable code used in storage and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::Cccd => "cccd",
            DocumentKind::Passport => "passport",
            DocumentKind::DrivingLicence => "driving_licence",
            DocumentKind::BirthCertificate => "birth_certificate",
            DocumentKind::HealthInsurance => "health_insurance",
            DocumentKind::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl std::str::FromStr for DocumentKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| DomainError::UnknownCode {
            what: "document kind",
            code: s.to_owned(),
        })
    }
}

/// Choices of a [`FieldType::Choice`]: `(code, Vietnamese, English)`.
pub type Choices = &'static [(&'static str, &'static str, &'static str)];

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text (an address).
    LongText,
    /// ISO date `YYYY-MM-DD`.
    Date,
    /// Exactly this many ASCII digits.
    Digits(u8),
    /// One code out of a fixed list.
    Choice(Choices),
    /// Driving-licence classes: comma-separated codes from [`LICENCE_CLASSES`].
    Classes,
}

/// One field of a document kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label_vi: &'static str,
    pub label_en: &'static str,
    pub ty: FieldType,
    pub required: bool,
}

/// `sex`: `nam` (male) or `nu` (female).
pub const SEX_CHOICES: Choices = &[("nam", "Nam", "Male"), ("nu", "Nữ", "Female")];

/// Driving-licence classes (Law on Road Traffic Order and Safety 2024), then
/// the legacy classes still printed on older licences.
pub const LICENCE_CLASSES: &[&str] = &[
    "A1", "A", "B1", "B", "C1", "C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E", "D2E", "DE", "A2",
    "A3", "A4", "B2", "E", "FB2", "FC", "FD", "FE",
];

const fn f(
    key: &'static str,
    label_vi: &'static str,
    label_en: &'static str,
    ty: FieldType,
    required: bool,
) -> FieldSpec {
    FieldSpec {
        key,
        label_vi,
        label_en,
        ty,
        required,
    }
}

use FieldType::*;

// Fields several kinds share, written once so their keys, labels and rules
// cannot drift apart between kinds (the form filler relies on the keys).
const FULL_NAME: FieldSpec = f("full_name", "Họ và tên", "Full name", Text, true);
const DATE_OF_BIRTH: FieldSpec = f("date_of_birth", "Ngày sinh", "Date of birth", Date, true);
const SEX: FieldSpec = f("sex", "Giới tính", "Sex", Choice(SEX_CHOICES), true);
const NATIONALITY: FieldSpec = f("nationality", "Quốc tịch", "Nationality", Text, true);
const ISSUE_DATE: FieldSpec = f("issue_date", "Ngày cấp", "Date of issue", Date, true);
const fn expiry(required: bool) -> FieldSpec {
    f(
        "expiry_date",
        "Có giá trị đến",
        "Date of expiry",
        Date,
        required,
    )
}

const CCCD: &[FieldSpec] = &[
    f(
        "number",
        "Số định danh cá nhân",
        "Personal ID number",
        Digits(12),
        true,
    ),
    f("full_name", "Họ, chữ đệm và tên", "Full name", Text, true),
    DATE_OF_BIRTH,
    SEX,
    NATIONALITY,
    f(
        "place_of_origin",
        "Quê quán",
        "Place of origin",
        LongText,
        true,
    ),
    f(
        "place_of_residence",
        "Nơi thường trú",
        "Place of residence",
        LongText,
        true,
    ),
    ISSUE_DATE,
    expiry(false),
];

const PASSPORT: &[FieldSpec] = &[
    f("number", "Số hộ chiếu", "Passport number", Text, true),
    FULL_NAME,
    DATE_OF_BIRTH,
    SEX,
    NATIONALITY,
    f("place_of_birth", "Nơi sinh", "Place of birth", Text, true),
    ISSUE_DATE,
    expiry(true),
    f(
        "issuing_authority",
        "Cơ quan cấp",
        "Issuing authority",
        Text,
        true,
    ),
];

const DRIVING_LICENCE: &[FieldSpec] = &[
    f(
        "number",
        "Số giấy phép lái xe",
        "Licence number",
        Digits(12),
        true,
    ),
    FULL_NAME,
    DATE_OF_BIRTH,
    f("classes", "Hạng", "Classes", Classes, true),
    ISSUE_DATE,
    expiry(false),
];

const BIRTH_CERTIFICATE: &[FieldSpec] = &[
    f("number", "Số", "Number", Text, true),
    f("full_name", "Họ, chữ đệm, tên", "Full name", Text, true),
    DATE_OF_BIRTH,
    SEX,
    f(
        "place_of_birth",
        "Nơi sinh",
        "Place of birth",
        LongText,
        true,
    ),
    f("father_name", "Họ tên cha", "Father's name", Text, false),
    f("mother_name", "Họ tên mẹ", "Mother's name", Text, false),
    f(
        "issue_date",
        "Ngày đăng ký",
        "Date of registration",
        Date,
        true,
    ),
    f(
        "registration_place",
        "Nơi đăng ký",
        "Place of registration",
        LongText,
        true,
    ),
];

const HEALTH_INSURANCE: &[FieldSpec] = &[
    f(
        "number",
        "Mã số BHXH",
        "Social insurance number",
        Digits(10),
        true,
    ),
    FULL_NAME,
    DATE_OF_BIRTH,
    SEX,
    f(
        "registered_hospital",
        "Nơi đăng ký KCB ban đầu",
        "Registered hospital",
        Text,
        true,
    ),
    f("valid_from", "Giá trị sử dụng từ", "Valid from", Date, true),
    f(
        "expiry_date",
        "Giá trị sử dụng đến",
        "Valid until",
        Date,
        false,
    ),
];

const OTHER: &[FieldSpec] = &[f("title", "Tên giấy tờ", "Document title", Text, true)];

impl DocumentKind {
    /// The kind's fields, in form order. `Other` has only `title`; its
    /// remaining content is free `(label, value)` pairs.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            DocumentKind::Cccd => CCCD,
            DocumentKind::Passport => PASSPORT,
            DocumentKind::DrivingLicence => DRIVING_LICENCE,
            DocumentKind::BirthCertificate => BIRTH_CERTIFICATE,
            DocumentKind::HealthInsurance => HEALTH_INSURANCE,
            DocumentKind::Other => OTHER,
        }
    }

    /// The field with this key, if the kind has it.
    pub fn field(self, key: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.key == key)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            DocumentKind::Cccd => "Căn cước công dân",
            DocumentKind::Passport => "Hộ chiếu",
            DocumentKind::DrivingLicence => "Giấy phép lái xe",
            DocumentKind::BirthCertificate => "Giấy khai sinh",
            DocumentKind::HealthInsurance => "Thẻ bảo hiểm y tế",
            DocumentKind::Other => "Giấy tờ khác",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DocumentKind::Cccd => "Citizen ID card",
            DocumentKind::Passport => "Passport",
            DocumentKind::DrivingLicence => "Driving licence",
            DocumentKind::BirthCertificate => "Birth certificate",
            DocumentKind::HealthInsurance => "Health insurance card",
            DocumentKind::Other => "Other document",
        }
    }

    /// Whether documents of this kind carry a `number` field.
    pub fn has_number(self) -> bool {
        self.field("number").is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    // Moved from cds-api's lib.rs.
    #[test]
    fn document_kind_codes_round_trip_through_json_and_str() {
        for kind in DocumentKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.code()));
            assert_eq!(kind.code().parse::<DocumentKind>(), Ok(kind));
        }
        assert_eq!(
            "visa".parse::<DocumentKind>(),
            Err(DomainError::UnknownCode {
                what: "document kind",
                code: "visa".into()
            })
        );
    }

    #[test]
    fn every_kind_has_unique_keys_and_labels() {
        for kind in DocumentKind::ALL {
            let fields = kind.fields();
            assert!(!fields.is_empty());
            let keys: HashSet<_> = fields.iter().map(|f| f.key).collect();
            assert_eq!(keys.len(), fields.len(), "{kind:?}");
            for f in fields {
                assert!(!f.label_vi.is_empty() && !f.label_en.is_empty());
            }
            assert!(!kind.label_vi().is_empty() && !kind.label_en().is_empty());
        }
    }

    #[test]
    fn the_contract_fields_are_there() {
        let keys = |k: DocumentKind| k.fields().iter().map(|f| f.key).collect::<Vec<_>>();
        assert_eq!(
            keys(DocumentKind::Cccd),
            [
                "number",
                "full_name",
                "date_of_birth",
                "sex",
                "nationality",
                "place_of_origin",
                "place_of_residence",
                "issue_date",
                "expiry_date"
            ]
        );
        assert_eq!(DocumentKind::Cccd.field("number").unwrap().ty, Digits(12));
        assert!(!DocumentKind::Cccd.field("expiry_date").unwrap().required);
        assert!(
            DocumentKind::Passport
                .field("expiry_date")
                .unwrap()
                .required
        );
        assert_eq!(
            DocumentKind::HealthInsurance.field("number").unwrap().ty,
            Digits(10)
        );
        assert_eq!(keys(DocumentKind::Other), ["title"]);
        assert!(!DocumentKind::Other.has_number());
        assert!(DocumentKind::BirthCertificate.has_number());
        assert_eq!(LICENCE_CLASSES.len(), 24);
        assert_eq!(DocumentKind::BirthCertificate.label_vi(), "Giấy khai sinh");
    }
}
