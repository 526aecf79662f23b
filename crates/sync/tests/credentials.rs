//! Citizen credentials against the real reference backend over real HTTPS
//! (`cds_test_support::TestCity`: loopback, port 0, a development CA made
//! for the test): enrol, claim, refresh, sign out, and how the failures
//! reach the app.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::ApiErrorKind;
use cds_backend::cds_qr::credential::{verify, Verification};
use cds_backend::credentials::{revocations_from_wire, trust_list_from_wire};
use cds_backend::enrollment::MAX_FAILED_CLAIMS;
use cds_sync::{CityClient, SyncError};
use cds_test_support::fixtures::{adult_citizen, claim};
use cds_test_support::TestCity;

fn client_of(city: &TestCity) -> CityClient {
    CityClient::new(&city.url(), Some(city.ca_pem().as_bytes())).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_claim_refresh_and_forget_over_https() {
    let city = TestCity::start().await;
    let client = client_of(&city);

    let citizen = adult_citizen();
    let code = city.enroll(&citizen).await;
    let bundle = client.claim_credentials(&claim(&code)).await.unwrap();
    let token = bundle.device_token.clone().unwrap();
    assert_eq!(bundle.subject_number, citizen.number);
    assert_eq!(bundle.full_name, citizen.full_name);

    // The app checks what it got against the city's published lists.
    let trust = trust_list_from_wire(&client.trust_list().await.unwrap()).unwrap();
    let revoked = revocations_from_wire(&client.revocations().await.unwrap(), &trust).unwrap();
    let got: Vec<_> = bundle
        .credentials
        .iter()
        .map(|c| match verify(&c.text, &trust, &revoked, city.now()) {
            Verification::Valid(claims) => claims.disclosure.code().to_owned(),
            other => panic!("{:?}: {}", c.disclosure, other.message()),
        })
        .collect();
    assert_eq!(got, ["full", "over18", "name_only"]);

    let fresh = client.refresh_credentials(&token).await.unwrap();
    assert_eq!(fresh.device_token, None);
    assert_eq!(fresh.credentials.len(), 3);
    assert_ne!(
        fresh.credentials[0].credential_id,
        bundle.credentials[0].credential_id
    );

    // The same code a second time: the server's kind and words reach the app.
    match client.claim_credentials(&claim(&code)).await {
        Err(e @ SyncError::Rejected { status: 409, .. }) => {
            let (kind, message) = e.server_error().unwrap();
            assert_eq!(kind, ApiErrorKind::CodeUsed);
            assert!(message.contains("already used"), "{message}");
            assert_eq!(e.kind(), "backend_rejected");
            assert!(!e.is_transient());
        }
        other => panic!("expected code_used, got {other:?}"),
    }

    client.forget_device(&token).await.unwrap();
    let err = client.refresh_credentials(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Rejected {
                status: 401,
                kind: ApiErrorKind::Unauthorized,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "unauthorized");
    assert!(!err.is_transient());
    let err = client.forget_device(&token).await.unwrap_err();
    assert_eq!(err.kind(), "unauthorized");

    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_codes_then_the_rate_limit_reach_the_app_as_such() {
    let city = TestCity::start().await;
    let client = client_of(&city);

    for _ in 0..MAX_FAILED_CLAIMS {
        let err = client
            .claim_credentials(&claim("ZZZZ-ZZZZ"))
            .await
            .unwrap_err();
        let (kind, message) = err.server_error().unwrap();
        assert_eq!(kind, ApiErrorKind::InvalidCode, "{err:?}");
        assert!(message.contains("ZZZZ-ZZZZ"), "{message}");
    }
    let e = client
        .claim_credentials(&claim("ZZZZ-ZZZZ"))
        .await
        .unwrap_err();
    match &e {
        SyncError::Rejected {
            status: 429,
            kind: ApiErrorKind::RateLimited,
            retry_after_secs,
            ..
        } => assert!(
            matches!(retry_after_secs, Some(1..=60)),
            "{retry_after_secs:?}"
        ),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    assert_eq!(e.kind(), "rate_limited");
    assert!(e.is_transient());
    city.stop().await;
}
