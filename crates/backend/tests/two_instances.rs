//! Two `cds-backend serve` processes on one PostgreSQL database, requests
//! spread across them: exactly-once delivery, distinct case numbers and the
//! activation-code guard hold across the pair (nothing that must hold
//! between requests lives in a process).
//!
//! Needs the test PostgreSQL server `cargo xtask test` starts
//! (`CDS_TEST_PG`, libpq style without a database name).

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_backend::enrollment::MAX_FAILED_CLAIMS;
use cds_test_support::{client_trusting, fixtures, pg};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// One backend process; killed when dropped.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    fn start(dir: &Path, database: &str) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cds-backend"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database,
            ])
            .arg("--tls-dir")
            .arg(dir.join("tls"))
            .arg("--signing-key")
            .arg(dir.join("signing.p8"))
            .arg("--admin-token-file")
            .arg(dir.join("admin-token"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on https://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Instance { child, addr }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `/ready` until it answers 200 (at most 30 s).
async fn wait_ready(client: &reqwest::Client, addr: SocketAddr) {
    let url = format!("https://localhost:{}/ready", addr.port());
    for _ in 0..600 {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().as_u16() == 200 {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{addr} was not ready within 30 s");
}

async fn count_applications(database: &str) -> i64 {
    let (c, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    c.query_one("SELECT COUNT(*) FROM applications", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_keep_exactly_once_and_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("admin-token"),
        "pair-admin-token-0123456789",
    )
    .unwrap();
    let database = pg::fresh_database("cds_pair").await;
    // The first instance makes the development TLS and the signing key; the
    // second shares them, as instances behind one name do.
    let a = Instance::start(dir.path(), &database);
    let b = Instance::start(dir.path(), &database);
    let ca = std::fs::read_to_string(dir.path().join("tls").join("ca.pem")).unwrap();
    let ca_client = |addr| client_trusting(&ca, addr);
    let (ca_a, ca_b) = (ca_client(a.addr), ca_client(b.addr));
    let url = |i: &Instance, path: &str| format!("https://localhost:{}/v1{path}", i.addr.port());
    // An instance on PostgreSQL listens at once and migrates in the
    // background: wait for /ready, as a load balancer does.
    for (client, inst) in [(&ca_a, &a), (&ca_b, &b)] {
        wait_ready(client, inst.addr).await;
    }

    // One application sent to both at once: one case.
    let app = fixtures::application();
    let send = |client: &reqwest::Client, inst: &Instance| {
        client
            .post(url(inst, "/applications"))
            .header("Idempotency-Key", &app.idempotency_key)
            .json(&app)
            .send()
    };
    let (ra, rb) = tokio::join!(send(&ca_a, &a), send(&ca_b, &b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "one creates, the other finds it");
    let ca: cds_api::ApplicationReceipt = ra.json().await.unwrap();
    let cb: cds_api::ApplicationReceipt = rb.json().await.unwrap();
    assert_eq!(ca.case_number, cb.case_number);
    assert_eq!(count_applications(&database).await, 1);

    // Twenty different applications spread over both, all in flight at
    // once: twenty numbers.
    let mut sends = Vec::new();
    for i in 0..20 {
        let (client, inst) = if i % 2 == 0 { (&ca_a, &a) } else { (&ca_b, &b) };
        let app = fixtures::application();
        let request = client
            .post(url(inst, "/applications"))
            .header("Idempotency-Key", app.idempotency_key.clone())
            .json(&app);
        sends.push(tokio::spawn(request.send()));
    }
    let mut numbers = std::collections::BTreeSet::new();
    for send in sends {
        let r = send.await.unwrap().unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let receipt: cds_api::ApplicationReceipt = r.json().await.unwrap();
        assert!(numbers.insert(receipt.case_number.clone()), "{receipt:?}");
    }
    assert!(!numbers.contains(&ca.case_number));
    assert_eq!(count_applications(&database).await, 21);

    // Wrong activation codes alternated between the two: the guard counts
    // them together, and then both refuse.
    let wrong_code = |client: &reqwest::Client, inst: &Instance| {
        client
            .post(url(inst, "/credentials/claim"))
            .json(&fixtures::claim("ZZZZ-ZZZZ"))
            .send()
    };
    for i in 0..MAX_FAILED_CLAIMS {
        let (client, inst) = if i % 2 == 0 { (&ca_a, &a) } else { (&ca_b, &b) };
        let r = wrong_code(client, inst).await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "attempt {i}");
    }
    for (client, inst) in [(&ca_a, &a), (&ca_b, &b)] {
        let r = wrong_code(client, inst).await.unwrap();
        assert_eq!(r.status().as_u16(), 429, "the pair shares one guard");
        assert!(r.headers().contains_key("retry-after"));
    }

    // The operator's commands work on the shared database too: a code
    // made with `enroll --database-url` is stored there (claiming it is
    // refused for now: the wrong codes above locked claims out), and
    // `set-status` shows in a lookup through an instance.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cds-backend"))
            .args(args)
            .args(["--database-url", &database])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = cli(&[
        "enroll",
        "--number",
        "001099012345",
        "--name",
        "Nguyễn Văn An",
        "--dob",
        "1999-03-15",
    ]);
    assert!(out.lines().any(|l| l.starts_with("code: ")), "{out}");
    let (c, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let enrolled: i64 = c
        .query_one("SELECT COUNT(*) FROM enrollments", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(enrolled, 1, "the code is in the shared database");
    let out = cli(&["set-status", &ca.case_number, "approved"]);
    assert_eq!(out.trim(), format!("{} approved", ca.case_number));
    let looked: cds_api::ApplicationReceipt = ca_a
        .get(url(&a, &format!("/applications/{}", ca.case_number)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(looked.status, cds_api::ApplicationStatus::Approved);
}
