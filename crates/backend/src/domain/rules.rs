//! Pure business rules: request validation, working-day due dates, case
//! numbers and the canonical payload digest. No I/O here.

use crate::BackendError;
use cds_api::{DocumentKind, ServiceInfo, SubmitApplication};
use cds_domain::id_number::is_id_number_shape;
use time::{Date, Duration, Weekday};

// One date rule for the wire, the vault and the QR: the domain's.
pub use cds_domain::date::{format_iso_date, parse_iso_date};

/// Whether `key` is a UUID in its usual hyphenated form.
pub fn is_uuid_key(key: &str) -> bool {
    key.len() == 36 && uuid::Uuid::try_parse(key).is_ok()
}

/// Caps on a submission's fields, so one request cannot make the city
/// store (or log, or echo) megabytes. Generous for real papers: the longest
/// Vietnamese full names are well under 100 characters.
pub mod caps {
    /// Papers attached to one application.
    pub const DOCUMENTS: usize = 20;
    /// Attachments (photos, scans) counted for one paper.
    pub const ATTACHMENTS: u32 = 50;
    /// A full name, in characters.
    pub const NAME_CHARS: usize = 200;
    /// A paper's number, a service code, a date or a time, in characters.
    pub const SHORT_CHARS: usize = 64;
}

/// The field caps of [`caps`]: each field over its cap is named (its
/// value is not echoed back).
fn over_caps(req: &SubmitApplication) -> Vec<String> {
    let mut problems = Vec::new();
    let mut cap = |field: String, value: &str, max: usize| {
        if value.chars().count() > max {
            problems.push(format!("{field} is longer than {max} characters"));
        }
    };
    cap(
        "idempotency_key".into(),
        &req.idempotency_key,
        caps::SHORT_CHARS,
    );
    cap("service_code".into(), &req.service_code, caps::SHORT_CHARS);
    cap("submitted_at".into(), &req.submitted_at, caps::SHORT_CHARS);
    let a = &req.applicant;
    cap(
        "applicant.id_number".into(),
        &a.id_number,
        caps::SHORT_CHARS,
    );
    cap("applicant.full_name".into(), &a.full_name, caps::NAME_CHARS);
    cap(
        "applicant.date_of_birth".into(),
        &a.date_of_birth,
        caps::SHORT_CHARS,
    );
    for (i, d) in req.documents.iter().enumerate().take(caps::DOCUMENTS) {
        cap(
            format!("documents[{i}].number"),
            &d.number,
            caps::SHORT_CHARS,
        );
        cap(
            format!("documents[{i}].full_name"),
            &d.full_name,
            caps::NAME_CHARS,
        );
        cap(
            format!("documents[{i}].date_of_birth"),
            &d.date_of_birth,
            caps::SHORT_CHARS,
        );
    }
    if req.documents.len() > caps::DOCUMENTS {
        problems.push(format!(
            "an application carries at most {} documents, not {}",
            caps::DOCUMENTS,
            req.documents.len()
        ));
    }
    if let Some((i, d)) = req
        .documents
        .iter()
        .enumerate()
        .find(|(_, d)| d.attachment_count > caps::ATTACHMENTS)
    {
        problems.push(format!(
            "documents[{i}].attachment_count {} is more than {}",
            d.attachment_count,
            caps::ATTACHMENTS
        ));
    }
    problems
}

/// Checks everything about a submission that does not need the catalogue.
///
/// All problems are reported together, separated by `; `. Fields over
/// their caps are reported first and alone.
pub fn validate_submission(req: &SubmitApplication, today: Date) -> Result<(), BackendError> {
    let problems = over_caps(req);
    if !problems.is_empty() {
        return Err(BackendError::Unprocessable(problems.join("; ")));
    }
    let mut problems = Vec::new();
    if !is_uuid_key(&req.idempotency_key) {
        problems.push(format!(
            "idempotency_key `{}` is not a UUID",
            req.idempotency_key
        ));
    }
    if req.service_code.trim().is_empty() {
        problems.push("service_code is empty".to_owned());
    }
    let a = &req.applicant;
    if !is_id_number_shape(&a.id_number) {
        problems.push(
            "applicant.id_number must be the 12-digit personal identification number".to_owned(),
        );
    }
    if a.full_name.trim().is_empty() {
        problems.push("applicant.full_name is empty".to_owned());
    }
    match parse_iso_date(&a.date_of_birth) {
        None => problems.push(format!(
            "applicant.date_of_birth `{}` is not a real YYYY-MM-DD date",
            a.date_of_birth
        )),
        Some(d) if d > today => problems.push(format!(
            "applicant.date_of_birth `{}` is in the future",
            a.date_of_birth
        )),
        Some(_) => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BackendError::Unprocessable(problems.join("; ")))
    }
}

