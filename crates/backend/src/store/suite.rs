//! The one store test suite, written against the traits and run for every
//! implementation (the idea of matrix-rust-sdk's store integration tests):
//! an implementation's tests call [`store_suite!`] with a block that makes
//! a fresh, empty store (and anything that must live as long, such as a
//! temporary directory), and get one `#[tokio::test]` per function below.
//!
//! Each function states part of a trait's contract. A new store passes
//! when every one of them passes against it, unchanged.

use super::*;
use std::sync::Arc;

/// Instantiates the suite for one store. The block evaluates to
/// `(store, guard)`; it may `.await`.
macro_rules! store_suite {
    ($make:block) => {
        mod store_suite {
            #[allow(unused_imports)]
            use super::*;

            async fn make() -> (
                std::sync::Arc<dyn $crate::store::Store>,
                Box<dyn std::any::Any + Send>,
            ) {
                let (store, guard) = $make;
                (std::sync::Arc::new(store), Box::new(guard))
            }

            $crate::store::suite::store_suite!(@tests
                schema_is_current,
                the_catalogue_is_seeded_once_and_listed_by_code,
                same_key_and_payload_give_the_same_receipt,
                same_key_with_another_payload_reports_the_stored_digest,
                case_numbers_count_up_per_year,
                concurrent_inserts_of_one_key_store_one_row,
                concurrent_inserts_of_different_keys_get_different_numbers,
                status_changes_update_the_receipt_and_the_history,
                enrollment_codes_are_unique,
                a_code_is_claimed_once_and_not_after_it_expires,
                concurrent_claims_of_one_code_have_one_winner,
                the_claim_guard_counts_within_its_window,
                concurrent_attempts_never_pass_the_guard_limit,
                devices_refresh_until_they_are_forgotten,
                revocation_keeps_the_first_time_and_lists_unexpired_ids
            );
        }
    };
    (@tests $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard) = make().await;
                $crate::store::suite::$name(store).await;
            }
        )*
    };
}
pub(crate) use store_suite;

type S = Arc<dyn Store>;

const KEY1: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01";
const KEY2: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a02";

fn catalogue() -> Vec<ServiceInfo> {
    cds_api::seed_catalogue().unwrap()
}

async fn seeded(store: &S) -> String {
    store.seed_services_if_empty(catalogue()).await.unwrap();
    catalogue()[0].code.clone()
}

fn new_app(service: &str, key: &str, digest: &str, year: i32) -> NewApplication {
    NewApplication {
        idempotency_key: key.into(),
        payload_sha256: digest.into(),
        payload_json: format!("{{\"k\":\"{key}\"}}"),
        service_code: service.into(),
        status: ApplicationStatus::Received,
        received_at: format!("{year}-03-02T01:00:00Z"),
        due_date: format!("{year}-03-03"),
        case_year: year,
    }
}

