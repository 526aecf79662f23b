//! Crash safety of the real `cds-backend serve` process: on SQLite (a file
//! in a temporary directory) and on PostgreSQL (a fresh database on the
//! server `cargo xtask test` starts, `CDS_TEST_PG`), the process is started,
//! fed a stream of concurrent submissions and killed with SIGKILL at a
//! random moment (from "still starting" to "mid-stream"), then restarted on
//! the same database, a few hundred times over.
//!
//! What must hold, whatever the moment of the kill:
//! - every acknowledged submission (201, or 200 for a re-send) is still
//!   there with the same case number: re-sending it answers 200 with that
//!   number, and looking the number up answers that key;
//! - a submission sent without an answer is either stored (a re-send
//!   answers 200) or not (a re-send answers 201), and is created once;
//! - no case number is ever given to two keys.
//!
//! The kill moments come from a seeded generator, so every run kills at
//! the same offsets; what is in flight at that offset varies with the
//! machine, but the assertions do not depend on it.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApplicationReceipt, SubmitApplication, IDEMPOTENCY_HEADER};
use cds_test_support::{client_trusting, fixtures, pg};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Kills per store (the brief: at least 200).
const KILLS: usize = 200;
/// Concurrent submitters while the process lives.
const TASKS: usize = 4;
/// Fresh submissions per submitter per life: bounds the ledger, and so the
/// final check, whatever the machine's speed.
const FRESH_PER_TASK: usize = 12;
/// Keys left without an answer that are re-sent at the start of a life
/// (the rest wait for a later one, or for the final check).
const RESEND_PER_LIFE: usize = 16;
/// Acknowledged keys re-checked in each life (re-POST and GET).
const SPOT_CHECKS_PER_LIFE: usize = 2;
/// One life in four is killed this long after the spawn, in milliseconds:
/// before the process listens (it takes some ms to open the database and
/// load its keys) or just after.
const STARTING_DELAY_MS: (u64, u64) = (1, 15);
/// The others are killed this long after the process is ready (it has
/// served the catalogue once): from the first requests to well into the
/// stream. Counting from readiness rather than the spawn keeps these kills
/// among stored submissions however slow the start is on a loaded machine.
const SERVING_DELAY_MS: (u64, u64) = (1, 150);

#[derive(Clone)]
enum Store {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Store {
    fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }

    /// Every (idempotency key, case number) row, read behind the backend's
    /// back (it is not running then).
    async fn rows(&self) -> Vec<(String, String)> {
        match self {
            Store::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let c = rusqlite::Connection::open(path).unwrap();
                    let mut q = c
                        .prepare("SELECT idempotency_key, case_number FROM applications")
                        .unwrap();
                    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                        .unwrap()
                        .map(Result::unwrap)
                        .collect()
                })
                .await
                .unwrap()
            }
            Store::Postgres(url) => {
                let (c, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                c.query("SELECT idempotency_key, case_number FROM applications", &[])
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect()
            }
        }
    }
}

/// One `cds-backend serve` process; killed (SIGKILL) and reaped when
/// dropped, so no test outcome leaves one behind.
struct Backend {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr_file: PathBuf,
}

impl Backend {
    fn spawn(dir: &Path, store: &Store) -> Backend {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cds-backend"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        match store {
            Store::Sqlite(path) => cmd.arg("--db").arg(path),
            Store::Postgres(url) => cmd.args(["--database-url", url.as_str()]),
        };
        // The last life's log, for the message if a start fails.
        let stderr_file = dir.join("backend.log");
        let stderr = std::fs::File::create(&stderr_file).unwrap();
        let mut child = cmd
            .arg("--tls-dir")
            .arg(dir.join("tls"))
            .arg("--signing-key")
            .arg(dir.join("signing.p8"))
            .arg("--admin-token-file")
            .arg(dir.join("admin-token"))
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take();
        Backend {
            child,
            stdout,
            stderr_file,
        }
    }

    /// The address once the process prints `listening on https://ADDR`;
    /// `None` if its stdout closes first (it died). Read on a blocking
    /// thread: when the process is killed, the pipe closes and the read
    /// ends, so the thread never outlives the process for long.
    async fn listening(&mut self) -> Option<SocketAddr> {
        let stdout = self.stdout.take()?;
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok()?;
            line.trim()
                .strip_prefix("listening on https://")?
                .parse()
                .ok()
        })
        .await
        .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// xorshift64: the kill offsets and spot-check picks, the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number of milliseconds in `lo..=hi`.
    fn millis(&mut self, (lo, hi): (u64, u64)) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

