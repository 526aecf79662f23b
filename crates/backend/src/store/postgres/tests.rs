//! The PostgreSQL store against a real server: the shared store suite, then
//! what is PostgreSQL's own (concurrent migration, a newer schema, a forced
//! serialization failure).
//!
//! The server is named by `CDS_TEST_PG` (libpq style, without `dbname`):
//! `cargo xtask test` starts a private one (initdb in a temporary directory,
//! a Unix socket there) and sets it. Each test gets a database of its own.

use super::*;
use crate::store::{Applications, NewApplication, Services};
use cds_api::ApplicationStatus;

/// The test server's connection string.
fn server() -> String {
    match std::env::var("CDS_TEST_PG") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => panic!(
            "the PostgreSQL store tests need a server: run `cargo xtask test` (it starts one), \
             or set CDS_TEST_PG, e.g. CDS_TEST_PG='host=/tmp/pg user=postgres'"
        ),
    }
}

/// A raw connection to `dbname` on the test server.
async fn raw(dbname: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&format!("{} dbname={dbname}", server()), NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
}

/// A new, empty database on the test server; its name.
async fn fresh_database() -> String {
    let name = format!("cds_test_{}", uuid::Uuid::new_v4().simple());
    raw("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    name
}

/// A migrated store on a new database, and the database's name.
async fn fresh_store() -> (PgStore, String) {
    let name = fresh_database().await;
    let store = PgStore::connect(&format!("{} dbname={name}", server()))
        .await
        .unwrap();
    (store, name)
}

crate::store::suite::store_suite!({ fresh_store().await });

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_migrating_one_database_at_once_both_start() {
    let name = fresh_database().await;
    let info = format!("{} dbname={name}", server());
    let (a, b, c) = tokio::join!(
        PgStore::connect(&info),
        PgStore::connect(&info),
        PgStore::connect(&info)
    );
    let known = migrations::MIGRATIONS.len() as i64;
    for store in [a.unwrap(), b.unwrap(), c.unwrap()] {
        assert_eq!(store.schema_version().await.unwrap(), known);
    }
    // Each migration is recorded once.
    let row = raw(&name)
        .await
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), known);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let (_store, name) = fresh_store().await;
    raw(&name)
        .await
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .await
        .unwrap();
    match PgStore::connect(&format!("{} dbname={name}", server())).await {
        Err(StoreError::SchemaTooNew { found: 99, known }) => {
            assert_eq!(known, migrations::MIGRATIONS.len())
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_open_error() {
    let err = PgStore::connect("host=/nonexistent/cds-pg user=nobody dbname=cds password=hunter2")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent/cds-pg"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password is not shown: {text}"
    );
}

/// A real serialization failure, forced: another transaction changes the
/// case while the store's own waits for it, then commits first. The store's
/// transaction fails with SQLSTATE 40001 and is retried, and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_is_retried_and_succeeds() {
    let (store, name) = fresh_store().await;
    let service = cds_api::seed_catalogue().unwrap();
    store.seed_services_if_empty(service.clone()).await.unwrap();
    let created = store
        .insert_once(NewApplication {
            idempotency_key: "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a09".into(),
            payload_sha256: "d".into(),
            payload_json: "{}".into(),
            service_code: service[0].code.clone(),
            status: ApplicationStatus::Received,
            received_at: "2026-03-02T01:00:00Z".into(),
            due_date: "2026-03-09".into(),
            case_year: 2026,
        })
        .await
        .unwrap();
    let crate::store::InsertOutcome::Created(receipt) = created else {
        panic!("expected a new case");
    };
    let case = receipt.case_number.clone();

    let mut other = raw(&name).await;
    let tx = other
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::Serializable)
        .start()
        .await
        .unwrap();
    tx.execute(
        "UPDATE applications SET status = 'in_review' WHERE case_number = $1",
        &[&case],
    )
    .await
    .unwrap();
    let before = store.retried_transactions();
    let racing = {
        let store = store.clone();
        let case = case.clone();
        tokio::spawn(async move {
            store
                .set_status(
                    &case,
                    ApplicationStatus::Approved,
                    "2026-03-03T00:00:00Z".into(),
                )
                .await
        })
    };
    // Wait (on the database, not the clock) until the store's UPDATE is
    // blocked on the other transaction's row lock.
    let watcher = raw(&name).await;
    loop {
        let row = watcher
            .query_one("SELECT COUNT(*) FROM pg_locks WHERE NOT granted", &[])
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    tx.commit().await.unwrap();

    let after = racing.await.unwrap().unwrap().expect("the case exists");
    assert_eq!(after.status, ApplicationStatus::Approved);
    assert!(
        store.retried_transactions() > before,
        "the store's transaction was retried"
    );
    // The retry wrote its change once.
    let history = store.status_history(&case).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].status, ApplicationStatus::Approved);
}
