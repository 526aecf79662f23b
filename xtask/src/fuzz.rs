//! `cargo xtask fuzz`: builds the cds-qr fuzz targets (crates/qr/fuzz) and
//! runs each one for a bounded time, failing on the first sign of a crash.
//!
//! Why not `cargo fuzz run`: cargo-fuzz wants a nightly toolchain (it is
//! installed with `cargo install`, and its default sanitizer is ASan, which
//! needs `-Zsanitizer`). This project builds with stable Rust only, and CI
//! cannot download a nightly. With `--sanitizer none`, though, everything
//! cargo-fuzz passes to rustc is a stable `-C`/`--cfg` flag, and libfuzzer-sys
//! builds libFuzzer itself from its bundled C++ sources with the `cc` crate. So
//! we run the same `cargo build` that cargo-fuzz would, with the same flags, on
//! stable, and then run the resulting libFuzzer binaries directly.
//!
//! What we give up compared to the nightly default is AddressSanitizer: the
//! targets are safe Rust, so what we are after is panics (including
//! arithmetic overflow and debug assertions, both enabled below), aborts,
//! timeouts and runaway memory, all of which libFuzzer catches without ASan.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The `[[bin]]` targets of crates/qr/fuzz/Cargo.toml.
const TARGETS: &[&str] = &["credential_decode", "cccd_parse", "route_payload"];

/// The flags `cargo fuzz build --sanitizer none --debug-assertions` passes
/// (cargo-fuzz src/project.rs, `Project::cargo`), all of them stable:
/// coverage instrumentation for libFuzzer (8-bit counters, PC table,
/// comparison tracing, stack depth), `--cfg fuzzing` as the fuzzing crates
/// expect it, no dead-code stripping and one codegen unit (the sancov pass
/// otherwise blocks ThinLTO inlining, a large slowdown). Debug assertions and
/// overflow checks turn silent wrong arithmetic into crashes the fuzzer sees.
const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
    "--cfg",
    "fuzzing",
    "-Clink-dead-code",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "-Cdebug-assertions",
    "-Coverflow-checks",
    "-Ccodegen-units=1",
];

/// libFuzzer options for every run: a single input taking more than
/// `TIMEOUT_SECS` or the process growing past `RSS_LIMIT_MB` is a failure too.
const TIMEOUT_SECS: u64 = 10;
const RSS_LIMIT_MB: u64 = 2048;

