//! Load bench of the real `cds-backend serve` process, over HTTPS on
//! loopback, once on SQLite and once on PostgreSQL, printed as one table
//! with a column per store and the targets.
//!
//! Three phases per store, each bounded in count and in time:
//! 1. **Submissions**: `CDS_LOAD_CLIENTS` (2,000) concurrent clients send
//!    `CDS_LOAD_SUBMISSIONS` (100,000) submissions in all, each client in a
//!    closed loop (next request when the last is answered), one in ten a
//!    replay of the client's previous key. Counted: duplicates (one case
//!    number for two keys, or two numbers for one key), 5xx, other errors;
//!    p50/p99/max latency and throughput. Stopped at `CDS_LOAD_MAX_SECS`
//!    (240) if not done by then, and the table says so.
//! 2. **Slow connections**: `CDS_LOAD_IDLE` (10,000) raw TCP connections to
//!    the HTTPS port, each sending one byte of a TLS record that is never
//!    finished every 2–6 s and re-opened when the server closes it, while
//!    `CDS_LOAD_SLOW_CLIENTS` (300) submitters run for `CDS_LOAD_SLOW_SECS`
//!    (20): their p50/p99.
//! 3. **Read mix**: `CDS_LOAD_READERS` (100) clients alternating
//!    `GET /v1/services` and `GET /v1/applications/{case}` (cases from
//!    phase 1, each answer checked against its key) beside
//!    `CDS_LOAD_MIX_SUBMITTERS` (100) submitters, for `CDS_LOAD_MIX_SECS`
//!    (15).
//!
//! Run it with `cargo xtask bench-backend`, which starts a private
//! PostgreSQL and sets `CDS_TEST_PG`; plain `cargo bench -p cds-backend
//! --bench load` runs the SQLite column only (or both, with `CDS_TEST_PG`
//! set to a libpq conninfo without a database name; a fresh database is
//! made and dropped).
//!
//! The binary under test is `CARGO_BIN_EXE_cds-backend`: cargo builds a
//! package's binaries for its benches, in the same profile, and tells the
//! bench where; no guessing of `target/<profile>`.
//!
//! The phases start once the server has served the catalogue (on
//! PostgreSQL it listens before its store is ready, answering 503). Under
//! the table: each phase's first error, and the first distinct warnings
//! and errors of the backend's log with their counts (a 5xx says why only
//! there). A missed target is reported, not a failure: the bench fails
//! only when it cannot run (a server that does not start or dies).
//!
//! The soft open-files limit is raised to the hard one first (10,000 idle
//! sockets; the backend inherits the limit), and the idle count is cut to
//! what the limit allows, with a note, if it is lower.
//!
//! The bench and the backend share the machine's cores: on a small machine
//! the figures are those of both together. Loopback only; every process
//! started is killed when the bench ends, successfully or not.

use anyhow::{bail, Context, Result};
use cds_api::{ApplicationReceipt, ServiceInfo, SubmitApplication, IDEMPOTENCY_HEADER};
use cds_test_support::fixtures;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Targets the table checks.
const SUBMIT_P99_TARGET_MS: f64 = 500.0;
const SLOW_P99_TARGET_MS: f64 = 1000.0;

/// Every how many requests of a client one replays its previous key.
const REPLAY_EVERY: usize = 10;
/// Connections being opened at once: a burst of thousands of SYNs would
/// overflow the listen backlog and measure SYN retransmits instead.
const CONNECTING_AT_ONCE: usize = 128;
/// Clients start spread over this long, for the same reason.
const RAMP: Duration = Duration::from_secs(2);
/// A request not answered in this long is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// File descriptors kept for everything but the sockets (the runtime,
/// the pipes, the CA file, the PostgreSQL connection).
const FD_MARGIN: u64 = 256;

/// The sizes of a run (environment variables, the full figures by
/// default).
#[derive(Clone, Debug)]
struct Config {
    clients: usize,
    submissions: usize,
    max_secs: u64,
    idle: usize,
    slow_clients: usize,
    slow_secs: u64,
    readers: usize,
    mix_submitters: usize,
    mix_secs: u64,
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        _ => Ok(default),
    }
}