fn created(outcome: InsertOutcome) -> ApplicationReceipt {
    match outcome {
        InsertOutcome::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn subject() -> Subject {
    Subject {
        id_number: "001099012345".into(),
        full_name: "Trần Thị Bích".into(),
        date_of_birth: "1988-11-30".into(),
    }
}

fn enrollment(code: &str, expires_at: i64) -> NewEnrollment {
    NewEnrollment {
        code_sha256: code.into(),
        subject: subject(),
        created_at: expires_at - 900,
        expires_at,
    }
}

fn device(token: &str) -> NewDevice {
    NewDevice {
        token_sha256: token.into(),
        device_name: "Pixel 8 của An".into(),
    }
}

fn record(id_suffix: u32, expires: i64) -> CredentialRecord {
    CredentialRecord {
        credential_id: format!("7f1c1f5e-4e55-4c3e-9a51-2a4d1c9b{id_suffix:04}"),
        kid: "kid".into(),
        disclosure: "full".into(),
        id_number: "001099012345".into(),
        issued_at: 100,
        expires,
    }
}

pub(crate) async fn schema_is_current(store: S) {
    assert_eq!(
        store.schema_version().await.unwrap(),
        store.latest_schema_version()
    );
    assert_eq!(store.ready().await.unwrap(), store.latest_schema_version());
}

pub(crate) async fn the_catalogue_is_seeded_once_and_listed_by_code(store: S) {
    assert!(store.services().await.unwrap().is_empty());
    assert!(store.seed_services_if_empty(catalogue()).await.unwrap());
    assert!(!store.seed_services_if_empty(catalogue()).await.unwrap());
    let mut expected = catalogue();
    expected.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(store.services().await.unwrap(), expected);
    assert_eq!(
        store.service(&expected[0].code).await.unwrap().as_ref(),
        Some(&expected[0])
    );
    assert_eq!(store.service("9.999999").await.unwrap(), None);
}

pub(crate) async fn same_key_and_payload_give_the_same_receipt(store: S) {
    let service = seeded(&store).await;
    let first = created(
        store
            .insert_once(new_app(&service, KEY1, "d1", 2026))
            .await
            .unwrap(),
    );
    assert_eq!(first.case_number, "HS-2026-000001");
    assert_eq!(first.status, ApplicationStatus::Received);
    assert_eq!(first.service_code, service);
    match store
        .insert_once(new_app(&service, KEY1, "d1", 2026))
        .await
        .unwrap()
    {
        InsertOutcome::Existing {
            receipt,
            payload_sha256,
        } => {
            assert_eq!(receipt, first);
            assert_eq!(payload_sha256, "d1");
        }
        other => panic!("expected Existing, got {other:?}"),
    }
    assert_eq!(store.application_count().await.unwrap(), 1);
    assert_eq!(
        store.application(&first.case_number).await.unwrap(),
        Some(first)
    );
    assert_eq!(store.application("HS-2000-999999").await.unwrap(), None);
}

pub(crate) async fn same_key_with_another_payload_reports_the_stored_digest(store: S) {
    let service = seeded(&store).await;
    let first = created(
        store
            .insert_once(new_app(&service, KEY1, "d1", 2026))
            .await
            .unwrap(),
    );
    // The rules turn this into 409 idempotency_conflict; the store only
    // must not write and must say what it holds.
    match store
        .insert_once(new_app(&service, KEY1, "other", 2026))
        .await
        .unwrap()
    {
        InsertOutcome::Existing {
            receipt,
            payload_sha256,
        } => {
            assert_eq!(receipt, first);
            assert_eq!(payload_sha256, "d1");
        }
        other => panic!("expected Existing, got {other:?}"),
    }
    assert_eq!(store.application_count().await.unwrap(), 1);
}

pub(crate) async fn case_numbers_count_up_per_year(store: S) {
    let service = seeded(&store).await;
    let mut numbers = Vec::new();
    for (i, year) in [2026, 2026, 2027, 2026].into_iter().enumerate() {
        let key = format!("0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1b{i:02}");
        let r = created(
            store
                .insert_once(new_app(&service, &key, "d", year))
                .await
                .unwrap(),
        );
        numbers.push(r.case_number);
    }
    assert_eq!(
        numbers,
        [
            "HS-2026-000001",
            "HS-2026-000002",
            "HS-2027-000001",
            "HS-2026-000003"
        ]
    );
}

pub(crate) async fn concurrent_inserts_of_one_key_store_one_row(store: S) {
    let service = seeded(&store).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let new = new_app(&service, KEY1, "d1", 2026);
            tokio::spawn(async move { store.insert_once(new).await.unwrap() })
        })
        .collect();
    let mut created_count = 0;
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        match t.await.unwrap() {
            InsertOutcome::Created(r) => {
                created_count += 1;
                numbers.insert(r.case_number);
            }
            InsertOutcome::Existing { receipt, .. } => {
                numbers.insert(receipt.case_number);
            }
        }
    }
    assert_eq!(created_count, 1);
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    assert_eq!(store.application_count().await.unwrap(), 1);
}

