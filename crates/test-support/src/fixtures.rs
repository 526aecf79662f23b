//! Backend fixtures: citizens to enrol, claims, and applications the seed
//! catalogue accepts.

use cds_api::{
    Applicant, ClaimCredentials, CreateEnrollment, DocumentKind, DocumentRef, SubmitApplication,
};

/// An adult citizen with a valid number (province 001, Hà Nội).
pub fn adult_citizen() -> CreateEnrollment {
    CreateEnrollment {
        number: "001099012345".into(),
        full_name: "Nguyễn Văn An".into(),
        date_of_birth: "1999-03-15".into(),
    }
}

/// A citizen born in 2012: under 18 until 2030, so no `over18`
/// credential is signed for them (the number's check does not tie it to the
/// date of birth).
pub fn minor_citizen() -> CreateEnrollment {
    CreateEnrollment {
        date_of_birth: "2012-06-01".into(),
        full_name: "Nguyễn Thị Bé".into(),
        ..adult_citizen()
    }
}

/// A claim of `code` from a named device.
pub fn claim(code: &str) -> ClaimCredentials {
    ClaimCredentials {
        code: code.into(),
        device_name: "Máy tính bảng".into(),
    }
}

/// The service that needs only a citizen identity card (`1.001612`).
pub const CCCD_ONLY_SERVICE: &str = "1.001612";

/// An application for [`CCCD_ONLY_SERVICE`] with a fresh idempotency key.
pub fn application() -> SubmitApplication {
    application_with_key(&uuid::Uuid::new_v4().to_string())
}

/// An application for [`CCCD_ONLY_SERVICE`] under `key`.
pub fn application_with_key(key: &str) -> SubmitApplication {
    SubmitApplication {
        idempotency_key: key.into(),
        service_code: CCCD_ONLY_SERVICE.into(),
        applicant: Applicant {
            id_number: "079201000777".into(),
            full_name: "Võ Minh Đức".into(),
            date_of_birth: "2001-12-24".into(),
        },
        documents: vec![DocumentRef {
            kind: DocumentKind::Cccd,
            number: "079201000777".into(),
            full_name: "Võ Minh Đức".into(),
            date_of_birth: "2001-12-24".into(),
            attachment_count: 1,
        }],
        submitted_at: "2026-03-02T11:00:00+07:00".into(),
    }
}