impl Config {
    fn from_env() -> Result<Config> {
        Ok(Config {
            clients: env_number("CDS_LOAD_CLIENTS", 2_000)?.max(1),
            submissions: env_number("CDS_LOAD_SUBMISSIONS", 100_000)?,
            max_secs: env_number("CDS_LOAD_MAX_SECS", 240)?,
            idle: env_number("CDS_LOAD_IDLE", 10_000)?,
            slow_clients: env_number("CDS_LOAD_SLOW_CLIENTS", 300)?.max(1),
            slow_secs: env_number("CDS_LOAD_SLOW_SECS", 20)?,
            readers: env_number("CDS_LOAD_READERS", 100)?.max(1),
            mix_submitters: env_number("CDS_LOAD_MIX_SUBMITTERS", 100)?,
            mix_secs: env_number("CDS_LOAD_MIX_SECS", 15)?,
        })
    }
}

/// Raises the soft open-files limit to the hard one (the backend, started
/// afterwards, inherits it) and returns it. `rustix` wraps the system call
/// safely; the workspace forbids `unsafe`.
fn raise_open_files_limit() -> Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    // "Unlimited" cannot be a file-descriptor limit on Linux (it is capped
    // by fs.nr_open): ask for a large finite number instead.
    let wanted = limit.maximum.unwrap_or(1 << 20);
    if limit.current.is_some_and(|c| c >= wanted) {
        return Ok(wanted);
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        },
    )
    .with_context(|| format!("cannot raise the open-files limit to {wanted}"))?;
    Ok(wanted)
}

/// xorshift64, for jitter: cheap, and the same sequence every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

// ---------------------------------------------------------------- the server

#[derive(Clone)]
enum Store {
    Sqlite,
    /// A fresh database's conninfo.
    Postgres(String),
}

/// One `cds-backend serve` process; killed and reaped on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    ca: String,
    log: PathBuf,
}

impl Server {
    async fn start(dir: &Path, store: &Store) -> Result<Server> {
        let admin_token = dir.join("admin-token");
        std::fs::write(&admin_token, "load-bench-admin-token-0123456789")?;
        let log = dir.join("backend.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cds-backend"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        match store {
            Store::Sqlite => cmd.arg("--db").arg(dir.join("backend.sqlite3")),
            Store::Postgres(url) => cmd.args(["--database-url", url.as_str()]),
        };
        let mut child = cmd
            .arg("--tls-dir")
            .arg(dir.join("tls"))
            .arg("--signing-key")
            .arg(dir.join("signing.p8"))
            .arg("--admin-token-file")
            .arg(&admin_token)
            // Plain text in the log file, which log_problems reads.
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start cds-backend")?;
        let stdout = child.stdout.take().context("cds-backend has no stdout")?;
        // Owned by a guard from here on, so an error below still kills it.
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ca: String::new(),
            log,
        };
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(60), line)
            .await
            .context("cds-backend did not say it listens within 60 s")???;
        let Some(addr) = line.trim().strip_prefix("listening on https://") else {
            bail!(
                "cds-backend's first line was {line:?}; its log:\n{}",
                server.log_text()
            );
        };
        server.addr = addr.parse().context("cds-backend's address")?;
        server.ca = std::fs::read_to_string(dir.join("tls").join("ca.pem"))?;
        Ok(server)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first few distinct warnings and errors of the backend's log
    /// (the reason behind a 5xx is there, not in the answer), with how
    /// often each came, for the notes under the table.
    fn log_problems(&self) -> Vec<String> {
        let text = self.log_text();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for line in text.lines() {
            let Some(at) = line.find(" WARN ").or_else(|| line.find(" ERROR ")) else {
                continue;
            };
            // Without the timestamp, so repeats are counted together.
            let message = line[at..].trim().to_owned();
            if let Some((_, n)) = seen.iter_mut().find(|(m, _)| *m == message) {
                *n += 1;
            } else if seen.len() < 5 {
                seen.push((message, 1));
            }
        }
        seen.into_iter()
            .map(|(m, n)| format!("{n} x {m}"))
            .collect()
    }