pub(crate) async fn concurrent_inserts_of_different_keys_get_different_numbers(store: S) {
    let service = seeded(&store).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let key = format!("0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1c{i:02}");
            let new = new_app(&service, &key, "d", 2026);
            tokio::spawn(async move { created(store.insert_once(new).await.unwrap()) })
        })
        .collect();
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        numbers.insert(t.await.unwrap().case_number);
    }
    let expected: std::collections::BTreeSet<String> =
        (1..=8).map(|n| format!("HS-2026-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

pub(crate) async fn status_changes_update_the_receipt_and_the_history(store: S) {
    let service = seeded(&store).await;
    let r = created(
        store
            .insert_once(new_app(&service, KEY1, "d", 2026))
            .await
            .unwrap(),
    );
    let other = created(
        store
            .insert_once(new_app(&service, KEY2, "d", 2026))
            .await
            .unwrap(),
    );
    assert!(store
        .status_history(&r.case_number)
        .await
        .unwrap()
        .is_empty());
    let t1 = "2026-03-03T02:00:00Z".to_owned();
    let t2 = "2026-03-04T02:00:00Z".to_owned();
    let updated = store
        .set_status(&r.case_number, ApplicationStatus::InReview, t1.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.status, ApplicationStatus::InReview);
    store
        .set_status(&r.case_number, ApplicationStatus::Approved, t2.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .application(&r.case_number)
            .await
            .unwrap()
            .unwrap()
            .status,
        ApplicationStatus::Approved
    );
    assert_eq!(
        store.status_history(&r.case_number).await.unwrap(),
        [
            StatusChange {
                status: ApplicationStatus::InReview,
                changed_at: t1
            },
            StatusChange {
                status: ApplicationStatus::Approved,
                changed_at: t2
            }
        ]
    );
    // Another case is untouched.
    assert!(store
        .status_history(&other.case_number)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .set_status("HS-2000-999999", ApplicationStatus::Approved, "x".into())
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn enrollment_codes_are_unique(store: S) {
    assert!(store
        .insert_enrollment(enrollment("c1", 1000))
        .await
        .unwrap());
    assert!(!store
        .insert_enrollment(enrollment("c1", 2000))
        .await
        .unwrap());
    assert_eq!(
        store.enrollment_by_code("c1").await.unwrap(),
        Some(Enrollment {
            subject: subject(),
            expires_at: 1000,
            claimed_at: None
        })
    );
    assert_eq!(store.enrollment_by_code("c2").await.unwrap(), None);
}

pub(crate) async fn a_code_is_claimed_once_and_not_after_it_expires(store: S) {
    store
        .insert_enrollment(enrollment("c1", 1000))
        .await
        .unwrap();
    store
        .insert_enrollment(enrollment("c2", 1000))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_code("nope", 10, device("t0"), vec![])
            .await
            .unwrap(),
        ClaimOutcome::Unknown
    );
    let claimed = store
        .claim_code("c1", 999, device("t1"), vec![record(1, 5000)])
        .await
        .unwrap();
    let ClaimOutcome::Claimed { device: id } = claimed else {
        panic!("expected Claimed, got {claimed:?}");
    };
    assert_eq!(
        store
            .enrollment_by_code("c1")
            .await
            .unwrap()
            .unwrap()
            .claimed_at,
        Some(999)
    );
    assert_eq!(
        store.active_device("t1").await.unwrap(),
        Some(Device {
            id,
            subject: subject()
        })
    );
    // The credentials recorded with the claim can be revoked.
    assert_eq!(
        store
            .revoke_credential(&record(1, 5000).credential_id, 1001)
            .await
            .unwrap(),
        Some(1001)
    );
    assert_eq!(
        store
            .claim_code("c1", 999, device("t2"), vec![record(2, 5000)])
            .await
            .unwrap(),
        ClaimOutcome::AlreadyUsed
    );
    // At the expiry instant the code no longer works; nothing is written.
    assert_eq!(
        store
            .claim_code("c2", 1000, device("t3"), vec![record(3, 5000)])
            .await
            .unwrap(),
        ClaimOutcome::Expired { expires_at: 1000 }
    );
    assert_eq!(store.active_device("t2").await.unwrap(), None);
    assert_eq!(store.active_device("t3").await.unwrap(), None);
    assert_eq!(
        store
            .revoke_credential(&record(3, 5000).credential_id, 1001)
            .await
            .unwrap(),
        None,
        "a refused claim records no credentials"
    );
}

pub(crate) async fn concurrent_claims_of_one_code_have_one_winner(store: S) {
    store
        .insert_enrollment(enrollment("c1", 1000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .claim_code("c1", 10, device(&format!("t{i}")), vec![record(i, 5000)])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            ClaimOutcome::Claimed { .. } => winners += 1,
            ClaimOutcome::AlreadyUsed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
}

pub(crate) async fn the_claim_guard_counts_within_its_window(store: S) {
    let admitted = |a: Admission| match a {
        Admission::Admitted(id) => id,
        other => panic!("expected Admitted, got {other:?}"),
    };
    for _ in 0..3 {
        admitted(store.admit_claim_attempt(1000, 60, 3).await.unwrap());
    }
    assert_eq!(
        store.admit_claim_attempt(1030, 60, 3).await.unwrap(),
        Admission::Refused { oldest_at: 1000 }
    );
    // At 1060 the attempts of 1000 have left the window.
    let last = admitted(store.admit_claim_attempt(1060, 60, 3).await.unwrap());
    admitted(store.admit_claim_attempt(1061, 60, 3).await.unwrap());
    admitted(store.admit_claim_attempt(1062, 60, 3).await.unwrap());
    assert_eq!(
        store.admit_claim_attempt(1063, 60, 3).await.unwrap(),
        Admission::Refused { oldest_at: 1060 }
    );
    // A released (successful) attempt gives its slot back.
    store.release_claim_attempt(last).await.unwrap();
    admitted(store.admit_claim_attempt(1063, 60, 3).await.unwrap());
}

pub(crate) async fn concurrent_attempts_never_pass_the_guard_limit(store: S) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.admit_claim_attempt(500, 60, 10).await.unwrap() })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Admission::Admitted(_)) {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10);
}

pub(crate) async fn devices_refresh_until_they_are_forgotten(store: S) {
    store
        .insert_enrollment(enrollment("c1", 1000))
        .await
        .unwrap();
    assert_eq!(store.active_device("t1").await.unwrap(), None);
    let ClaimOutcome::Claimed { device: id } = store
        .claim_code("c1", 10, device("t1"), vec![])
        .await
        .unwrap()
    else {
        panic!("not claimed");
    };
    assert!(store
        .record_refresh(id, 20, vec![record(7, 5000)])
        .await
        .unwrap());
    assert_eq!(
        store
            .revoke_credential(&record(7, 5000).credential_id, 30)
            .await
            .unwrap(),
        Some(30),
        "refreshed credentials are recorded"
    );
    assert!(!store.forget_device("unknown", 40).await.unwrap());
    assert!(store.forget_device("t1", 40).await.unwrap());
    assert!(!store.forget_device("t1", 41).await.unwrap());
    assert_eq!(store.active_device("t1").await.unwrap(), None);
    assert!(!store
        .record_refresh(id, 50, vec![record(8, 5000)])
        .await
        .unwrap());
    assert_eq!(
        store
            .revoke_credential(&record(8, 5000).credential_id, 60)
            .await
            .unwrap(),
        None,
        "a refused refresh records nothing"
    );
}

pub(crate) async fn revocation_keeps_the_first_time_and_lists_unexpired_ids(store: S) {
    store.insert_credential(record(3, 5000)).await.unwrap();
    store.insert_credential(record(1, 5000)).await.unwrap();
    store.insert_credential(record(2, 150)).await.unwrap();
    store.insert_credential(record(4, 5000)).await.unwrap();
    assert_eq!(
        store.revoke_credential("no-such-id", 10).await.unwrap(),
        None
    );
    for i in [3, 1, 2] {
        assert_eq!(
            store
                .revoke_credential(&record(i, 0).credential_id, 100)
                .await
                .unwrap(),
            Some(100)
        );
    }
    assert_eq!(
        store
            .revoke_credential(&record(3, 0).credential_id, 200)
            .await
            .unwrap(),
        Some(100),
        "revoking again keeps the first time"
    );
    // At 200 credential 2 has expired (150) and 4 was never revoked.
    assert_eq!(
        store.revoked_ids(200).await.unwrap(),
        [record(1, 0).credential_id, record(3, 0).credential_id]
    );
    assert_eq!(store.revoked_ids(100).await.unwrap().len(), 3);
}
