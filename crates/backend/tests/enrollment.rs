//! Citizen enrolment through `app()`: activation codes, claiming, refreshing
//! and signing a device out, with every failure path, and the `enroll` CLI.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use cds_api::{
    ApiErrorBody, ApiErrorKind, ClaimCredentials, CreateEnrollment, CredentialBundle,
    EnrollmentCode, RevocationListBody, TrustListBody,
};
use cds_backend::credentials::{revocations_from_wire, trust_list_from_wire, CredentialIssuer};
use cds_backend::enrollment::{CODE_VALIDITY_SECS, MAX_FAILED_CLAIMS};
use cds_backend::{app, AppState};
use cds_qr::credential::{verify, Disclosure, RevocationList, Verification};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tower::ServiceExt;

const TOKEN: &str = "test-admin-token-0123456789";
/// 2026-11-29T00:00:00Z.
const T0: i64 = 1_795_910_400;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn error(&self) -> ApiErrorBody {
        self.json()
    }
}

/// The router over a file database, with a clock the test moves.
struct Setup {
    _dir: tempfile::TempDir,
    router: Router,
    clock: Arc<AtomicI64>,
}

fn setup_with(validity_days: Option<u32>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let issuer = CredentialIssuer::load_or_create(&dir.path().join("key.p8")).unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let c = Arc::clone(&clock);
    let mut state = AppState::open(&dir.path().join("db.sqlite3"))
        .unwrap()
        .with_issuer(issuer)
        .with_admin_token(TOKEN)
        .with_clock(move || c.load(Ordering::SeqCst));
    if let Some(d) = validity_days {
        state = state.with_credential_validity_days(d);
    }
    Setup {
        _dir: dir,
        router: app(state),
        clock,
    }
}

fn setup() -> Setup {
    setup_with(None)
}

impl Setup {
    fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn enroll_as(&self, body: &CreateEnrollment, token: Option<&str>) -> Reply {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/v1/enrollments")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(
            b.body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }

    async fn enroll(&self, body: &CreateEnrollment) -> EnrollmentCode {
        let r = self.enroll_as(body, Some(TOKEN)).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }

    async fn claim(&self, code: &str) -> Reply {
        let body = ClaimCredentials {
            code: code.into(),
            device_name: "Pixel 8 của An".into(),
        };
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/credentials/claim")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap(),
        )
        .await
    }

    async fn with_device(&self, method: Method, path: &str, token: Option<&str>) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    async fn refresh(&self, token: Option<&str>) -> Reply {
        self.with_device(Method::POST, "/v1/credentials/refresh", token)
            .await
    }

    async fn forget(&self, token: Option<&str>) -> Reply {
        self.with_device(Method::DELETE, "/v1/devices/current", token)
            .await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let r = self
            .send(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }
}

fn an() -> CreateEnrollment {
    CreateEnrollment {
        number: "001099012345".into(),
        full_name: "Nguyễn Văn An".into(),
        date_of_birth: "1999-03-15".into(),
    }
}

fn disclosures(bundle: &CredentialBundle) -> Vec<&str> {
    bundle
        .credentials
        .iter()
        .map(|c| c.disclosure.code())
        .collect()
}

/// Verifies every credential of `bundle` offline against the served trust
/// list and checks what each one discloses.
async fn assert_bundle_verifies(s: &Setup, bundle: &CredentialBundle) {
    let trust_body: TrustListBody = s.get("/v1/trust-list").await;
    let trust = trust_list_from_wire(&trust_body).unwrap();
    for c in &bundle.credentials {
        assert!(c.text.starts_with("CDS1:"), "{}", c.text);
        let outcome = verify(&c.text, &trust, &RevocationList::default(), s.now());
        let Verification::Valid(claims) = outcome else {
            panic!("{:?} does not verify: {}", c.disclosure, outcome.message());
        };
        assert_eq!(claims.credential_id.to_string(), c.credential_id);
        assert_eq!(claims.disclosure, c.disclosure);
        match claims.disclosure {
            Disclosure::Full => {
                assert_eq!(claims.id_number.as_deref(), Some("001099012345"));
                assert_eq!(claims.full_name.as_deref(), Some("Nguyễn Văn An"));
                assert_eq!(claims.date_of_birth.as_deref(), Some("1999-03-15"));
                assert_eq!(claims.over_18, None);
            }
            Disclosure::Over18 => {
                assert_eq!(claims.over_18, Some(true));
                assert_eq!(claims.id_number, None);
                assert_eq!(claims.full_name, None);
                assert_eq!(claims.date_of_birth, None);
            }
            Disclosure::NameOnly => {
                assert_eq!(claims.full_name.as_deref(), Some("Nguyễn Văn An"));
                assert_eq!(claims.id_number, None);
                assert_eq!(claims.date_of_birth, None);
            }
        }
    }
}