/// Builds every fuzz target and runs each for `secs_per_target` seconds,
/// starting from the committed seed corpus. Fails naming the target and the
/// saved input if any target crashes, times out, runs out of memory or
/// otherwise exits non-zero.
pub fn fuzz(root: &Path, secs_per_target: u64) -> Result<()> {
    if secs_per_target == 0 {
        bail!("fuzzing needs at least one second per target");
    }
    let fuzz_dir = root.join("crates").join("qr").join("fuzz");
    let out_dir = root.join("target").join("fuzz");
    let triple = host_triple()?;

    let started = Instant::now();
    build(&fuzz_dir, &out_dir, &triple)?;
    eprintln!(
        "\x1b[1m==> fuzz targets built in {:.0} s\x1b[0m",
        started.elapsed().as_secs_f64()
    );

    // cargo puts `--target` builds under <target-dir>/<triple>/release.
    let bin_dir = out_dir.join(&triple).join("release");
    let mut failures = Vec::new();
    let mut summaries = Vec::new();
    for target in TARGETS {
        match run_target(&fuzz_dir, &out_dir, &bin_dir, target, secs_per_target) {
            Ok(summary) => summaries.push(summary),
            Err(e) => {
                eprintln!("\x1b[1;31mfuzz target {target} FAILED\x1b[0m: {e:#}");
                failures.push(format!("{e:#}"));
            }
        }
    }
    for s in &summaries {
        println!("{s}");
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} fuzz targets failed:\n{}",
            failures.len(),
            TARGETS.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

/// The host triple from `rustc -vV`. The build must name it explicitly:
/// with `--target`, cargo applies RUSTFLAGS to the fuzz targets and their
/// dependencies but not to build scripts and proc macros, which would
/// otherwise be instrumented and fail to link without libFuzzer.
fn host_triple() -> Result<String> {
    // The toolchain's own rustc, beside the cargo running us, rather than
    // the `rustc` on PATH (rustup's proxy, which resolves the toolchain
    // again and has failed here once after a long test run).
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| {
        let beside = Path::new(env!("CARGO")).with_file_name("rustc");
        if beside.exists() {
            beside.into_os_string()
        } else {
            "rustc".into()
        }
    });
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .with_context(|| format!("could not run {} -vV", Path::new(&rustc).display()))?;
    if !out.status.success() {
        bail!(
            "`rustc -vV` failed: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .context("`rustc -vV` printed no `host:` line")
}

fn build(fuzz_dir: &Path, out_dir: &Path, triple: &str) -> Result<()> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(fuzz_dir)
        .arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target")
        .arg(triple)
        .arg("--target-dir")
        .arg(out_dir)
        .arg("--bins")
        // Our flags replace, not extend, whatever the caller's environment
        // carries: CARGO_ENCODED_RUSTFLAGS would take precedence over
        // RUSTFLAGS, and flags meant for the normal build (or a different
        // instrumentation) would change what gets fuzzed.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("RUSTFLAGS", RUSTFLAGS.join(" "));
    eprintln!("\x1b[1m==> building fuzz targets: {cmd:?}\x1b[0m");
    let st = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !st.success() {
        bail!("building the fuzz targets failed ({st}): {cmd:?}");
    }
    Ok(())
}

/// Runs one target; returns its summary line.
fn run_target(
    fuzz_dir: &Path,
    out_dir: &Path,
    bin_dir: &Path,
    target: &str,
    secs: u64,
) -> Result<String> {
    let bin = bin_dir.join(target);
    if !bin.is_file() {
        bail!("{target}: no binary at {} after the build", bin.display());
    }

    // libFuzzer adds every new interesting input to the first corpus
    // directory it is given. Fuzz a scratch copy under target/ so runs never
    // touch the committed seeds; it persists, so repeated local runs keep
    // building on what earlier ones found.
    let seeds = fuzz_dir.join("corpus").join(target);
    let corpus = out_dir.join("corpus").join(target);
    copy_seeds(&seeds, &corpus)
        .with_context(|| format!("{target}: preparing the corpus {}", corpus.display()))?;

    let artifacts = out_dir.join("artifacts").join(target);
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let logs = out_dir.join("logs");
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let log =
        fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .with_context(|| format!("duplicating the handle of {}", log_path.display()))?;

    // The prefix is a path prefix, not a directory: the trailing separator
    // makes libFuzzer write <artifacts>/crash-<sha1> (and leak-, timeout-,
    // oom-, slow-unit-).
    let mut prefix = artifacts.into_os_string();
    prefix.push(std::path::MAIN_SEPARATOR_STR);
    let mut prefix_arg = std::ffi::OsString::from("-artifact_prefix=");
    prefix_arg.push(&prefix);

    let mut cmd = Command::new(&bin);
    // A fixed seed: CI explores the same mutation sequence every run, so a
    // failure reproduces; longer local runs (README) use random seeds.
    cmd.arg(format!("-max_total_time={secs}"))
        .arg("-seed=1")
        .arg(format!("-timeout={TIMEOUT_SECS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .arg(prefix_arg)
        .arg(&corpus)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // A panic message with a backtrace is what makes a crash report
        // actionable.
        .env("RUST_BACKTRACE", "1");
    eprintln!(
        "\x1b[1m==> fuzzing {target} for {secs} s (log: {})\x1b[0m",
        log_path.display()
    );
    let started = Instant::now();
    let st = cmd
        .status()
        .with_context(|| format!("{target}: could not start {}", bin.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log_path)
        .with_context(|| format!("{target}: reading {}", log_path.display()))?;

    if !st.success() {
        // libFuzzer prints "Test unit written to <path>" for the input it saved.
        let saved: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim()))
            .collect();
        eprintln!("--- last lines of {} ---", log_path.display());
        let lines: Vec<&str> = text.lines().collect();
        for l in &lines[lines.len().saturating_sub(60)..] {
            eprintln!("{l}");
        }
        let input = if saved.is_empty() {
            format!("no input saved (see {})", log_path.display())
        } else {
            format!("input saved as {}", saved.join(", "))
        };
        bail!(
            "fuzz target {target} failed ({st}) after {elapsed:.0} s; {input}; \
             reproduce with: {} {}",
            bin.display(),
            saved.first().copied().unwrap_or("<input file>")
        );
    }

    let stat = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim_start_matches(':').trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    // The last status line ("#N DONE cov: ... ft: ... corp: ...") carries the
    // coverage the run reached.
    let coverage = text
        .lines()
        .rev()
        .find(|l| l.contains(" cov: "))
        .and_then(|l| l.split_once(" cov: "))
        .map(|(_, rest)| format!("cov: {}", rest.trim()))
        .unwrap_or_else(|| "cov: ?".to_owned());
    Ok(format!(
        "fuzz {target}: ok, {} execs in {elapsed:.0} s ({} exec/s), peak RSS {} MB, {coverage}",
        stat("stat::number_of_executed_units"),
        stat("stat::average_exec_per_sec"),
        stat("stat::peak_rss_mb"),
    ))
}

/// Copies the committed seed files into the scratch corpus (overwriting
/// same-named files, keeping everything else the fuzzer found before).
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result<()> {
    fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    if !seeds.is_dir() {
        // A target without seeds still fuzzes, starting from the empty input.
        return Ok(());
    }
    let entries = fs::read_dir(seeds).with_context(|| format!("listing {}", seeds.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", seeds.display()))?;
        let from = entry.path();
        if from.is_file() {
            let to: PathBuf = corpus.join(entry.file_name());
            fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}
