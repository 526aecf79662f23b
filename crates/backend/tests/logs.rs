//! The backend's logs carry no personal data and no secret: a real
//! `cds-backend serve` process goes through every route (applications,
//! enrolment, claim, refresh, issuing, revocation, sign-out, and the
//! errors of each), in text and in JSON logs with the backend's own debug
//! events on, and its whole stderr is searched for the test citizens'
//! names and numbers, the activation code, the device token and the admin
//! token.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{CredentialBundle, EnrollmentCode, IssueCredential, IssuedCredential};
use cds_test_support::{client_trusting, fixtures};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

const ADMIN: &str = "log-test-admin-token-0123456789";

struct Backend {
    child: Child,
    addr: SocketAddr,
    operator: SocketAddr,
}

impl Backend {
    fn start(dir: &std::path::Path, json: bool) -> Backend {
        std::fs::write(dir.join("admin-token"), ADMIN).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cds-backend"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--operator-listen", "127.0.0.1:0"])
            .arg("--db")
            .arg(dir.join("b.sqlite3"))
            .arg("--tls-dir")
            .arg(dir.join("tls"))
            .arg("--admin-token-file")
            .arg(dir.join("admin-token"))
            .env("RUST_LOG", "info,cds_backend=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if json {
            cmd.args(["--log-format", "json"]);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = lines
            .next()
            .unwrap()
            .unwrap()
            .strip_prefix("listening on https://")
            .unwrap()
            .parse()
            .unwrap();
        let operator = lines
            .next()
            .unwrap()
            .unwrap()
            .strip_prefix("operator on http://")
            .unwrap()
            .parse()
            .unwrap();
        Backend {
            child,
            addr,
            operator,
        }
    }

    /// Stops the process and returns everything it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        let _ = self.child.wait();
        logs
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drives every route once, well and badly; returns the secrets it saw
/// (activation code, device token).
async fn full_run(backend: &Backend, ca: &str) -> Vec<String> {
    let c = client_trusting(ca, backend.addr);
    let url = |p: &str| format!("https://localhost:{}{p}", backend.addr.port());
    let admin = format!("Bearer {ADMIN}");
    let mut seen = Vec::new();

    let app = fixtures::application();
    for _ in 0..2 {
        let r = c
            .post(url("/v1/applications"))
            .header("Idempotency-Key", &app.idempotency_key)
            .json(&app)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let receipt: cds_api::ApplicationReceipt = c
        .post(url("/v1/applications"))
        .header("Idempotency-Key", &app.idempotency_key)
        .json(&app)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.get(url(&format!("/v1/applications/{}", receipt.case_number)))
        .send()
        .await
        .unwrap();
    // The same key with another payload (409), a bad one (422), bad JSON.
    let mut other = app.clone();
    other.applicant.full_name = "Võ Minh Đức Khác".into();
    let r = c
        .post(url("/v1/applications"))
        .header("Idempotency-Key", &app.idempotency_key)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let mut bad = fixtures::application();
    bad.applicant.date_of_birth = "2999-01-01".into();
    let r = c
        .post(url("/v1/applications"))
        .header("Idempotency-Key", &bad.idempotency_key)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    c.post(url("/v1/applications"))
        .header("Idempotency-Key", "x")
        .header("content-type", "application/json")
        .body("{\"applicant\": {\"full_name\": \"Võ Minh Đức\"")
        .send()
        .await
        .unwrap();

    // Enrolment, claim (a wrong code first), refresh, sign-out.
    let citizen = fixtures::adult_citizen();
    let code: EnrollmentCode = c
        .post(url("/v1/enrollments"))
        .header("Authorization", &admin)
        .json(&citizen)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    seen.push(code.code.clone());
    seen.push(code.code.replace('-', ""));
    c.post(url("/v1/credentials/claim"))
        .json(&fixtures::claim("ZZZZ-ZZZZ"))
        .send()
        .await
        .unwrap();
    let bundle: CredentialBundle = c
        .post(url("/v1/credentials/claim"))
        .json(&fixtures::claim(&code.code))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = bundle.device_token.clone().unwrap();
    seen.push(token.clone());
    let r = c
        .post(url("/v1/credentials/refresh"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let issued: IssuedCredential = c
        .post(url("/v1/credentials"))
        .header("Authorization", &admin)
        .json(&IssueCredential {
            id_number: citizen.number.clone(),
            full_name: citizen.full_name.clone(),
            date_of_birth: citizen.date_of_birth.clone(),
            disclosure: "full".into(),
            validity_days: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.post(url(&format!(
        "/v1/credentials/{}/revoke",
        issued.credential_id
    )))
    .header("Authorization", &admin)
    .send()
    .await
    .unwrap();
    c.post(url("/v1/credentials"))
        .header("Authorization", "Bearer wrong-admin-token-value")
        .json(&citizen)
        .send()
        .await
        .unwrap();
    c.get(url("/v1/revocations")).send().await.unwrap();
    let r = c
        .delete(url("/v1/devices/current"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // A forgotten token, and a made-up one.
    c.post(url("/v1/credentials/refresh"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    // The metrics page, as Prometheus would scrape it.
    let metrics = reqwest::get(format!("http://{}/metrics", backend.operator))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("cds_http_requests_total"));
    for secret in &seen {
        assert!(!metrics.contains(secret.as_str()));
    }
    assert!(!metrics.contains(&receipt.case_number));
    seen
}

async fn check(json: bool) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::start(dir.path(), json);
    let ca = std::fs::read_to_string(dir.path().join("tls").join("ca.pem")).unwrap();
    let secrets = full_run(&backend, &ca).await;
    let logs = backend.stop();

    // The access log did its job: one line per request, by template.
    assert!(
        logs.contains("/v1/applications/{case_number}"),
        "no access log in:\n{logs}"
    );
    let app = fixtures::application();
    let citizen = fixtures::adult_citizen();
    let mut forbidden: Vec<String> = vec![
        app.applicant.full_name.clone(),
        app.applicant.id_number.clone(),
        app.applicant.date_of_birth.clone(),
        citizen.full_name.clone(),
        citizen.number.clone(),
        citizen.date_of_birth.clone(),
        "Đức".into(),
        "Nguyễn".into(),
        ADMIN.into(),
        "wrong-admin-token-value".into(),
    ];
    forbidden.extend(secrets);
    for needle in &forbidden {
        assert!(
            !logs.contains(needle.as_str()),
            "the logs ({}) contain `{needle}`:\n{logs}",
            if json { "json" } else { "text" }
        );
    }
    // JSON logs are one object per line.
    if json {
        for line in logs.lines().filter(|l| l.starts_with('{')) {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{e}: {line}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_of_a_full_run_carry_no_personal_data_or_secret() {
    check(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_of_a_full_run_carry_no_personal_data_or_secret() {
    check(true).await;
}
