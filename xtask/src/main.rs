//! `cargo xtask <command>`: everything a fresh Debian/Ubuntu machine with only
//! rustup needs, in two commands (`run`, `test`), plus their building blocks.
//!
//! Nothing here downloads from anywhere but the package registries (apt,
//! crates.io): the wasm-bindgen step is linked in as a library, and
//! tauri-driver comes from crates.io.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian packages the app, its build and its tests need.
const APT_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "pkg-config",
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-1-dev",
    "imagemagick",
    // cds-qr's zxing-cpp decoder is C++ built from source by cmake.
    "cmake",
    "g++",
];

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run        set up, build, start the local reference backend and open the app
  test       set up, build, and run every test (unit, integration, end-to-end)
  setup      install what is missing (apt packages, wasm target, tauri-driver)
  build-ui   compile the Leptos UI to wasm into ui/dist
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    match args.first().map(String::as_str) {
        Some("setup") => setup(&root, true),
        Some("build-ui") => build_ui(&root),
        Some("run") => run(&root),
        Some("test") => test(&root, &args[1..]),
        _ => {
            eprint!("{USAGE}");
            bail!("unknown or missing command")
        }
    }
}

fn workspace_root() -> Result<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn step(msg: &str) {
    eprintln!("\x1b[1m==> {msg}\x1b[0m");
}

fn status(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !st.success() {
        bail!("{shown} failed with {st}");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs what is missing. `tools_for_tests` also installs tauri-driver.
fn setup(_root: &Path, tools_for_tests: bool) -> Result<()> {
    step("checking system packages");
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect();
    if !missing.is_empty() {
        let cmd = format!(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {}",
            missing.join(" ")
        );
        if is_root() {
            step(&format!("installing {}", missing.join(" ")));
            status(Command::new("sh").args(["-c", &cmd]))?;
        } else {
            bail!("missing system packages; run as root:\n  sudo sh -c '{cmd}'");
        }
    }
    step("checking the wasm32 target");
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is required")?;
    if !String::from_utf8_lossy(&targets.stdout).contains("wasm32-unknown-unknown") {
        status(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if tools_for_tests {
        let ok = Command::new("tauri-driver")
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            step("installing tauri-driver 2.x from crates.io");
            // Pin ^2: the registry's newest is for Tauri 3 alphas.
            status(Command::new("cargo").args([
                "install",
                "tauri-driver",
                "--version",
                "^2",
                "--locked",
            ]))?;
        }
    }
    Ok(())
}

/// Compiles `ui/` to wasm and lays out `ui/dist/` for Tauri to embed.
fn build_ui(root: &Path) -> Result<()> {
    step("building the UI (Leptos → wasm)");
    status(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "-p",
        "cds-ui",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let wasm = target_dir(root).join("wasm32-unknown-unknown/release/cds-ui.wasm");
    let dist = root.join("ui/dist");
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    step("generating JS bindings (wasm-bindgen library, same version as the UI's)");
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&wasm)
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .typescript(false)
        .out_name("cds-ui");
    bindgen
        .generate(&dist)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed on {}: {e}", wasm.display()))?;
    let static_dir = root.join("ui/static");
    for entry in std::fs::read_dir(&static_dir)
        .with_context(|| format!("reading {}", static_dir.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), dist.join(entry.file_name()))?;
        }
    }
    let size = std::fs::metadata(dist.join("cds-ui_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!("    ui/dist ready (wasm {} KiB)", size / 1024);
    Ok(())
}

fn cargo_build(root: &Path, packages: &[&str]) -> Result<()> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root).arg("build");
    for p in packages {
        cmd.args(["-p", p]);
    }
    status(&mut cmd)
}

fn wait_for_listening(child: &mut Child) -> Result<String> {
    use std::io::BufRead;
    let out = child.stdout.take().context("backend has no stdout")?;
    let mut lines = std::io::BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return Ok(url.to_owned());
                }
            }
            Some(Err(e)) => bail!("reading backend output: {e}"),
            None => bail!("the backend exited before it was listening"),
        }
    }
    bail!("the backend did not start within 30 s")
}

