//! The end-to-end harness every window test reuses.
//!
//! [`Harness::start`] gives a test:
//! - a reference backend *process* (`cds-backend serve`) on a free loopback
//!   port with a fresh database and a fresh development CA, started now or
//!   later ([`BackendPlan::Later`]) so tests can begin offline;
//! - its own `tauri-driver` (free ports) driving WebKitWebDriver, which
//!   starts the real `cong-dan-so` binary in a real window;
//! - a fresh app data dir and a unique keyring service name, so tests run in
//!   parallel without sharing a vault or a key;
//! - a WebDriver session ([`fantoccini::Client`]) plus small helpers.
//!
//! The binaries come from `CDS_APP_BIN` / `CDS_BACKEND_BIN`, which
//! `cargo xtask test` sets after building them; the keyring and the X display
//! come from the session that command sets up. A failing test saves a
//! screenshot under `CDS_E2E_ARTIFACTS` (default `target/e2e-artifacts`).

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use std::io::BufRead;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a UI condition may take before the test fails.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

fn env_path(var: &str) -> Result<PathBuf> {
    std::env::var_os(var).map(PathBuf::from).with_context(|| {
        format!("{var} is not set: run the end-to-end tests through `cargo xtask test`")
    })
}

pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Kills the child when dropped, so a failing test leaves no process behind.
/// A child started with [`Guard::spawn_group`] leads a process group of its
/// own, and the whole group goes: tauri-driver starts WebKitWebDriver, which
/// starts the app, and killing tauri-driver alone would leave both running.
pub struct Guard {
    child: Child,
    group: bool,
}