    fn client(&self, pool: usize) -> Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca.as_bytes())?)
            .resolve("localhost", self.addr)
            .https_only(true)
            .pool_max_idle_per_host(pool)
            .timeout(REQUEST_TIMEOUT)
            .build()?)
    }

    /// Waits until the catalogue is served (on PostgreSQL the process
    /// listens before its store is ready, answering 503 meanwhile): the
    /// phases measure a ready server, not its start.
    async fn wait_ready(&self) -> Result<()> {
        let client = self.client(1)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = client.get(self.url("/services")).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "cds-backend not ready within 60 s; its log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/v1{path}", self.addr.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL database on `server`; dropped by [`drop_database`].
async fn create_database(server: &str) -> Result<(String, String)> {
    let name = format!("cds_load_{}", uuid::Uuid::new_v4().simple());
    let admin = pg_admin(server).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .with_context(|| format!("cannot create database {name}"))?;
    Ok((name.clone(), format!("{server} dbname={name}")))
}

async fn drop_database(server: &str, name: &str) -> Result<()> {
    pg_admin(server)
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .with_context(|| format!("cannot drop database {name}"))
}

async fn pg_admin(server: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) =
        tokio_postgres::connect(&format!("{server} dbname=postgres"), tokio_postgres::NoTls)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL ({server})"))?;
    tokio::spawn(connection);
    Ok(client)
}

// ------------------------------------------------------------- measurements

/// Latencies in microseconds.
#[derive(Default)]
struct Latencies(Vec<u32>);

impl Latencies {
    fn push(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    fn append(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    fn sort(&mut self) {
        self.0.sort_unstable();
    }

    /// The `p`th percentile (nearest rank) in ms, of sorted values.
    fn ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.0.len()) - 1;
        f64::from(self.0[i]) / 1000.0
    }

    fn max_ms(&self) -> f64 {
        self.0
            .last()
            .map(|v| f64::from(*v) / 1000.0)
            .unwrap_or(f64::NAN)
    }
}

/// What a set of submitters saw.
#[derive(Default)]
struct SubmitStats {
    sent: usize,
    replays: usize,
    created: usize,
    found: usize,
    server_errors: usize,
    other_status: usize,
    transport_errors: usize,
    first_error: Option<String>,
    latency: Latencies,
    /// (key, case number) of every receipt.
    answers: Vec<(String, String)>,
}

impl SubmitStats {
    fn merge(&mut self, o: SubmitStats) {
        self.sent += o.sent;
        self.replays += o.replays;
        self.created += o.created;
        self.found += o.found;
        self.server_errors += o.server_errors;
        self.other_status += o.other_status;
        self.transport_errors += o.transport_errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latency.append(o.latency);
        self.answers.extend(o.answers);
    }

    fn error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    /// Two keys with one case number, or one key with two numbers.
    fn duplicates(&self) -> usize {
        duplicates(&[self])
    }
}

/// Two keys with one case number, or one key with two numbers, over the
/// answers of several sets of submitters (the phases of one server).
fn duplicates(sets: &[&SubmitStats]) -> usize {
    let mut case_of: HashMap<&str, &str> = HashMap::new();
    let mut key_of: HashMap<&str, &str> = HashMap::new();
    let mut duplicates = 0;
    for (key, case) in sets.iter().flat_map(|s| &s.answers) {
        match case_of.insert(key, case) {
            Some(before) if before != case => duplicates += 1,
            _ => {}
        }
        match key_of.insert(case, key) {
            Some(before) if before != key => duplicates += 1,
            _ => {}
        }
    }
    duplicates
}

/// When submitters stop: after `total` requests in all, or at `deadline`.
#[derive(Clone)]
struct Budget {
    next: Arc<AtomicUsize>,
    total: usize,
    deadline: Instant,
}

impl Budget {
    fn take(&self) -> bool {
        Instant::now() < self.deadline && self.next.fetch_add(1, Ordering::Relaxed) < self.total
    }
}

