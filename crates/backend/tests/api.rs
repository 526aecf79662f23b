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
use cds_backend::http::Limits;
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

    /// The problem details of an error answer (RFC 9457), checked to be
    /// whole: media type, type URI, title, and the status repeated.
    fn error(&self) -> ApiErrorBody {
        assert_eq!(
            self.content_type,
            "application/problem+json",
            "body {}",
            String::from_utf8_lossy(&self.body)
        );
        let e: ApiErrorBody = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(e.status, self.status.as_u16());
        assert_eq!(e.problem_type, e.kind.problem_type());
        assert_eq!(e.title, e.kind.title());
        assert_eq!(e.detail, e.message);
        e
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

#[tokio::test]
async fn bodies_over_a_routes_limit_are_413_and_nothing_is_stored() {
    let (state, router) = setup();
    let k = key();
    let mut big = birth_registration(&k);
    // Valid JSON well over the 64 KiB a submission may take.
    big.documents = (0..2000).map(|_| doc(DocumentKind::Cccd)).collect();
    let body = serde_json::to_vec(&big).unwrap();
    assert!(body.len() > cds_backend::http::limits::SUBMISSION_BODY_BYTES);
    let r = send(&router, post_raw(Some(&k), body)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error().kind, ApiErrorKind::PayloadTooLarge);
    assert_eq!(state.application_count().await.unwrap(), 0);

    // A claim takes a few hundred bytes; 5 KiB is refused before parsing.
    let claim = format!(
        r#"{{"code":"K7QM-4ZPX","device_name":"{}"}}"#,
        "x".repeat(5 * 1024)
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/credentials/claim")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(claim))
        .unwrap();
    let r = send(&router, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error().kind, ApiErrorKind::PayloadTooLarge);

    // Under the limit, the same route still works.
    assert_eq!(
        submit(&router, &birth_registration(&key())).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn fields_over_their_caps_are_named_and_not_echoed() {
    let (state, router) = setup();
    let mut long_name = birth_registration(&key());
    long_name.applicant.full_name = "Nguyễn ".repeat(40);
    let r = submit(&router, &long_name).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = r.error();
    assert!(
        e.detail.contains("applicant.full_name is longer than 200"),
        "{}",
        e.detail
    );
    assert!(
        !e.detail.contains("Nguyễn"),
        "the value is not echoed: {}",
        e.detail
    );

    let mut many = birth_registration(&key());
    many.documents = (0..21).map(|_| doc(DocumentKind::Cccd)).collect();
    let e = submit(&router, &many).await.error();
    assert!(
        e.detail.contains("at most 20 documents, not 21"),
        "{}",
        e.detail
    );

    let mut scans = birth_registration(&key());
    scans.documents[1].attachment_count = 51;
    let e = submit(&router, &scans).await.error();
    assert!(
        e.detail.contains("documents[1].attachment_count 51"),
        "{}",
        e.detail
    );

    let long_key = "k".repeat(10_000);
    let mut req = birth_registration(&long_key);
    req.idempotency_key = long_key.clone();
    let r = submit(&router, &req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.len() < 1000,
        "the key is not echoed: {} bytes",
        r.body.len()
    );
    assert_eq!(state.application_count().await.unwrap(), 0);
}

/// A request body that never finishes: the stream stays pending until the
/// returned sender is dropped.
fn stalled_submission(k: &str) -> (Request<Body>, tokio::sync::mpsc::Sender<Vec<u8>>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)), rx))
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/applications")
        .header(header::CONTENT_TYPE, "application/json")
        .header(IDEMPOTENCY_HEADER, k)
        .body(Body::from_stream(stream))
        .unwrap();
    (req, tx)
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_get_503_with_retry_after() {
    let state = AppState::in_memory().unwrap().with_limits(Limits {
        max_in_flight: 1,
        ..Limits::default()
    });
    let router = app(state.clone());
    // One request holds the only permit: its body never ends.
    let (req, body) = stalled_submission(&key());
    let held = tokio::spawn({
        let router = router.clone();
        async move { router.oneshot(req).await.unwrap().status() }
    });
    // Wait until it is in flight (counted by the metrics layer).
    for _ in 0..200 {
        if state.metrics().render(&[]).contains("cds_http_in_flight 1") {
            break;
        }
        tokio::task::yield_now().await;
    }
    let resp = router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/v1/services")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let e: ApiErrorBody = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(e.kind, ApiErrorKind::Unavailable);
    assert!(state
        .metrics()
        .render(&[])
        .contains("cds_http_shed_total 1"));

    // The held request ends (its body is cut short: malformed JSON), the
    // permit comes back.
    drop(body);
    assert_eq!(held.await.unwrap(), StatusCode::BAD_REQUEST);
    assert_eq!(get(&router, "/v1/services").await.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_does_not_arrive_in_time_is_408_and_safe_to_resend() {
    // Paused time: the 30 s deadline passes without waiting 30 s.
    let (state, router) = setup();
    let k = key();
    let (req, body) = stalled_submission(&k);
    let r = send(&router, req).await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::Timeout);
    assert!(e.detail.contains("same idempotency key"), "{}", e.detail);
    drop(body);
    assert_eq!(state.application_count().await.unwrap(), 0);
    assert_eq!(
        submit(&router, &birth_registration(&k)).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn health_and_ready_probes() {
    let (_, router) = setup();
    let r = get(&router, "/health").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json::<Health>().status, "ok");
    let r = get(&router, "/ready").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let ready: serde_json::Value = r.json();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["schema_version"], 5);
}

#[tokio::test]
async fn a_state_not_prepared_yet_is_not_ready_and_refuses_work() {
    let store = std::sync::Arc::new(cds_backend::store::sqlite::SqliteStore::in_memory().unwrap());
    let state = AppState::starting(store);
    let router = app(state.clone());
    let r = get(&router, "/ready").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.error().detail.contains("starting"));
    state.prepare().await.unwrap();
    assert_eq!(get(&router, "/ready").await.status, StatusCode::OK);
    // Seeded by prepare.
    let services: Vec<ServiceInfo> = get(&router, "/v1/services").await.json();
    assert!(!services.is_empty());
}

#[tokio::test]
async fn the_operator_listener_serves_metrics_by_route_template_only() {
    let (state, router) = setup();
    let receipt: ApplicationReceipt = submit(&router, &birth_registration(&key())).await.json();
    get(
        &router,
        &format!("/v1/applications/{}", receipt.case_number),
    )
    .await;
    get(&router, "/v1/applications/HS-2026-999999").await;
    get(&router, "/v1/nothing").await;

    let operator = cds_backend::http::operator_app(state.clone());
    let r = get(&operator, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(r.body.clone()).unwrap();
    for line in [
        r#"cds_http_requests_total{method="POST",route="/v1/applications",status="201"} 1"#,
        r#"cds_http_requests_total{method="GET",route="/v1/applications/{case_number}",status="200"} 1"#,
        r#"cds_http_requests_total{method="GET",route="/v1/applications/{case_number}",status="404"} 1"#,
        r#"cds_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        "cds_ready 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains(&receipt.case_number),
        "no case number in metrics"
    );
    assert!(!text.contains("HS-2026-999999"));
    assert_eq!(get(&operator, "/ready").await.status, StatusCode::OK);
    assert_eq!(get(&operator, "/health").await.status, StatusCode::OK);
    assert_eq!(
        get(&operator, "/v1/services").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_openapi_contract_names_every_route_and_its_problems() {
    let (_, router) = setup();
    let r = get(&router, "/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let spec: serde_json::Value = r.json();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    let mut operations: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    operations.sort();
    assert_eq!(
        operations,
        [
            "DELETE /v1/devices/current",
            "GET /health",
            "GET /ready",
            "GET /v1/applications/{case_number}",
            "GET /v1/health",
            "GET /v1/revocations",
            "GET /v1/services",
            "GET /v1/trust-list",
            "POST /v1/applications",
            "POST /v1/credentials",
            "POST /v1/credentials/claim",
            "POST /v1/credentials/refresh",
            "POST /v1/credentials/{id}/revoke",
            "POST /v1/enrollments",
        ]
    );
    // Every operation documented in the contract is served (no 404 from
    // the fallback for any of them).
    for op in &operations {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{case_number}", "HS-2026-000001")
            .replace("{id}", "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01");
        let req = Request::builder()
            .method(method)
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let r = send(&router, req).await;
        if r.status == StatusCode::NOT_FOUND {
            let e = r.error();
            assert!(
                !e.detail.starts_with("no route"),
                "{op} is not routed: {}",
                e.detail
            );
        }
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "408", "413", "500", "503"] {
                let content = &responses[status]["content"]["application/problem+json"];
                assert_eq!(
                    content["schema"]["$ref"], "#/components/schemas/ApiErrorBody",
                    "{method} {path} {status}"
                );
            }
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} needs 401");
            }
        }
    }
    let problem = &spec["components"]["schemas"]["ApiErrorBody"];
    for field in ["type", "title", "status", "detail", "kind"] {
        assert!(problem["properties"].get(field).is_some(), "{field}");
    }
    let kinds = &spec["components"]["schemas"]["ApiErrorKind"];
    let text = kinds.to_string();
    for kind in ApiErrorKind::ALL {
        assert!(text.contains(kind.code()), "{} in {text}", kind.code());
    }
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["admin"]["scheme"], "bearer");
    assert_eq!(schemes["device"]["scheme"], "bearer");
}
