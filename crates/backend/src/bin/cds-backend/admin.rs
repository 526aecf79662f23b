//! The operator's commands on the server's database (its SQLite file or
//! its PostgreSQL database): `enroll`, `revoke`, `set-status`, and
//! `gen-cert` for the development certificates.

use crate::args::DbTarget;
use crate::{runtime, Outcome};
use anyhow::{bail, Context, Result};
use cds_api::ApplicationStatus;
use cds_backend::{tls, AppState};
use std::path::Path;

/// Opens the server's database. Never creates one: a typo in `--db` would
/// write into a file no server reads. A PostgreSQL database is migrated
/// first if a newer backend's schema is due (as a starting server does).
fn existing_db(db: &DbTarget, rt: &tokio::runtime::Runtime) -> Result<AppState> {
    match db {
        DbTarget::File(path) => {
            if !path.is_file() {
                bail!("no database file at {}", path.display());
            }
            // A second connection to the server's file: WAL and the busy
            // timeout set by `open` let both write safely.
            Ok(AppState::open(path)?)
        }
        DbTarget::Url(url) => rt.block_on(async {
            let store = cds_backend::store::postgres::PgStore::connect(url).await?;
            let state = AppState::over(std::sync::Arc::new(store)).await?;
            Ok::<_, anyhow::Error>(state)
        }),
    }
}

pub(crate) fn enroll(db: &DbTarget, number: String, name: String, dob: String) -> Result<Outcome> {
    let rt = runtime()?;
    let state = existing_db(db, &rt)?;
    let code = rt.block_on(state.create_enrollment(
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

pub(crate) fn revoke(db: &DbTarget, credential_id: &str) -> Result<Outcome> {
    let rt = runtime()?;
    let state = existing_db(db, &rt)?;
    let (id, at) = rt.block_on(state.revoke_credential(credential_id, state.now()))?;
    println!("revoked {id} at {at}");
    Ok(Outcome::Ok)
}

pub(crate) fn set_status(
    db: &DbTarget,
    case_number: &str,
    status: ApplicationStatus,
) -> Result<Outcome> {
    let rt = runtime()?;
    let state = existing_db(db, &rt)?;
    let receipt = rt.block_on(state.set_status(case_number, status))?;
    println!("{} {}", receipt.case_number, receipt.status.code());
    Ok(Outcome::Ok)
}

pub(crate) fn gen_cert(tls_dir: &Path) -> Result<Outcome> {
    tls::ensure_dev_tls(tls_dir)
        .with_context(|| format!("cannot set up TLS in {}", tls_dir.display()))?;
    println!("{}", tls_dir.join(tls::CA_CERT_FILE).display());
    Ok(Outcome::Ok)
}
