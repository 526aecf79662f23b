//! Citizen credentials against the real reference backend over real HTTPS
//! (loopback, port 0, a development CA made for the test): enrol, claim,
//! refresh, sign out, and how the failures reach the app.

use cds_api::{ApiErrorKind, ClaimCredentials, CreateEnrollment};
use cds_backend::cds_qr::credential::{verify, Verification};
use cds_backend::credentials::{
    revocations_from_wire, trust_list_from_wire, unix_now, CredentialIssuer,
};
use cds_backend::enrollment::MAX_FAILED_CLAIMS;
use cds_backend::{serve, tls::ensure_dev_tls, AppState};
use cds_sync::{CityClient, SyncError};
use std::net::TcpListener;
use tokio::sync::oneshot;

struct Server {
    url: String,
    ca: Vec<u8>,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(dir: &std::path::Path) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = ensure_dev_tls(&dir.join("tls")).unwrap();
    let ca = std::fs::read(dir.join("tls").join(cds_backend::tls::CA_CERT_FILE)).unwrap();
    let issuer = CredentialIssuer::load_or_create(&dir.join("key.p8")).unwrap();
    let state = AppState::open(&dir.join("backend.sqlite3"))
        .unwrap()
        .with_issuer(issuer);
    let served = state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(listener, served, &tls, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        url: format!("https://localhost:{port}"),
        ca,
        state,
        stop: tx,
        task,
    }
}

impl Server {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }

    /// What the operator does at the counter.
    async fn enroll(&self) -> String {
        self.state
            .create_enrollment(
                CreateEnrollment {
                    number: "048095001234".into(),
                    full_name: "Lê Văn Số".into(),
                    date_of_birth: "1995-08-15".into(),
                },
                unix_now(),
            )
            .await
            .unwrap()
            .code
    }
}

fn claim(code: &str) -> ClaimCredentials {
    ClaimCredentials {
        code: code.into(),
        device_name: "Máy tính bảng".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_claim_refresh_and_forget_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let client = CityClient::new(&server.url, Some(&server.ca)).unwrap();

    let code = server.enroll().await;
    let bundle = client.claim_credentials(&claim(&code)).await.unwrap();
    let token = bundle.device_token.clone().unwrap();
    assert_eq!(bundle.subject_number, "048095001234");
    assert_eq!(bundle.full_name, "Lê Văn Số");

    // The app checks what it got against the city's published lists.
    let trust = trust_list_from_wire(&client.trust_list().await.unwrap()).unwrap();
    let revoked = revocations_from_wire(&client.revocations().await.unwrap(), &trust).unwrap();
    let got: Vec<_> = bundle
        .credentials
        .iter()
        .map(|c| match verify(&c.text, &trust, &revoked, unix_now()) {
            Verification::Valid(claims) => claims.disclosure.code().to_owned(),
            other => panic!("{}: {}", c.disclosure, other.message()),
        })
        .collect();
    assert_eq!(got, ["full", "over18", "name_only"]);

    let fresh = client.refresh_credentials(&token).await.unwrap();
    assert_eq!(fresh.device_token, None);
    assert_eq!(fresh.credentials.len(), 3);
    assert_ne!(
        fresh.credentials[0].credential_id,
        bundle.credentials[0].credential_id
    );

    // The same code a second time: the server's kind and words reach the app.
    match client.claim_credentials(&claim(&code)).await {
        Err(e @ SyncError::Rejected { status: 409, .. }) => {
            let (kind, message) = e.server_error().unwrap();
            assert_eq!(kind, ApiErrorKind::CodeUsed);
            assert!(message.contains("already used"), "{message}");
            assert_eq!(e.kind(), "backend_rejected");
            assert!(!e.is_transient());
        }
        other => panic!("expected code_used, got {other:?}"),
    }

    client.forget_device(&token).await.unwrap();
    let err = client.refresh_credentials(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Rejected {
                status: 401,
                kind: ApiErrorKind::Unauthorized,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "unauthorized");
    assert!(!err.is_transient());
    let err = client.forget_device(&token).await.unwrap_err();
    assert_eq!(err.kind(), "unauthorized");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_then_the_rate_limit_reach_the_app_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let client = CityClient::new(&server.url, Some(&server.ca)).unwrap();

    for _ in 0..MAX_FAILED_CLAIMS {
        let err = client
            .claim_credentials(&claim("ZZZZ-ZZZZ"))
            .await
            .unwrap_err();
        let (kind, message) = err.server_error().unwrap();
        assert_eq!(kind, ApiErrorKind::InvalidCode, "{err:?}");
        assert!(message.contains("ZZZZ-ZZZZ"), "{message}");
    }
    let e = client
        .claim_credentials(&claim("ZZZZ-ZZZZ"))
        .await
        .unwrap_err();
    match &e {
        SyncError::Rejected {
            status: 429,
            kind: ApiErrorKind::RateLimited,
            retry_after_secs,
            ..
        } => assert!(
            matches!(retry_after_secs, Some(1..=60)),
            "{retry_after_secs:?}"
        ),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    assert_eq!(e.kind(), "rate_limited");
    assert!(e.is_transient());
    server.stop().await;
}
