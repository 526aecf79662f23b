//! The `cds-backend` binary's commands and its error messages.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{Applicant, ApplicationStatus, DocumentKind, DocumentRef, SubmitApplication};
use cds_backend::AppState;
use std::process::{Command, Output};

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cds-backend"))
        .args(args)
        .output()
        .unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = run(&[os("serve"), os("--listen"), os("not-an-address")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("not-an-address"), "{err}");
    assert!(err.contains("usage:"), "{err}");

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing command"));
}

#[test]
fn gen_cert_makes_the_ca_and_prints_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let out = run(&[os("gen-cert"), os("--tls-dir"), tls.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ca = tls.join("ca.pem");
    assert_eq!(stdout(&out).trim(), ca.display().to_string());
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    // Idempotent: a second run keeps the same CA.
    let out = run(&[os("gen-cert"), os("--tls-dir"), tls.as_os_str()]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&ca).unwrap(), pem);
}

#[test]
fn serve_reports_a_port_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = dir.path().join("b.sqlite3");
    let tls = dir.path().join("tls");
    let out = run(&[
        os("serve"),
        os("--listen"),
        os(&addr),
        os("--db"),
        db.as_os_str(),
        os("--tls-dir"),
        tls.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(stdout(&out).is_empty(), "no listening line on failure");
}

#[test]
fn serve_reports_an_unusable_database() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, "definitely not an SQLite database file, only text").unwrap();
    let tls = dir.path().join("tls");
    let out = run(&[
        os("serve"),
        os("--listen"),
        os("127.0.0.1:0"),
        os("--db"),
        junk.as_os_str(),
        os("--tls-dir"),
        tls.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot open database"), "{err}");
    assert!(err.contains("junk.sqlite3"), "{err}");
}

fn application() -> SubmitApplication {
    SubmitApplication {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        service_code: "2.000635".into(),
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

#[tokio::test]
async fn set_status_changes_the_stored_application() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("backend.sqlite3");
    let case = {
        let state = AppState::open(&db).unwrap();
        state
            .submit(application())
            .await
            .unwrap()
            .receipt
            .case_number
    };

    let out = run(&[
        os("set-status"),
        os("--db"),
        db.as_os_str(),
        os(&case),
        os("approved"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{case} approved"));
    let state = AppState::open(&db).unwrap();
    assert_eq!(
        state.application(&case).await.unwrap().status,
        ApplicationStatus::Approved
    );

    let out = run(&[
        os("set-status"),
        os("--db"),
        db.as_os_str(),
        os("HS-1999-000001"),
        os("rejected"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("HS-1999-000001"), "{}", stderr(&out));

    let out = run(&[
        os("set-status"),
        os("--db"),
        db.as_os_str(),
        os(&case),
        os("done"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown status `done`"));
}

#[test]
fn set_status_does_not_create_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.sqlite3");
    let out = run(&[
        os("set-status"),
        os("--db"),
        db.as_os_str(),
        os("HS-2026-000001"),
        os("approved"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no database file"),
        "{}",
        stderr(&out)
    );
    assert!(!db.exists());
}

#[test]
fn serve_refuses_missing_tls_files_and_never_generates_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.sqlite3");
    let cert = dir.path().join("real").join("fullchain.pem");
    let key = dir.path().join("real").join("privkey.pem");
    let out = run(&[
        os("serve"),
        os("--listen"),
        os("127.0.0.1:0"),
        os("--db"),
        db.as_os_str(),
        os("--tls-cert"),
        cert.as_os_str(),
        os("--tls-key"),
        key.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("fullchain.pem"), "{err}");
    assert!(stdout(&out).is_empty(), "no listening line on failure");
    assert!(!dir.path().join("real").exists(), "nothing is generated");
}

#[test]
fn serve_never_regenerates_over_a_partial_tls_dir() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let out = run(&[os("gen-cert"), os("--tls-dir"), tls.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ca = std::fs::read_to_string(tls.join("ca.pem")).unwrap();
    let cert = std::fs::read_to_string(tls.join("server.pem")).unwrap();
    std::fs::remove_file(tls.join("server.key")).unwrap();

    let db = dir.path().join("b.sqlite3");
    let out = run(&[
        os("serve"),
        os("--listen"),
        os("127.0.0.1:0"),
        os("--db"),
        db.as_os_str(),
        os("--tls-dir"),
        tls.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("server.key"), "{err}");
    assert!(stdout(&out).is_empty());
    assert_eq!(std::fs::read_to_string(tls.join("ca.pem")).unwrap(), ca);
    assert_eq!(
        std::fs::read_to_string(tls.join("server.pem")).unwrap(),
        cert
    );
    assert!(!tls.join("server.key").exists());
    // gen-cert refuses the same way.
    let out = run(&[os("gen-cert"), os("--tls-dir"), tls.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(tls.join("ca.pem")).unwrap(), ca);
}
