//! Side-by-side benchmark of the vault (issue #3, item 9).
//!
//! One run, the same data for every contender:
//! - **vault**: `cds_vault::Vault` (AES-256-GCM per record, SQLite WAL);
//! - **plain**: SQLite through rusqlite, no encryption;
//! - **sqlcipher**: SQLCipher through rusqlite (`PRAGMA key`, raw 256-bit key).
//!
//! In this workspace `libsqlite3-sys` is built with `bundled-sqlcipher` for
//! the whole graph, the vault included: "plain" is SQLCipher without a key,
//! which runs SQLite's unencrypted code path. The run checks that claim (the
//! plain and vault files start with `SQLite format 3`, the SQLCipher file
//! does not) and prints it.
//!
//! Every contender uses the vault's connection settings: `journal_mode=WAL`,
//! `synchronous=FULL`, `foreign_keys=ON`, `temp_store=MEMORY`, default page
//! size (4096) and cache, one transaction per write.
//!
//! Run with `--help` for options; see BENCHMARKS.md.

mod contenders;

use anyhow::{bail, Context, Result};
use contenders::{Contender, Plain, Sqlcipher, VaultContender};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

struct Args {
    dir: Option<PathBuf>,
    records: usize,
    attach_1m: usize,
    attach_10m: usize,
    list_docs: usize,
    rounds: usize,
    keyring: bool,
    only: Option<String>,
}

const USAGE: &str = "\
vault-bench: the vault against plain SQLite and SQLCipher, side by side

USAGE: vault-bench [OPTIONS]
  --dir PATH         where to put the database files (default: a temp dir)
  --records N        1 KiB records written and read per round (default 500)
  --attach-1m N      1 MiB attachments per round (default 20)
  --attach-10m N     10 MiB attachments per round (default 4)
  --list N           documents in the listing test (default 10000)
  --rounds N         rounds per case; the median is reported (default 3)
  --no-keyring       skip unlocking through the OS keyring
  --only CASE        run one case: records, 1m, 10m, list, unlock
  --quick            small counts, for a smoke test
Run under scripts/with-keyring.sh (D-Bus session with an unlocked gnome-keyring) to
measure the keyring unlock.";

fn parse_args() -> Result<Args> {
    let mut a = Args {
        dir: None,
        records: 500,
        attach_1m: 20,
        attach_10m: 4,
        list_docs: 10_000,
        rounds: 3,
        keyring: true,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            it.next()
                .with_context(|| format!("{name} needs a value (see --help)"))
        };
        let mut number = |name: &str| -> Result<usize> {
            let v = value(name)?;
            let n: usize = v
                .parse()
                .with_context(|| format!("{name} wants a number, not {v:?}"))?;
            if n == 0 {
                bail!("{name} must be at least 1");
            }
            Ok(n)
        };
        match flag.as_str() {
            "--dir" => a.dir = Some(PathBuf::from(value("--dir")?)),
            "--records" => a.records = number("--records")?,
            "--attach-1m" => a.attach_1m = number("--attach-1m")?,
            "--attach-10m" => a.attach_10m = number("--attach-10m")?,
            "--list" => a.list_docs = number("--list")?,
            "--rounds" => a.rounds = number("--rounds")?,
            "--no-keyring" => a.keyring = false,
            "--only" => {
                let case = value("--only")?;
                if !["records", "1m", "10m", "list", "unlock"].contains(&case.as_str()) {
                    bail!("unknown case {case:?} (records, 1m, 10m, list, unlock)");
                }
                a.only = Some(case);
            }
            "--quick" => {
                a.records = 50;
                a.attach_1m = 3;
                a.attach_10m = 1;
                a.list_docs = 500;
                a.rounds = 1;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other:?} (see --help)"),
        }
    }
    Ok(a)
}

