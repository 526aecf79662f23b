//! The outbox against a real reference backend over real HTTPS (loopback,
//! port 0, a development CA made for the test).

use cds_api::{Applicant, DocumentKind, DocumentRef, SubmitApplication};
use cds_backend::{serve, tls::ensure_dev_tls, AppState};
use cds_sync::{drain_outbox, drain_outbox_except, CityClient, SyncError};
use cds_vault::{MemoryKeyStore, Vault};
use std::net::TcpListener;
use std::sync::Mutex;
use tokio::sync::oneshot;

struct Server {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(dir: &std::path::Path, port: u16) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls = ensure_dev_tls(&dir.join("tls")).unwrap();
        let state = AppState::open(&dir.join("backend.sqlite3")).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, state, &tls, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            port,
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

fn rows(dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("backend.sqlite3")).unwrap();
    conn.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))
        .unwrap()
}

fn application(n: u32) -> SubmitApplication {
    SubmitApplication {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        service_code: "1.001612".into(),
        applicant: Applicant {
            id_number: "048095001234".into(),
            full_name: format!("Lê Văn Số {n}"),
            date_of_birth: "1995-08-15".into(),
        },
        documents: vec![DocumentRef {
            kind: DocumentKind::Cccd,
            number: "048095001234".into(),
            full_name: format!("Lê Văn Số {n}"),
            date_of_birth: "1995-08-15".into(),
            attachment_count: 0,
        }],
        submitted_at: "2026-11-28T08:00:00Z".into(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_applications_are_delivered_exactly_once_when_the_city_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    // The CA exists before the server runs, like a city CA shipped with the app.
    let tls = ensure_dev_tls(&dir.path().join("tls")).unwrap();
    let port = free_port();
    let client = CityClient::new(
        &format!("https://localhost:{port}"),
        Some(tls.ca_cert_pem.as_bytes()),
    )
    .unwrap();
    let keys = MemoryKeyStore::default();
    let vault = Mutex::new(Vault::open(&dir.path().join("vault.sqlite3"), &keys).unwrap());
    let apps: Vec<_> = (0..3).map(application).collect();
    for a in &apps {
        vault.lock().unwrap().enqueue_application(a).unwrap();
    }

    // Offline: nothing delivered, the error says unreachable, all still queued.
    let report = drain_outbox(&vault, &client).await.unwrap();
    assert!(report.delivered.is_empty());
    assert_eq!(report.still_pending, 3);
    assert_eq!(
        report.error.as_ref().map(|e| e.0),
        Some("backend_unreachable")
    );
    let listed = vault.lock().unwrap().list_applications().unwrap();
    assert!(listed.iter().any(|r| r.last_error.is_some()));

    // Online: all three delivered, in order, each once.
    let server = Server::start(dir.path(), port).await;
    let report = drain_outbox(&vault, &client).await.unwrap();
    assert_eq!(report.delivered.len(), 3, "{report:?}");
    assert_eq!(report.still_pending, 0);
    assert!(report.error.is_none());
    assert_eq!(rows(dir.path()), 3);
    assert!(vault
        .lock()
        .unwrap()
        .pending_applications()
        .unwrap()
        .is_empty());

    // A lost response: the device retries a key the city already has. It
    // gets the same receipt back and no second row is stored.
    let first = client.submit(&apps[0]).await.unwrap();
    let again = client.submit(&apps[0]).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.case_number, report.delivered[0].case_number);
    assert_eq!(rows(dir.path()), 3);

    // Draining an empty outbox does nothing.
    let report = drain_outbox(&vault, &client).await.unwrap();
    assert!(report.delivered.is_empty() && report.error.is_none());
    assert_eq!(rows(dir.path()), 3);

    // Status lookups return what the city stored.
    let st = client.application(&first.case_number).await.unwrap();
    assert_eq!(st.status, cds_api::ApplicationStatus::Received);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_reported_as_such_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let other = ensure_dev_tls(&dir.path().join("other-ca")).unwrap();
    let client = CityClient::new(
        &format!("https://localhost:{}", server.port),
        Some(other.ca_cert_pem.as_bytes()),
    )
    .unwrap();
    let err = client.submit(&application(1)).await.unwrap_err();
    assert!(matches!(err, SyncError::TlsUntrusted { .. }), "{err:?}");
    assert_eq!(err.kind(), "tls_untrusted");
    assert_eq!(rows(dir.path()), 0);

    // Trusting the right CA works against the same server.
    let tls = ensure_dev_tls(&dir.path().join("tls")).unwrap();
    let good = CityClient::new(
        &format!("https://127.0.0.1:{}", server.port),
        Some(tls.ca_cert_pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(good.health().await.unwrap().status, "ok");
    assert!(good.services().await.unwrap().len() >= 5);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_application_stays_queued_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let tls = ensure_dev_tls(&dir.path().join("tls")).unwrap();
    let client = CityClient::new(
        &format!("https://localhost:{}", server.port),
        Some(tls.ca_cert_pem.as_bytes()),
    )
    .unwrap();
    let keys = MemoryKeyStore::default();
    let vault = Mutex::new(Vault::open(&dir.path().join("vault.sqlite3"), &keys).unwrap());
    let mut bad = application(1);
    bad.service_code = "9.999999".into();
    let good = application(2);
    vault.lock().unwrap().enqueue_application(&bad).unwrap();
    vault.lock().unwrap().enqueue_application(&good).unwrap();
    let report = drain_outbox(&vault, &client).await.unwrap();
    // The definite rejection does not block the next application.
    assert_eq!(report.delivered.len(), 1);
    assert_eq!(report.delivered[0].idempotency_key, good.idempotency_key);
    assert_eq!(report.still_pending, 1);
    assert_eq!(report.error.as_ref().map(|e| e.0), Some("backend_rejected"));
    let pending = vault.lock().unwrap().pending_applications().unwrap();
    assert_eq!(pending[0].idempotency_key, bad.idempotency_key);
    assert_eq!(report.rejected, [bad.idempotency_key.clone()]);
    // Held back, it is not sent again: no error, nothing delivered, and it
    // is still queued.
    let held = std::collections::HashSet::from([bad.idempotency_key.clone()]);
    let report = drain_outbox_except(&vault, &client, &held).await.unwrap();
    assert_eq!(report.error, None);
    assert!(report.delivered.is_empty() && report.rejected.is_empty());
    assert_eq!(report.still_pending, 1);
    // Without holding, it is tried (and refused) again.
    let report = drain_outbox(&vault, &client).await.unwrap();
    assert_eq!(report.rejected, [bad.idempotency_key.clone()]);
    server.stop().await;
}
