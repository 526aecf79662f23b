//! The `/v1` API through the `app()` router factory, in process
//! (`tower::ServiceExt::oneshot`), against an in-memory database.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use cds_api::{
    ApiErrorBody, ApiErrorKind, Applicant, ApplicationReceipt, ApplicationStatus, DocumentKind,
    DocumentRef, Health, ServiceInfo, SubmitApplication, IDEMPOTENCY_HEADER,
};
use cds_backend::{app, AppState};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json<T: DeserializeOwned>(&self) -> T {
        assert!(
            self.content_type.starts_with("application/json"),
            "content type `{}` for body {}",
            self.content_type,
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: body {}", String::from_utf8_lossy(&self.body)))
    }

    fn error(&self) -> ApiErrorBody {
        self.json()
    }
}

async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

async fn get(router: &Router, path: &str) -> Reply {
    send(
        router,
        Request::builder().uri(path).body(Body::empty()).unwrap(),
    )
    .await
}

fn post_raw(key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/v1/applications")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header(IDEMPOTENCY_HEADER, k);
    }
    b.body(body.into()).unwrap()
}

async fn submit(router: &Router, req: &SubmitApplication) -> Reply {
    let body = serde_json::to_vec(req).unwrap();
    send(router, post_raw(Some(&req.idempotency_key), body)).await
}

fn doc(kind: DocumentKind) -> DocumentRef {
    DocumentRef {
        kind,
        number: "048095001234".into(),
        full_name: "Lê Thị Hồng Nhung".into(),
        date_of_birth: "1995-08-19".into(),
        attachment_count: 1,
    }
}