/// One client in a closed loop.
async fn submitter(
    client: reqwest::Client,
    url: String,
    budget: Budget,
    start_after: Duration,
) -> SubmitStats {
    tokio::time::sleep(start_after).await;
    let mut stats = SubmitStats::default();
    let mut previous: Option<String> = None;
    while budget.take() {
        stats.sent += 1;
        let replay = stats.sent % REPLAY_EVERY == 0 && previous.is_some();
        let key = match (&previous, replay) {
            (Some(k), true) => k.clone(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        if replay {
            stats.replays += 1;
        }
        let app: SubmitApplication = fixtures::application_with_key(&key);
        let started = Instant::now();
        let answer = async {
            let resp = client
                .post(&url)
                .header(IDEMPOTENCY_HEADER, &key)
                .json(&app)
                .send()
                .await?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let elapsed = started.elapsed();
        match answer {
            Ok((status @ (200 | 201), body)) => {
                match serde_json::from_slice::<ApplicationReceipt>(&body) {
                    Ok(r) if r.idempotency_key == key => {
                        stats.latency.push(elapsed);
                        if status == 201 {
                            stats.created += 1;
                        } else {
                            stats.found += 1;
                        }
                        stats.answers.push((key.clone(), r.case_number));
                    }
                    Ok(r) => {
                        stats.other_status += 1;
                        stats.error(format!("{key} answered for {}", r.idempotency_key));
                    }
                    Err(e) => {
                        stats.other_status += 1;
                        stats.error(format!("{status}: {e}"));
                    }
                }
            }
            Ok((status, body)) => {
                if status >= 500 {
                    stats.server_errors += 1;
                } else {
                    stats.other_status += 1;
                }
                stats.error(format!("{status} {}", String::from_utf8_lossy(&body)));
            }
            Err(e) => {
                stats.transport_errors += 1;
                stats.error(format!("{e:#}"));
            }
        }
        previous = Some(key);
    }
    stats
}

/// `n` submitters over one client (its pool opens a connection per
/// request in flight: HTTP/1.1, reqwest is built without HTTP/2 here).
async fn submitters(
    server: &Server,
    n: usize,
    budget: Budget,
    ramp: Duration,
) -> Result<(SubmitStats, Duration)> {
    let client = server.client(n)?;
    let url = server.url("/applications");
    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let start_after = ramp.mul_f64(i as f64 / n as f64);
        set.spawn(submitter(
            client.clone(),
            url.clone(),
            budget.clone(),
            start_after,
        ));
    }
    let mut stats = SubmitStats::default();
    while let Some(s) = set.join_next().await {
        stats.merge(s?);
    }
    stats.latency.sort();
    Ok((stats, started.elapsed()))
}

// -------------------------------------------------------------- the phases

struct SubmitPhase {
    stats: SubmitStats,
    duplicates: usize,
    wall: Duration,
    capped: bool,
}

async fn phase_submissions(server: &Server, cfg: &Config) -> Result<SubmitPhase> {
    let budget = Budget {
        next: Arc::new(AtomicUsize::new(0)),
        total: cfg.submissions,
        deadline: Instant::now() + Duration::from_secs(cfg.max_secs),
    };
    let (stats, wall) = submitters(server, cfg.clients, budget, RAMP).await?;
    let duplicates = stats.duplicates();
    Ok(SubmitPhase {
        capped: stats.sent < cfg.submissions,
        duplicates,
        stats,
        wall,
    })
}

/// Counters shared by the slow connections.
#[derive(Default)]
struct IdleCounters {
    open: AtomicUsize,
    opened: AtomicUsize,
    closed_by_server: AtomicUsize,
    connect_failures: AtomicUsize,
}

/// The start of a TLS handshake record announcing 16 KiB (the largest
/// allowed): the server's TLS layer waits for the rest, which comes one
/// byte at a time.
const TLS_RECORD_START: [u8; 5] = [0x16, 0x03, 0x01, 0x40, 0x00];

/// One slow connection, forever (the task is aborted at the end): open,
/// trickle a byte every 2–6 s, re-open when the server closes it.
async fn slow_connection(
    addr: SocketAddr,
    counters: Arc<IdleCounters>,
    connecting: Arc<tokio::sync::Semaphore>,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let mut buf = [0u8; 256];
    loop {
        let stream = {
            let Ok(_permit) = connecting.acquire().await else {
                return;
            };
            tokio::net::TcpStream::connect(addr).await
        };
        let Ok(stream) = stream else {
            counters.connect_failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(rng.millis(100, 1000)).await;
            continue;
        };
        counters.open.fetch_add(1, Ordering::Relaxed);
        counters.opened.fetch_add(1, Ordering::Relaxed);
        let (mut rd, mut wr) = stream.into_split();
        let mut sent = 0usize;
        // The first byte at once: the connection is then one that has
        // started its handshake, not merely an accepted socket.
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                // Anything from the server (an alert) or its close.
                _ = rd.read(&mut buf) => break,
                () = tokio::time::sleep(wait) => {
                    let byte = TLS_RECORD_START.get(sent).copied().unwrap_or(0);
                    if wr.write_all(&[byte]).await.is_err() {
                        break;
                    }
                    sent += 1;
                    wait = rng.millis(2000, 6000);
                }
            }
        }
        counters.open.fetch_sub(1, Ordering::Relaxed);
        counters.closed_by_server.fetch_add(1, Ordering::Relaxed);
        // Not all at once: a server that closes every slow connection at
        // the same moment should not meet them all again the next one.
        tokio::time::sleep(rng.millis(50, 500)).await;
    }
}