/// Deterministic pseudo-random bytes (SplitMix64), so every run and every
/// contender stores the same data.
pub(crate) fn fill(seed: u64, len: usize, prefix: &[u8]) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(len + 8);
    out.extend_from_slice(prefix);
    while out.len() < len {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One measured case: MB/s per contender (median over rounds).
struct Row {
    case: String,
    vault: f64,
    plain: f64,
    sqlcipher: f64,
    /// Attachments carry the targets; records are for information.
    targeted: bool,
}

fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_duration(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Writes `count` payloads of `size` bytes into each contender, then reads
/// them all back (verified), for `rounds` rounds; the order of the
/// contenders rotates each round.
fn throughput(
    label: &str,
    contenders: &mut [Box<dyn Contender>],
    size: usize,
    count: usize,
    rounds: usize,
    records: bool,
) -> Result<(Row, Row)> {
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            if records {
                contenders::record_payload(i, size)
            } else {
                fill(i as u64 * 7919 + size as u64, size, b"%PDF-1.7\n")
            }
        })
        .collect();
    let n = contenders.len();
    let mut w = vec![Vec::new(); n];
    let mut r = vec![Vec::new(); n];
    for round in 0..rounds {
        for k in 0..n {
            let c = &mut contenders[(k + round) % n];
            let idx = (k + round) % n;
            let mut ids = Vec::with_capacity(count);
            let mut spent = Duration::ZERO;
            for p in &payloads {
                let t = Instant::now();
                let id = if records {
                    c.write_record(p)?
                } else {
                    c.write_attachment(p)?
                };
                spent += t.elapsed();
                ids.push(id);
            }
            let stored: usize = payloads.iter().map(Vec::len).sum();
            w[idx].push(mbps(stored, spent));

            let mut spent = Duration::ZERO;
            for (id, p) in ids.iter().zip(&payloads) {
                let t = Instant::now();
                let back = if records {
                    c.read_record(id)?
                } else {
                    c.read_attachment(id)?
                };
                spent += t.elapsed();
                let want = if records {
                    contenders::expected_record(p)?
                } else {
                    p.clone()
                };
                if back != want {
                    bail!("{}: {label} read back different bytes", c.name());
                }
            }
            r[idx].push(mbps(stored, spent));
        }
    }
    let row = |what: &str, v: &[Vec<f64>]| Row {
        case: format!("{what} {label}"),
        vault: median(v[0].clone()),
        plain: median(v[1].clone()),
        sqlcipher: median(v[2].clone()),
        targeted: !records,
    };
    Ok((row("write", &w), row("read", &r)))
}

