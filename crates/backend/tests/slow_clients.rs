//! Slow and half-open clients against the real `cds-backend serve`
//! process: a connection that never finishes its TLS handshake, and one
//! that never finishes its request headers, are closed by the server after
//! `--header-timeout-secs`, while a normal client on another connection is
//! answered throughout.
//!
//! The deadline is a real one (the listener's, in another process), so the
//! test sets it to 1 s and allows up to 10 s for the close.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_test_support::client_trusting;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Backend(Child, SocketAddr);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path) -> Backend {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cds-backend"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--header-timeout-secs",
            "1",
        ])
        .arg("--db")
        .arg(dir.join("b.sqlite3"))
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on https://")
        .unwrap()
        .parse()
        .unwrap();
    Backend(child, addr)
}

/// Reads until the server closes the stream (or errors), at most 10 s;
/// the time it took and what was read.
async fn until_closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept a stalled connection open for 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_and_headers_are_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let backend = start(dir.path());
    let ca = std::fs::read_to_string(dir.path().join("tls").join("ca.pem")).unwrap();
    let normal = client_trusting(&ca, backend.1);
    let health = format!("https://localhost:{}/health", backend.1.port());

    // 1. A TCP connection that never starts TLS (half-open from the
    //    server's point of view).
    let mut silent = tokio::net::TcpStream::connect(backend.1).await.unwrap();
    // 2. A TLS connection that sends half a request and stops.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(backend.1).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut trickle = connector.connect(name, tcp).await.unwrap();
    trickle
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    trickle.flush().await.unwrap();

    // While both stall, a normal client is answered.
    let r = normal.get(&health).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let (waited, _) = until_closed(&mut silent).await;
    assert!(
        waited < Duration::from_secs(10),
        "the silent connection was closed after {waited:?}"
    );
    let (waited, answer) = until_closed(&mut trickle).await;
    assert!(
        waited < Duration::from_secs(10),
        "the trickling connection was closed after {waited:?}"
    );
    // Nothing of a response for a request that never arrived whole,
    // beyond (at most) hyper's bare 408.
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "answer to a stalled request: {text}"
    );

    // And the server still serves.
    let r = normal.get(&health).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
