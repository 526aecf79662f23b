//! Test helpers for Công dân số (dev-only, never published).
//!
//! [`TestCity`] is the reference backend running in the test's own process,
//! over real HTTPS with a development CA made for the test, on a port the
//! kernel chose (port 0, read back from the bound socket: there is no
//! "find a free port, then bind it" race). It owns its data directory, gives
//! its URL and CA, the admin token, the [`ManualClock`] the backend reads,
//! and stops when dropped.
//!
//! A city can also be **offline**: [`TestCity::offline`] reserves a port
//! (bound, not listening), so connections to it are refused, the way an
//! unreachable city looks to the app, and nobody else can take the port
//! before [`OfflineCity::start`] brings the city up on it. [`TestCity::stop`]
//! goes back to offline, keeping the data directory and the port.
//!
//! ```no_run
//! # async fn demo() {
//! use cds_test_support::{fixtures, TestCity};
//! let city = TestCity::start().await;
//! let code = city.enroll(&fixtures::adult_citizen()).await;
//! let client = city.client();
//! let health = client.get(format!("{}/v1/health", city.url())).send().await;
//! # let _ = (code, health);
//! # }
//! ```

// Dev-only: a city that cannot be set up should fail the test at once,
// with the reason, rather than be handled.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod fixtures;
pub mod pg;

use cds_backend::credentials::CredentialIssuer;
use cds_backend::tls::{ensure_dev_tls, DevTls};
use cds_backend::{serve, AppState};
use cds_domain::ManualClock;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::oneshot;

/// The admin bearer token of every test city (at least 16 characters, as
/// `serve` requires).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// File names inside a city's data directory.
pub const DB_FILE: &str = "backend.sqlite3";
pub const TLS_DIR: &str = "tls";
pub const SIGNING_KEY_FILE: &str = "signing.p8";

type Configure = Arc<dyn Fn(AppState) -> AppState + Send + Sync>;

/// How a test city is set up. Start from [`TestCity::builder`].
#[derive(Clone)]
pub struct CityBuilder {
    dir: Option<PathBuf>,
    issuer: bool,
    admin_token: Option<String>,
    validity_days: Option<u32>,
    clock: Option<ManualClock>,
    configure: Option<Configure>,
}

impl std::fmt::Debug for CityBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CityBuilder")
            .field("dir", &self.dir)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl CityBuilder {
    /// Keep the city's files in `dir` (created if needed; the caller owns
    /// it) instead of a temporary directory the city deletes.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Without a signing key: the credential routes answer 404, as a city
    /// that does not issue credentials.
    pub fn without_issuer(mut self) -> Self {
        self.issuer = false;
        self
    }

    /// Without an admin token: issuing, revoking and enrolling over HTTP are
    /// refused with 403 ([`TestCity::enroll`] still works, as the CLI does).
    pub fn without_admin_token(mut self) -> Self {
        self.admin_token = None;
        self
    }

    /// Credentials claimed or refreshed by devices are valid for `days`.
    pub fn credential_validity_days(mut self, days: u32) -> Self {
        self.validity_days = Some(days);
        self
    }

    /// The backend reads time from `clock` (default: a manual clock at the
    /// current time, which moves only when the test moves it).
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Any further change to the state (applied last, on every start).
    pub fn configure(mut self, f: impl Fn(AppState) -> AppState + Send + Sync + 'static) -> Self {
        self.configure = Some(Arc::new(f));
        self
    }

    /// Prepares the files and reserves a port, without serving.
    pub fn offline(self) -> OfflineCity {
        let (dir, temp) = match &self.dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::tempdir().expect("test city: cannot make a temporary directory");
                (t.path().to_path_buf(), Some(Arc::new(t)))
            }
        };
        std::fs::create_dir_all(&dir).expect("test city: cannot create its directory");
        let tls = ensure_dev_tls(&dir.join(TLS_DIR)).expect("test city: cannot make its TLS");
        let socket = reserve(0);
        let port = bound_port(&socket);
        let clock = self.clock.clone().unwrap_or_else(|| {
            // Whole seconds, as the backend stores them.
            let now = OffsetDateTime::now_utc();
            ManualClock::new(now.replace_nanosecond(0).unwrap_or(now))
        });
        OfflineCity {
            files: CityFiles {
                dir,
                _temp: temp,
                tls,
                port,
                clock,
                builder: self,
            },
            socket,
        }
    }

    /// Starts the city.
    pub async fn start(self) -> TestCity {
        self.offline().start().await
    }
}

