//! Development TLS: a local CA and a server certificate it signs.
//!
//! No public city backend exists to test against, and a test machine has no
//! certificate a public CA would issue for `localhost`. So the backend makes
//! its own small CA on first start and signs a certificate for the loopback
//! names with it. Clients trust exactly that CA (`ca.pem`) and nothing else,
//! which keeps real certificate verification on: a client that does not know
//! the CA is refused. The files are made locally and never committed.

use crate::BackendError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// File name of the CA certificate clients must trust.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the server certificate.
pub const SERVER_CERT_FILE: &str = "server.pem";
/// File name of the server's private key (mode 0600 on unix).
pub const SERVER_KEY_FILE: &str = "server.key";

/// Common name of the development CA.
pub const CA_COMMON_NAME: &str = "Công dân số development CA";
/// Names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The development CA and server credentials, PEM encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct DevTls {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl std::fmt::Debug for DevTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTls")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("server_key_pem", &"<redacted>")
            .finish()
    }
}

impl DevTls {
    /// A rustls server configuration for these credentials, using the *ring*
    /// crypto provider explicitly (never the process default, so it cannot
    /// panic when several providers are compiled in). ALPN: h2, http/1.1.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, BackendError> {
        let certs = CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BackendError::Tls(format!("server certificate: {e}")))?;
        if certs.is_empty() {
            return Err(BackendError::Tls(
                "server certificate: no PEM certificate".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| BackendError::Tls(format!("server key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BackendError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| BackendError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Loads the development TLS files from `dir`, or makes them.
///
/// If `ca.pem`, `server.pem` and `server.key` all exist they are loaded as
/// they are. If none exists, a new CA and server certificate are generated
/// and written; the CA's private key is discarded after signing, so nothing
/// else can ever be signed by it. If only some exist, that is an error:
/// the server never writes certificates over files that are there (they
/// may be an operator's real ones, or a CA clients already trust).
pub fn ensure_dev_tls(dir: &Path) -> Result<DevTls, BackendError> {
    let ca = dir.join(CA_CERT_FILE);
    let cert = dir.join(SERVER_CERT_FILE);
    let key = dir.join(SERVER_KEY_FILE);
    let files = [&ca, &cert, &key];
    let present: Vec<&std::path::PathBuf> = files
        .iter()
        .copied()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    if present.len() == files.len() {
        let tls = DevTls {
            ca_cert_pem: read_pem(&ca)?,
            server_cert_pem: read_pem(&cert)?,
            server_key_pem: read_pem(&key)?,
        };
        // Fail here, with the directory named, rather than at first connect.
        tls.server_config().map_err(|e| {
            BackendError::Tls(format!("files in {} are unusable: {e}", dir.display()))
        })?;
        return Ok(tls);
    }
    if !present.is_empty() {
        let missing: Vec<String> = files
            .iter()
            .filter(|p| !present.contains(p))
            .map(|p| p.display().to_string())
            .collect();
        return Err(BackendError::Tls(format!(
            "{} holds part of a TLS set; missing: {}. Nothing was generated, so that no \
             existing file is replaced: restore the missing files, or empty the directory \
             to make a new development CA",
            dir.display(),
            missing.join(", ")
        )));
    }

    let tls = generate()?;
    create_private_dir(dir)?;
    write_file(&ca, tls.ca_cert_pem.as_bytes(), false)?;
    write_file(&cert, tls.server_cert_pem.as_bytes(), false)?;
    write_file(&key, tls.server_key_pem.as_bytes(), true)?;
    Ok(tls)
}

fn read_pem(p: &Path) -> Result<String, BackendError> {
    fs::read_to_string(p).map_err(|e| BackendError::io(format!("cannot read {}", p.display()), e))
}

/// Loads a certificate chain and its private key (PEM) given as files, for
/// a deployment with a real certificate. Nothing is ever generated: a
/// missing, unreadable or unusable file is an error naming it. The CA of
/// such a certificate is not known here, so `ca_cert_pem` is empty.
pub fn load_tls_files(cert: &Path, key: &Path) -> Result<DevTls, BackendError> {
    let tls = DevTls {
        ca_cert_pem: String::new(),
        server_cert_pem: read_pem(cert)?,
        server_key_pem: read_pem(key)?,
    };
    tls.server_config().map_err(|e| {
        BackendError::Tls(format!(
            "{} and {} are unusable: {e}",
            cert.display(),
            key.display()
        ))
    })?;
    Ok(tls)
}

/// Generates a fresh CA and a server certificate signed by it.
pub fn generate() -> Result<DevTls, BackendError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, CA_COMMON_NAME);
    ca_name.push(DnType::OrganizationName, "Công dân số (development only)");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let names: Vec<String> = SERVER_NAMES.iter().map(|s| (*s).to_owned()).collect();
    let mut server_params = CertificateParams::new(names)?;
    let mut server_name = DistinguishedName::new();
    server_name.push(DnType::CommonName, "localhost");
    server_params.distinguished_name = server_name;
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    let server_key = KeyPair::generate()?;
    let server_cert = server_params.signed_by(&server_key, &ca_cert, &ca_key)?;

    Ok(DevTls {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
    })
}

fn create_private_dir(dir: &Path) -> Result<(), BackendError> {
    fs::create_dir_all(dir)
        .map_err(|e| BackendError::io(format!("cannot create {}", dir.display()), e))
}

/// Writes `data` to `path` through a temporary file and a rename, so a reader
/// never sees half a file. Secret files get mode 0600 on unix.
fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<(), BackendError> {
    let ctx = |what: &str, e| BackendError::io(format!("cannot {what} {}", path.display()), e);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = opts.open(&tmp).map_err(|e| ctx("create", e))?;
    #[cfg(unix)]
    if secret {
        // An older leftover temp file keeps its mode on open: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| ctx("restrict", e))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    file.write_all(data).map_err(|e| ctx("write", e))?;
    file.sync_all().map_err(|e| ctx("sync", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| ctx("replace", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_then_loads_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let tls_dir = dir.path().join("tls");
        let made = ensure_dev_tls(&tls_dir).unwrap();
        assert!(made.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made
            .server_cert_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made.server_key_pem.contains("PRIVATE KEY"));
        assert_ne!(made.ca_cert_pem, made.server_cert_pem);
        assert!(!tls_dir.join("ca.key").exists(), "the CA key is not kept");
        let loaded = ensure_dev_tls(&tls_dir).unwrap();
        assert_eq!(made, loaded);
        made.server_config().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_private_key_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        ensure_dev_tls(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(SERVER_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_partial_set_is_an_error_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_dev_tls(dir.path()).unwrap();
        fs::remove_file(dir.path().join(SERVER_KEY_FILE)).unwrap();
        let err = ensure_dev_tls(dir.path()).unwrap_err();
        assert!(matches!(err, BackendError::Tls(_)), "{err:?}");
        assert!(err.to_string().contains(SERVER_KEY_FILE), "{err}");
        // The files that were there are untouched, and no key was made.
        assert_eq!(
            fs::read_to_string(dir.path().join(CA_CERT_FILE)).unwrap(),
            first.ca_cert_pem
        );
        assert_eq!(
            fs::read_to_string(dir.path().join(SERVER_CERT_FILE)).unwrap(),
            first.server_cert_pem
        );
        assert!(!dir.path().join(SERVER_KEY_FILE).exists());
        // Once the directory is empty, a new set is made.
        fs::remove_file(dir.path().join(CA_CERT_FILE)).unwrap();
        fs::remove_file(dir.path().join(SERVER_CERT_FILE)).unwrap();
        let second = ensure_dev_tls(dir.path()).unwrap();
        assert_ne!(first.ca_cert_pem, second.ca_cert_pem);
        assert_eq!(ensure_dev_tls(dir.path()).unwrap(), second);
    }

    #[test]
    fn given_certificate_files_are_loaded_and_never_made() {
        let dir = tempfile::tempdir().unwrap();
        let made = ensure_dev_tls(&dir.path().join("dev")).unwrap();
        let cert = dir.path().join("dev").join(SERVER_CERT_FILE);
        let key = dir.path().join("dev").join(SERVER_KEY_FILE);
        let loaded = load_tls_files(&cert, &key).unwrap();
        assert_eq!(loaded.server_cert_pem, made.server_cert_pem);
        assert_eq!(loaded.server_key_pem, made.server_key_pem);

        let missing = dir.path().join("real").join("fullchain.pem");
        let err = load_tls_files(&missing, &key).unwrap_err();
        assert!(err.to_string().contains("fullchain.pem"), "{err}");
        assert!(!missing.exists(), "nothing is generated");
        assert!(!dir.path().join("real").exists());

        let junk = dir.path().join("junk.pem");
        fs::write(&junk, "not a certificate").unwrap();
        let err = load_tls_files(&junk, &key).unwrap_err();
        assert!(matches!(err, BackendError::Tls(_)), "{err:?}");
        assert_eq!(fs::read_to_string(&junk).unwrap(), "not a certificate");
    }

    #[test]
    fn corrupt_files_are_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        ensure_dev_tls(dir.path()).unwrap();
        fs::write(dir.path().join(SERVER_KEY_FILE), "garbage").unwrap();
        let err = ensure_dev_tls(dir.path()).unwrap_err();
        assert!(matches!(err, BackendError::Tls(_)), "{err:?}");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let tls = generate().unwrap();
        let shown = format!("{tls:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("PRIVATE KEY"));
    }
}