struct SlowPhase {
    idle_target: usize,
    held_at_start: usize,
    held_min: usize,
    held_max: usize,
    reopened: usize,
    connect_failures: usize,
    stats: SubmitStats,
    wall: Duration,
}

async fn phase_slow(server: &Server, cfg: &Config, idle: usize) -> Result<SlowPhase> {
    let counters = Arc::new(IdleCounters::default());
    let connecting = Arc::new(tokio::sync::Semaphore::new(CONNECTING_AT_ONCE));
    let mut idle_set = JoinSet::new();
    for i in 0..idle {
        idle_set.spawn(slow_connection(
            server.addr,
            counters.clone(),
            connecting.clone(),
            i as u64 + 1,
        ));
    }
    // Wait until (nearly) all are open, or 60 s.
    let opening = Instant::now();
    while counters.open.load(Ordering::Relaxed) < idle * 99 / 100
        && opening.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held_at_start = counters.open.load(Ordering::Relaxed);
    let closed_before = counters.closed_by_server.load(Ordering::Relaxed);
    // Watch how many stay open while the normal traffic runs.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = {
        let (counters, done) = (counters.clone(), done.clone());
        tokio::spawn(async move {
            let (mut min, mut max) = (usize::MAX, 0);
            while !done.load(Ordering::Relaxed) {
                let open = counters.open.load(Ordering::Relaxed);
                (min, max) = (min.min(open), max.max(open));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (min, max)
        })
    };
    let budget = Budget {
        next: Arc::new(AtomicUsize::new(0)),
        total: usize::MAX,
        deadline: Instant::now() + RAMP + Duration::from_secs(cfg.slow_secs),
    };
    let result = submitters(server, cfg.slow_clients, budget, RAMP).await;
    done.store(true, Ordering::Relaxed);
    let (held_min, held_max) = watching.await?;
    let reopened = counters.closed_by_server.load(Ordering::Relaxed) - closed_before;
    let connect_failures = counters.connect_failures.load(Ordering::Relaxed);
    idle_set.abort_all();
    while idle_set.join_next().await.is_some() {}
    let (stats, wall) = result?;
    Ok(SlowPhase {
        idle_target: idle,
        held_at_start,
        held_min: if held_min == usize::MAX { 0 } else { held_min },
        held_max,
        reopened,
        connect_failures,
        stats,
        wall,
    })
}

struct MixPhase {
    reads: usize,
    read_errors: usize,
    first_read_error: Option<String>,
    latency: Latencies,
    wall: Duration,
    submit: SubmitStats,
    submit_wall: Duration,
}

/// Alternates the catalogue and a known case, checking each answer.
async fn reader(
    client: reqwest::Client,
    base: String,
    known: Arc<Vec<(String, String)>>,
    deadline: Instant,
    seed: u64,
) -> (usize, usize, Option<String>, Latencies) {
    let mut rng = Rng::new(seed);
    let (mut reads, mut errors, mut first_error) = (0, 0, None);
    let mut latency = Latencies::default();
    let mut catalogue = seed & 1 == 0;
    while Instant::now() < deadline {
        catalogue = !catalogue || known.is_empty();
        let started = Instant::now();
        let outcome: Result<()> = async {
            if catalogue {
                let resp = client.get(format!("{base}/services")).send().await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                if !status.is_success() {
                    bail!("GET /services: {status}");
                }
                let services: Vec<ServiceInfo> = serde_json::from_slice(&body)?;
                if services.is_empty() {
                    bail!("GET /services: an empty catalogue");
                }
            } else {
                let i = (rng.next() % known.len() as u64) as usize;
                let (key, case) = &known[i];
                let resp = client
                    .get(format!("{base}/applications/{case}"))
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                if !status.is_success() {
                    bail!("GET /applications/{case}: {status}");
                }
                let r: ApplicationReceipt = serde_json::from_slice(&body)?;
                if &r.idempotency_key != key {
                    bail!("case {case} names {}, not {key}", r.idempotency_key);
                }
            }
            Ok(())
        }
        .await;
        reads += 1;
        match outcome {
            Ok(()) => latency.push(started.elapsed()),
            Err(e) => {
                errors += 1;
                if first_error.is_none() {
                    first_error = Some(format!("{e:#}"));
                }
            }
        }
    }
    (reads, errors, first_error, latency)
}

