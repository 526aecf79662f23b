//! Draining an outbox against a real reference backend over real HTTPS
//! (`cds_test_support::TestCity`: loopback, port 0, a development CA made
//! for the test). The outbox here is in memory; the app's vault-backed one
//! is tested in `cds-app`.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApplicationReceipt, SubmitApplication};
use cds_sync::{drain, CityClient, Outbox, SyncError};
use cds_test_support::{fixtures, TestCity};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// What the outbox holds for one application.
#[derive(Debug, Default, Clone)]
struct Entry {
    receipt: Option<ApplicationReceipt>,
    /// `SyncError::kind()` of every failure, in order.
    failures: Vec<&'static str>,
}

/// An outbox in memory, oldest first, that can be told to fail like a
/// full disk.
#[derive(Default)]
struct MemoryOutbox {
    order: Mutex<Vec<SubmitApplication>>,
    entries: Mutex<HashMap<String, Entry>>,
    broken: Mutex<bool>,
}

#[derive(Debug, PartialEq)]
struct Broken;

impl MemoryOutbox {
    fn with(apps: &[SubmitApplication]) -> MemoryOutbox {
        let outbox = MemoryOutbox::default();
        for a in apps {
            outbox.order.lock().unwrap().push(a.clone());
            outbox
                .entries
                .lock()
                .unwrap()
                .insert(a.idempotency_key.clone(), Entry::default());
        }
        outbox
    }

    fn entry(&self, key: &str) -> Entry {
        self.entries.lock().unwrap()[key].clone()
    }

    fn check(&self) -> Result<(), Broken> {
        if *self.broken.lock().unwrap() {
            Err(Broken)
        } else {
            Ok(())
        }
    }
}

impl Outbox for MemoryOutbox {
    type Error = Broken;

    fn pending(&self) -> Result<Vec<SubmitApplication>, Broken> {
        self.check()?;
        let entries = self.entries.lock().unwrap();
        Ok(self
            .order
            .lock()
            .unwrap()
            .iter()
            .filter(|a| entries[&a.idempotency_key].receipt.is_none())
            .cloned()
            .collect())
    }

    fn delivered(&self, receipt: &ApplicationReceipt) -> Result<(), Broken> {
        self.check()?;
        let mut entries = self.entries.lock().unwrap();
        let entry = entries.get_mut(&receipt.idempotency_key).ok_or(Broken)?;
        entry.receipt = Some(receipt.clone());
        Ok(())
    }

    fn failed(&self, key: &str, error: &SyncError) -> Result<(), Broken> {
        self.check()?;
        let mut entries = self.entries.lock().unwrap();
        entries
            .get_mut(key)
            .ok_or(Broken)?
            .failures
            .push(error.kind());
        Ok(())
    }
}

fn rows(city_db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(city_db).unwrap();
    conn.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))
        .unwrap()
}

