//! TLS to PostgreSQL, with the server's certificate always verified.
//!
//! `tokio-postgres` understands `sslmode=disable|prefer|require` but not
//! libpq's `sslrootcert` or `verify-ca`/`verify-full`, so those are taken
//! out of the connection string here and turned into a rustls client
//! configuration that trusts only the given CA bundle and checks the
//! server's name (what libpq calls `verify-full`). Unlike libpq, a TLS mode
//! without `sslrootcert` is refused rather than connecting to whoever
//! answers: encryption to an unverified server protects nothing from the
//! attacker it is for.

use crate::store::StoreError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// What a connection string asks for.
#[derive(Debug)]
pub(crate) struct Tls {
    /// The connection string without the options handled here, for
    /// `tokio_postgres::Config`.
    pub(crate) conninfo: String,
    /// `None`: no TLS (`sslmode` absent or `disable`).
    pub(crate) client: Option<rustls::ClientConfig>,
}

/// Reads `sslmode` and `sslrootcert` from a libpq key=value string or a
/// `postgresql://…?sslmode=…&sslrootcert=…` URL.
pub(crate) fn from_conninfo(conninfo: &str) -> Result<Tls, StoreError> {
    let err = |message: String| StoreError::Open {
        location: super::redact(conninfo),
        message,
    };
    let is_url = conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://");
    let (head, params, sep): (&str, Vec<&str>, &str) = if is_url {
        match conninfo.split_once('?') {
            Some((h, q)) => (h, q.split('&').collect(), "&"),
            None => (conninfo, Vec::new(), "&"),
        }
    } else {
        ("", conninfo.split_whitespace().collect(), " ")
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for p in params {
        match p.split_once('=') {
            Some(("sslmode", v)) => mode = Some(v.to_owned()),
            Some(("sslrootcert", v)) => root = Some(v.to_owned()),
            _ => kept.push(p),
        }
    }
    let verified_mode = match mode.as_deref() {
        None | Some("disable") => None,
        // Every TLS mode verifies the chain and the name (see the module
        // docs); `prefer` may still fall back to plain text if the server
        // has no TLS, as in libpq.
        Some("prefer") => Some("prefer"),
        Some("require" | "verify-ca" | "verify-full") => Some("require"),
        Some(other) => {
            return Err(err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
            )))
        }
    };
    if let Some(m) = verified_mode {
        kept.push(if m == "prefer" {
            "sslmode=prefer"
        } else {
            "sslmode=require"
        });
    }
    let rebuilt = if is_url {
        if kept.is_empty() {
            head.to_owned()
        } else {
            format!("{head}?{}", kept.join(sep))
        }
    } else {
        kept.join(sep)
    };
    let client = match (verified_mode, root) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(err(
                "a TLS sslmode needs sslrootcert=FILE, the CA that signed the database's \
                 certificate (the backend always verifies it)"
                    .into(),
            ))
        }
        (Some(_), Some(path)) => Some(client_config(&path).map_err(err)?),
    };
    Ok(Tls {
        conninfo: rebuilt,
        client,
    })
}

fn client_config(ca_file: &str) -> Result<rustls::ClientConfig, String> {
    let pem =
        std::fs::read(ca_file).map_err(|e| format!("cannot read sslrootcert {ca_file}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("sslrootcert {ca_file} is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {ca_file}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {ca_file} holds no certificate"));
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| format!("TLS setup failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_pass_through_and_tls_modes_need_a_root() {
        let t = from_conninfo("host=/run/postgresql dbname=cds").unwrap();
        assert!(t.client.is_none());
        assert_eq!(t.conninfo, "host=/run/postgresql dbname=cds");
        let t = from_conninfo("host=db sslmode=disable dbname=cds").unwrap();
        assert!(t.client.is_none());
        assert_eq!(t.conninfo, "host=db dbname=cds");

        for mode in ["require", "verify-ca", "verify-full", "prefer"] {
            let e = from_conninfo(&format!("host=db sslmode={mode} password=hunter2")).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("sslrootcert=FILE"), "{text}");
            assert!(!text.contains("hunter2"), "password redacted: {text}");
        }
        let e = from_conninfo("host=db sslmode=allow").unwrap_err();
        assert!(e.to_string().contains("sslmode=allow"));
        let e =
            from_conninfo("host=db sslmode=require sslrootcert=/nonexistent/ca.pem").unwrap_err();
        assert!(e.to_string().contains("cannot read sslrootcert"));
    }

    #[test]
    fn a_ca_file_makes_a_verifying_client_in_strings_and_urls() {
        let dir = tempfile::tempdir().unwrap();
        let tls = crate::tls::ensure_dev_tls(&dir.path().join("tls")).unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &tls.ca_cert_pem).unwrap();
        let t = from_conninfo(&format!(
            "host=db.city.vn sslmode=verify-full sslrootcert={} dbname=cds",
            ca.display()
        ))
        .unwrap();
        assert!(t.client.is_some());
        assert_eq!(t.conninfo, "host=db.city.vn dbname=cds sslmode=require");
        let t = from_conninfo(&format!(
            "postgresql://cds@db.city.vn/cds?sslmode=require&sslrootcert={}&application_name=x",
            ca.display()
        ))
        .unwrap();
        assert!(t.client.is_some());
        assert_eq!(
            t.conninfo,
            "postgresql://cds@db.city.vn/cds?application_name=x&sslmode=require"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = from_conninfo(&format!(
            "host=db sslmode=require sslrootcert={}",
            empty.display()
        ))
        .unwrap_err();
        assert!(e.to_string().contains("holds no certificate"));
    }
}

#[cfg(test)]
mod redaction {
    #[test]
    fn passwords_never_reach_messages() {
        let redact = super::super::redact;
        assert_eq!(
            redact("host=db password=hunter2 dbname=x"),
            "host=db password=… dbname=x"
        );
        assert_eq!(
            redact("postgresql://cds:hunter2@db:5432/cds?sslmode=require&password=x"),
            "postgresql://cds:…@db:5432/cds?sslmode=require&password=…"
        );
        assert_eq!(redact("postgresql://db/cds"), "postgresql://db/cds");
    }
}