/// Everything the clients were told, and what went wrong.
#[derive(Default)]
struct Ledger {
    /// Acknowledged: key → case number.
    acked: HashMap<String, String>,
    /// The same keys in the order they were acknowledged (for seeded picks).
    acked_order: Vec<String>,
    /// Case number → the key it was first given to.
    cases: HashMap<String, String>,
    /// Sent, never answered (yet).
    unanswered: BTreeSet<String>,
    /// Every key that was without an answer when its process died.
    ever_unanswered: BTreeSet<String>,
    /// Keys that were answered 201 (stored by that request).
    created: BTreeSet<String>,

    fresh_sent: usize,
    acknowledged: usize,
    resent: usize,
    resent_found: usize,
    resent_created: usize,
    spot_checks: usize,
    /// Case numbers looked up that named their key.
    lookups: usize,
    /// 5xx answers by status (a 503 while the store is not ready yet).
    server_errors: std::collections::BTreeMap<u16, usize>,

    lost: Vec<String>,
    reused: Vec<String>,
    created_twice: Vec<String>,
    unexpected: Vec<String>,
}

/// Why a request was sent: the checks differ.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Purpose {
    Fresh,
    Resend,
    Check,
}

impl Ledger {
    /// A receipt for `key` with `status` (200 or 201).
    fn answered(&mut self, purpose: Purpose, key: &str, status: u16, receipt: &ApplicationReceipt) {
        let case = &receipt.case_number;
        if receipt.idempotency_key != key {
            self.unexpected.push(format!(
                "key {key} answered with the receipt of {}",
                receipt.idempotency_key
            ));
        }
        if status == 201 && !self.created.insert(key.to_owned()) {
            self.created_twice.push(format!("{key} answered 201 twice"));
        }
        match self.cases.get(case) {
            Some(other) if other != key => self
                .reused
                .push(format!("case {case} given to {other} and to {key}")),
            Some(_) => {}
            None => {
                self.cases.insert(case.clone(), key.to_owned());
            }
        }
        match self.acked.get(key) {
            Some(before) => {
                // Already acknowledged: it must have been found, unchanged.
                if before != case || status != 200 {
                    self.lost.push(format!(
                        "{key}: acknowledged as {before}, now answered {status} with {case}"
                    ));
                }
                if purpose == Purpose::Check {
                    self.spot_checks += 1;
                }
            }
            None => {
                self.acked.insert(key.to_owned(), case.clone());
                self.acked_order.push(key.to_owned());
                self.acknowledged += 1;
                if purpose == Purpose::Check {
                    self.unexpected
                        .push(format!("{key} checked before it was acknowledged"));
                }
            }
        }
        if self.unanswered.remove(key) && purpose == Purpose::Resend {
            self.resent += 1;
            if status == 200 {
                self.resent_found += 1;
            } else {
                self.resent_created += 1;
            }
        }
    }
}

enum Answer {
    Receipt(u16, ApplicationReceipt),
    /// No answer: the connection failed or broke (the process died).
    None,
    /// A 5xx: temporary, the client would retry; counted, not a receipt.
    ServerError(u16),
    Other(u16, String),
}