/// Builds everything and opens the app against a local reference backend.
fn run(root: &Path) -> Result<()> {
    setup(root, false)?;
    build_ui(root)?;
    step("building the backend and the app");
    cargo_build(root, &["cds-backend", "cong-dan-so"])?;
    let bin = target_dir(root).join("debug");
    let dev = root.join(".cds-dev");
    let tls = dev.join("tls");
    std::fs::create_dir_all(&dev)?;
    step("starting the reference city backend on https://localhost:8443");
    let mut backend = Command::new(bin.join("cds-backend"))
        .args(["serve", "--listen", "127.0.0.1:8443", "--db"])
        .arg(dev.join("backend.sqlite3"))
        .arg("--tls-dir")
        .arg(&tls)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting cds-backend")?;
    let url = match wait_for_listening(&mut backend) {
        Ok(u) => u,
        Err(e) => {
            let _ = backend.kill();
            return Err(e.context("is something else using port 8443?"));
        }
    };
    eprintln!(
        "    backend ready at {url} (CA: {})",
        tls.join("ca.pem").display()
    );
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("    no DISPLAY: starting the app under xvfb-run (invisible)");
    }
    step("opening Công dân số");
    let mut app =
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            let mut c = Command::new("xvfb-run");
            c.args(["-a", "-s", "-screen 0 1280x800x24"])
                .arg(bin.join("cong-dan-so"));
            c
        } else {
            Command::new(bin.join("cong-dan-so"))
        };
    app.args(["--backend-url", "https://localhost:8443", "--ca-cert"])
        .arg(tls.join("ca.pem"));
    let result = status(&mut app);
    let _ = backend.kill();
    let _ = backend.wait();
    result
}

/// Builds everything and runs every test inside a D-Bus session with an
/// unlocked Secret Service keyring and a virtual X display.
fn test(root: &Path, extra: &[String]) -> Result<()> {
    setup(root, true)?;
    build_ui(root)?;
    // One build for everything: `cargo test --workspace` builds the app and
    // backend executables too (their packages have integration tests), with
    // the workspace's unified features. A separate `cargo build -p …` would
    // resolve other features and compile the whole Tauri stack a second time.
    step("building every test and the app and backend binaries the end-to-end tests drive");
    status(Command::new(env!("CARGO")).current_dir(root).args([
        "test",
        "--workspace",
        "--no-run",
    ]))?;
    let bin = target_dir(root).join("debug");
    let artifacts = target_dir(root).join("e2e-artifacts");
    std::fs::create_dir_all(&artifacts)?;
    // A private HOME keeps the test keyring away from the user's own.
    let home = target_dir(root).join("test-home");
    // A fresh keyring every run: gnome-keyring creates the login keyring
    // with the password we unlock it with, so an old one could not be opened.
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    // Changing HOME would also move cargo's and rustup's homes: pin them.
    let real_home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".rustup"));
    let cargo = env!("CARGO");
    let extra = extra
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!(
        "set -e\n\
         eval \"$(printf cds-test | gnome-keyring-daemon --unlock --components=secrets)\"\n\
         export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK\n\
         xvfb-run -a -s '-screen 0 1280x800x24' '{cargo}' test --workspace --no-fail-fast {extra}\n"
    );
    step("running all tests (dbus-run-session + gnome-keyring + Xvfb)");
    status(
        Command::new("dbus-run-session")
            .args(["--", "sh", "-c", &script])
            .current_dir(root)
            .env("HOME", &home)
            .env("CARGO_HOME", &cargo_home)
            .env("RUSTUP_HOME", &rustup_home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("CDS_APP_BIN", bin.join("cong-dan-so"))
            .env("CDS_BACKEND_BIN", bin.join("cds-backend"))
            .env("CDS_E2E_ARTIFACTS", &artifacts)
            .env("RUST_BACKTRACE", "1"),
    )
}
