//! TLS to PostgreSQL: the store connects over TCP with TLS and verifies the
//! server's certificate against the given CA and its name; a database with
//! a certificate from another CA is refused, and so is a TLS mode without a
//! CA to verify against.
//!
//! Needs the test server `cargo xtask test` starts, over TLS
//! (`CDS_TEST_PG_TLS`: `host=localhost port=… sslmode=verify-full
//! sslrootcert=…`, without a database name).

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_backend::store::postgres::PgStore;
use cds_backend::AppState;
use cds_test_support::pg;
use std::sync::Arc;

fn tls_server() -> String {
    match std::env::var("CDS_TEST_PG_TLS") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => panic!(
            "this test needs a PostgreSQL server with TLS: run `cargo xtask test` (it starts \
             one), or set CDS_TEST_PG_TLS, e.g. 'host=localhost port=5432 user=postgres \
             sslmode=verify-full sslrootcert=/path/ca.pem'"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_speaks_verified_tls_to_the_database() {
    let name = pg::database_name("cds_tls");
    pg::create_database(&name).await;
    let admin = pg::admin().await;

    let store = Arc::new(
        PgStore::connect(&format!("{} dbname={name}", tls_server()))
            .await
            .unwrap(),
    );
    let state = AppState::over(store).await.unwrap();
    let receipt = state
        .submit(cds_test_support::fixtures::application())
        .await
        .unwrap()
        .receipt;
    assert_eq!(
        state.application(&receipt.case_number).await.unwrap(),
        receipt
    );
    // Every connection the store holds to this database is encrypted.
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the store is connected");
    assert!(
        rows.iter().all(|r| r.get::<_, bool>(0)),
        "every connection is TLS"
    );

    // Another CA's certificate is refused (the backend's own dev CA is
    // not the database's).
    let dir = tempfile::tempdir().unwrap();
    let other = cds_backend::tls::ensure_dev_tls(&dir.path().join("tls")).unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, &other.ca_cert_pem).unwrap();
    let conninfo = tls_server()
        .split_whitespace()
        .filter(|kv| !kv.starts_with("sslrootcert="))
        .collect::<Vec<_>>()
        .join(" ");
    let wrong = format!(
        "{conninfo} sslrootcert={} dbname={name}",
        other_ca.display()
    );
    let err = PgStore::connect(&wrong).await.unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "refused for its certificate: {err}"
    );

    // A TLS mode with nothing to verify against is refused before
    // connecting.
    let err = PgStore::connect(&format!("{conninfo} dbname={name}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sslrootcert=FILE"), "{err}");
}
