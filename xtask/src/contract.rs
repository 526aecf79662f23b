//! The contract check: schemathesis (from PyPI, in a virtual environment
//! made here) generates requests from the backend's own OpenAPI document
//! (`/v1/openapi.json`) for every operation and checks every answer
//! against it: no 5xx, every status, media type, header and body as the
//! document says. `cargo xtask test` runs it; `cargo xtask contract` runs
//! only it.
//!
//! The backend is the real binary over HTTPS (its development CA) on a
//! fresh SQLite database, with an admin token and an enrolled device, so
//! the operations behind a token are reached past their 401 too.

use crate::{status, step, target_dir, wait_for_listening};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The schemathesis release the check is pinned to: a new release may add
/// checks, which should be a decision, not a surprise in CI.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Examples per operation and phase; the run takes about half a minute.
const MAX_EXAMPLES: &str = "100";

/// A fixed seed: the same cases every run, so a failure reproduces.
const SEED: &str = "20261203";

const ADMIN_TOKEN: &str = "contract-admin-token-0123456789";

/// What one run found.
pub(crate) struct Outcome {
    pub(crate) cases: Option<u64>,
    /// schemathesis's own report, printed by the caller (the check may run
    /// beside other steps, whose output it must not split).
    pub(crate) report: String,
}

/// Makes (or reuses) the virtual environment and returns its `st`.
fn schemathesis(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("tools").join("schemathesis-venv");
    let st = venv.join("bin").join("st");
    let stamp = venv.join("installed");
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if st.exists() && installed.trim() == SCHEMATHESIS {
        return Ok(st);
    }
    step(&format!(
        "installing {SCHEMATHESIS} from PyPI into {}",
        venv.display()
    ));
    let _ = std::fs::remove_dir_all(&venv);
    status(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("python3 -m venv (Debian: apt install python3-venv)")?;
    status(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        SCHEMATHESIS,
    ]))?;
    std::fs::write(&stamp, SCHEMATHESIS)?;
    Ok(st)
}

/// Runs the contract check against a backend of its own.
pub(crate) fn check(root: &Path) -> Result<Outcome> {
    let st = schemathesis(root)?;
    let bin_dir = target_dir(root).join("debug");
    let bin = bin_dir.join("cds-backend");
    let work = target_dir(root).join("contract");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let db = work.join("backend.sqlite3");
    let token_file = work.join("admin-token");
    std::fs::write(&token_file, ADMIN_TOKEN)?;
    let mut backend = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--tls-dir")
        .arg(work.join("tls"))
        .arg("--admin-token-file")
        .arg(&token_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting cds-backend for the contract check")?;
    let result = (|| {
        let url = wait_for_listening(&mut backend)?;
        let port = url
            .rsplit(':')
            .next()
            .context("no port in the listening line")?
            .to_owned();
        let base = format!("https://localhost:{port}");
        let ca = work.join("tls").join("ca.pem");
        // A device to sign the device routes in with: enrol with the
        // operator's command (on the file the server made), claim over
        // HTTPS.
        let code = crate::demo_activation_code(&bin_dir, &db)?;
        let device = claim_device(&work, &base, &ca, &code)?;
        std::fs::write(
            work.join("schemathesis.toml"),
            "[auth.openapi]\n\
             admin = { bearer = \"${CDS_CONTRACT_ADMIN}\" }\n\
             device = { bearer = \"${CDS_CONTRACT_DEVICE}\" }\n",
        )?;
        step(&format!(
            "schemathesis: every operation of {base}/v1/openapi.json"
        ));
        let out = Command::new(&st)
            .arg("--config-file")
            .arg(work.join("schemathesis.toml"))
            .args(["--no-color", "run"])
            .arg(format!("{base}/v1/openapi.json"))
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_headers_conformance,response_schema_conformance",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                // One worker: with two, hypothesis's caches raced now and
                // then (a KeyError inside the generator, reported as a
                // "flaky" runtime error of the tool, not of the API).
                "--workers",
                "1",
                "--request-timeout",
                "10",
            ])
            .arg("--tls-verify")
            .arg(&ca)
            .arg("--report-junit-path")
            .arg(work.join("junit.xml"))
            .args(["--report", "junit"])
            .env("CDS_CONTRACT_ADMIN", ADMIN_TOKEN)
            .env("CDS_CONTRACT_DEVICE", &device)
            .current_dir(&work)
            .output()
            .context("running schemathesis")?;
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!("schemathesis found answers that break the contract:\n{report}");
        }
        Ok(Outcome {
            cases: generated_cases(&report),
            report,
        })
    })();
    let _ = backend.kill();
    let _ = backend.wait();
    result
}

/// Claims the activation code for a device token, with Python's own HTTPS
/// client (the venv has Python; xtask has no HTTP client of its own).
fn claim_device(work: &Path, base: &str, ca: &Path, code: &str) -> Result<String> {
    let script = "import json, ssl, sys, urllib.request\n\
        base, ca, code = sys.argv[1:4]\n\
        ctx = ssl.create_default_context(cafile=ca)\n\
        body = json.dumps({'code': code, 'device_name': 'contract check'}).encode()\n\
        req = urllib.request.Request(base + '/v1/credentials/claim', data=body,\n\
            headers={'Content-Type': 'application/json'})\n\
        print(json.load(urllib.request.urlopen(req, context=ctx))['device_token'])\n";
    let out = Command::new("python3")
        .args(["-c", script, base])
        .arg(ca)
        .arg(code)
        .current_dir(work)
        .output()
        .context("claiming a device for the contract check")?;
    if !out.status.success() {
        bail!(
            "claiming a device failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The number of generated test cases in schemathesis's summary.
fn generated_cases(stdout: &str) -> Option<u64> {
    // "Test cases:\n  1234 generated, 1234 passed" (4.x summary; the word
    // also appears in warnings above it).
    let summary = &stdout[stdout.rfind("Test cases:")?..];
    let at = summary.find("generated")?;
    summary[..at]
        .split_whitespace()
        .last()?
        .trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_count_is_read_from_the_summary() {
        let summary =
            "mostly rejected generated data\nTest cases:\n  1543 generated, 1543 passed\n";
        assert_eq!(generated_cases(summary), Some(1543));
        assert_eq!(generated_cases("nothing"), None);
    }
}