async fn post(client: &reqwest::Client, base: &str, app: &SubmitApplication) -> Answer {
    let sent = client
        .post(format!("{base}/v1/applications"))
        .header(IDEMPOTENCY_HEADER, &app.idempotency_key)
        .json(app)
        .send()
        .await;
    let Ok(resp) = sent else { return Answer::None };
    let status = resp.status().as_u16();
    // The body can be cut by the kill after the status line: no answer.
    let Ok(body) = resp.bytes().await else {
        return Answer::None;
    };
    match status {
        200 | 201 => match serde_json::from_slice(&body) {
            Ok(r) => Answer::Receipt(status, r),
            Err(e) => Answer::Other(status, format!("{e}: {}", String::from_utf8_lossy(&body))),
        },
        s if s >= 500 => Answer::ServerError(s),
        s => Answer::Other(s, String::from_utf8_lossy(&body).into_owned()),
    }
}

/// GET the case number; `Some(key)` it names, `None` when no answer.
async fn lookup(
    client: &reqwest::Client,
    base: &str,
    case: &str,
) -> Result<Option<String>, String> {
    let Ok(resp) = client
        .get(format!("{base}/v1/applications/{case}"))
        .send()
        .await
    else {
        return Ok(None);
    };
    let status = resp.status().as_u16();
    let Ok(body) = resp.bytes().await else {
        return Ok(None);
    };
    if status >= 500 {
        return Ok(None);
    }
    if status != 200 {
        return Err(format!(
            "GET {case}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice::<ApplicationReceipt>(&body)
        .map(|r| Some(r.idempotency_key))
        .map_err(|e| format!("GET {case}: {e}"))
}

/// One request of a stream, recorded in the ledger.
async fn send_one(
    ledger: &Mutex<Ledger>,
    client: &reqwest::Client,
    base: &str,
    purpose: Purpose,
    key: &str,
) {
    let app = fixtures::application_with_key(key);
    if purpose == Purpose::Fresh {
        let mut l = ledger.lock().unwrap();
        l.fresh_sent += 1;
        // Recorded before it leaves: if the kill takes the answer, the key
        // is among those sent without one.
        l.unanswered.insert(key.to_owned());
    }
    match post(client, base, &app).await {
        Answer::Receipt(status, receipt) => {
            let case = receipt.case_number.clone();
            ledger
                .lock()
                .unwrap()
                .answered(purpose, key, status, &receipt);
            if purpose == Purpose::Check {
                // The number leads back to the key.
                match lookup(client, base, &case).await {
                    Ok(Some(found)) if found != key => ledger
                        .lock()
                        .unwrap()
                        .lost
                        .push(format!("case {case} of {key} now names {found}")),
                    Ok(Some(_)) => ledger.lock().unwrap().lookups += 1,
                    Ok(None) => {}
                    Err(e) => ledger.lock().unwrap().unexpected.push(e),
                }
            }
        }
        Answer::None => {}
        Answer::ServerError(status) => {
            *ledger
                .lock()
                .unwrap()
                .server_errors
                .entry(status)
                .or_default() += 1;
        }
        Answer::Other(status, body) => ledger
            .lock()
            .unwrap()
            .unexpected
            .push(format!("{purpose:?} {key}: {status} {body}")),
    }
}

/// Runs `work` over `tasks` concurrent submitters until it is done or
/// `stop` is set (the process was killed: what is not sent yet is not sent).
fn run_stream(
    ledger: &Arc<Mutex<Ledger>>,
    client: &reqwest::Client,
    base: &str,
    work: Vec<(Purpose, String)>,
    tasks: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut queues: Vec<Vec<(Purpose, String)>> = vec![Vec::new(); tasks];
    for (i, w) in work.into_iter().enumerate() {
        queues[i % tasks].push(w);
    }
    queues
        .into_iter()
        .map(|queue| {
            let (ledger, client, base, stop) = (
                ledger.clone(),
                client.clone(),
                base.to_owned(),
                stop.clone(),
            );
            tokio::spawn(async move {
                for (purpose, key) in queue {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    send_one(&ledger, &client, &base, purpose, &key).await;
                }
            })
        })
        .collect()
}

/// Waits (30 s at most) until the catalogue is served: the store is open
/// and migrated.
async fn ready(client: &reqwest::Client, base: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let answer = client.get(format!("{base}/v1/services")).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

fn base(addr: SocketAddr) -> String {
    format!("https://localhost:{}", addr.port())
}

async fn crash_and_restart(store: Store, dir: &Path, seed: u64) {
    let started = std::time::Instant::now();
    std::fs::write(dir.join("admin-token"), "crash-admin-token-0123456789").unwrap();
    // A first life that is not killed makes the TLS files, the signing key
    // and the schema: the kills are about submissions, and a certificate
    // half written by a kill is refused (never overwritten) on restart.
    let mut first = Backend::spawn(dir, &store);
    first
        .listening()
        .await
        .unwrap_or_else(|| panic!("the first start failed:\n{}", first.log()));
    drop(first);
    let ca = std::fs::read_to_string(dir.join("tls").join("ca.pem")).unwrap();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Rng(seed);
    let (mut killed_starting, mut killed_serving) = (0usize, 0usize);
    for life in 0..KILLS {
        let during_start = rng.below(4) == 0;
        let delay = rng.millis(if during_start {
            STARTING_DELAY_MS
        } else {
            SERVING_DELAY_MS
        });
        let mut backend = Backend::spawn(dir, &store);
        let spawned = Instant::now();
        let deadline = if during_start {
            spawned + delay
        } else {
            // Generous: only a start that hangs meets it.
            spawned + Duration::from_secs(30)
        };
        let addr = match tokio::time::timeout_at(deadline, backend.listening()).await {
            Err(_) if during_start => {
                killed_starting += 1;
                backend.kill();
                continue;
            }
            Err(_) => panic!(
                "life {life}: no `listening on` line in 30 s:\n{}",
                backend.log()
            ),
            Ok(None) => panic!(
                "life {life}: the backend exited by itself while starting:\n{}",
                backend.log()
            ),
            Ok(Some(addr)) => addr,
        };
        let client = client_trusting(&ca, addr);
        let kill_at = if during_start {
            spawned + delay
        } else {
            // On PostgreSQL the process listens before its store is ready
            // (it answers 503 meanwhile): count from the first answer, so
            // these kills land among stored submissions.
            assert!(
                ready(&client, &base(addr)).await,
                "life {life}: not ready within 30 s:\n{}",
                backend.log()
            );
            Instant::now() + delay
        };
        killed_serving += 1;
        // This life's work: earlier keys without an answer first, a few
        // spot checks, then fresh keys.
        let mut work: Vec<(Purpose, String)> = Vec::new();
        {
            let l = ledger.lock().unwrap();
            for key in l.unanswered.iter().take(RESEND_PER_LIFE) {
                work.push((Purpose::Resend, key.clone()));
            }
            for _ in 0..SPOT_CHECKS_PER_LIFE {
                if !l.acked_order.is_empty() {
                    let i = rng.below(l.acked_order.len() as u64) as usize;
                    work.push((Purpose::Check, l.acked_order[i].clone()));
                }
            }
        }
        for _ in 0..TASKS * FRESH_PER_TASK {
            work.push((Purpose::Fresh, uuid::Uuid::new_v4().to_string()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = run_stream(&ledger, &client, &base(addr), work, TASKS, &stop);
        tokio::time::sleep_until(kill_at).await;
        stop.store(true, Ordering::SeqCst);
        backend.kill();
        for t in tasks {
            t.await.unwrap();
        }
        let mut l = ledger.lock().unwrap();
        let left: Vec<String> = l.unanswered.iter().cloned().collect();
        l.ever_unanswered.extend(left);
    }

    // The last life is not killed: every key still without an answer is
    // re-sent until it has one, and every acknowledged key is checked.
    let mut backend = Backend::spawn(dir, &store);
    let addr = backend
        .listening()
        .await
        .unwrap_or_else(|| panic!("the final start failed:\n{}", backend.log()));
    let client = client_trusting(&ca, addr);
    assert!(
        ready(&client, &base(addr)).await,
        "the final life: not ready within 30 s:\n{}",
        backend.log()
    );
    let never_stop = Arc::new(AtomicBool::new(false));
    // Rounds, in case a re-send meets a 5xx (counted, and sent again).
    for _round in 0..10 {
        let pending: Vec<(Purpose, String)> = ledger
            .lock()
            .unwrap()
            .unanswered
            .iter()
            .map(|k| (Purpose::Resend, k.clone()))
            .collect();
        if pending.is_empty() {
            break;
        }
        for t in run_stream(&ledger, &client, &base(addr), pending, 8, &never_stop) {
            t.await.unwrap();
        }
    }
    let all: Vec<(Purpose, String)> = ledger
        .lock()
        .unwrap()
        .acked_order
        .iter()
        .map(|k| (Purpose::Check, k.clone()))
        .collect();
    let checked_at_end = all.len();
    let (checks_before, lookups_before) = {
        let l = ledger.lock().unwrap();
        (l.spot_checks, l.lookups)
    };
    for t in run_stream(&ledger, &client, &base(addr), all, 8, &never_stop) {
        t.await.unwrap();
    }
    drop(backend);

    // The database itself, read with the backend stopped: exactly the
    // acknowledged keys, each with the number it was acknowledged with.
    let rows = store.rows().await;
    let l = ledger.lock().unwrap();
    // Nothing is killed now: every check must have been answered.
    assert_eq!(
        (l.spot_checks - checks_before, l.lookups - lookups_before),
        (checked_at_end, checked_at_end),
        "every acknowledged key re-sent (200, same number) and looked up (same key) at the end"
    );
    let mut row_of: HashMap<&str, &str> = HashMap::new();
    let mut numbers = BTreeSet::new();
    let mut db_problems = Vec::new();
    for (key, case) in &rows {
        row_of.insert(key, case);
        if !numbers.insert(case.as_str()) {
            db_problems.push(format!("case {case} stored twice"));
        }
    }
    for (key, case) in &l.acked {
        match row_of.get(key.as_str()) {
            Some(stored) if stored == case => {}
            other => db_problems.push(format!("{key}: acknowledged {case}, stored {other:?}")),
        }
    }
    eprintln!(
        "crash test, {}: {} kills ({killed_starting} while starting, {killed_serving} while \
         serving), {} fresh submissions sent, {} acknowledged, {} left without an answer by a kill, \
         {} of them re-sent ({} had been stored, {} were created by the re-send), {} spot checks \
         during the kills, {checked_at_end} checked at the end (re-sent and looked up), \
         5xx by status {:?}, {} rows in the database; \
         lost {}, case numbers reused {}, created twice {}, unexpected answers {}; {:.1} s",
        store.name(),
        KILLS,
        l.fresh_sent,
        l.acknowledged,
        l.ever_unanswered.len(),
        l.resent,
        l.resent_found,
        l.resent_created,
        checks_before,
        l.server_errors,
        rows.len(),
        l.lost.len(),
        l.reused.len(),
        l.created_twice.len(),
        l.unexpected.len(),
        started.elapsed().as_secs_f64(),
    );
    assert!(
        l.lost.is_empty(),
        "acknowledged submissions lost: {:#?}",
        l.lost
    );
    assert!(l.reused.is_empty(), "case numbers reused: {:#?}", l.reused);
    assert!(l.created_twice.is_empty(), "{:#?}", l.created_twice);
    assert!(
        l.unexpected.is_empty(),
        "unexpected answers: {:#?}",
        l.unexpected
    );
    assert!(
        l.unanswered.is_empty(),
        "keys still without an answer after the final re-send: {}",
        l.unanswered.len()
    );
    assert_eq!(
        l.resent,
        l.ever_unanswered.len(),
        "every key left without an answer was answered when re-sent"
    );
    assert!(db_problems.is_empty(), "the database: {db_problems:#?}");
    assert_eq!(
        rows.len(),
        l.acked.len(),
        "the database holds exactly the acknowledged submissions"
    );
    assert_eq!(
        l.acked.len(),
        l.fresh_sent,
        "every key sent ends acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_submission_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("backend.sqlite3");
    crash_and_restart(Store::Sqlite(db), dir.path(), 0x5eed_0001_c0de_cafe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_submission_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let database = pg::fresh_database("cds_crash").await;
    crash_and_restart(Store::Postgres(database), dir.path(), 0x5eed_0002_c0de_cafe).await;
}
