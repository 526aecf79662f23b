//! The operator's commands on a database file: `enroll`, `revoke`,
//! `set-status`, and `gen-cert` for the development certificates.

use crate::{runtime, Outcome};
use anyhow::{bail, Context, Result};
use cds_api::ApplicationStatus;
use cds_backend::{tls, AppState};
use std::path::Path;

/// Never create a database here: a typo in --db would write into a file no
/// server reads.
fn existing_db(db: &Path) -> Result<AppState> {
    if !db.is_file() {
        bail!("no database file at {}", db.display());
    }
    // A second connection to the server's file: WAL and the busy timeout
    // set by `open` let both write safely.
    Ok(AppState::open(db)?)
}

pub(crate) fn enroll(db: &Path, number: String, name: String, dob: String) -> Result<Outcome> {
    let state = existing_db(db)?;
    let code = runtime()?.block_on(state.create_enrollment(
        cds_api::CreateEnrollment {
            number,
            full_name: name,
            date_of_birth: dob,
        },
        state.now(),
    ))?;
    println!("code: {}", code.code);
    println!("expires_at: {}", code.expires_at);
    Ok(Outcome::Ok)
}

pub(crate) fn revoke(db: &Path, credential_id: &str) -> Result<Outcome> {
    let state = existing_db(db)?;
    let (id, at) = runtime()?.block_on(state.revoke_credential(credential_id, state.now()))?;
    println!("revoked {id} at {at}");
    Ok(Outcome::Ok)
}

pub(crate) fn set_status(
    db: &Path,
    case_number: &str,
    status: ApplicationStatus,
) -> Result<Outcome> {
    let state = existing_db(db)?;
    let receipt = runtime()?.block_on(state.set_status(case_number, status))?;
    println!("{} {}", receipt.case_number, receipt.status.code());
    Ok(Outcome::Ok)
}

pub(crate) fn gen_cert(tls_dir: &Path) -> Result<Outcome> {
    tls::ensure_dev_tls(tls_dir)
        .with_context(|| format!("cannot set up TLS in {}", tls_dir.display()))?;
    println!("{}", tls_dir.join(tls::CA_CERT_FILE).display());
    Ok(Outcome::Ok)
}