/// Kinds the service requires that the submission does not carry, in the
/// service's order.
pub fn missing_documents(req: &SubmitApplication, service: &ServiceInfo) -> Vec<DocumentKind> {
    service
        .required_documents
        .iter()
        .copied()
        .filter(|kind| !req.documents.iter().any(|d| d.kind == *kind))
        .collect()
}

/// Checks the submission against its service: every required kind present.
pub fn check_against_service(
    req: &SubmitApplication,
    service: &ServiceInfo,
) -> Result<(), BackendError> {
    let missing = missing_documents(req, service);
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|k| k.code()).collect();
    Err(BackendError::Unprocessable(format!(
        "service `{}` requires documents that are missing: {}",
        service.code,
        names.join(", ")
    )))
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// `start` plus `working_days` working days, skipping Saturdays and Sundays.
///
/// Zero working days is `start` itself. Otherwise the count starts the day
/// after `start`, so an application received on Friday with 1 working day is
/// due on Monday. `None` only past the end of the calendar.
pub fn add_working_days(start: Date, working_days: u32) -> Option<Date> {
    if working_days == 0 {
        return Some(start);
    }
    // Weekend days never count, so counting from a Saturday or Sunday is the
    // same as counting from the Friday before.
    let mut date = start;
    while is_weekend(date) {
        date = date.previous_day()?;
    }
    // From a working day, 7 calendar days are exactly 5 working days and
    // land on a working day again; the remainder goes one day at a time.
    let weeks = i64::from(working_days / 5);
    date = date.checked_add(Duration::days(weeks.checked_mul(7)?))?;
    let mut left = working_days % 5;
    while left > 0 {
        date = date.next_day()?;
        if !is_weekend(date) {
            left -= 1;
        }
    }
    Some(date)
}

/// The city's case number: `HS-<year>-<6-digit sequence>`.
pub fn case_number(year: i32, seq: i64) -> String {
    format!("HS-{year:04}-{seq:06}")
}

