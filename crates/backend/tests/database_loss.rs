//! PostgreSQL going away: at start-up (the backend answers 503 and says
//! "not ready" until it can migrate, then serves) and in the middle of a
//! request (the request gets a 503 and no half-written change is left:
//! every cut is made at a different point of the conversation with the
//! database, by a proxy between the backend and the server).
//!
//! Needs the test PostgreSQL server `cargo xtask test` starts
//! (`CDS_TEST_PG`, libpq style without a database name).

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use cds_api::{
    Applicant, ApplicationStatus, DocumentKind, DocumentRef, SubmitApplication, IDEMPOTENCY_HEADER,
};
use cds_backend::store::postgres::PgStore;
use cds_backend::{app, AppState, BackendError};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tower::ServiceExt;

use cds_test_support::pg::{self, conninfo_value, server};

/// A TCP proxy in front of the test server's Unix socket that can cut
/// every connection after a number of further client writes.
struct Proxy {
    port: u16,
    /// Client-to-server writes still allowed; `usize::MAX` is "no limit".
    allowance: Arc<AtomicUsize>,
    /// Bumped to make every open connection close now.
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start() -> Proxy {
        let host = conninfo_value(&server(), "host").expect("CDS_TEST_PG names a socket dir");
        let port = conninfo_value(&server(), "port").unwrap_or_else(|| "5432".into());
        let socket = std::path::Path::new(&host).join(format!(".s.PGSQL.{port}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let allowance = Arc::new(AtomicUsize::new(usize::MAX));
        let (cut, _) = watch::channel(0u64);
        let (a, c) = (Arc::clone(&allowance), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (socket, a, mut cut) = (socket.clone(), Arc::clone(&a), c.subscribe());
                tokio::spawn(async move {
                    let Ok(upstream) = tokio::net::UnixStream::connect(&socket).await else {
                        return;
                    };
                    let (cr, mut cw) = client.into_split();
                    let (mut ur, uw) = upstream.into_split();
                    let up = forward_limited(cr, uw, a);
                    let down = async {
                        let _ = tokio::io::copy(&mut ur, &mut cw).await;
                    };
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            allowance,
            cut,
        }
    }

    fn conninfo(&self, dbname: &str) -> String {
        let user = conninfo_value(&server(), "user").unwrap_or_else(|| "postgres".into());
        format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname}",
            self.port
        )
    }

    /// Cut every connection after `writes` more client writes (all of
    /// them at once when the allowance runs out).
    fn cut_after(&self, writes: usize) {
        self.allowance.store(writes, Ordering::SeqCst);
    }

    fn cut_now(&self) {
        self.allowance.store(0, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn heal(&self) {
        self.allowance.store(usize::MAX, Ordering::SeqCst);
    }
}

/// Copies the client's bytes to the server while the allowance lasts;
/// with none left, returns (which closes the connection) instead of
/// passing the write on.
async fn forward_limited(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::unix::OwnedWriteHalf,
    allowance: Arc<AtomicUsize>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        let left = allowance.load(Ordering::SeqCst);
        if left != usize::MAX {
            if left == 0 {
                return;
            }
            allowance.fetch_sub(1, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn submission(key: &str, n: usize) -> SubmitApplication {
    let name = format!("Người Thử {n}");
    SubmitApplication {
        idempotency_key: key.to_owned(),
        service_code: "1.001612".into(),
        applicant: Applicant {
            id_number: "001099012345".into(),
            full_name: name.clone(),
            date_of_birth: "1990-01-01".into(),
        },
        documents: vec![DocumentRef {
            kind: DocumentKind::Cccd,
            number: "001099012345".into(),
            full_name: name,
            date_of_birth: "1990-01-01".into(),
            attachment_count: 1,
        }],
        submitted_at: "2026-12-03T08:00:00+07:00".into(),
    }
}

async fn post(
    router: &axum::Router,
    req: &SubmitApplication,
) -> (StatusCode, Option<String>, String) {
    let resp = router
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/applications")
                .header(header::CONTENT_TYPE, "application/json")
                .header(IDEMPOTENCY_HEADER, &req.idempotency_key)
                .body(Body::from(serde_json::to_vec(req).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, retry, String::from_utf8_lossy(&body).into_owned())
}

async fn get_status(router: &axum::Router, path: &str) -> (StatusCode, String) {
    let resp = router
        .clone()
        .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_lost_mid_request_is_a_503_and_leaves_no_half_written_change() {
    let name = pg::database_name("cds_loss");
    pg::create_database(&name).await;
    let proxy = Proxy::start().await;
    let store = Arc::new(PgStore::connect(&proxy.conninfo(&name)).await.unwrap());
    let state = AppState::over(store.clone()).await.unwrap();
    let router = app(state.clone());

    let first = submission(&uuid::Uuid::new_v4().to_string(), 0);
    assert_eq!(post(&router, &first).await.0, StatusCode::CREATED);

    // Cut the database off after 0, 1, 2… further writes of the backend:
    // before the transaction begins, after BEGIN, mid-statement, around
    // COMMIT. Each time the answer is a 503 (or, once the cut comes after
    // the commit went out, the stored receipt), and the database holds
    // the whole application or none of it.
    let mut unavailable = 0;
    let mut keys = vec![first.idempotency_key.clone()];
    for writes in 0..10 {
        let req = submission(&uuid::Uuid::new_v4().to_string(), writes + 1);
        proxy.cut_after(writes);
        let (status, retry, body) = post(&router, &req).await;
        proxy.heal();
        match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                assert_eq!(retry.as_deref(), Some("2"), "{body}");
                assert!(body.contains(r#""kind":"unavailable""#), "{body}");
                assert!(!body.contains("127.0.0.1"), "no connection detail: {body}");
            }
            StatusCode::CREATED => {}
            other => panic!("cut after {writes} writes: {other} {body}"),
        }
        // Sent again, it is stored exactly once: 201 if the cut lost it,
        // 200 (the same case) if it had been committed.
        let (again, body) = resend(&router, &req).await;
        assert!(
            again == StatusCode::CREATED || again == StatusCode::OK,
            "re-sent after a cut at {writes}: {again} {body}"
        );
        if status == StatusCode::CREATED {
            assert_eq!(again, StatusCode::OK, "{body}");
        }
        keys.push(req.idempotency_key.clone());
    }
    assert!(
        unavailable >= 5,
        "most cuts come before the commit: {unavailable}"
    );
    assert_eq!(state.application_count().await.unwrap(), keys.len() as u64);

    // A status change (an UPDATE and a history row in one transaction)
    // cut at every point: the status and its history always agree.
    let (_, body) = resend(&router, &first).await;
    let receipt: cds_api::ApplicationReceipt = serde_json::from_str(&body).unwrap();
    let mut changes = 0;
    for writes in 0..8 {
        proxy.cut_after(writes);
        let outcome = state
            .set_status(&receipt.case_number, ApplicationStatus::InReview)
            .await;
        proxy.heal();
        match outcome {
            Ok(_) => changes += 1,
            Err(BackendError::Unavailable { .. }) => {}
            Err(e) => panic!("cut after {writes} writes: {e}"),
        }
        let mut history = state.store().status_history(&receipt.case_number).await;
        for _ in 0..20 {
            if history.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            history = state.store().status_history(&receipt.case_number).await;
        }
        let history = history.unwrap();
        // Every change that reached the database left exactly one history
        // row; a change cut off left none (at least the ones we saw
        // succeed, and never more rows than attempts).
        assert!(history.len() >= changes && history.len() <= writes + 1);
        let current = state.application(&receipt.case_number).await.unwrap();
        assert_eq!(
            current.status == ApplicationStatus::InReview,
            !history.is_empty()
        );
    }

    // The whole database gone: every open connection cut at once, new
    // ones refused while the allowance is 0. Reads and writes are 503.
    proxy.cut_now();
    let (status, body) = get_status(&router, "/v1/services").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = get_status(&router, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    proxy.heal();
    let mut answer = get_status(&router, "/ready").await;
    for _ in 0..20 {
        if answer.0 == StatusCode::OK {
            break;
        }
        // A pooled connection cut a moment ago may not be known dead yet:
        // it fails once more (503), as a client would see, then is dropped.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        answer = get_status(&router, "/ready").await;
    }
    assert_eq!(answer.0, StatusCode::OK, "back: {}", answer.1);
}

/// Sends `req` again as the app's outbox does: while the answer is 503
/// (a pooled connection cut a moment ago may fail once more before the
/// pool notices it is dead), try again shortly.
async fn resend(router: &axum::Router, req: &SubmitApplication) -> (StatusCode, String) {
    for _ in 0..20 {
        let (status, _, body) = post(router, req).await;
        if status != StatusCode::SERVICE_UNAVAILABLE {
            return (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("still 503 after the database came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_started_before_its_database_answers_503_then_becomes_ready() {
    // The database does not exist yet: the store is made without touching
    // it, as `serve` does.
    let name = pg::database_name("cds_loss");
    let conninfo = format!("{} dbname={name}", server());
    let store = Arc::new(PgStore::connect_lazy(&conninfo).unwrap());
    let state = AppState::starting(store);
    let router = app(state.clone());

    let (status, body) = get_status(&router, "/health").await;
    assert_eq!(status, StatusCode::OK, "alive: {body}");
    let (status, body) = get_status(&router, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("starting"), "{body}");
    let req = submission(&uuid::Uuid::new_v4().to_string(), 1);
    let (status, retry, body) = post(&router, &req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(retry.is_some());

    // A failed attempt is remembered for /ready.
    assert!(state.prepare().await.is_err());
    let (_, body) = get_status(&router, "/ready").await;
    assert!(body.contains(&name), "says which database: {body}");

    // The database appears; the retry loop (as `serve` runs it) finds it.
    pg::create_database(&name).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        state.prepare_until_ready(),
    )
    .await
    .expect("ready once the database exists");
    let (status, body) = get_status(&router, "/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(post(&router, &req).await.0, StatusCode::CREATED);
    let (status, body) = get_status(&router, "/v1/services").await;
    assert_eq!(status, StatusCode::OK, "seeded once ready: {body}");
    assert!(body.contains("1.001612"));
}