impl Guard {
    /// Spawns `cmd` as a single process, killed on drop.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Guard> {
        Ok(Guard {
            child: cmd.spawn()?,
            group: false,
        })
    }

    /// Spawns `cmd` as the leader of a new process group, killed with all
    /// its descendants on drop.
    pub fn spawn_group(cmd: &mut Command) -> std::io::Result<Guard> {
        use std::os::unix::process::CommandExt;
        Ok(Guard {
            child: cmd.process_group(0).spawn()?,
            group: true,
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.group {
            // `kill -KILL -- -PGID`: the group's id is the leader's pid. The
            // kill(1) program rather than libc keeps the crate free of unsafe.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reference backend for one test.
pub struct Backend {
    pub port: u16,
    pub dir: PathBuf,
    process: Option<Guard>,
}

impl Backend {
    /// Makes the development CA, without starting. The port is chosen when
    /// the backend first starts (see [`Backend::start`]), or now for a
    /// backend the test starts later: the app must be given its URL first.
    fn prepare(dir: &Path, plan: &BackendPlan) -> Result<Backend> {
        let bin = env_path("CDS_BACKEND_BIN")?;
        let out = Command::new(&bin)
            .args(["gen-cert", "--tls-dir"])
            .arg(dir.join("tls"))
            .output()
            .with_context(|| format!("running {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "cds-backend gen-cert failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = match plan {
            // Bound by the backend itself (`--listen 127.0.0.1:0`) and read
            // back from its "listening on" line: no window for a race.
            BackendPlan::Running => 0,
            // The app is told this URL while nothing listens there. Linux
            // hands out ephemeral ports in turn, so another test's port-0
            // bind getting this one before the backend starts is unlikely;
            // if it happens the start fails with "address in use", loudly.
            BackendPlan::Later => free_port()?,
        };
        Ok(Backend {
            port,
            dir: dir.to_path_buf(),
            process: None,
        })
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.join("backend.sqlite3")
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Starts `cds-backend serve` and waits for its "listening on" line. The
    /// first start with port 0 lets the backend pick the port; a restart
    /// uses the same port again, since the app knows the URL.
    pub fn start(&mut self) -> Result<()> {
        if self.process.is_some() {
            return Ok(());
        }
        let bin = env_path("CDS_BACKEND_BIN")?;
        let mut guard = Guard::spawn(
            Command::new(&bin)
                .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
                .arg("--db")
                .arg(self.db_path())
                .arg("--tls-dir")
                .arg(self.dir.join("tls"))
                .stdout(Stdio::piped()),
        )
        .context("starting cds-backend")?;
        let stdout = guard.child.stdout.take().context("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let port = match lines.next() {
            Some(Ok(l)) => l
                .strip_prefix("listening on https://")
                .and_then(|addr| addr.rsplit_once(':'))
                .and_then(|(_, port)| port.trim().parse::<u16>().ok())
                .with_context(|| format!("unexpected first line from the backend: {l:?}"))?,
            other => bail!("backend did not start: {other:?}"),
        };
        self.port = port;
        // Keep draining stdout so the backend never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.process = Some(guard);
        Ok(())
    }

    /// Rows in the backend's applications table, read from its database.
    pub fn application_rows(&self) -> Result<i64> {
        let conn = rusqlite::Connection::open_with_flags(
            self.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        Ok(conn.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))?)
    }
}

/// Whether the backend runs from the start or is started by the test.
pub enum BackendPlan {
    Running,
    Later,
}

/// Extra knobs for unusual starts (failure tests).
#[derive(Default, Clone)]
pub struct AppOptions {
    /// Trust this CA instead of the backend's own (to test an untrusted cert).
    pub ca_override: Option<PathBuf>,
    /// Environment for tauri-driver and so for the app (e.g. no D-Bus).
    pub env: Vec<(String, String)>,
    /// Files written into the app's data dir before its first start.
    pub seed_files: Vec<(String, Vec<u8>)>,
}

impl AppOptions {
    /// An app that cannot reach any OS keyring (no D-Bus session bus), so
    /// the vault falls back to the PIN.
    pub fn without_keyring() -> AppOptions {
        AppOptions {
            env: no_keyring_env(),
            ..Default::default()
        }
    }
}

/// Environment that hides the Secret Service from the app.
pub fn no_keyring_env() -> Vec<(String, String)> {
    vec![(
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/cds-no-bus".into(),
    )]
}

pub struct Harness {
    pub name: String,
    pub client: Client,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub keyring_service: String,
    options: AppOptions,
    driver: Guard,
    driver_port: u16,
    _tmp: tempfile::TempDir,
}

impl Harness {
    pub async fn start(name: &str, plan: BackendPlan) -> Result<Harness> {
        Self::start_with(name, plan, AppOptions::default()).await
    }

    pub async fn start_with(name: &str, plan: BackendPlan, options: AppOptions) -> Result<Harness> {
        let tmp = tempfile::Builder::new().prefix("cds-e2e-").tempdir()?;
        let mut backend = Backend::prepare(&tmp.path().join("backend"), &plan)?;
        if let BackendPlan::Running = plan {
            backend.start()?;
        }
        let data_dir = tmp.path().join("app-data");
        std::fs::create_dir_all(&data_dir)?;
        for (name, bytes) in &options.seed_files {
            std::fs::write(data_dir.join(name), bytes)?;
        }
        let (driver, driver_port) =
            start_driver(&with_private_web_storage(&options.env, tmp.path()))?;
        let keyring_service = format!("cds-e2e-{}", uuid::Uuid::new_v4());
        let args = app_args(&backend, &data_dir, &keyring_service, &options);
        let client = open_app(driver_port, &args).await?;
        Ok(Harness {
            name: name.to_owned(),
            client,
            backend,
            data_dir,
            keyring_service,
            options,
            driver,
            driver_port,
            _tmp: tmp,
        })
    }

    /// Quits the app (ends the WebDriver session, which ends the process) and
    /// starts it again on the same data dir and keyring entry.
    pub async fn restart_app(&mut self) -> Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("closing the app")?;
        let args = app_args(
            &self.backend,
            &self.data_dir,
            &self.keyring_service,
            &self.options,
        );
        self.client = open_app(self.driver_port, &args).await?;
        Ok(())
    }

    /// Restarts the app with other options (for example without the
    /// keyring): the environment goes to a new tauri-driver, since the
    /// driver passes its own environment to the app it starts.
    pub async fn restart_app_with(&mut self, options: AppOptions) -> Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("closing the app")?;
        let (driver, port) =
            start_driver(&with_private_web_storage(&options.env, self._tmp.path()))?;
        self.options = AppOptions {
            seed_files: Vec::new(),
            ..options
        };
        self.driver = driver;
        self.driver_port = port;
        let args = app_args(
            &self.backend,
            &self.data_dir,
            &self.keyring_service,
            &self.options,
        );
        self.client = open_app(self.driver_port, &args).await?;
        Ok(())
    }

    /// A private scratch folder of this test (removed with the harness).
    pub fn scratch(&self) -> PathBuf {
        self._tmp.path().join("scratch")
    }

    pub fn vault_path(&self) -> PathBuf {
        self.data_dir.join("vault.sqlite3")
    }

    // ---- UI helpers -------------------------------------------------------

    pub async fn wait(&self, css: &str) -> Result<Element> {
        wait_css(&self.client, css).await
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        let el = self.wait(css).await?;
        if el.click().await.is_ok() {
            return Ok(());
        }
        // WebKitWebDriver sometimes refuses a click on a button that a
        // layout change just moved (an error message appearing above it):
        // scroll it into view and click it as the page would.
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                vec![serde_json::to_value(&el)?],
            )
            .await
            .with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.wait(css).await?;
        el.clear().await.ok();
        el.send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.wait(css).await?.text().await?)
    }

    /// Waits until `css` matches an element whose text contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> Result<String> {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(els) = self.client.find_all(Locator::Css(css)).await {
                for el in els {
                    if let Ok(t) = el.text().await {
                        if t.contains(needle) {
                            return Ok(t);
                        }
                        last = t;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("no `{css}` containing {needle:?} within {UI_TIMEOUT:?} (last text: {last:?})")
    }

    /// Types into a field and checks that the field holds exactly the text.
    /// No second try: a keystroke the form loses is a bug to report.
    pub async fn type_checked(&self, css: &str, text: &str) -> Result<()> {
        self.type_into(css, text).await?;
        let got = self.value_of(css).await?;
        if got != text {
            bail!("{css} holds {got:?} after typing {text:?}");
        }
        Ok(())
    }

    /// The `value` property of a form control.
    pub async fn value_of(&self, css: &str) -> Result<String> {
        Ok(self
            .wait(css)
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    /// Picks the `<option value=…>` of a `<select>` (by script, then a
    /// `change` event: WebKitWebDriver cannot click native options).
    pub async fn select(&self, css: &str, value: &str) -> Result<()> {
        let el = self.wait(css).await?;
        let ok = self
            .client
            .execute(
                "const s = arguments[0]; \
                 if (![...s.options].some(o => o.value === arguments[1])) return false; \
                 s.value = arguments[1]; \
                 s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                vec![serde_json::to_value(&el)?, value.into()],
            )
            .await
            .with_context(|| format!("choosing {value:?} in {css}"))?;
        if ok != serde_json::Value::Bool(true) {
            bail!("{css} has no option {value:?}");
        }
        Ok(())
    }

    /// Chooses a file in an `<input type=file>`.
    pub async fn choose_file(&self, css: &str, path: &Path) -> Result<()> {
        let path = path.canonicalize()?;
        self.wait(css)
            .await?
            .send_keys(&path.display().to_string())
            .await
            .with_context(|| format!("choosing {} in {css}", path.display()))
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        let deadline = Instant::now() + UI_TIMEOUT;
        while Instant::now() < deadline {
            if self.count(css).await? == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("`{css}` still present after {UI_TIMEOUT:?}")
    }

    /// Fills the add-document form for a CCCD (open on the documents page)
    /// and saves it; `photo` is attached when given.
    pub async fn add_cccd(&self, c: &Cccd<'_>, photo: Option<&Path>) -> Result<()> {
        self.fill_cccd_form(c).await?;
        if let Some(p) = photo {
            self.choose_file("#doc-photo", p).await?;
            self.wait("#doc-photo-chosen").await?;
        }
        self.click("#doc-save").await?;
        self.wait_text(".document-card .doc-name", c.name).await?;
        Ok(())
    }

    /// Opens the add form and fills in a CCCD, without saving.
    pub async fn fill_cccd_form(&self, c: &Cccd<'_>) -> Result<()> {
        self.click("#nav-documents").await?;
        self.click("#add-document").await?;
        self.wait("#document-form").await?;
        self.select("#doc-kind", "cccd").await?;
        // Typed at once, right after opening: nothing may be lost.
        self.type_checked("#doc-number", c.number).await?;
        self.type_checked("#doc-name", c.name).await?;
        self.type_checked("#doc-dob", c.dob).await?;
        self.select("#doc-field-sex", c.sex).await?;
        self.type_into("#doc-field-nationality", "Việt Nam").await?;
        self.type_into("#doc-field-place_of_origin", "Hòa Vang, Đà Nẵng")
            .await?;
        self.type_into(
            "#doc-field-place_of_residence",
            "12 Bạch Đằng, Hải Châu, Đà Nẵng",
        )
        .await?;
        self.type_into("#doc-field-issue_date", "10/04/2021")
            .await?;
        Ok(())
    }

    pub async fn count(&self, css: &str) -> Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    pub async fn screenshot(&self, label: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{label}.png", self.name));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends a test: on failure saves a screenshot and the page source, on
    /// success a final screenshot and a line proving a real window ran. Always
    /// closes the app and its driver.
    pub async fn finish(self, result: Result<()>) -> Result<()> {
        match &result {
            Ok(()) => {
                if let Ok(p) = self.screenshot("final").await {
                    let title = self.client.title().await.unwrap_or_default();
                    println!(
                        "e2e {}: passed in a real app window (page title {title:?}, DISPLAY={}); screenshot {}",
                        self.name,
                        std::env::var("DISPLAY").unwrap_or_default(),
                        p.display()
                    );
                }
            }
            Err(e) => {
                let shot = self.screenshot("failure").await;
                if let Ok(src) = self.client.source().await {
                    let _ = std::fs::write(
                        artifacts_dir().join(format!("{}-failure.html", self.name)),
                        src,
                    );
                }
                eprintln!("e2e {} failed: {e:#}\nscreenshot: {shot:?}", self.name);
            }
        }
        let _ = self.client.clone().close().await;
        drop(self.driver);
        result
    }
}

fn app_args(
    backend: &Backend,
    data_dir: &Path,
    keyring_service: &str,
    options: &AppOptions,
) -> Vec<String> {
    let ca = options
        .ca_override
        .clone()
        .unwrap_or_else(|| backend.ca_path());
    vec![
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--backend-url".into(),
        backend.url(),
        "--ca-cert".into(),
        ca.display().to_string(),
        "--keyring-service".into(),
        keyring_service.to_owned(),
    ]
}

/// Starts the app through the driver and waits for the UI to mount.
async fn open_app(driver_port: u16, args: &[String]) -> Result<Client> {
    let client = connect(driver_port, args).await?;
    wait_css(&client, "#nav-home").await?;
    Ok(client)
}

fn artifacts_dir() -> PathBuf {
    std::env::var_os("CDS_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts")
        })
}

/// Starts a tauri-driver of this test's own. tauri-driver takes its ports
/// on the command line (it cannot bind port 0 and say which it got), so the
/// ports are picked free and the start is tried again with new ones when
/// the driver exits at once (another process took a port in between). A
/// driver that exited is never mistaken for a listening one: the port being
/// open is only believed while our child is still alive.
/// `env` plus XDG data and cache folders inside the test's own temporary
/// folder. The WebView keeps its `localStorage` (the chosen language, for
/// one) under `$XDG_DATA_HOME/<app id>`, shared by every app instance of
/// the user; tests run in parallel, so one test switching to English must
/// not switch the app of another. A restart of the same test keeps them.
fn with_private_web_storage(env: &[(String, String)], tmp: &Path) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    for (var, dir) in [
        ("XDG_DATA_HOME", "xdg-data"),
        ("XDG_CACHE_HOME", "xdg-cache"),
    ] {
        if !env.iter().any(|(k, _)| k == var) {
            env.push((var.into(), tmp.join(dir).display().to_string()));
        }
    }
    env
}

fn start_driver(env: &[(String, String)]) -> Result<(Guard, u16)> {
    let mut last = anyhow!("tauri-driver was not started");
    for _ in 0..5 {
        match try_start_driver(env) {
            Ok(started) => return Ok(started),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn try_start_driver(env: &[(String, String)]) -> Result<(Guard, u16)> {
    let port = free_port()?;
    let native = free_port()?;
    let native_driver =
        which("WebKitWebDriver").unwrap_or_else(|| "/usr/bin/WebKitWebDriver".into());
    let mut cmd = Command::new("tauri-driver");
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ])
    .arg("--native-driver")
    .arg(native_driver)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut guard = Guard::spawn_group(&mut cmd)
        .context("starting tauri-driver (cargo xtask setup installs it)")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = guard.child.try_wait() {
            bail!("tauri-driver exited at once ({status}) on port {port}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            if let Ok(Some(status)) = guard.child.try_wait() {
                bail!("tauri-driver exited ({status}); port {port} is someone else's");
            }
            return Ok((guard, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("tauri-driver did not listen on port {port}")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

async fn connect(driver_port: u16, args: &[String]) -> Result<Client> {
    let app = env_path("CDS_APP_BIN")?;
    let caps = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": app, "args": args }
    });
    let serde_json::Value::Object(caps) = caps else {
        bail!("capabilities must be an object");
    };
    let mut last = None;
    // WebKitWebDriver may take a moment after tauri-driver starts listening.
    for _ in 0..20 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(anyhow!("could not start a WebDriver session: {last:?}"))
}

async fn wait_css(client: &Client, css: &str) -> Result<Element> {
    client
        .wait()
        .at_most(UI_TIMEOUT)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for `{css}`"))
}

/// The CCCD fields the end-to-end tests type.
pub struct Cccd<'a> {
    pub number: &'a str,
    pub name: &'a str,
    /// dd/mm/yyyy, as typed.
    pub dob: &'a str,
    /// `nam` or `nu`; must agree with the number's 4th digit.
    pub sex: &'a str,
}

/// A small real PNG (the app icon) for attachment tests.
pub fn sample_photo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/icon.png")
}

/// Answers the app's native file dialog (GTK) the way a person would: finds
/// the dialog window by (part of) its title on the test's X display, gives
/// it the keyboard, types `path` and presses Enter. `replace_name`: select
/// the name field's text first (a save dialog offers a name). Uses xdotool
/// (XTEST), so GTK sees real key presses.
pub async fn answer_file_dialog(title: &str, path: &Path, replace_name: bool) -> Result<()> {
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    let id = loop {
        let out = std::process::Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", title])
            .output()
            .context("running xdotool (apt install xdotool)")?;
        let found = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_owned);
        if let Some(id) = found.filter(|l| !l.trim().is_empty()) {
            break id;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no file dialog titled {title:?} appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let xdo = |args: &[&str]| -> Result<()> {
        let st = std::process::Command::new("xdotool").args(args).status()?;
        anyhow::ensure!(st.success(), "xdotool {args:?} failed");
        Ok(())
    };
    // GTK builds the dialog's widgets after mapping the window.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Other tests' app windows share the display: the dialog gets the
    // keyboard again right before every key sequence.
    let focus = || xdo(&["windowfocus", "--sync", &id]);
    if replace_name {
        focus()?;
        xdo(&["key", "--clearmodifiers", "ctrl+a"])?;
    }
    let text = path.to_str().context("non-UTF-8 path")?;
    focus()?;
    xdo(&["type", "--delay", "30", text])?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    focus()?;
    xdo(&["key", "Return"])?;
    Ok(())
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
