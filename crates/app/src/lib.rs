//! The application core of Công dân số: everything the app does behind its
//! IPC commands, free of any GUI toolkit. The Tauri shell (`src-tauri`) only
//! adapts [`AppCore`]'s methods to commands; a mobile shell or a CLI can
//! reuse them unchanged, and the tests here link no WebKitGTK.
//!
//! Invariants:
//! - Keys stay inside `cds-vault`; this crate only sees decrypted fields and
//!   turns them into `cds-view` types ([`mapping`]).
//! - A failure to open the vault is remembered, never "fixed" by creating a
//!   new vault over the old one: the citizen's data stays where it is
//!   ([`session`]).
//! - Start-up: keyring first; if the keyring cannot open an existing vault
//!   that has a PIN wrap, the vault starts *locked* and the UI asks for the
//!   PIN; with no vault and no keyring, the UI asks for a new PIN, which
//!   creates the vault.
//! - Submitting only queues (a local transaction). Delivery is the sync
//!   service's job ([`sync`]), so submit works the same offline and online.
//! - Every error that leaves this crate is an [`IpcError`] whose kind was
//!   chosen by an exhaustive `match` on the source crate's error ([`error`]).

use cds_api::ServiceInfo;
use cds_sync::CityClient;
use cds_vault::OsKeyring;
use cds_view::{BackupProgress, ErrorKind, IpcError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub mod applications;
pub mod attachments;
pub mod backup;
pub mod camera;
pub mod citizen_qr;
pub mod documents;
pub mod error;
pub mod mapping;
pub mod profiles;
pub mod session;
pub mod sync;

/// The background scheduler the shell drives [`AppCore::tick`] with.
pub use cds_sync::backoff;

pub use attachments::{read_attachment_file, sniff_mime, MAX_ATTACHMENT_BYTES};
pub use citizen_qr::{mask_number, url_host};
pub use documents::REMINDER_DAYS;

/// Keyring account under the configured service that holds the vault's KEK.
pub const KEYRING_ACCOUNT: &str = "vault-kek";

/// What the core needs to start; the shell fills it from flags and
/// environment (its `config` module) and picks the data folder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppConfig {
    /// The city backend, `https://…`.
    pub backend_url: String,
    /// PEM bundle of the CA(s) that sign the city backend's certificate.
    /// `None`: `<data_dir>/city-ca.pem` if present.
    pub ca_cert: Option<PathBuf>,
    /// Keyring service name of the vault's key-encryption key.
    pub keyring_service: String,
    /// Image files played as a virtual camera; empty: the real cameras.
    pub camera_files: Vec<PathBuf>,
}

/// Everything the commands share.
pub struct AppCore {
    backend_url: String,
    vault_path: PathBuf,
    keys: OsKeyring,
    slot: Mutex<session::VaultSlot>,
    client: Result<CityClient, IpcError>,
    services: Mutex<Vec<ServiceInfo>>,
    services_cache: PathBuf,
    last_sync_error: Mutex<Option<IpcError>>,
    /// One sync at a time: a background tick and a button press must not
    /// deliver the same queue twice concurrently (harmless, but wasteful).
    sync_gate: tokio::sync::Mutex<()>,
    /// The running (or last) backup/restore, polled by the UI.
    backup: Mutex<BackupProgress>,
    /// The citizen QR's refresh and trust-download state.
    qr: citizen_qr::QrState,
    /// The camera's one user (a QR scan or a photo preview).
    camera: camera::CameraSlot,
    /// Applications the city definitely refused (4xx) since the last sync
    /// the citizen asked for: background retries leave them alone (the same
    /// request would get the same answer every tick); "sync now" and a new
    /// start try them again.
    refused: Mutex<HashSet<String>>,
    /// Image files played as the camera (see [`AppConfig::camera_files`]);
    /// empty: the device's real cameras.
    camera_files: Vec<PathBuf>,
}

impl AppCore {
    /// Opens the vault in `data_dir` with the OS keyring (or decides to ask
    /// for the PIN) and prepares the backend client. Never fails: problems
    /// are kept and shown in the UI.
    pub fn start(cfg: &AppConfig, data_dir: &Path) -> AppCore {
        let keys = OsKeyring::new(&cfg.keyring_service, KEYRING_ACCOUNT);
        let vault_path = data_dir.join("vault.sqlite3");
        let slot = match std::fs::create_dir_all(data_dir) {
            Err(e) => session::VaultSlot::Failed(IpcError::new(
                ErrorKind::Storage,
                format!("cannot create data folder {}: {e}", data_dir.display()),
            )),
            Ok(()) => session::open_slot(&vault_path, &keys),
        };
        slot.log_start();
        let ca_path = cfg
            .ca_cert
            .clone()
            .or_else(|| Some(data_dir.join("city-ca.pem")).filter(|p| p.exists()));
        let client = sync::make_client(&cfg.backend_url, ca_path.as_deref());
        let services_cache = data_dir.join("catalogue.json");
        let services = applications::load_catalogue(&services_cache);
        AppCore {
            backend_url: cfg.backend_url.clone(),
            vault_path,
            keys,
            slot: Mutex::new(slot),
            client,
            services: Mutex::new(services),
            services_cache,
            last_sync_error: Mutex::new(None),
            sync_gate: tokio::sync::Mutex::new(()),
            backup: Mutex::new(backup::idle()),
            qr: citizen_qr::QrState::default(),
            camera: camera::CameraSlot::default(),
            refused: Mutex::new(HashSet::new()),
            camera_files: cfg.camera_files.clone(),
        }
    }
}

/// Locks a mutex, carrying on after a poisoned one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not make the vault unreachable for the rest of
    // the session; the data behind the lock is kept consistent by SQLite.
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
