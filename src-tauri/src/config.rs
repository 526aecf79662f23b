//! Start-up configuration: command-line flags, then `CDS_*` environment
//! variables, then embedded defaults.
//!
//! Flags exist so the end-to-end harness can start several isolated app
//! instances (own data dir, own keyring entry, own backend) side by side.

use std::path::PathBuf;

/// Where the reference backend listens when started by `cargo xtask run`.
pub const DEFAULT_BACKEND_URL: &str = "https://localhost:8443";
/// Keyring service name of the vault's key-encryption key.
pub const DEFAULT_KEYRING_SERVICE: &str = "vn.congdanso.app";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `None`: the platform's app-data directory (resolved by Tauri).
    pub data_dir: Option<PathBuf>,
    pub backend_url: String,
    /// PEM bundle of the CA(s) that sign the city backend's certificate.
    /// `None`: `<data_dir>/city-ca.pem` if present.
    pub ca_cert: Option<PathBuf>,
    pub keyring_service: String,
    /// Image files played as a virtual camera (`CDS_CAMERA_FILES`, paths
    /// separated like `PATH`; `--camera-files`): the camera of a machine
    /// without one, for demos and end-to-end tests. Empty: real cameras.
    pub camera_files: Vec<PathBuf>,
}

impl Config {
    /// What the application core needs of it (the data folder is resolved
    /// by the shell: Tauri knows the platform's app-data directory).
    pub fn app(&self) -> cds_app::AppConfig {
        cds_app::AppConfig {
            backend_url: self.backend_url.clone(),
            ca_cert: self.ca_cert.clone(),
            keyring_service: self.keyring_service.clone(),
            camera_files: self.camera_files.clone(),
        }
    }
}

/// Reads the configuration. Unknown flags are an error: a typo must not
/// silently point the app at the wrong vault.
pub fn from_args_and_env(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, String> {
    let mut cfg = Config {
        data_dir: env("CDS_DATA_DIR").map(PathBuf::from),
        backend_url: env("CDS_BACKEND_URL").unwrap_or_else(|| DEFAULT_BACKEND_URL.to_owned()),
        ca_cert: env("CDS_CA_CERT").map(PathBuf::from),
        keyring_service: env("CDS_KEYRING_SERVICE")
            .unwrap_or_else(|| DEFAULT_KEYRING_SERVICE.to_owned()),
        camera_files: env("CDS_CAMERA_FILES")
            .map(|v| split_files(&v))
            .unwrap_or_default(),
    };
    let mut it = args.into_iter().skip(1);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("flag {name} needs a value"))
        };
        match name.as_str() {
            "--data-dir" => cfg.data_dir = Some(PathBuf::from(value()?)),
            "--backend-url" => cfg.backend_url = value()?,
            "--ca-cert" => cfg.ca_cert = Some(PathBuf::from(value()?)),
            "--keyring-service" => cfg.keyring_service = value()?,
            "--camera-files" => cfg.camera_files = split_files(&value()?),
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    if cfg.keyring_service.trim().is_empty() {
        return Err("keyring service name must not be empty".into());
    }
    Ok(cfg)
}

/// `a.png:b.jpg` (`;` on Windows), empty parts dropped.
fn split_files(v: &str) -> Vec<PathBuf> {
    std::env::split_paths(v)
        .filter(|p| !p.as_os_str().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        std::iter::once("app")
            .chain(a.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn defaults_when_nothing_given() {
        let c = from_args_and_env(args(&[]), |_| None).unwrap();
        assert_eq!(c.backend_url, DEFAULT_BACKEND_URL);
        assert_eq!(c.keyring_service, DEFAULT_KEYRING_SERVICE);
        assert_eq!(c.data_dir, None);
        assert!(c.camera_files.is_empty());
    }

    #[test]
    fn camera_files_are_a_path_list() {
        let env = |k: &str| (k == "CDS_CAMERA_FILES").then(|| "/a/x.png:/b/y.jpg:".to_string());
        let c = from_args_and_env(args(&[]), env).unwrap();
        assert_eq!(
            c.camera_files,
            vec![PathBuf::from("/a/x.png"), PathBuf::from("/b/y.jpg")]
        );
        let c = from_args_and_env(args(&["--camera-files", "/c.png"]), env).unwrap();
        assert_eq!(c.camera_files, vec![PathBuf::from("/c.png")]);
    }

    #[test]
    fn flags_override_env() {
        let env = |k: &str| (k == "CDS_BACKEND_URL").then(|| "https://env:1".to_string());
        let c = from_args_and_env(
            args(&["--backend-url", "https://flag:2", "--data-dir=/tmp/x"]),
            env,
        )
        .unwrap();
        assert_eq!(c.backend_url, "https://flag:2");
        assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/x")));
        let c = from_args_and_env(args(&[]), env).unwrap();
        assert_eq!(c.backend_url, "https://env:1");
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(from_args_and_env(args(&["--nope"]), |_| None)
            .unwrap_err()
            .contains("--nope"));
        assert!(from_args_and_env(args(&["--ca-cert"]), |_| None)
            .unwrap_err()
            .contains("needs a value"));
        assert!(from_args_and_env(args(&["--keyring-service", " "]), |_| None).is_err());
    }
}
