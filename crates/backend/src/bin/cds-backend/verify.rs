//! `cds-backend verify` and `trust-list`: check a citizen QR offline.

use crate::args::{TrustSource, VerifyInput};
use crate::Outcome;
use anyhow::{bail, Context, Result};
use cds_backend::credentials;
use std::path::PathBuf;

/// The signing key at `path`, which must exist (the server makes it).
pub(crate) fn load_existing_key(path: &std::path::Path) -> Result<credentials::CredentialIssuer> {
    if !path.is_file() {
        bail!(
            "no signing key at {} (the server makes it on first start)",
            path.display()
        );
    }
    Ok(credentials::CredentialIssuer::load_or_create(path)?)
}

/// Prints the trust list of the key at `signing_key`.
pub(crate) fn trust_list(signing_key: &std::path::Path) -> Result<Outcome> {
    let issuer = load_existing_key(signing_key)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&issuer.trust_list())
            .context("cannot write the trust list")?
    );
    Ok(Outcome::Ok)
}

pub(crate) fn verify(
    input: VerifyInput,
    trust: TrustSource,
    revocations: Option<PathBuf>,
    now: Option<i64>,
) -> Result<Outcome> {
    let trust_body: cds_api::TrustListBody = match trust {
        TrustSource::File(f) => {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the trust list {}", f.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a trust list", f.display()))?
        }
        TrustSource::SigningKey(k) => load_existing_key(&k)?.trust_list(),
    };
    let trust = credentials::trust_list_from_wire(&trust_body)?;
    let revoked = match revocations {
        None => cds_qr::credential::RevocationList::default(),
        Some(f) => {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the revocation list {}", f.display()))?;
            let body: cds_api::RevocationListBody = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a revocation list", f.display()))?;
            credentials::revocations_from_wire(&body, &trust)?
        }
    };
    let payload = match input {
        VerifyInput::Payload(p) => p,
        VerifyInput::Image(path) => {
            let symbols = cds_qr::scan::Pipeline::default()
                .scan_file(&path)
                .with_context(|| format!("cannot read a QR code from {}", path.display()))?;
            let Some(first) = symbols.first() else {
                bail!("no QR code in {}", path.display());
            };
            match cds_qr::route_bytes(&first.bytes) {
                cds_qr::Routed::CitizenCredential(p) => p,
                other => bail!(
                    "the QR code in {} is not a citizen credential (it is {})",
                    path.display(),
                    other.kind()
                ),
            }
        }
    };
    let now = now.unwrap_or_else(credentials::unix_now);
    let outcome = cds_qr::credential::verify(&payload, &trust, &revoked, now);
    println!("{}: {}", outcome.code(), outcome.message());
    if let Some(c) = outcome.claims() {
        println!("credential_id: {}", c.credential_id);
        println!("disclosure: {}", c.disclosure.code());
        if let Some(n) = &c.full_name {
            println!("full_name: {n}");
        }
        if let Some(n) = &c.id_number {
            println!("id_number: {n}");
        }
        if let Some(d) = &c.date_of_birth {
            println!("date_of_birth: {d}");
        }
        if c.over_18 == Some(true) {
            println!("over_18: true");
        }
        println!("not_before: {}", c.not_before);
        println!("expires: {}", c.expires);
    }
    if revoked.issued_at > 0 {
        println!("revocations_as_of: {}", revoked.issued_at);
    }
    Ok(match outcome {
        cds_qr::credential::Verification::Valid(_) => Outcome::Ok,
        _ => Outcome::NotValid,
    })
}