/// Hex SHA-256 of the canonical JSON of a submission.
///
/// Canonical means serde's serialisation of the typed struct: fields in
/// declaration order, no whitespace, unknown input fields dropped. Two
/// submissions have the same digest exactly when they carry the same data.
pub fn payload_digest(req: &SubmitApplication) -> Result<(String, String), BackendError> {
    let json = serde_json::to_string(req)
        .map_err(|e| BackendError::Data(format!("cannot serialise payload: {e}")))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
    let hex = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((json, hex))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cds_api::{Applicant, DocumentRef};
    use time::macros::date;

    fn service() -> ServiceInfo {
        ServiceInfo {
            code: "1.001193".into(),
            name_vi: "Đăng ký khai sinh".into(),
            name_en: "Birth registration".into(),
            agency_vi: "UBND".into(),
            agency_en: "People's Committee".into(),
            fee_vnd: 0,
            processing_days: 1,
            fully_online: true,
            required_documents: vec![DocumentKind::Cccd, DocumentKind::BirthCertificate],
        }
    }

    fn doc(kind: DocumentKind) -> DocumentRef {
        DocumentRef {
            kind,
            number: "001099012345".into(),
            full_name: "Nguyễn Văn An".into(),
            date_of_birth: "1990-05-17".into(),
            attachment_count: 1,
        }
    }

    fn request() -> SubmitApplication {
        SubmitApplication {
            idempotency_key: "6f1c1d4e-8f0a-4c56-9a43-2b1f7b0c9d11".into(),
            service_code: "1.001193".into(),
            applicant: Applicant {
                id_number: "001099012345".into(),
                full_name: "Nguyễn Văn An".into(),
                date_of_birth: "1990-05-17".into(),
            },
            documents: vec![doc(DocumentKind::Cccd), doc(DocumentKind::BirthCertificate)],
            submitted_at: "2026-03-02T08:00:00+07:00".into(),
        }
    }

    const TODAY: Date = date!(2026 - 03 - 02);

    #[test]
    fn a_good_request_passes() {
        assert!(validate_submission(&request(), TODAY).is_ok());
        assert!(check_against_service(&request(), &service()).is_ok());
    }

    fn problem(req: &SubmitApplication) -> String {
        match validate_submission(req, TODAY) {
            Err(BackendError::Unprocessable(m)) => m,
            other => panic!("expected Unprocessable, got {other:?}"),
        }
    }

    #[test]
    fn idempotency_key_must_be_a_hyphenated_uuid() {
        for bad in [
            "",
            "not-a-uuid",
            "6f1c1d4e8f0a4c569a432b1f7b0c9d11",
            "{6f1c1d4e-8f0a-4c56-9a43-2b1f7b0c9d11}",
        ] {
            let mut r = request();
            r.idempotency_key = bad.into();
            assert!(problem(&r).contains("idempotency_key"), "{bad}");
        }
        assert!(is_uuid_key("6F1C1D4E-8F0A-4C56-9A43-2B1F7B0C9D11"));
    }

    #[test]
    fn applicant_fields_are_checked_and_all_problems_reported() {
        let mut r = request();
        r.applicant.id_number = "12345".into();
        r.applicant.full_name = "   ".into();
        r.applicant.date_of_birth = "2001-02-31".into();
        let m = problem(&r);
        assert!(m.contains("id_number"), "{m}");
        assert!(m.contains("full_name"), "{m}");
        assert!(m.contains("2001-02-31"), "{m}");
        assert_eq!(m.matches("; ").count(), 2, "{m}");
    }

    #[test]
    fn date_of_birth_must_be_real_iso_and_not_future() {
        assert_eq!(parse_iso_date("2000-02-29"), Some(date!(2000 - 02 - 29)));
        for bad in [
            "1900-02-29",
            "2001-02-31",
            "2001-13-01",
            "2001-1-01",
            "17/05/1990",
            "+2001-01-01",
            "2001-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
        let mut r = request();
        r.applicant.date_of_birth = "2026-03-03".into();
        assert!(problem(&r).contains("future"));
        r.applicant.date_of_birth = "2026-03-02".into();
        assert!(validate_submission(&r, TODAY).is_ok(), "born today is fine");
    }

    #[test]
    fn missing_required_documents_are_named() {
        let mut r = request();
        r.documents = vec![doc(DocumentKind::Other)];
        match check_against_service(&r, &service()) {
            Err(BackendError::Unprocessable(m)) => {
                assert!(m.contains("cccd, birth_certificate"), "{m}");
                assert!(m.contains("1.001193"), "{m}");
            }
            other => panic!("expected Unprocessable, got {other:?}"),
        }
        // Extra documents are fine.
        let mut r = request();
        r.documents.push(doc(DocumentKind::Passport));
        assert!(check_against_service(&r, &service()).is_ok());
    }

    #[test]
    fn working_days_skip_weekends() {
        // 2026-03-02 is a Monday.
        let mon = date!(2026 - 03 - 02);
        assert_eq!(add_working_days(mon, 0), Some(mon));
        assert_eq!(add_working_days(mon, 1), Some(date!(2026 - 03 - 03)));
        assert_eq!(add_working_days(mon, 4), Some(date!(2026 - 03 - 06)));
        assert_eq!(add_working_days(mon, 5), Some(date!(2026 - 03 - 09)));
        assert_eq!(add_working_days(mon, 7), Some(date!(2026 - 03 - 11)));
        assert_eq!(add_working_days(mon, 15), Some(date!(2026 - 03 - 23)));
        let fri = date!(2026 - 03 - 06);
        assert_eq!(add_working_days(fri, 1), Some(date!(2026 - 03 - 09)));
        assert_eq!(add_working_days(fri, 5), Some(date!(2026 - 03 - 13)));
        let sat = date!(2026 - 03 - 07);
        assert_eq!(add_working_days(sat, 0), Some(sat));
        assert_eq!(add_working_days(sat, 1), Some(date!(2026 - 03 - 09)));
        assert_eq!(add_working_days(sat, 5), Some(date!(2026 - 03 - 13)));
        let sun = date!(2026 - 03 - 08);
        assert_eq!(add_working_days(sun, 10), Some(date!(2026 - 03 - 20)));
    }

    #[test]
    fn working_days_agree_with_counting_one_by_one() {
        let start = date!(2026 - 01 - 01);
        for offset in 0..14 {
            let from = start + Duration::days(offset);
            for n in 0..40u32 {
                let mut d = from;
                let mut left = n;
                while left > 0 {
                    d = d.next_day().unwrap();
                    if !is_weekend(d) {
                        left -= 1;
                    }
                }
                assert_eq!(add_working_days(from, n), Some(d), "{from} + {n}");
            }
        }
    }

    #[test]
    fn working_days_past_the_calendar_end_is_none() {
        assert_eq!(add_working_days(Date::MAX, 1), None);
        assert_eq!(add_working_days(date!(2026 - 01 - 01), u32::MAX), None);
    }

    #[test]
    fn case_number_format() {
        assert_eq!(case_number(2026, 1), "HS-2026-000001");
        assert_eq!(case_number(2026, 123_456), "HS-2026-123456");
        let n = case_number(2027, 42);
        assert_eq!(n.len(), "HS-2027-000042".len());
        assert!(n.starts_with("HS-2027-"));
    }

    #[test]
    fn digest_is_stable_and_sensitive_to_content() {
        let (json, a) = payload_digest(&request()).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(json.starts_with("{\"idempotency_key\""));
        let (_, b) = payload_digest(&request()).unwrap();
        assert_eq!(a, b);
        let mut r = request();
        r.applicant.full_name = "Nguyễn Văn Bình".into();
        let (_, c) = payload_digest(&r).unwrap();
        assert_ne!(a, c);
    }
}