/// What stays the same across a city's restarts.
#[derive(Clone)]
struct CityFiles {
    dir: PathBuf,
    /// Deletes the directory when the last holder goes.
    _temp: Option<Arc<tempfile::TempDir>>,
    tls: DevTls,
    port: u16,
    clock: ManualClock,
    builder: CityBuilder,
}

impl CityFiles {
    fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn client(&self) -> reqwest::Client {
        client_trusting(&self.tls.ca_cert_pem, self.addr())
    }

    fn state(&self) -> AppState {
        let b = &self.builder;
        let mut state = AppState::open(&self.dir.join(DB_FILE))
            .expect("test city: cannot open its database")
            .with_time(self.clock.clone());
        if b.issuer {
            let issuer = CredentialIssuer::load_or_create(&self.dir.join(SIGNING_KEY_FILE))
                .expect("test city: cannot load its signing key");
            state = state.with_issuer(issuer);
        }
        if let Some(t) = &b.admin_token {
            state = state.with_admin_token(t);
        }
        if let Some(d) = b.validity_days {
            state = state.with_credential_validity_days(d);
        }
        if let Some(f) = &b.configure {
            state = f(state);
        }
        state
    }
}

/// A socket bound to `127.0.0.1:port` that does not listen: the port is
/// ours, and connecting to it is refused.
fn reserve(port: u16) -> Socket {
    try_reserve(port).unwrap_or_else(|e| panic!("test city: cannot bind 127.0.0.1:{port}: {e}"))
}

fn try_reserve(port: u16) -> std::io::Result<Socket> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
        .expect("test city: cannot make a socket");
    // As std's TcpListener::bind does: a restart may rebind while old
    // connections of the previous run sit in TIME_WAIT.
    socket
        .set_reuse_address(true)
        .expect("test city: cannot set SO_REUSEADDR");
    socket.bind(&SockAddr::from(addr))?;
    Ok(socket)
}

fn bound_port(socket: &Socket) -> u16 {
    socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.port())
        .expect("test city: cannot read its bound port")
}

/// A client that trusts exactly `ca_pem` and nothing else. `localhost` is
/// pinned to `addr`, so tests do not depend on /etc/hosts.
pub fn client_trusting(ca_pem: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("test city: CA PEM"),
        )
        .resolve("localhost", addr)
        .https_only(true)
        .build()
        .expect("test city: cannot build a client")
}

/// A city that is not serving: its port is reserved and refuses
/// connections, its files are kept.
pub struct OfflineCity {
    files: CityFiles,
    socket: Socket,
}

impl std::fmt::Debug for OfflineCity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineCity")
            .field("url", &self.files.url())
            .finish_non_exhaustive()
    }
}

impl OfflineCity {
    /// `https://localhost:<port>`: where the city will be.
    pub fn url(&self) -> String {
        self.files.url()
    }

    pub fn port(&self) -> u16 {
        self.files.port
    }