async fn phase_mix(
    server: &Server,
    cfg: &Config,
    known: Vec<(String, String)>,
) -> Result<MixPhase> {
    let known = Arc::new(known);
    let client = server.client(cfg.readers)?;
    let base = server.url("");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(cfg.mix_secs);
    let mut readers = JoinSet::new();
    for i in 0..cfg.readers {
        readers.spawn(reader(
            client.clone(),
            base.clone(),
            known.clone(),
            deadline,
            i as u64 + 1,
        ));
    }
    let budget = Budget {
        next: Arc::new(AtomicUsize::new(0)),
        total: if cfg.mix_submitters == 0 {
            0
        } else {
            usize::MAX
        },
        deadline,
    };
    let (submit, submit_wall) =
        submitters(server, cfg.mix_submitters.max(1), budget, Duration::ZERO).await?;
    let (mut reads, mut read_errors, mut first_read_error) = (0, 0, None);
    let mut latency = Latencies::default();
    while let Some(r) = readers.join_next().await {
        let (n, e, first, l) = r?;
        reads += n;
        read_errors += e;
        if first_read_error.is_none() {
            first_read_error = first;
        }
        latency.append(l);
    }
    latency.sort();
    Ok(MixPhase {
        reads,
        read_errors,
        first_read_error,
        latency,
        wall: started.elapsed(),
        submit,
        submit_wall,
    })
}

struct StoreReport {
    submit: SubmitPhase,
    slow: SlowPhase,
    mix: MixPhase,
    /// Over the answers of all three phases.
    duplicates_all: usize,
    log_problems: Vec<String>,
}

async fn bench_store(cfg: &Config, store: &Store, idle: usize, name: &str) -> Result<StoreReport> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start(dir.path(), store).await?;
    server.wait_ready().await?;
    eprintln!(
        "{name}: cds-backend listening on {}; 1. {} submissions from {} clients",
        server.addr, cfg.submissions, cfg.clients
    );
    let submit = phase_submissions(&server, cfg).await?;
    eprintln!(
        "{name}: {} sent in {:.1} s; 2. {idle} slow connections + {} submitters for {} s",
        submit.stats.sent,
        submit.wall.as_secs_f64(),
        cfg.slow_clients,
        cfg.slow_secs
    );
    let slow = phase_slow(&server, cfg, idle).await?;
    eprintln!(
        "{name}: slow phase done; 3. read mix, {} readers + {} submitters for {} s",
        cfg.readers, cfg.mix_submitters, cfg.mix_secs
    );
    let known: Vec<(String, String)> = submit.stats.answers.iter().take(20_000).cloned().collect();
    let mix = phase_mix(&server, cfg, known).await?;
    // Still running at the end: it did not fall over under the load.
    if let Ok(Some(status)) = server.child.try_wait() {
        bail!(
            "{name}: cds-backend exited during the bench ({status}); its log:\n{}",
            server.log_text()
        );
    }
    let duplicates_all = duplicates(&[&submit.stats, &slow.stats, &mix.submit]);
    Ok(StoreReport {
        submit,
        slow,
        mix,
        duplicates_all,
        log_problems: server.log_problems(),
    })
}

