//! Citizen credentials: issuing, trust list, revocations (in process via
//! `app()` and over real HTTPS), and the `verify` / `revoke` / `trust-list`
//! CLI commands.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use cds_api::{
    ApiErrorBody, IssueCredential, IssuedCredential, RevocationListBody, RevokedCredential,
    TrustListBody,
};
use cds_backend::credentials::{
    revocations_from_wire, trust_list_from_wire, unix_now, CredentialIssuer,
};
use cds_backend::{app, AppState};
use cds_qr::credential::{verify, RevocationList};
use http_body_util::BodyExt;
use std::process::{Command, Output};
use tower::ServiceExt;

const TOKEN: &str = "test-admin-token-0123456789";

fn state(dir: &std::path::Path) -> AppState {
    let issuer = CredentialIssuer::load_or_create(&dir.join("key.p8")).unwrap();
    AppState::open(&dir.join("db.sqlite3"))
        .unwrap()
        .with_issuer(issuer)
        .with_admin_token(TOKEN)
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

fn issue_req(body: &IssueCredential, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/v1/credentials")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn full(disclosure: &str) -> IssueCredential {
    IssueCredential {
        id_number: "001099012345".into(),
        full_name: "Nguyễn Văn An".into(),
        date_of_birth: "1999-03-15".into(),
        disclosure: disclosure.into(),
        validity_days: None,
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(router: &Router, path: &str) -> T {
    let (status, body) = send(
        router,
        Request::builder().uri(path).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn issue_verify_revoke_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(state(dir.path()));

    let trust_body: TrustListBody = get_json(&router, "/v1/trust-list").await;
    assert_eq!(trust_body.keys.len(), 1);
    assert_eq!(trust_body.keys[0].alg, "ES256");
    let trust = trust_list_from_wire(&trust_body).unwrap();

    let (status, body) = send(&router, issue_req(&full("full"), Some(TOKEN))).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let issued: IssuedCredential = serde_json::from_slice(&body).unwrap();
    assert!(issued.payload.starts_with("CDS1:"));
    assert_eq!(issued.kid, trust_body.keys[0].kid);
    let out = verify(
        &issued.payload,
        &trust,
        &RevocationList::default(),
        unix_now(),
    );
    assert_eq!(out.code(), "valid");
    let claims = out.claims().unwrap();
    assert_eq!(claims.full_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(claims.expires - claims.not_before, 30 * 86_400);

    // Over-18 credential carries no name.
    let (status, body) = send(&router, issue_req(&full("over18"), Some(TOKEN))).await;
    assert_eq!(status, StatusCode::CREATED);
    let over18: IssuedCredential = serde_json::from_slice(&body).unwrap();
    let out = verify(
        &over18.payload,
        &trust,
        &RevocationList::default(),
        unix_now(),
    );
    assert_eq!(out.claims().unwrap().full_name, None);
    assert_eq!(out.claims().unwrap().over_18, Some(true));

    // Revoke the first; the signed list carries it.
    let revoke = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/credentials/{}/revoke", issued.credential_id))
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&router, revoke).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let r: RevokedCredential = serde_json::from_slice(&body).unwrap();
    assert_eq!(r.credential_id, issued.credential_id);

    let list_body: RevocationListBody = get_json(&router, "/v1/revocations").await;
    assert_eq!(list_body.credential_ids, vec![issued.credential_id.clone()]);
    let list = revocations_from_wire(&list_body, &trust).unwrap();
    assert_eq!(
        verify(&issued.payload, &trust, &list, unix_now()).code(),
        "revoked"
    );
    assert_eq!(
        verify(&over18.payload, &trust, &list, unix_now()).code(),
        "valid"
    );

    // A tampered list is refused.
    let mut bad = list_body.clone();
    bad.signed = format!("AA{}", &bad.signed[2..]);
    assert!(revocations_from_wire(&bad, &trust).is_err());
}

#[tokio::test]
async fn issuing_needs_the_admin_token_and_valid_input() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(state(dir.path()));
    let (status, _) = send(&router, issue_req(&full("full"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&router, issue_req(&full("full"), Some("wrong-token"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for (body, needle) in [
        (
            IssueCredential {
                disclosure: "everything".into(),
                ..full("full")
            },
            "disclosure",
        ),
        (
            IssueCredential {
                validity_days: Some(31),
                ..full("full")
            },
            "validity_days",
        ),
        (
            IssueCredential {
                id_number: "003099012345".into(),
                ..full("full")
            },
            "province",
        ),
        (
            IssueCredential {
                date_of_birth: "1999-02-31".into(),
                ..full("full")
            },
            "date",
        ),
        (
            IssueCredential {
                date_of_birth: "2015-01-01".into(),
                ..full("over18")
            },
            "18",
        ),
    ] {
        let (status, resp) = send(&router, issue_req(&body, Some(TOKEN))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        let err: ApiErrorBody = serde_json::from_slice(&resp).unwrap();
        assert!(err.message.contains(needle), "{}", err.message);
    }

    let revoke = |id: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/credentials/{id}/revoke"))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&router, revoke("not-a-uuid")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&router, revoke("7f1c1f5e-4e55-4c3e-9a51-2a4d1c9b8a01"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn without_token_or_key_the_routes_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = CredentialIssuer::load_or_create(&dir.path().join("key.p8")).unwrap();
    let no_token = app(AppState::in_memory().unwrap().with_issuer(issuer));
    let (status, body) = send(&no_token, issue_req(&full("full"), Some(TOKEN))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("no admin token"));

    let no_key = app(AppState::in_memory().unwrap());
    let (status, _) = send(
        &no_key,
        Request::builder()
            .uri("/v1/trust-list")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn the_signing_key_persists_with_private_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/key.p8");
    let a = CredentialIssuer::load_or_create(&path).unwrap();
    let b = CredentialIssuer::load_or_create(&path).unwrap();
    assert_eq!(a.trust_list(), b.trust_list());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(dir.path().join("bad.p8"), b"not a key").unwrap();
    let err = CredentialIssuer::load_or_create(&dir.path().join("bad.p8")).unwrap_err();
    assert!(err.to_string().contains("bad.p8"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https() {
    let city = cds_test_support::TestCity::start().await;
    assert_eq!(city.admin_token(), Some(TOKEN));
    let client = city.client();
    let base = format!("{}/v1", city.url());
    let trust: TrustListBody = client
        .get(format!("{base}/trust-list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .post(format!("{base}/credentials"))
        .bearer_auth(TOKEN)
        .json(&full("name_only"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    let issued: IssuedCredential = resp.json().await.unwrap();
    let revs: RevocationListBody = client
        .get(format!("{base}/revocations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = trust_list_from_wire(&trust).unwrap();
    let list = revocations_from_wire(&revs, &t).unwrap();
    let out = verify(&issued.payload, &t, &list, city.now());
    assert_eq!(out.code(), "valid");
    assert_eq!(out.claims().unwrap().id_number, None);
    city.stop().await;
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cds-backend"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_verify_revoke_and_trust_list() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.p8");
    let db = dir.path().join("db.sqlite3");
    let st = state(dir.path());
    let issued = st
        .issue_credential(full("full"), unix_now())
        .await
        .unwrap()
        .to_wire()
        .unwrap();
    let revs_before = st.revocations(unix_now()).await.unwrap();
    drop(st);
    let key_s = key.to_str().unwrap();

    // trust-list prints the served JSON; verify with it.
    let o = run(&["trust-list", "--signing-key", key_s]);
    assert!(o.status.success(), "{}", text(&o));
    let tl = dir.path().join("trust.json");
    std::fs::write(&tl, &o.stdout).unwrap();
    let _: TrustListBody = serde_json::from_slice(&o.stdout).unwrap();
    let o = run(&[
        "verify",
        &issued.payload,
        "--trust-list",
        tl.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("valid: Hợp lệ / Valid"));
    assert!(text(&o).contains("full_name: Nguyễn Văn An"));

    // Expired, by clock.
    let o = run(&[
        "verify",
        &issued.payload,
        "--signing-key",
        key_s,
        "--now",
        "4102444800",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).starts_with("expired"), "{}", text(&o));

    // Forged: an altered character.
    let mut altered = issued.payload.clone().into_bytes();
    let i = altered.len() - 5;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let o = run(&[
        "verify",
        std::str::from_utf8(&altered).unwrap(),
        "--signing-key",
        key_s,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).starts_with("forged") || text(&o).starts_with("malformed"),
        "{}",
        text(&o)
    );

    // Revoke with the CLI, then verify against the signed list.
    let o = run(&[
        "revoke",
        "--db",
        db.to_str().unwrap(),
        &issued.credential_id,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let st = state(dir.path());
    let revs = st.revocations(unix_now()).await.unwrap();
    assert_ne!(revs.credential_ids, revs_before.credential_ids);
    let rl = dir.path().join("revs.json");
    std::fs::write(&rl, serde_json::to_vec(&revs).unwrap()).unwrap();
    let o = run(&[
        "verify",
        &issued.payload,
        "--signing-key",
        key_s,
        "--revocations",
        rl.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).starts_with("revoked"), "{}", text(&o));

    // From an image of the QR code.
    let img = cds_qr::render::render_image(&issued.payload, 5).unwrap();
    let png = dir.path().join("qr.png");
    img.save(&png).unwrap();
    let o = run(&[
        "verify",
        "--image",
        png.to_str().unwrap(),
        "--signing-key",
        key_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Bad inputs: not an image, no key.
    let o = run(&[
        "verify",
        "--image",
        rl.to_str().unwrap(),
        "--signing-key",
        key_s,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a readable image"), "{}", text(&o));
    let o = run(&[
        "verify",
        "CDS1:X",
        "--signing-key",
        dir.path().join("none.p8").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no signing key"));
}

/// The signed revocation list is signed once per change of its ids, not on
/// every request (ECDSA signatures are randomised, so an identical
/// signature means the list was served from the cache).
#[tokio::test]
async fn the_revocation_list_is_re_signed_only_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let now = unix_now();
    let a = st.revocations(now).await.unwrap();
    let b = st.revocations(now + 60).await.unwrap();
    assert_eq!(a.signed, b.signed, "unchanged: served again");
    assert_eq!(b.issued_at, now, "it says since when it holds");
    let issued = st.issue_credential(full("full"), now).await.unwrap();
    let id = issued.to_wire().unwrap().credential_id;
    st.revoke_credential(&id, now + 61).await.unwrap();
    let c = st.revocations(now + 62).await.unwrap();
    assert_ne!(c.signed, b.signed, "a revocation signs a new list");
    assert_eq!(c.credential_ids, [id]);
    assert_eq!(c.issued_at, now + 62);
    let d = st.revocations(now + 120).await.unwrap();
    assert_eq!(d.signed, c.signed);
}