#[tokio::test]
async fn enrol_claim_refresh_and_forget() {
    let s = setup();
    let code = s.enroll(&an()).await;
    let (a, b) = code.code.split_once('-').unwrap();
    assert_eq!((a.len(), b.len()), (4, 4), "{}", code.code);
    assert_eq!(code.expires_at, "2026-11-29T00:15:00Z");

    // Typed in lower case without the dash: still the code.
    let claimed = s.claim(&code.code.to_lowercase().replace('-', "")).await;
    assert_eq!(claimed.status, StatusCode::OK);
    let bundle: CredentialBundle = claimed.json();
    let token = bundle.device_token.clone().unwrap();
    assert_eq!(token.len(), 43, "base64url of 32 bytes");
    assert_eq!(bundle.subject_number, "001099012345");
    assert_eq!(bundle.full_name, "Nguyễn Văn An");
    assert_eq!(disclosures(&bundle), ["full", "over18", "name_only"]);
    for c in &bundle.credentials {
        assert_eq!(c.not_before, "2026-11-29T00:00:00Z");
        assert_eq!(c.not_after, "2026-12-06T00:00:00Z", "default 7 days");
    }
    assert_bundle_verifies(&s, &bundle).await;

    s.advance(86_400);
    let refreshed = s.refresh(Some(&token)).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let fresh: CredentialBundle = refreshed.json();
    assert_eq!(fresh.device_token, None);
    assert!(!String::from_utf8_lossy(&refreshed.body).contains("device_token"));
    assert_eq!(fresh.subject_number, "001099012345");
    assert_eq!(disclosures(&fresh), ["full", "over18", "name_only"]);
    for (new, old) in fresh.credentials.iter().zip(&bundle.credentials) {
        assert_ne!(new.credential_id, old.credential_id);
        assert_eq!(new.not_after, "2026-12-07T00:00:00Z");
    }
    assert_bundle_verifies(&s, &fresh).await;

    let forgotten = s.forget(Some(&token)).await;
    assert_eq!(forgotten.status, StatusCode::NO_CONTENT);
    assert!(forgotten.body.is_empty());
    let after = s.refresh(Some(&token)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.error().kind, ApiErrorKind::Unauthorized);
    assert_eq!(
        s.forget(Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn device_credentials_can_be_revoked_and_appear_in_the_signed_list() {
    let s = setup();
    let code = s.enroll(&an()).await;
    let bundle: CredentialBundle = s.claim(&code.code).await.json();
    let over18 = &bundle.credentials[1];
    let revoked = s
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/v1/credentials/{}/revoke", over18.credential_id))
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);

    let trust = trust_list_from_wire(&s.get::<TrustListBody>("/v1/trust-list").await).unwrap();
    let body: RevocationListBody = s.get("/v1/revocations").await;
    assert_eq!(body.credential_ids.len(), 1);
    assert_eq!(body.credential_ids[0], over18.credential_id);
    let list = revocations_from_wire(&body, &trust).unwrap();
    assert!(matches!(
        verify(&over18.text, &trust, &list, s.now()),
        Verification::Revoked(_)
    ));
    assert!(matches!(
        verify(&bundle.credentials[0].text, &trust, &list, s.now()),
        Verification::Valid(_)
    ));
}

#[tokio::test]
async fn a_minor_gets_no_over18_credential() {
    let s = setup_with(Some(30));
    let code = s
        .enroll(&CreateEnrollment {
            date_of_birth: "2012-06-01".into(),
            ..an()
        })
        .await;
    let bundle: CredentialBundle = s.claim(&code.code).await.json();
    assert_eq!(disclosures(&bundle), ["full", "name_only"]);
    assert_eq!(bundle.credentials[0].not_after, "2026-12-29T00:00:00Z");
}

#[tokio::test]
async fn enrolling_needs_the_admin_token_and_a_real_citizen() {
    let s = setup();
    let r = s.enroll_as(&an(), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().kind, ApiErrorKind::Unauthorized);
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
    let r = s.enroll_as(&an(), Some("not-the-admin-token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    for (body, needle) in [
        (
            CreateEnrollment {
                number: "00109901234".into(),
                ..an()
            },
            "12 digits",
        ),
        (
            CreateEnrollment {
                number: "003099012345".into(),
                ..an()
            },
            "province",
        ),
        (
            CreateEnrollment {
                date_of_birth: "1999-02-31".into(),
                ..an()
            },
            "date",
        ),
        (
            CreateEnrollment {
                date_of_birth: "15/03/1999".into(),
                ..an()
            },
            "date",
        ),
        (
            CreateEnrollment {
                date_of_birth: "2030-01-01".into(),
                ..an()
            },
            "future",
        ),
        (
            CreateEnrollment {
                full_name: "  ".into(),
                ..an()
            },
            "name",
        ),
    ] {
        let r = s.enroll_as(&body, Some(TOKEN)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        let e = r.error();
        assert_eq!(e.kind, ApiErrorKind::InvalidInput);
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
    }

    // Without a configured admin token, enrolling is off.
    let dir = tempfile::tempdir().unwrap();
    let issuer = CredentialIssuer::load_or_create(&dir.path().join("k.p8")).unwrap();
    let no_admin = app(AppState::in_memory().unwrap().with_issuer(issuer));
    let resp = no_admin
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/enrollments")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&an()).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn wrong_used_and_expired_codes_each_say_so() {
    let s = setup();
    // Well-formed but never issued.
    let r = s.claim("ABCD-EFGH").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::InvalidCode);
    assert!(e.message.contains("ABCD-EFGH") && e.message.contains("does not exist"));
    // Not even shaped like a code.
    let r = s.claim("hello").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::InvalidCode);
    assert!(
        e.message.contains("not an activation code"),
        "{}",
        e.message
    );

    let code = s.enroll(&an()).await;
    assert_eq!(s.claim(&code.code).await.status, StatusCode::OK);
    let r = s.claim(&code.code).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::CodeUsed);
    assert!(e.message.contains("already used"), "{}", e.message);

    let late = s.enroll(&an()).await;
    s.advance(CODE_VALIDITY_SECS - 1);
    let in_time = s.enroll(&an()).await;
    s.advance(1);
    let r = s.claim(&late.code).await;
    assert_eq!(r.status, StatusCode::GONE);
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::CodeExpired);
    assert!(e.message.contains("expired"), "{}", e.message);
    // An expired code stays expired; a younger one still works.
    assert_eq!(s.claim(&late.code).await.status, StatusCode::GONE);
    assert_eq!(s.claim(&in_time.code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_device_name_does_not_use_up_the_code() {
    let s = setup();
    let code = s.enroll(&an()).await;
    let r = s
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/credentials/claim")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::to_vec(&ClaimCredentials {
                        code: code.code.clone(),
                        device_name: " ".into(),
                    })
                    .unwrap(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.error().message.contains("device_name"));
    assert_eq!(s.claim(&code.code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn more_than_ten_failed_claims_a_minute_are_refused_with_retry_after() {
    let s = setup();
    let code = s.enroll(&an()).await;
    for i in 0..MAX_FAILED_CLAIMS {
        let r = s.claim(&format!("ZZZZ-ZZ{:02}", i + 22)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "attempt {i}");
    }
    s.advance(20);
    // Even the right code waits: the guard is global, not per code.
    let r = s.claim(&code.code).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers[header::RETRY_AFTER], "40");
    let e = r.error();
    assert_eq!(e.kind, ApiErrorKind::RateLimited);
    assert!(e.message.contains("40 s"), "{}", e.message);

    // Once the minute has passed, the code still works (it was not used).
    s.advance(40);
    let r = s.claim(&code.code).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

#[tokio::test]
async fn refresh_and_forget_need_a_known_device_token() {
    let s = setup();
    for token in [None, Some("not-a-device-token")] {
        let r = s.refresh(token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(r.error().kind, ApiErrorKind::Unauthorized);
        let r = s.forget(token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(r.error().kind, ApiErrorKind::Unauthorized);
    }
    // The admin token is not a device token.
    assert_eq!(
        s.refresh(Some(TOKEN)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Bad device tokens do not feed the claim guard (it is for codes).
    let code = s.enroll(&an()).await;
    for _ in 0..20 {
        s.refresh(Some("guess")).await;
    }
    assert_eq!(s.claim(&code.code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_signing_key_claims_are_not_served() {
    let router = app(AppState::in_memory().unwrap());
    let resp = router
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/credentials/claim")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"code":"ABCD-EFGH","device_name":"x"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cds-backend"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn cli_enroll_makes_a_code_a_running_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite3");
    let db_arg = db.to_str().unwrap();
    let enroll = |dob: &str| {
        run(&[
            "enroll",
            "--db",
            db_arg,
            "--number",
            "001099012345",
            "--name",
            "Nguyễn Văn An",
            "--dob",
            dob,
        ])
    };

    // No database yet: refused, and none is created.
    let out = enroll("1999-03-15");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database file"));
    assert!(!db.exists());

    // A "server" holds the same file open while the CLI writes to it.
    let issuer = CredentialIssuer::load_or_create(&dir.path().join("key.p8")).unwrap();
    let state = AppState::open(&db).unwrap().with_issuer(issuer);
    let router = app(state);

    let out = enroll("1999-03-15");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = stdout
        .lines()
        .find_map(|l| l.strip_prefix("code: "))
        .unwrap()
        .to_owned();
    assert!(
        stdout.lines().any(|l| l.starts_with("expires_at: 20")),
        "{stdout}"
    );
    assert_eq!(code.len(), 9);

    let resp = router
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/credentials/claim")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::to_vec(&ClaimCredentials {
                        code,
                        device_name: "laptop".into(),
                    })
                    .unwrap(),
                ))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let out = enroll("1999-02-31");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("date"));
    let out = run(&["enroll", "--db", db_arg, "--number", "001099012345"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
}
