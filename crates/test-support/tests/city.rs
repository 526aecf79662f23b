//! The test city itself: port 0 read back, offline means refused, a restart
//! keeps the port and the data, the clock is the backend's, drop stops it.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApiErrorBody, ApiErrorKind, ApplicationReceipt, CredentialBundle, Health};
use cds_test_support::{fixtures, TestCity, ADMIN_TOKEN};
use time::Duration;

async fn health(city_url: &str, client: &reqwest::Client) -> reqwest::Result<Health> {
    client
        .get(format!("{city_url}/v1/health"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_city_serves_https_on_the_port_it_bound() {
    let city = TestCity::start().await;
    assert_ne!(city.port(), 0);
    assert_eq!(city.url(), format!("https://localhost:{}", city.port()));
    assert!(city.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(city.admin_token(), Some(ADMIN_TOKEN));
    assert!(city.db_path().starts_with(city.dir()));
    assert_eq!(
        health(&city.url(), &city.client()).await.unwrap().status,
        "ok"
    );
    // By address too (the certificate names 127.0.0.1).
    let by_ip = format!("https://127.0.0.1:{}", city.port());
    assert_eq!(health(&by_ip, &city.client()).await.unwrap().status, "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_refuses_until_started_then_stop_and_start_keep_port_and_data() {
    let offline = TestCity::offline();
    let client = offline.client();
    let url = offline.url();
    let err = health(&url, &client).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    let city = offline.start().await;
    assert_eq!(city.url(), url);
    let resp = client
        .post(format!("{url}/v1/applications"))
        .header(cds_api::IDEMPOTENCY_HEADER, "")
        .json(&fixtures::application())
        .send()
        .await
        .unwrap();
    // The header must match the body: the city is the real backend.
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
    let app = fixtures::application();
    let resp = client
        .post(format!("{url}/v1/applications"))
        .header(cds_api::IDEMPOTENCY_HEADER, &app.idempotency_key)
        .json(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let receipt: ApplicationReceipt = resp.json().await.unwrap();

    let offline = city.stop().await;
    assert!(health(&url, &client).await.unwrap_err().is_connect());
    let city = offline.start().await;
    assert_eq!(city.url(), url, "same port after a restart");
    assert_eq!(
        city.state()
            .application(&receipt.case_number)
            .await
            .unwrap(),
        receipt
    );
    let city = city.restart().await;
    assert_eq!(city.state().application_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_city_runs_on_its_manual_clock() {
    let city = TestCity::start().await;
    let code = city.enroll(&fixtures::adult_citizen()).await;
    let before = city.now();
    city.clock().advance(Duration::minutes(20));
    assert_eq!(city.now(), before + 20 * 60);
    let resp = city
        .client()
        .post(format!("{}/v1/credentials/claim", city.url()))
        .json(&fixtures::claim(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::GONE);
    let body: ApiErrorBody = resp.json().await.unwrap();
    assert_eq!(body.kind, ApiErrorKind::CodeExpired);

    let code = city.enroll(&fixtures::minor_citizen()).await;
    let resp = city
        .client()
        .post(format!("{}/v1/credentials/claim", city.url()))
        .json(&fixtures::claim(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let bundle: CredentialBundle = resp.json().await.unwrap();
    let kinds: Vec<&str> = bundle
        .credentials
        .iter()
        .map(|c| c.disclosure.code())
        .collect();
    assert_eq!(kinds, ["full", "name_only"], "a minor gets no over18");
}

#[tokio::test(flavor = "multi_thread")]
async fn builder_options_reach_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let city = TestCity::builder()
        .dir(dir.path().join("city"))
        .without_issuer()
        .without_admin_token()
        .start()
        .await;
    assert!(city.dir().starts_with(dir.path()));
    assert_eq!(city.admin_token(), None);
    let resp = city
        .client()
        .get(format!("{}/v1/trust-list", city.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_city_stops_it() {
    let city = TestCity::start().await;
    let (url, client) = (city.url(), city.client());
    health(&url, &client).await.unwrap();
    drop(city);
    // Abort is asynchronous: the listener closes once the task is gone.
    let mut refused = false;
    for _ in 0..200 {
        match health(&url, &client).await {
            Err(e) if e.is_connect() => {
                refused = true;
                break;
            }
            _ => tokio::task::yield_now().await,
        }
    }
    assert!(refused, "the city still answers after drop");
}
