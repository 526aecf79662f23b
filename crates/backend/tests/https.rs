//! The backend over real HTTPS on loopback: in process (the test city of
//! `cds-test-support`, port 0), and the real `cds-backend` binary.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{
    Applicant, ApplicationReceipt, DocumentKind, DocumentRef, Health, SubmitApplication,
    IDEMPOTENCY_HEADER,
};
use cds_backend::tls::ensure_dev_tls;
use cds_backend::AppState;
use cds_test_support::TestCity;
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::AsyncBufReadExt;

/// A client that trusts exactly `ca_pem`. `localhost` is pinned to the
/// server's loopback address so the test does not depend on /etc/hosts.
fn client(ca_pem: &str, addr: SocketAddr) -> reqwest::Client {
    cds_test_support::client_trusting(ca_pem, addr)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(" <- ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

async fn health(client: &reqwest::Client, url: &str) -> Health {
    let resp = client.get(format!("{url}/v1/health")).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    resp.json().await.unwrap()
}

fn application() -> SubmitApplication {
    let cccd = DocumentRef {
        kind: DocumentKind::Cccd,
        number: "048090004321".into(),
        full_name: "Phạm Quốc Huy".into(),
        date_of_birth: "1990-01-05".into(),
        attachment_count: 2,
    };
    SubmitApplication {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        service_code: "1.001612".into(),
        applicant: Applicant {
            id_number: "048090004321".into(),
            full_name: "Phạm Quốc Huy".into(),
            date_of_birth: "1990-01-05".into(),
        },
        documents: vec![cccd],
        submitted_at: "2026-03-02T10:00:00+07:00".into(),
    }
}

async fn post(client: &reqwest::Client, url: &str, req: &SubmitApplication) -> reqwest::Response {
    client
        .post(format!("{url}/v1/applications"))
        .header(IDEMPOTENCY_HEADER, &req.idempotency_key)
        .json(req)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn health_over_https_by_ip_and_by_localhost() {
    let server = TestCity::start().await;
    let port = server.port();
    let c = server.client();

    for url in [
        format!("https://127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
    ] {
        let h = health(&c, &url).await;
        assert_eq!(h.status, "ok", "{url}");
        assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
    }

    // Errors are JSON over HTTPS too.
    let resp = c
        .get(format!("https://127.0.0.1:{port}/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::NOT_FOUND);
    let body: cds_api::ApiErrorBody = resp.json().await.unwrap();
    assert_eq!(body.kind, cds_api::ApiErrorKind::NotFound);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_does_not_trust_the_dev_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestCity::start().await;
    let url = format!("{}/v1/health", server.url());

    // Trusts nothing at all.
    let no_roots = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .resolve("localhost", server.addr())
        .build()
        .unwrap();
    // Trusts another development CA.
    let other_ca = ensure_dev_tls(&dir.path().join("other-tls")).unwrap();
    assert_ne!(other_ca.ca_cert_pem, server.ca_pem());
    let wrong_ca = client(&other_ca.ca_cert_pem, server.addr());

    for c in [no_roots, wrong_ca] {
        let err = c.get(&url).send().await.unwrap_err();
        assert!(err.is_connect(), "not a connect error: {err:?}");
        let chain = error_chain(&err).to_lowercase();
        assert!(chain.contains("certificate"), "{chain}");
    }

    // The server is still fine for a client that trusts it.
    assert_eq!(
        health(&server.client(), &url.replace("/v1/health", ""))
            .await
            .status,
        "ok"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn applications_persist_across_a_restart_on_the_same_file() {
    let req = application();

    let server = TestCity::start().await;
    let db = server.db_path();
    let url = server.url();
    let resp = post(&server.client(), &url, &req).await;
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let receipt: ApplicationReceipt = resp.json().await.unwrap();
    let tls = server.tls().clone();
    let offline = server.stop().await;

    // Same files, new process-equivalent: a new state over the same file.
    let tls_again = ensure_dev_tls(&offline.dir().join(cds_test_support::TLS_DIR)).unwrap();
    assert_eq!(tls_again, tls);
    let server = offline.start().await;
    let url = server.url();
    let c = server.client();
    let resp = c
        .get(format!("{url}/v1/applications/{}", receipt.case_number))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert_eq!(resp.json::<ApplicationReceipt>().await.unwrap(), receipt);

    // A retry after the restart is still the same application.
    let resp = post(&c, &url, &req).await;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert_eq!(resp.json::<ApplicationReceipt>().await.unwrap(), receipt);
    let _offline = server.stop().await;

    assert_eq!(
        AppState::open(&db)
            .unwrap()
            .application_count()
            .await
            .unwrap(),
        1
    );
}

fn read_ca(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("tls").join(cds_backend::tls::CA_CERT_FILE)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_https_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cds-backend"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("backend.sqlite3"))
        .arg("--tls-dir")
        .arg(dir.path().join("tls"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = lines.next_line().await.unwrap().expect("a first line");
    let port: u16 = line
        .strip_prefix("listening on https://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
        .parse()
        .unwrap();
    assert_ne!(port, 0);

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let c = client(&read_ca(dir.path()), addr);
    assert_eq!(
        health(&c, &format!("https://127.0.0.1:{port}"))
            .await
            .status,
        "ok"
    );
    assert_eq!(
        health(&c, &format!("https://localhost:{port}"))
            .await
            .status,
        "ok"
    );

    #[cfg(unix)]
    {
        let pid = child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Exactly one line on stdout.
        assert_eq!(lines.next_line().await.unwrap(), None);
    }
    #[cfg(not(unix))]
    {
        child.kill().await.unwrap();
    }
}