    /// The development CA (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.files.tls.ca_cert_pem
    }

    /// The city's data directory.
    pub fn dir(&self) -> &Path {
        &self.files.dir
    }

    pub fn clock(&self) -> &ManualClock {
        &self.files.clock
    }

    /// A client that trusts this city's CA.
    pub fn client(&self) -> reqwest::Client {
        self.files.client()
    }

    /// Brings the city up on its reserved port.
    pub async fn start(self) -> TestCity {
        let OfflineCity { files, socket } = self;
        socket
            .listen(1024)
            .expect("test city: cannot listen on its port");
        let listener: TcpListener = socket.into();
        let state = files.state();
        let served = state.clone();
        let tls = files.tls.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, served, &tls, async {
                let _ = stopped.await;
            })
            .await
        });
        TestCity {
            files,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// The reference backend serving in this process over HTTPS. Stops on drop
/// (or with [`TestCity::stop`], which waits and keeps the files).
pub struct TestCity {
    files: CityFiles,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), cds_backend::BackendError>>>,
}

impl std::fmt::Debug for TestCity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCity")
            .field("url", &self.files.url())
            .finish_non_exhaustive()
    }
}

impl TestCity {
    /// A city with a signing key, the admin token [`ADMIN_TOKEN`] and a
    /// manual clock at the current time, in its own temporary directory.
    pub fn builder() -> CityBuilder {
        CityBuilder {
            dir: None,
            issuer: true,
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            validity_days: None,
            clock: None,
            configure: None,
        }
    }

    /// [`TestCity::builder`] with its defaults, started.
    pub async fn start() -> TestCity {
        Self::builder().start().await
    }

    /// A city with the defaults, not serving yet (see [`OfflineCity`]).
    pub fn offline() -> OfflineCity {
        Self::builder().offline()
    }

    /// `https://localhost:<port>` (the certificate names `localhost`,
    /// `127.0.0.1` and `::1`).
    pub fn url(&self) -> String {
        self.files.url()
    }

    pub fn port(&self) -> u16 {
        self.files.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.files.addr()
    }

    /// The development CA (PEM) clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.files.tls.ca_cert_pem
    }

    /// The TLS material the city serves with.
    pub fn tls(&self) -> &DevTls {
        &self.files.tls
    }

    /// The city's data directory (database, TLS, signing key).
    pub fn dir(&self) -> &Path {
        &self.files.dir
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.files.dir.join(DB_FILE)
    }

    /// The backend's state: what the operator's tools reach directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The admin token, if this city has one.
    pub fn admin_token(&self) -> Option<&str> {
        self.files.builder.admin_token.as_deref()
    }

    /// The clock the backend reads; move it to expire codes or pass the
    /// claim guard's window.
    pub fn clock(&self) -> &ManualClock {
        &self.files.clock
    }

    /// Now by the city's clock, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.state.now()
    }

    /// A client that trusts this city's CA and nothing else.
    pub fn client(&self) -> reqwest::Client {
        self.files.client()
    }

    /// What the operator does at the counter: enrols `citizen` and returns
    /// the activation code (`XXXX-XXXX`).
    pub async fn enroll(&self, citizen: &cds_api::CreateEnrollment) -> String {
        self.state
            .create_enrollment(citizen.clone(), self.now())
            .await
            .expect("test city: enrolment refused")
            .code
    }

    /// Stops serving (gracefully, waiting for it) and keeps the port and the
    /// files, so the city can come back with [`OfflineCity::start`].
    pub async fn stop(mut self) -> OfflineCity {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("test city: server task panicked")
                .expect("test city: serve failed");
        }
        // Take the port again. The server's listener closes as its last
        // connection task ends, which can be a moment after `serve` returns:
        // poll for it, bounded (2 s), instead of failing the test.
        let mut socket = try_reserve(self.files.port);
        for _ in 0..200 {
            if socket.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            socket = try_reserve(self.files.port);
        }
        let socket = socket.unwrap_or_else(|e| {
            panic!(
                "test city: cannot take port {} back after stopping: {e}",
                self.files.port
            )
        });
        OfflineCity {
            files: self.files.clone(),
            socket,
        }
    }

    /// Stops and starts again on the same port with the same files: a new
    /// state over the same database, as after a process restart.
    pub async fn restart(self) -> TestCity {
        self.stop().await.start().await
    }
}

impl Drop for TestCity {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The runtime may be ending with the test; do not leave the server
        // task behind either way.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