// ------------------------------------------------------------------ the table

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".to_owned()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:.0}", n as f64 / d.as_secs_f64().max(1e-9))
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn print_table(cfg: &Config, reports: &[(&str, Result<StoreReport, String>)]) {
    type Cell = Box<dyn Fn(&StoreReport) -> String>;
    let rows: Vec<(String, Cell, &str)> = vec![
        (
            format!("1. submissions: {} clients", cfg.clients),
            Box::new(|_: &StoreReport| String::new()),
            "",
        ),
        (
            "  sent (replays of a key)".into(),
            Box::new(|r: &StoreReport| {
                let s = &r.submit;
                let capped = if s.capped { ", time cap" } else { "" };
                format!("{} ({}{capped})", s.stats.sent, s.stats.replays)
            }),
            "",
        ),
        (
            "  answered 201 / 200".into(),
            Box::new(|r: &StoreReport| {
                format!("{} / {}", r.submit.stats.created, r.submit.stats.found)
            }),
            "",
        ),
        (
            "  duplicates".into(),
            Box::new(|r: &StoreReport| {
                let d = r.submit.duplicates;
                format!("{d} {}", verdict(d == 0))
            }),
            "0",
        ),
        (
            "  5xx answers".into(),
            Box::new(|r: &StoreReport| {
                let n = r.submit.stats.server_errors;
                format!("{n} {}", verdict(n == 0))
            }),
            "0",
        ),
        (
            "  other errors (status / transport)".into(),
            Box::new(|r: &StoreReport| {
                format!(
                    "{} / {}",
                    r.submit.stats.other_status, r.submit.stats.transport_errors
                )
            }),
            "",
        ),
        (
            "  latency p50 / max (ms)".into(),
            Box::new(|r: &StoreReport| {
                let l = &r.submit.stats.latency;
                format!("{} / {}", ms(l.ms(50.0)), ms(l.max_ms()))
            }),
            "",
        ),
        (
            "  latency p99 (ms)".into(),
            Box::new(|r: &StoreReport| {
                let p99 = r.submit.stats.latency.ms(99.0);
                format!("{} {}", ms(p99), verdict(p99 < SUBMIT_P99_TARGET_MS))
            }),
            "< 500",
        ),
        (
            "  throughput (answered/s), wall (s)".into(),
            Box::new(|r: &StoreReport| {
                let s = &r.submit;
                format!(
                    "{}, {:.1}",
                    rate(s.stats.latency.0.len(), s.wall),
                    s.wall.as_secs_f64()
                )
            }),
            "",
        ),
        (
            format!("2. slow connections + {} submitters", cfg.slow_clients),
            Box::new(|_: &StoreReport| String::new()),
            "",
        ),
        (
            "  idle held: target / at start".into(),
            Box::new(|r: &StoreReport| {
                format!("{} / {}", r.slow.idle_target, r.slow.held_at_start)
            }),
            "",
        ),
        (
            "  idle held during (min..max)".into(),
            Box::new(|r: &StoreReport| format!("{}..{}", r.slow.held_min, r.slow.held_max)),
            "",
        ),
        (
            "  closed by server, re-opened".into(),
            Box::new(|r: &StoreReport| {
                let f = r.slow.connect_failures;
                if f == 0 {
                    r.slow.reopened.to_string()
                } else {
                    format!("{} ({f} connect failures)", r.slow.reopened)
                }
            }),
            "",
        ),
        (
            "  normal requests (5xx / other errors)".into(),
            Box::new(|r: &StoreReport| {
                let s = &r.slow.stats;
                format!(
                    "{} ({} / {})",
                    s.sent,
                    s.server_errors,
                    s.other_status + s.transport_errors
                )
            }),
            "",
        ),
        (
            "  normal p50 (ms), answered/s".into(),
            Box::new(|r: &StoreReport| {
                let s = &r.slow;
                format!(
                    "{}, {}",
                    ms(s.stats.latency.ms(50.0)),
                    rate(s.stats.latency.0.len(), s.wall)
                )
            }),
            "",
        ),
        (
            "  normal p99 (ms)".into(),
            Box::new(|r: &StoreReport| {
                let p99 = r.slow.stats.latency.ms(99.0);
                format!("{} {}", ms(p99), verdict(p99 < SLOW_P99_TARGET_MS))
            }),
            "< 1000",
        ),
        (
            format!(
                "3. read mix: {} readers + {} submitters",
                cfg.readers, cfg.mix_submitters
            ),
            Box::new(|_: &StoreReport| String::new()),
            "",
        ),
        (
            "  reads (errors)".into(),
            Box::new(|r: &StoreReport| format!("{} ({})", r.mix.reads, r.mix.read_errors)),
            "",
        ),
        (
            "  reads p50 / p99 (ms)".into(),
            Box::new(|r: &StoreReport| {
                let l = &r.mix.latency;
                format!("{} / {}", ms(l.ms(50.0)), ms(l.ms(99.0)))
            }),
            "",
        ),
        (
            "  reads/s".into(),
            Box::new(|r: &StoreReport| rate(r.mix.latency.0.len(), r.mix.wall)),
            "",
        ),
        (
            "  submissions: answered/s, p99 (ms)".into(),
            Box::new(|r: &StoreReport| {
                let s = &r.mix.submit;
                format!(
                    "{}, {}",
                    rate(s.latency.0.len(), r.mix.submit_wall),
                    ms(s.latency.ms(99.0))
                )
            }),
            "",
        ),
        (
            "  submissions: 5xx".into(),
            Box::new(|r: &StoreReport| {
                let e = r.mix.submit.server_errors;
                format!("{e} {}", verdict(e == 0))
            }),
            "0",
        ),
        (
            "duplicates over all three phases".into(),
            Box::new(|r: &StoreReport| {
                let d = r.duplicates_all;
                format!("{d} {}", verdict(d == 0))
            }),
            "0",
        ),
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(_, cell, _)| {
            reports
                .iter()
                .map(|(_, r)| match r {
                    Ok(r) => cell(r),
                    Err(_) => "-".to_owned(),
                })
                .collect()
        })
        .collect();
    let label_w = rows
        .iter()
        .map(|(l, _, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let col_w: Vec<usize> = (0..reports.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain(std::iter::once(reports[i].0.len()))
                .max()
                .unwrap_or(0)
                + 3
        })
        .collect();
    let mut out = String::new();
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    out.push_str(&pad("", label_w));
    for (i, (name, _)) in reports.iter().enumerate() {
        out.push_str(&pad(name, col_w[i]));
    }
    out.push_str("target\n");
    let width = label_w + col_w.iter().sum::<usize>() + 8;
    out.push_str(&"-".repeat(width));
    out.push('\n');
    for ((label, _, target), cells) in rows.iter().zip(&cells) {
        out.push_str(&pad(label, label_w));
        for (i, c) in cells.iter().enumerate() {
            out.push_str(&pad(c, col_w[i]));
        }
        out.push_str(target);
        out.push('\n');
    }
    println!("\n{}", out.trim_end());
    for (name, r) in reports {
        match r {
            Err(why) => println!("{name}: {why}"),
            Ok(r) => {
                for (what, e) in [
                    ("submissions", &r.submit.stats.first_error),
                    ("slow-phase submissions", &r.slow.stats.first_error),
                    ("read mix", &r.mix.first_read_error),
                    ("read-mix submissions", &r.mix.submit.first_error),
                ] {
                    if let Some(e) = e {
                        println!("{name}, {what}: first error: {e}");
                    }
                }
                for line in &r.log_problems {
                    println!("{name}, backend log: {line}");
                }
            }
        }
    }
}

async fn run(cfg: Config, fd_limit: u64) -> Result<()> {
    // Each socket is a descriptor here and one in the backend (which
    // inherits the limit): the idle phase is the largest.
    let fd_room = fd_limit.saturating_sub(FD_MARGIN) as usize;
    if cfg.clients > fd_room {
        bail!(
            "{} clients need more than the {fd_limit} open files allowed (ulimit -Hn)",
            cfg.clients
        );
    }
    let idle = cfg.idle.min(fd_room.saturating_sub(cfg.slow_clients));
    if idle < cfg.idle {
        eprintln!(
            "note: the open-files limit ({fd_limit}) allows {idle} slow connections, not {}",
            cfg.idle
        );
    }
    eprintln!(
        "load bench: {cfg:?}; backend {}",
        env!("CARGO_BIN_EXE_cds-backend")
    );

    let mut reports: Vec<(&str, Result<StoreReport, String>)> = Vec::new();
    let sqlite = bench_store(&cfg, &Store::Sqlite, idle, "SQLite").await;
    let mut failed = sqlite.as_ref().err().map(|e| format!("SQLite: {e:#}"));
    reports.push(("SQLite", sqlite.map_err(|e| format!("failed: {e:#}"))));

    match std::env::var("CDS_TEST_PG") {
        Ok(pg) if !pg.trim().is_empty() => {
            let (name, url) = create_database(&pg).await?;
            let result = bench_store(&cfg, &Store::Postgres(url), idle, "PostgreSQL").await;
            if let Err(e) = drop_database(&pg, &name).await {
                eprintln!("warning: {e:#}");
            }
            if let Err(e) = &result {
                failed.get_or_insert(format!("PostgreSQL: {e:#}"));
            }
            reports.push(("PostgreSQL", result.map_err(|e| format!("failed: {e:#}"))));
        }
        _ => reports.push((
            "PostgreSQL",
            Err(
                "skipped: CDS_TEST_PG is not set (`cargo xtask bench-backend` starts a \
                 private server and sets it)"
                    .to_owned(),
            ),
        )),
    }
    print_table(&cfg, &reports);
    match failed {
        Some(e) => bail!("{e}"),
        None => Ok(()),
    }
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench` (and any filter): nothing to choose
    // here, the sizes come from the environment.
    let fd_limit = raise_open_files_limit()?;
    let cfg = Config::from_env()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(cfg, fd_limit))
}