struct Timing {
    what: String,
    value: Option<Duration>,
    target: Option<Duration>,
    note: String,
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let tmp;
    let dir: &Path = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("vault-bench")
                .tempdir_in(std::env::var_os("BENCH_TMPDIR").unwrap_or_else(|| "/var/tmp".into()))
                .or_else(|_| tempfile::tempdir())
                .context("cannot make a temporary directory")?;
            tmp.path()
        }
    };
    let run = |case: &str| args.only.as_deref().is_none_or(|o| o == case);

    println!("vault-bench: {}", machine());
    println!("files in {}", dir.display());

    // Fresh files for the throughput runs (the listing vault is reused).
    for name in ["vault", "plain", "sqlcipher"] {
        for suffix in ["", "-wal", "-shm"] {
            let f = dir.join(format!("{name}.sqlite3{suffix}"));
            if f.exists() {
                std::fs::remove_file(&f)
                    .with_context(|| format!("cannot remove {}", f.display()))?;
            }
        }
    }
    let mut contenders: Vec<Box<dyn Contender>> = vec![
        Box::new(VaultContender::create(&dir.join("vault.sqlite3"))?),
        Box::new(Plain::create(&dir.join("plain.sqlite3"))?),
        Box::new(Sqlcipher::create(&dir.join("sqlcipher.sqlite3"))?),
    ];
    println!("{}", contenders::settings_line(&contenders)?);

    let mut rows = Vec::new();
    if run("records") {
        let (w, r) = throughput(
            "1 KiB records",
            &mut contenders,
            KIB,
            args.records,
            args.rounds,
            true,
        )?;
        rows.extend([w, r]);
    }
    if run("1m") {
        let (w, r) = throughput(
            "1 MiB attachments",
            &mut contenders,
            MIB,
            args.attach_1m,
            args.rounds,
            false,
        )?;
        rows.extend([w, r]);
    }
    if run("10m") {
        let (w, r) = throughput(
            "10 MiB attachments",
            &mut contenders,
            10 * MIB,
            args.attach_10m,
            args.rounds,
            false,
        )?;
        rows.extend([w, r]);
    }
    // The encryption claim, checked on the files just written.
    let headers = contenders::check_headers(&mut contenders)?;
    drop(contenders);

    let mut timings = Vec::new();
    if run("list") {
        timings.extend(contenders::listing(dir, args.list_docs)?);
    }
    if run("unlock") {
        timings.extend(contenders::unlock(dir, args.keyring)?);
    }
    if run("1m") {
        timings.push(contenders::sealed_files(dir, MIB, args.attach_1m)?);
        timings.extend(contenders::stream_files(dir, MIB, args.attach_1m)?);
    }
    if run("10m") {
        timings.push(contenders::sealed_files(dir, 10 * MIB, args.attach_10m)?);
        timings.extend(contenders::stream_files(dir, 10 * MIB, args.attach_10m)?);
        timings.extend(contenders::aes_gcm_in_memory(10 * MIB)?);
    }

    print_report(&rows, &timings, &headers);
    Ok(())
}

fn print_report(rows: &[Row], timings: &[Timing], headers: &str) {
    println!();
    println!("{headers}");
    println!();
    println!(
        "{:<30} {:>10} {:>10} {:>10} {:>9} {:>9}  targets (>= 2x sqlcipher, >= 0.8x plain)",
        "MB/s (10^6 bytes/s, median)", "vault", "plain", "sqlcipher", "v/cipher", "v/plain"
    );
    let mut failed = Vec::new();
    for r in rows {
        let (vc, vp) = (r.vault / r.sqlcipher, r.vault / r.plain);
        let verdict = if r.targeted {
            let a = if vc >= 2.0 { "pass" } else { "FAIL" };
            let b = if vp >= 0.8 { "pass" } else { "FAIL" };
            if vc < 2.0 {
                failed.push(format!("{}: vault/sqlcipher {vc:.2} < 2", r.case));
            }
            if vp < 0.8 {
                failed.push(format!("{}: vault/plain {vp:.2} < 0.8", r.case));
            }
            format!("{a} / {b}")
        } else {
            "(information)".into()
        };
        println!(
            "{:<30} {:>10.1} {:>10.1} {:>10.1} {:>8.2}x {:>8.2}x  {verdict}",
            r.case, r.vault, r.plain, r.sqlcipher, vc, vp
        );
    }
    if !timings.is_empty() {
        println!();
        for t in timings {
            let value = match t.value {
                Some(d) => format!("{:.3} ms", d.as_secs_f64() * 1e3),
                None => "n/a".into(),
            };
            let verdict = match (t.value, t.target) {
                (Some(v), Some(target)) if v < target => format!("pass (< {target:?})"),
                (Some(_), Some(target)) => {
                    failed.push(format!("{}: not under {target:?}", t.what));
                    format!("FAIL (target < {target:?})")
                }
                (None, Some(_)) => "not measured".into(),
                _ => "(information)".into(),
            };
            println!("{:<46} {:>12}  {verdict}  {}", t.what, value, t.note);
        }
    }
    println!();
    if failed.is_empty() {
        println!("all targets met");
    } else {
        println!("targets missed:");
        for f in failed {
            println!("  - {f}");
        }
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}