fn client_for(url: &str, ca_pem: &str) -> CityClient {
    CityClient::new(url, Some(ca_pem.as_bytes())).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_applications_are_delivered_exactly_once_when_the_city_comes_back() {
    // The city's port is reserved but refuses connections: offline.
    let offline = TestCity::offline();
    let client = client_for(&offline.url(), offline.ca_pem());
    let apps: Vec<_> = (0..3).map(|_| fixtures::application()).collect();
    let outbox = MemoryOutbox::with(&apps);
    let none = HashSet::new();

    // Offline: nothing delivered, the first application carries the
    // unreachable error, the run stopped there, all still pending.
    let report = drain(&outbox, &client, &none).await.unwrap();
    assert!(report.delivered.is_empty());
    assert_eq!(report.still_pending, 3);
    let err = report.error.expect("an error");
    assert!(matches!(err, SyncError::Unreachable { .. }), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(
        outbox.entry(&apps[0].idempotency_key).failures,
        ["backend_unreachable"]
    );
    assert!(outbox.entry(&apps[1].idempotency_key).failures.is_empty());
    assert!(report.rejected.is_empty(), "unreachable is not a refusal");

    // Online: all three delivered, in order, each once.
    let city = offline.start().await;
    let report = drain(&outbox, &client, &none).await.unwrap();
    assert_eq!(report.delivered.len(), 3, "{report:?}");
    for (receipt, app) in report.delivered.iter().zip(&apps) {
        assert_eq!(receipt.idempotency_key, app.idempotency_key);
    }
    assert_eq!(report.still_pending, 0);
    assert!(report.error.is_none());
    assert_eq!(rows(&city.db_path()), 3);
    assert!(outbox.pending().unwrap().is_empty());

    // A lost response: the device retries a key the city already has. It
    // gets the same receipt back and no second row is stored.
    let first = client.submit(&apps[0]).await.unwrap();
    let again = client.submit(&apps[0]).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.case_number, report.delivered[0].case_number);
    assert_eq!(rows(&city.db_path()), 3);

    // Draining an empty outbox does nothing.
    let report = drain(&outbox, &client, &none).await.unwrap();
    assert!(report.delivered.is_empty() && report.error.is_none());
    assert_eq!(rows(&city.db_path()), 3);

    // Status lookups return what the city stored.
    let st = client.application(&first.case_number).await.unwrap();
    assert_eq!(st.status, cds_api::ApplicationStatus::Received);
    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_reported_as_such_and_nothing_is_sent() {
    let city = TestCity::start().await;
    let other = TestCity::offline();
    // Trusting another city's CA: the handshake fails.
    let client = client_for(&city.url(), other.ca_pem());
    let err = client
        .submit(&fixtures::application())
        .await
        .expect_err("an untrusted certificate must fail");
    assert!(matches!(err, SyncError::TlsUntrusted { .. }), "{err:?}");
    assert_eq!(err.kind(), "tls_untrusted");
    assert_eq!(rows(&city.db_path()), 0);

    // Trusting the right CA works against the same server, by IP too.
    let good = client_for(&format!("https://{}", city.addr()), city.ca_pem());
    assert_eq!(good.health().await.unwrap().status, "ok");
    assert!(good.services().await.unwrap().len() >= 5);
    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_application_stays_queued_with_the_reason() {
    let city = TestCity::start().await;
    let client = client_for(&city.url(), city.ca_pem());
    let mut bad = fixtures::application();
    bad.service_code = "9.999999".into();
    let good = fixtures::application();
    let outbox = MemoryOutbox::with(&[bad.clone(), good.clone()]);

    let report = drain(&outbox, &client, &HashSet::new()).await.unwrap();
    // The definite rejection does not block the next application.
    assert_eq!(report.delivered.len(), 1);
    assert_eq!(report.delivered[0].idempotency_key, good.idempotency_key);
    assert_eq!(report.still_pending, 1);
    let err = report.error.expect("the refusal");
    assert!(
        matches!(
            err,
            SyncError::Rejected {
                status: 400..=499,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(
        outbox.entry(&bad.idempotency_key).failures,
        ["backend_rejected"]
    );
    let pending = outbox.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].idempotency_key, bad.idempotency_key);
    assert_eq!(report.rejected, [bad.idempotency_key.clone()]);

    // Held back, it is not sent again: no error, nothing delivered, and it
    // is still pending.
    let held = HashSet::from([bad.idempotency_key.clone()]);
    let report = drain(&outbox, &client, &held).await.unwrap();
    assert!(report.error.is_none());
    assert!(report.delivered.is_empty() && report.rejected.is_empty());
    assert_eq!(report.still_pending, 1);
    assert_eq!(outbox.entry(&bad.idempotency_key).failures.len(), 1);

    // Without holding, it is tried (and refused) again.
    let report = drain(&outbox, &client, &HashSet::new()).await.unwrap();
    assert_eq!(report.rejected, [bad.idempotency_key.clone()]);
    assert_eq!(outbox.entry(&bad.idempotency_key).failures.len(), 2);
    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outboxs_own_failure_ends_the_run_and_nothing_is_lost() {
    let city = TestCity::start().await;
    let client = client_for(&city.url(), city.ca_pem());
    let app = fixtures::application();
    let outbox = MemoryOutbox::with(std::slice::from_ref(&app));
    *outbox.broken.lock().unwrap() = true;
    let err = drain(&outbox, &client, &HashSet::new())
        .await
        .expect_err("a broken outbox is reported");
    assert_eq!(err, Broken);
    // Nothing was sent: the outbox could not even be read.
    assert_eq!(rows(&city.db_path()), 0);
    // Repaired, the application goes out.
    *outbox.broken.lock().unwrap() = false;
    let report = drain(&outbox, &client, &HashSet::new()).await.unwrap();
    assert_eq!(report.delivered.len(), 1);
    assert!(outbox.entry(&app.idempotency_key).receipt.is_some());
    city.stop().await;
}