/// A valid application for "Đăng ký khai sinh" (needs cccd + birth certificate).
fn birth_registration(key: &str) -> SubmitApplication {
    SubmitApplication {
        idempotency_key: key.into(),
        service_code: "1.001193".into(),
        applicant: Applicant {
            id_number: "048095001234".into(),
            full_name: "Lê Thị Hồng Nhung".into(),
            date_of_birth: "1995-08-19".into(),
        },
        documents: vec![doc(DocumentKind::Cccd), doc(DocumentKind::BirthCertificate)],
        submitted_at: "2026-03-02T09:15:00+07:00".into(),
    }
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn setup() -> (AppState, Router) {
    let state = AppState::in_memory().unwrap();
    let router = app(state.clone());
    (state, router)
}

#[tokio::test]
async fn health_reports_ok_and_version() {
    let (_, router) = setup();
    let r = get(&router, "/v1/health").await;
    assert_eq!(r.status, StatusCode::OK);
    let h: Health = r.json();
    assert_eq!(h.status, "ok");
    assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn services_lists_the_seed_catalogue_ordered_by_code() {
    let (_, router) = setup();
    let r = get(&router, "/v1/services").await;
    assert_eq!(r.status, StatusCode::OK);
    let services: Vec<ServiceInfo> = r.json();
    assert_eq!(services.len(), 6);
    let codes: Vec<&str> = services.iter().map(|s| s.code.as_str()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    let names: Vec<&str> = services.iter().map(|s| s.name_vi.as_str()).collect();
    assert!(names.contains(&"Đăng ký thường trú"), "{names:?}");
    assert!(names.contains(&"Đăng ký khai sinh"), "{names:?}");
    let seed = cds_api::seed_catalogue().unwrap();
    for s in &seed {
        assert!(services.contains(s), "{} round-trips unchanged", s.code);
    }
}

#[tokio::test]
async fn submit_creates_then_replay_returns_the_same_receipt() {
    let (state, router) = setup();
    let req = birth_registration(&key());

    let first = submit(&router, &req).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let receipt: ApplicationReceipt = first.json();
    assert_eq!(receipt.idempotency_key, req.idempotency_key);
    assert_eq!(receipt.service_code, "1.001193");
    assert_eq!(receipt.status, ApplicationStatus::Received);
    let received = OffsetDateTime::parse(&receipt.received_at, &Rfc3339).unwrap();
    assert_eq!(received.offset(), time::UtcOffset::UTC);
    let year = received.year();
    assert_eq!(receipt.case_number, format!("HS-{year}-000001"));
    // Birth registration takes 1 working day.
    let expected_due = cds_backend::rules::add_working_days(received.date(), 1).unwrap();
    assert_eq!(
        receipt.due_date,
        cds_backend::rules::format_iso_date(expected_due)
    );

    let again = submit(&router, &req).await;
    assert_eq!(again.status, StatusCode::OK);
    let replayed: ApplicationReceipt = again.json();
    assert_eq!(replayed, receipt);

    assert_eq!(state.application_count().await.unwrap(), 1);
    let looked_up = get(
        &router,
        &format!("/v1/applications/{}", receipt.case_number),
    )
    .await;
    assert_eq!(looked_up.status, StatusCode::OK);
    assert_eq!(looked_up.json::<ApplicationReceipt>(), receipt);

    // A different key is a different application.
    let other = submit(&router, &birth_registration(&key())).await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_eq!(
        other.json::<ApplicationReceipt>().case_number,
        format!("HS-{year}-000002")
    );
    assert_eq!(state.application_count().await.unwrap(), 2);
}

#[tokio::test]
async fn same_key_with_a_different_payload_is_a_conflict() {
    let (state, router) = setup();
    let req = birth_registration(&key());
    assert_eq!(submit(&router, &req).await.status, StatusCode::CREATED);

    let mut changed = req.clone();
    changed.applicant.full_name = "Lê Thị Hồng Nhung B".into();
    let r = submit(&router, &changed).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::IdempotencyConflict);
    assert!(e.message.contains(&req.idempotency_key), "{}", e.message);
    assert_eq!(state.application_count().await.unwrap(), 1);
}

#[tokio::test]
async fn the_idempotency_header_must_be_present_and_match() {
    let (state, router) = setup();
    let req = birth_registration(&key());
    let body = serde_json::to_vec(&req).unwrap();

    let missing = send(&router, post_raw(None, body.clone())).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let e = missing.error();
    assert_eq!(e.kind, ApiErrorKind::InvalidInput);
    assert!(e.message.contains(IDEMPOTENCY_HEADER), "{}", e.message);

    let other = key();
    let mismatched = send(&router, post_raw(Some(&other), body)).await;
    assert_eq!(mismatched.status, StatusCode::BAD_REQUEST);
    let e = mismatched.error();
    assert_eq!(e.kind, ApiErrorKind::InvalidInput);
    assert!(e.message.contains("does not match"), "{}", e.message);

    assert_eq!(state.application_count().await.unwrap(), 0);
}

#[tokio::test]
async fn malformed_json_is_a_json_400() {
    let (_, router) = setup();
    let k = key();
    for body in [
        "{not json".to_owned(),
        String::new(),
        // Valid JSON, wrong shape.
        format!(r#"{{"idempotency_key":"{k}"}}"#),
        // Unknown document kind.
        serde_json::to_string(&birth_registration(&k))
            .unwrap()
            .replace("birth_certificate", "visa"),
    ] {
        let r = send(&router, post_raw(Some(&k), body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error().kind, ApiErrorKind::InvalidInput, "{body}");
    }

    // No JSON content type at all.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/applications")
        .header(IDEMPOTENCY_HEADER, &k)
        .body(Body::from(
            serde_json::to_vec(&birth_registration(&k)).unwrap(),
        ))
        .unwrap();
    let r = send(&router, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error().kind, ApiErrorKind::InvalidInput);
}

async fn expect_422(router: &Router, req: &SubmitApplication, needle: &str) {
    let r = submit(router, req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{needle}");
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::InvalidInput);
    assert!(
        e.message.contains(needle),
        "`{}` lacks `{needle}`",
        e.message
    );
}

#[tokio::test]
async fn invalid_applications_are_422_and_not_stored() {
    let (state, router) = setup();

    let mut unknown = birth_registration(&key());
    unknown.service_code = "9.999999".into();
    expect_422(&router, &unknown, "9.999999").await;

    let mut missing = birth_registration(&key());
    missing.documents = vec![doc(DocumentKind::Cccd), doc(DocumentKind::Passport)];
    expect_422(&router, &missing, "birth_certificate").await;

    let mut no_docs = birth_registration(&key());
    no_docs.documents.clear();
    expect_422(&router, &no_docs, "cccd, birth_certificate").await;

    let mut bad_id = birth_registration(&key());
    bad_id.applicant.id_number = "04809500123".into();
    expect_422(&router, &bad_id, "id_number").await;

    let mut feb31 = birth_registration(&key());
    feb31.applicant.date_of_birth = "1995-02-31".into();
    expect_422(&router, &feb31, "1995-02-31").await;

    let mut future = birth_registration(&key());
    future.applicant.date_of_birth = "2999-01-01".into();
    expect_422(&router, &future, "future").await;

    let mut nameless = birth_registration(&key());
    nameless.applicant.full_name = " ".into();
    expect_422(&router, &nameless, "full_name").await;

    let not_uuid = birth_registration("retry-1");
    expect_422(&router, &not_uuid, "UUID").await;

    assert_eq!(state.application_count().await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_case_and_unknown_routes_are_json_404() {
    let (_, router) = setup();
    let r = get(&router, "/v1/applications/HS-2026-999999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::NotFound);
    assert!(e.message.contains("HS-2026-999999"));

    for path in ["/v1/nothing", "/", "/v2/health", "/v1/applications/a/b"] {
        let r = get(&router, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.error().kind, ApiErrorKind::NotFound, "{path}");
    }
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let (_, router) = setup();
    let req = Request::builder()
        .method(Method::DELETE)
        .uri("/v1/health")
        .body(Body::empty())
        .unwrap();
    let r = send(&router, req).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error().kind, ApiErrorKind::InvalidInput);

    let r = get(&router, "/v1/applications").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error().kind, ApiErrorKind::InvalidInput);
}

#[tokio::test]
async fn status_changes_show_in_lookups() {
    let (state, router) = setup();
    let receipt: ApplicationReceipt = submit(&router, &birth_registration(&key())).await.json();
    state
        .set_status(&receipt.case_number, ApplicationStatus::NeedsMoreInfo)
        .await
        .unwrap();
    let r = get(
        &router,
        &format!("/v1/applications/{}", receipt.case_number),
    )
    .await;
    let now: ApplicationReceipt = r.json();
    assert_eq!(now.status, ApplicationStatus::NeedsMoreInfo);
    assert_eq!(now.case_number, receipt.case_number);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_submissions_store_one_row() {
    let (state, router) = setup();
    let req = birth_registration(&key());
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let router = router.clone();
            let req = req.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let r = submit(&router, &req).await;
                (r.status, r.json::<ApplicationReceipt>())
            })
        })
        .collect();
    let mut created = 0;
    let mut receipts = Vec::new();
    for t in tasks {
        let (status, receipt) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected status {other}"),
        }
        receipts.push(receipt);
    }
    assert_eq!(created, 1, "exactly one request creates");
    assert!(receipts.iter().all(|r| r == &receipts[0]));
    assert_eq!(state.application_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_worth_of_connections_still_store_one_row() {
    // Two independent connections to one file (as two backend processes
    // would have): the UNIQUE constraint, not the in-process mutex, decides.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite3");
    let a = AppState::open(&path).unwrap();
    let b = AppState::open(&path).unwrap();
    let routers = [app(a.clone()), app(b)];
    let req = birth_registration(&key());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let router = routers[i % 2].clone();
            let req = req.clone();
            tokio::spawn(async move { submit(&router, &req).await.json::<ApplicationReceipt>() })
        })
        .collect();
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.push(t.await.unwrap());
    }
    assert!(receipts.iter().all(|r| r == &receipts[0]));
    assert_eq!(a.application_count().await.unwrap(), 1);
}
