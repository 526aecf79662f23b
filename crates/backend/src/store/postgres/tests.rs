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

/// An application received on 2026-03-02 for `service_code` under `key`.
fn application(key: impl Into<String>, service_code: impl Into<String>) -> NewApplication {
    NewApplication {
        idempotency_key: key.into(),
        payload_sha256: "d".into(),
        payload_json: "{}".into(),
        service_code: service_code.into(),
        status: ApplicationStatus::Received,
        received_at: "2026-03-02T01:00:00Z".into(),
        due_date: "2026-03-09".into(),
        case_year: 2026,
    }
}

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
        .insert_once(application(
            "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a09",
            service[0].code.clone(),
        ))
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

/// Many submissions at once, more than the pool holds: every one is stored
/// at the first try with its own number, with no gap (nothing was
/// replayed), and nothing had to be retried: the numbers come from a
/// counter row bumped by one statement, not from a serializable read that
/// concurrent inserts invalidate for each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_do_not_contend_for_case_numbers() {
    let (store, _) = fresh_store().await;
    let services = cds_api::seed_catalogue().unwrap();
    store
        .seed_services_if_empty(services.clone())
        .await
        .unwrap();
    let store = std::sync::Arc::new(store);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            let new = application(
                format!("0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f{i:04}"),
                services[0].code.clone(),
            );
            tokio::spawn(async move { store.insert_once(new).await })
        })
        .collect();
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            crate::store::InsertOutcome::Created(r) => assert!(numbers.insert(r.case_number)),
            other => panic!("expected a new case, got {other:?}"),
        }
    }
    let expected: std::collections::BTreeSet<String> =
        (1..=200).map(|n| format!("HS-2026-{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(store.retried_transactions(), 0);
}

/// Numbers written without the counter (an older backend during an
/// upgrade) are never given again: the counter jumps past them.
#[tokio::test]
async fn the_counter_stays_ahead_of_numbers_written_another_way() {
    let (store, name) = fresh_store().await;
    let services = cds_api::seed_catalogue().unwrap();
    store
        .seed_services_if_empty(services.clone())
        .await
        .unwrap();
    raw(&name)
        .await
        .execute(
            "INSERT INTO applications (case_number, case_year, case_seq, idempotency_key,
                 payload_sha256, payload_json, service_code, status, received_at, due_date)
             VALUES ('HS-2026-000041', 2026, 41, 'old-key', 'd', '{}', $1, 'received',
                 '2026-03-02T01:00:00Z', '2026-03-09')",
            &[&services[0].code],
        )
        .await
        .unwrap();
    let outcome = store
        .insert_once(application(
            "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a42",
            services[0].code.clone(),
        ))
        .await
        .unwrap();
    match outcome {
        crate::store::InsertOutcome::Created(r) => assert_eq!(r.case_number, "HS-2026-000042"),
        other => panic!("{other:?}"),
    }
}
