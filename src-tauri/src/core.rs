//! The app's behaviour behind the IPC commands, free of Tauri types so it can
//! be tested without a window.
//!
//! Invariants:
//! - Keys stay inside `cds-vault`; this module only sees decrypted fields and
//!   turns them into `cds-view` types.
//! - A failure to open the vault is remembered, never "fixed" by creating a
//!   new vault over the old one: the citizen's data stays where it is.
//! - Start-up: keyring first; if the keyring cannot open an existing vault
//!   that has a PIN wrap, the vault starts *locked* and the UI asks for the
//!   PIN; with no vault and no keyring, the UI asks for a new PIN, which
//!   creates the vault.
//! - Submitting only queues (a local transaction). Delivery is the sync
//!   service's job, so submit works the same offline and online.

use base64::Engine as _;
use cds_api::{Applicant, DocumentKind, DocumentRef, ServiceInfo, SubmitApplication};
use cds_sync::{CityClient, SyncError, VaultAccess};
use cds_vault::{KeyStore, NewAttachment, OsKeyring, Vault, VaultError};
use cds_view::{
    AppStatus, ApplicationView, AttachmentView, BackupOp, BackupProgress, BackupSummaryView,
    DeliveryState, DisclosureView, DocumentInput, DocumentSummaryView, DocumentView, ErrorKind,
    ExpiryReminderView, IpcError, NewAttachmentInput, NewDocumentInput, ProfileInput, ProfileView,
    Relation, SubmitInput, SyncReport, VaultState,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::Config;

mod camera;
mod qr;
pub use qr::{mask_number, url_host};

/// Keyring account under the configured service that holds the vault's KEK.
const KEYRING_ACCOUNT: &str = "vault-kek";
/// Largest attachment, in bytes (the vault's limit; checked here first so a
/// huge file is refused before it is decoded).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
/// Reminders cover documents expiring within this many days.
pub const REMINDER_DAYS: i64 = 90;

pub fn vault_error(e: VaultError) -> IpcError {
    let msg = e.to_string();
    match e {
        VaultError::WrongPin { retry_after_secs } => {
            IpcError::new(ErrorKind::WrongPin, msg).with_retry_after(retry_after_secs)
        }
        VaultError::PinLocked { retry_after_secs } => {
            IpcError::new(ErrorKind::PinLocked, msg).with_retry_after(retry_after_secs)
        }
        VaultError::Invalid { field, .. } => IpcError::invalid(field, msg),
        other => {
            let kind = match other.kind() {
                "keyring_unavailable" => ErrorKind::KeyringUnavailable,
                "key_missing" | "wrong_key" => ErrorKind::VaultKeyMissing,
                "corrupt" | "tampered" => ErrorKind::VaultCorrupt,
                "invalid_input" => ErrorKind::InvalidInput,
                "not_found" => ErrorKind::NotFound,
                "disk_full" | "storage" => ErrorKind::Storage,
                "weak_pin" => ErrorKind::WeakPin,
                "no_pin" => ErrorKind::NoPin,
                "duplicate" => ErrorKind::Duplicate,
                "backup_corrupt" => ErrorKind::BackupCorrupt,
                "wrong_passphrase" => ErrorKind::WrongPassphrase,
                "too_large" => ErrorKind::TooLarge,
                "unsupported_file" => ErrorKind::UnsupportedFile,
                "vault_locked" | "locked" => ErrorKind::VaultLocked,
                "wrong_pin" => ErrorKind::WrongPin,
                "pin_locked" => ErrorKind::PinLocked,
                _ => ErrorKind::Internal,
            };
            IpcError::new(kind, msg)
        }
    }
}

pub fn sync_error(e: SyncError) -> IpcError {
    match e {
        SyncError::Vault(v) => vault_error(v),
        other => {
            let kind = match other.kind() {
                "backend_unreachable" => ErrorKind::BackendUnreachable,
                "tls_untrusted" => ErrorKind::TlsUntrusted,
                "backend_rejected" => ErrorKind::BackendRejected,
                "unauthorized" => ErrorKind::Unauthorized,
                "rate_limited" => ErrorKind::RateLimited,
                _ => ErrorKind::Internal,
            };
            let retry_after = match &other {
                SyncError::Rejected {
                    retry_after_secs, ..
                } => *retry_after_secs,
                _ => None,
            };
            let err = IpcError::new(kind, other.to_string());
            match retry_after {
                Some(secs) => err.with_retry_after(secs),
                None => err,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not make the vault unreachable for the rest of
    // the session; the data behind the lock is kept consistent by SQLite.
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Where the vault is.
enum Slot {
    Open(Arc<Mutex<Vault>>),
    /// A vault file with a PIN wrap that the keyring did not open (or the
    /// citizen locked it). `why`: the keyring's error, if that is the cause.
    Locked {
        why: Option<IpcError>,
    },
    /// No vault and no keyring: a PIN creates one.
    NeedsPin {
        why: IpcError,
    },
    /// Cannot be opened; nothing is changed on disk.
    Failed(IpcError),
}

/// Everything the commands share.
pub struct AppCore {
    backend_url: String,
    vault_path: PathBuf,
    keys: OsKeyring,
    slot: Mutex<Slot>,
    client: Result<CityClient, IpcError>,
    services: Mutex<Vec<ServiceInfo>>,
    services_cache: PathBuf,
    last_sync_error: Mutex<Option<IpcError>>,
    /// One sync at a time: a background tick and a button press must not
    /// deliver the same queue twice concurrently (harmless, but wasteful).
    sync_gate: tokio::sync::Mutex<()>,
    /// The running (or last) backup/restore, polled by the UI.
    backup: Mutex<BackupProgress>,
    /// The citizen QR's refresh state and the camera scanner.
    qr: qr::QrState,
    /// Applications the city definitely refused (4xx) since the last sync
    /// the citizen asked for: background retries leave them alone (the same
    /// request would get the same answer every 5 s); "sync now" and a new
    /// start try them again.
    held: Mutex<std::collections::HashSet<String>>,
    /// Image files played as the camera (see `Config::camera_files`);
    /// empty: the device's real cameras.
    camera_files: Vec<PathBuf>,
}

fn keyring_trouble(e: &VaultError) -> bool {
    matches!(
        e.kind(),
        "keyring_unavailable" | "key_missing" | "wrong_key"
    )
}

impl AppCore {
    /// Opens the vault in `data_dir` with the OS keyring (or decides to ask
    /// for the PIN) and prepares the backend client. Never fails: problems
    /// are kept and shown in the UI.
    pub fn start(cfg: &Config, data_dir: &Path) -> AppCore {
        let keys = OsKeyring::new(&cfg.keyring_service, KEYRING_ACCOUNT);
        let vault_path = data_dir.join("vault.sqlite3");
        let slot = match std::fs::create_dir_all(data_dir) {
            Err(e) => Slot::Failed(IpcError::new(
                ErrorKind::Storage,
                format!("cannot create data folder {}: {e}", data_dir.display()),
            )),
            Ok(()) => Self::open_slot(&vault_path, &keys),
        };
        match &slot {
            Slot::Failed(e) => tracing::error!(error = %e, "vault could not be opened"),
            Slot::Locked { why } => tracing::warn!(?why, "vault starts locked: PIN needed"),
            Slot::NeedsPin { why } => tracing::warn!(error = %why, "no vault and no keyring"),
            Slot::Open(_) => {}
        }
        let ca_path = cfg
            .ca_cert
            .clone()
            .or_else(|| Some(data_dir.join("city-ca.pem")).filter(|p| p.exists()));
        let client = Self::make_client(&cfg.backend_url, ca_path.as_deref());
        let services_cache = data_dir.join("catalogue.json");
        let services = load_catalogue(&services_cache);
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
            backup: Mutex::new(BackupProgress {
                op: None,
                running: false,
                done: 0,
                total: 0,
                result: None,
            }),
            qr: qr::QrState::default(),
            held: Mutex::new(std::collections::HashSet::new()),
            camera_files: cfg.camera_files.clone(),
        }
    }

    fn open_slot(path: &Path, keys: &dyn KeyStore) -> Slot {
        let info = match Vault::inspect(path) {
            Ok(i) => i,
            Err(e) => return Slot::Failed(vault_error(e)),
        };
        match Vault::open(path, keys) {
            Ok(v) => Slot::Open(Arc::new(Mutex::new(v))),
            Err(e) if keyring_trouble(&e) && info.exists && info.pin_wrap => {
                // A PIN-only vault never asks the keyring: ask it now, so
                // the UI can say whether the keyring itself is unavailable.
                let why = match keys.load() {
                    Err(k) => vault_error(k),
                    Ok(_) => vault_error(e),
                };
                Slot::Locked { why: Some(why) }
            }
            Err(e) if e.kind() == "keyring_unavailable" && !info.exists => {
                // `open` must not have left a file behind; if it did, it is
                // an empty shell without a key wrap: never touch it.
                if path.exists() {
                    Slot::Failed(vault_error(e))
                } else {
                    Slot::NeedsPin {
                        why: vault_error(e),
                    }
                }
            }
            Err(e) => Slot::Failed(vault_error(e)),
        }
    }

    fn make_client(url: &str, ca: Option<&Path>) -> Result<CityClient, IpcError> {
        let pem = match ca {
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                IpcError::new(
                    ErrorKind::TlsUntrusted,
                    format!("cannot read the city CA certificate {}: {e}", p.display()),
                )
            })?),
            None => None,
        };
        CityClient::new(url, pem.as_deref()).map_err(sync_error)
    }

    /// The open vault, or why there is none.
    fn vault(&self) -> Result<Arc<Mutex<Vault>>, IpcError> {
        match &*lock(&self.slot) {
            Slot::Open(v) => Ok(v.clone()),
            Slot::Locked { .. } | Slot::NeedsPin { .. } => Err(IpcError::new(
                ErrorKind::VaultLocked,
                "the vault is locked: unlock it with your PIN",
            )),
            Slot::Failed(e) => Err(IpcError::new(
                ErrorKind::VaultUnavailable,
                format!("the vault is not open: {}", e.message),
            )),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vault) -> Result<R, VaultError>) -> Result<R, IpcError> {
        let v = self.vault()?;
        let mut g = lock(&v);
        f(&mut g).map_err(vault_error)
    }

    pub fn status(&self) -> AppStatus {
        let (state, vault_error, open) = match &*lock(&self.slot) {
            Slot::Open(v) => (VaultState::Open, None, Some(v.clone())),
            Slot::Locked { .. } => (VaultState::Locked, None, None),
            Slot::NeedsPin { .. } => (VaultState::NeedsPin, None, None),
            Slot::Failed(e) => (VaultState::Unavailable, Some(e.clone()), None),
        };
        // The file's PIN state matters only while the vault is closed.
        let info = match &open {
            Some(_) => None,
            None => Vault::inspect(&self.vault_path).ok(),
        };
        let keyring_available = match &*lock(&self.slot) {
            Slot::Locked { why: Some(e) } | Slot::Failed(e) | Slot::NeedsPin { why: e } => {
                e.kind != ErrorKind::KeyringUnavailable
            }
            _ => true,
        };
        let (document_count, pending_count, has_pin) = match open {
            Some(v) => {
                let v = lock(&v);
                (
                    v.list_documents(None).map(|d| d.len() as u32).unwrap_or(0),
                    v.pending_applications()
                        .map(|p| p.len() as u32)
                        .unwrap_or(0),
                    v.has_pin(),
                )
            }
            None => (0, 0, info.as_ref().map(|i| i.pin_wrap).unwrap_or(false)),
        };
        AppStatus {
            vault_state: state,
            vault_error,
            has_pin,
            keyring_available,
            pin_retry_after_secs: info.map(|i| i.pin_retry_after_secs).unwrap_or(0),
            backend_url: self.backend_url.clone(),
            document_count,
            pending_count,
            last_sync_error: lock(&self.last_sync_error).clone(),
        }
    }

    // ---- PIN, lock, unlock ----------------------------------------------

    /// Creates the vault protected by a PIN (no keyring on this machine).
    pub fn create_vault_with_pin(&self, pin: &str) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        if !matches!(*slot, Slot::NeedsPin { .. }) {
            return Err(IpcError::new(
                ErrorKind::InvalidInput,
                "a vault already exists on this device",
            ));
        }
        let v = Vault::create(&self.vault_path, None, Some(pin)).map_err(vault_error)?;
        *slot = Slot::Open(Arc::new(Mutex::new(v)));
        Ok(())
    }

    /// Unlocks a locked vault with the PIN. Wrong PINs are counted by the
    /// vault (in the file, so restarts do not reset the delay).
    pub fn unlock(&self, pin: &str) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        match &*slot {
            Slot::Open(_) => return Ok(()),
            Slot::Locked { .. } => {}
            Slot::NeedsPin { .. } => {
                return Err(IpcError::new(ErrorKind::NoPin, "there is no vault yet"))
            }
            Slot::Failed(e) => return Err(e.clone()),
        }
        let mut v = Vault::unlock_with_pin(&self.vault_path, pin).map_err(vault_error)?;
        // The keyring may be back (or never had the key): give it a wrap so
        // the next start opens without the PIN. Best effort.
        let has_keyring_wrap = Vault::inspect(&self.vault_path)
            .map(|i| i.keyring_wrap)
            .unwrap_or(true);
        if !has_keyring_wrap {
            if let Err(e) = v.add_keyring_wrap(&self.keys) {
                tracing::info!(error = %e, "keyring wrap not added");
            }
        }
        *slot = Slot::Open(Arc::new(Mutex::new(v)));
        Ok(())
    }

    /// Locks the vault: the key is dropped and zeroized; the PIN opens it
    /// again. Refused without a PIN (nothing could unlock it this session).
    pub fn lock_vault(&self) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        let has_pin = match &*slot {
            Slot::Open(v) => lock(v).has_pin(),
            _ => return Ok(()),
        };
        if !has_pin {
            return Err(IpcError::new(
                ErrorKind::NoPin,
                "set a PIN before locking the vault",
            ));
        }
        let old = std::mem::replace(&mut *slot, Slot::Locked { why: None });
        if let Slot::Open(arc) = old {
            // Zeroize now if nobody else holds it; otherwise it is dropped
            // (and zeroized) when the last user (a sync in flight) finishes.
            if let Ok(m) = Arc::try_unwrap(arc) {
                match m.into_inner() {
                    Ok(v) => v.lock(),
                    Err(p) => p.into_inner().lock(),
                }
            }
        }
        Ok(())
    }

    pub fn set_pin(&self, pin: &str) -> Result<(), IpcError> {
        self.with(|v| v.set_pin(pin))
    }

    pub fn change_pin(&self, old: &str, new: &str) -> Result<(), IpcError> {
        self.with(|v| v.change_pin(old, new))
    }

    // ---- profiles ---------------------------------------------------------

    pub fn list_profiles(&self) -> Result<Vec<ProfileView>, IpcError> {
        Ok(self
            .with(|v| v.list_profiles())?
            .into_iter()
            .map(profile_view)
            .collect())
    }

    pub fn add_profile(&self, input: ProfileInput) -> Result<ProfileView, IpcError> {
        let p = new_profile(input)?;
        self.with(|v| v.add_profile(&p)).map(profile_view)
    }

    pub fn update_profile(&self, id: &str, input: ProfileInput) -> Result<ProfileView, IpcError> {
        let p = new_profile(input)?;
        self.with(|v| v.update_profile(id, &p)).map(profile_view)
    }

    pub fn delete_profile(&self, id: &str) -> Result<(), IpcError> {
        self.with(|v| v.delete_profile(id))
    }

    // ---- documents --------------------------------------------------------

    pub fn list_documents(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with(|v| {
            let list = v.list_documents(profile_id)?;
            Ok(list.iter().map(|s| summary_view(s)).collect())
        })
    }

    pub fn search_documents(
        &self,
        profile_id: Option<&str>,
        query: &str,
    ) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with(|v| {
            let list = if query.trim().is_empty() {
                v.list_documents(profile_id)?
            } else {
                v.search_documents(profile_id, query)?
            };
            Ok(list.iter().map(|s| summary_view(s)).collect())
        })
    }

    pub fn get_document(&self, id: &str) -> Result<DocumentView, IpcError> {
        self.with(|v| v.get_document(id)).map(document_view)
    }

    pub fn add_document(&self, input: NewDocumentInput) -> Result<DocumentView, IpcError> {
        let attachments = input
            .attachments
            .into_iter()
            .map(decode_attachment)
            .collect::<Result<Vec<_>, _>>()?;
        let doc = document_input(input.document);
        self.with(|v| v.add_document(&doc, &attachments))
            .map(document_view)
    }

    pub fn update_document(
        &self,
        id: &str,
        input: DocumentInput,
    ) -> Result<DocumentView, IpcError> {
        let doc = document_input(input);
        self.with(|v| v.update_document(id, &doc))
            .map(document_view)
    }

    pub fn delete_document(&self, id: &str) -> Result<(), IpcError> {
        self.with(|v| v.delete_document(id))
    }

    pub fn add_attachment(
        &self,
        document_id: &str,
        input: NewAttachmentInput,
    ) -> Result<AttachmentView, IpcError> {
        let a = decode_attachment(input)?;
        self.with(|v| v.add_attachment(document_id, &a))
            .map(attachment_view)
    }

    /// Adds a file by its path, checking its size from the file's metadata
    /// before reading a byte of it.
    pub fn add_attachment_from_path(
        &self,
        document_id: &str,
        path: &Path,
    ) -> Result<AttachmentView, IpcError> {
        let a = read_attachment_file(path)?;
        self.with(|v| v.add_attachment(document_id, &a))
            .map(attachment_view)
    }

    pub fn delete_attachment(&self, id: &str) -> Result<(), IpcError> {
        self.with(|v| v.delete_attachment(id))
    }

    /// The whole attachment as a `data:` URL (for "open" / a full view).
    pub fn attachment_data_url(&self, id: &str) -> Result<String, IpcError> {
        self.with(|v| {
            let mime = find_attachment_mime(v, id)?;
            let bytes = v.attachment_bytes(id)?;
            Ok(data_url(&mime, &bytes))
        })
    }

    /// The attachment's JPEG thumbnail as a `data:` URL; `None` when it has
    /// none (a PDF).
    pub fn thumbnail_data_url(&self, id: &str) -> Result<Option<String>, IpcError> {
        self.with(|v| Ok(v.thumbnail(id)?.map(|b| data_url("image/jpeg", &b))))
    }

    /// Documents expiring within [`REMINDER_DAYS`] of `today`: the
    /// citizen's local date as the UI knows it (`YYYY-MM-DD`). The shell
    /// cannot read the local time zone safely in a multi-threaded process,
    /// and a UTC date is a day off in Việt Nam from midnight to 7 a.m.
    /// Without a date, or with one further than a day from the UTC date
    /// (a wrong clock), UTC is used.
    pub fn expiry_reminders(
        &self,
        today: Option<&str>,
    ) -> Result<Vec<ExpiryReminderView>, IpcError> {
        let utc = time::OffsetDateTime::now_utc().date();
        let today = today
            .and_then(|t| {
                time::Date::parse(t, time::macros::format_description!("[year]-[month]-[day]")).ok()
            })
            .filter(|d| (*d - utc).whole_days().abs() <= 1)
            .unwrap_or(utc);
        Ok(self
            .with(|v| v.expiry_reminders(today, REMINDER_DAYS))?
            .into_iter()
            .map(|r| ExpiryReminderView {
                document_id: r.document_id,
                profile_id: r.profile_id,
                kind: r.kind,
                title: r.title,
                expiry_date: r.expiry_date,
                days_left: r.days_left,
            })
            .collect())
    }

    pub fn access_log(&self) -> Result<Vec<DisclosureView>, IpcError> {
        Ok(self
            .with(|v| v.access_log())?
            .into_iter()
            .map(|d| DisclosureView {
                id: d.id,
                at: d.at,
                // One type shared through cds-api: no mapping to drift.
                channel: d.channel,
                recipient: d.recipient,
                purpose: d.purpose,
                legal_basis: d.legal_basis,
                document_ids: d.document_ids,
                summary: d.summary,
            })
            .collect())
    }

    pub fn application_documents(&self, key: &str) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with(|v| {
            let list = v.application_documents(key)?;
            Ok(list.iter().map(summary_view).collect())
        })
    }

    // ---- backup -----------------------------------------------------------

    pub fn backup_progress(&self) -> BackupProgress {
        lock(&self.backup).clone()
    }

    /// Exports (or imports) a backup, updating [`Self::backup_progress`] as
    /// it goes. Blocking: call from a worker thread.
    pub fn run_backup(
        &self,
        op: BackupOp,
        path: &str,
        passphrase: &str,
    ) -> Result<BackupSummaryView, IpcError> {
        {
            let mut p = lock(&self.backup);
            if p.running {
                return Err(IpcError::new(
                    ErrorKind::Busy,
                    "a backup or restore is already running",
                ));
            }
            *p = BackupProgress {
                op: Some(op),
                running: true,
                done: 0,
                total: 0,
                result: None,
            };
        }
        let result = self.run_backup_inner(op, path, passphrase);
        let mut p = lock(&self.backup);
        p.running = false;
        if result.is_ok() {
            p.done = p.total.max(p.done);
        }
        p.result = Some(result.clone());
        result
    }

    fn run_backup_inner(
        &self,
        op: BackupOp,
        path: &str,
        passphrase: &str,
    ) -> Result<BackupSummaryView, IpcError> {
        let path = PathBuf::from(path.trim());
        if path.as_os_str().is_empty() {
            return Err(IpcError::invalid("path", "choose where the backup file is"));
        }
        if op == BackupOp::Import && !path.is_file() {
            return Err(IpcError::invalid(
                "path",
                format!("there is no file at {}", path.display()),
            ));
        }
        if op == BackupOp::Export {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    IpcError::new(
                        ErrorKind::Storage,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
            }
        }
        let mut progress = |done: u64, total: u64| {
            let mut p = lock(&self.backup);
            p.done = done;
            p.total = total;
        };
        let summary = self.with(|v| match op {
            BackupOp::Export => v.export_backup(&path, passphrase, &mut progress),
            BackupOp::Import => v.import_backup(&path, passphrase, &mut progress),
        })?;
        Ok(BackupSummaryView {
            profiles: summary.profiles,
            documents: summary.documents,
            attachments: summary.attachments,
            applications: summary.applications,
            bytes: summary.bytes,
        })
    }

    pub fn list_services(&self) -> Vec<ServiceInfo> {
        lock(&self.services).clone()
    }

    fn service(&self, code: &str) -> Option<ServiceInfo> {
        lock(&self.services)
            .iter()
            .find(|s| s.code == code)
            .cloned()
    }

    /// Queues an application. The idempotency key is made here, at the
    /// moment the citizen pressed submit, and never changes afterwards.
    pub fn submit_application(&self, input: SubmitInput) -> Result<ApplicationView, IpcError> {
        let service = self.service(&input.service_code).ok_or_else(|| {
            IpcError::new(
                ErrorKind::InvalidInput,
                format!("unknown service {}", input.service_code),
            )
        })?;
        let vault = self.vault()?;
        let mut vault = lock(&vault);
        let mut docs: Vec<cds_vault::Document> = Vec::new();
        for id in &input.document_ids {
            docs.push(vault.get_document(id).map_err(vault_error)?);
        }
        let missing: Vec<&str> = service
            .required_documents
            .iter()
            .filter(|k| !docs.iter().any(|d| d.kind == **k))
            .map(|k| k.code())
            .collect();
        if !missing.is_empty() {
            return Err(IpcError::new(
                ErrorKind::InvalidInput,
                format!("missing required documents: {}", missing.join(", ")),
            ));
        }
        let id_card = docs
            .iter()
            .find(|d| d.kind == DocumentKind::Cccd)
            .ok_or_else(|| {
                IpcError::new(
                    ErrorKind::InvalidInput,
                    "a CCCD is needed to identify the applicant",
                )
            })?;
        let field = |d: &cds_vault::Document, k: &str| d.fields.get(k).cloned().unwrap_or_default();
        let submission = SubmitApplication {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            service_code: service.code.clone(),
            applicant: Applicant {
                id_number: field(id_card, "number"),
                full_name: field(id_card, "full_name"),
                date_of_birth: field(id_card, "date_of_birth"),
            },
            documents: docs
                .iter()
                .map(|d| DocumentRef {
                    kind: d.kind,
                    number: field(d, "number"),
                    full_name: doc_title(d),
                    date_of_birth: field(d, "date_of_birth"),
                    attachment_count: d.attachments.len() as u32,
                })
                .collect(),
            submitted_at: now_rfc3339(),
        };
        vault
            .enqueue_application(&submission)
            .map_err(vault_error)?;
        let record = vault
            .list_applications()
            .map_err(vault_error)?
            .into_iter()
            .find(|r| r.submission.idempotency_key == submission.idempotency_key)
            .ok_or_else(|| IpcError::new(ErrorKind::Internal, "queued application vanished"))?;
        Ok(self.application_view(record))
    }

    pub fn list_applications(&self) -> Result<Vec<ApplicationView>, IpcError> {
        let records = self.with(|v| v.list_applications())?;
        Ok(records
            .into_iter()
            .map(|r| self.application_view(r))
            .collect())
    }

    fn application_view(&self, r: cds_vault::ApplicationRecord) -> ApplicationView {
        let svc = self.service(&r.submission.service_code);
        let (name_vi, name_en) = svc.map(|s| (s.name_vi, s.name_en)).unwrap_or_else(|| {
            (
                r.submission.service_code.clone(),
                r.submission.service_code.clone(),
            )
        });
        let last_error = match (&r.receipt, &r.last_error) {
            (None, Some(msg)) => Some(classify_stored_error(msg)),
            _ => None,
        };
        ApplicationView {
            idempotency_key: r.submission.idempotency_key.clone(),
            service_code: r.submission.service_code.clone(),
            service_name_vi: name_vi,
            service_name_en: name_en,
            delivery: if r.receipt.is_some() {
                DeliveryState::Delivered
            } else {
                DeliveryState::Queued
            },
            case_number: r.receipt.as_ref().map(|x| x.case_number.clone()),
            status: r.receipt.as_ref().map(|x| x.status),
            submitted_at: r.submission.submitted_at.clone(),
            due_date: r.receipt.as_ref().map(|x| x.due_date.clone()),
            last_error,
        }
    }

    /// Delivers the whole outbox (refused applications included: the
    /// citizen asked), refreshes delivered applications' statuses and the
    /// catalogue. Safe to call from several places at once.
    pub async fn sync(&self) -> SyncReport {
        self.sync_with(true).await
    }

    /// The background tick's sync: like [`AppCore::sync`], but applications
    /// the city refused are not sent again.
    pub async fn sync_background(&self) -> SyncReport {
        self.sync_with(false).await
    }

    async fn sync_with(&self, retry_refused: bool) -> SyncReport {
        let _gate = self.sync_gate.lock().await;
        let held = if retry_refused {
            lock(&self.held).clear();
            std::collections::HashSet::new()
        } else {
            lock(&self.held).clone()
        };
        let report = self.sync_inner(&held).await;
        *lock(&self.last_sync_error) = report.error.clone();
        report
    }

    async fn sync_inner(&self, held: &std::collections::HashSet<String>) -> SyncReport {
        let vault = match self.vault() {
            Ok(v) => v,
            Err(e) => {
                return SyncReport {
                    delivered: 0,
                    still_pending: 0,
                    error: Some(e),
                }
            }
        };
        let pending_now = || {
            lock(&vault)
                .pending_applications()
                .map(|p| p.len() as u32)
                .unwrap_or(0)
        };
        let client = match &self.client {
            Ok(c) => c,
            Err(e) => {
                return SyncReport {
                    delivered: 0,
                    still_pending: pending_now(),
                    error: Some(e.clone()),
                }
            }
        };
        let drained = cds_sync::drain_outbox_except(vault.as_ref(), client, held).await;
        let (delivered, mut error) = match drained {
            Ok(r) => {
                lock(&self.held).extend(r.rejected);
                (
                    r.delivered.len() as u32,
                    r.error.map(|(kind, msg)| classify(kind, msg)),
                )
            }
            Err(e) => (0, Some(sync_error(e))),
        };
        if error.is_none() {
            if let Err(e) = self.refresh_statuses(vault.as_ref(), client).await {
                error = Some(e);
            }
            self.refresh_catalogue(client).await;
        }
        SyncReport {
            delivered,
            still_pending: pending_now(),
            error,
        }
    }

    async fn refresh_statuses(
        &self,
        vault: &Mutex<Vault>,
        client: &CityClient,
    ) -> Result<(), IpcError> {
        use cds_api::ApplicationStatus::{Approved, Rejected};
        let open: Vec<_> = vault
            .with_vault(|v| v.list_applications())
            .map_err(vault_error)?
            .into_iter()
            .filter_map(|r| r.receipt)
            .filter(|rc| !matches!(rc.status, Approved | Rejected))
            .collect();
        for old in open {
            let fresh = client
                .application(&old.case_number)
                .await
                .map_err(sync_error)?;
            if fresh != old {
                vault
                    .with_vault(|v| v.mark_delivered(&old.idempotency_key, &fresh))
                    .map_err(vault_error)?;
            }
        }
        Ok(())
    }

    async fn refresh_catalogue(&self, client: &CityClient) {
        match client.services().await {
            Ok(list) if !list.is_empty() => {
                if let Ok(json) = serde_json::to_vec_pretty(&list) {
                    // Write-then-rename so a crash never leaves half a file.
                    let tmp = self.services_cache.with_extension("json.tmp");
                    if std::fs::write(&tmp, json).is_ok() {
                        let _ = std::fs::rename(&tmp, &self.services_cache);
                    }
                }
                *lock(&self.services) = list;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "catalogue refresh failed"),
        }
    }

    /// Whether the outbox holds anything (for the background tick).
    /// Whether the background tick has something to send (applications
    /// the city refused do not count; see [`AppCore::sync_background`]).
    pub fn has_pending(&self) -> bool {
        let held = lock(&self.held).clone();
        match self.vault() {
            Ok(v) => lock(&v)
                .pending_applications()
                .map(|p| p.iter().any(|a| !held.contains(&a.idempotency_key)))
                .unwrap_or(false),
            Err(_) => false,
        }
    }
}

fn classify(kind: &str, message: String) -> IpcError {
    let k = match kind {
        "backend_unreachable" => ErrorKind::BackendUnreachable,
        "tls_untrusted" => ErrorKind::TlsUntrusted,
        "backend_rejected" => ErrorKind::BackendRejected,
        _ => ErrorKind::Internal,
    };
    IpcError::new(k, message)
}

/// The vault stores the last delivery error as the sync error's text; give
/// it back a kind so the UI can translate it.
fn classify_stored_error(msg: &str) -> IpcError {
    let kind = if msg.contains("could not be reached") {
        ErrorKind::BackendUnreachable
    } else if msg.contains("certificate is not trusted") {
        ErrorKind::TlsUntrusted
    } else if msg.contains("rejected") {
        ErrorKind::BackendRejected
    } else {
        ErrorKind::Internal
    };
    IpcError::new(kind, msg)
}

fn profile_view(p: cds_vault::Profile) -> ProfileView {
    ProfileView {
        id: p.id,
        full_name: p.full_name,
        relation: match p.relation {
            cds_vault::Relation::SelfPerson => Relation::SelfPerson,
            cds_vault::Relation::Child => Relation::Child,
            cds_vault::Relation::Parent => Relation::Parent,
            cds_vault::Relation::Spouse => Relation::Spouse,
            cds_vault::Relation::Other => Relation::Other,
        },
        date_of_birth: p.date_of_birth,
    }
}

fn new_profile(input: ProfileInput) -> Result<cds_vault::NewProfile, IpcError> {
    let full_name = input
        .full_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if full_name.is_empty() {
        return Err(IpcError::invalid("full_name", "the name is empty"));
    }
    Ok(cds_vault::NewProfile {
        full_name,
        relation: match input.relation {
            Relation::SelfPerson => cds_vault::Relation::SelfPerson,
            Relation::Child => cds_vault::Relation::Child,
            Relation::Parent => cds_vault::Relation::Parent,
            Relation::Spouse => cds_vault::Relation::Spouse,
            Relation::Other => cds_vault::Relation::Other,
        },
        date_of_birth: input.date_of_birth.filter(|d| !d.trim().is_empty()),
    })
}

fn document_input(d: DocumentInput) -> cds_vault::DocumentInput {
    cds_vault::DocumentInput {
        profile_id: d.profile_id,
        kind: d.kind,
        fields: d
            .fields
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        custom_fields: d.custom_fields,
    }
}

fn attachment_view(a: cds_vault::AttachmentMeta) -> AttachmentView {
    AttachmentView {
        id: a.id,
        file_name: a.file_name,
        mime: a.mime,
        size: a.size,
        has_thumbnail: a.has_thumbnail,
    }
}

fn doc_title(d: &cds_vault::Document) -> String {
    d.fields
        .get("full_name")
        .or_else(|| d.fields.get("title"))
        .cloned()
        .unwrap_or_default()
}

fn document_view(d: cds_vault::Document) -> DocumentView {
    DocumentView {
        id: d.id,
        profile_id: d.profile_id,
        kind: d.kind,
        fields: d.fields,
        custom_fields: d.custom_fields,
        attachments: d.attachments.into_iter().map(attachment_view).collect(),
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

/// A list entry. Everything comes from the vault's summary (cached), so a
/// listing of 10,000 documents never opens each document again.
fn summary_view(s: &cds_vault::DocumentSummary) -> DocumentSummaryView {
    DocumentSummaryView {
        id: s.id.clone(),
        profile_id: s.profile_id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        number: s.number.clone(),
        date_of_birth: s.date_of_birth.clone().unwrap_or_default(),
        expiry_date: s.expiry_date.clone(),
        attachment_count: s.attachment_count,
        thumbnail_id: s.thumbnail_id.clone(),
        has_pdf: s.has_pdf,
        updated_at: s.updated_at.clone(),
    }
}

fn find_attachment_mime(v: &Vault, id: &str) -> Result<String, VaultError> {
    // Attachments are few per document; the vault has no lookup by
    // attachment id alone, so search the documents that have any.
    for s in v.list_documents(None)? {
        if s.attachment_count == 0 {
            continue;
        }
        if let Some(a) = v
            .get_document(&s.id)?
            .attachments
            .into_iter()
            .find(|a| a.id == id)
        {
            return Ok(a.mime);
        }
    }
    Err(VaultError::NotFound {
        what: "attachment",
        id: id.to_owned(),
    })
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn too_large(name: &str) -> IpcError {
    IpcError::new(ErrorKind::TooLarge, format!("{name} is larger than 20 MB"))
}

/// Decodes a picked file sent as base64, refusing an oversized one before
/// decoding it.
fn decode_attachment(a: NewAttachmentInput) -> Result<NewAttachment, IpcError> {
    // base64 is 4 characters per 3 bytes.
    if (a.data_base64.len() as u64) / 4 * 3 > MAX_ATTACHMENT_BYTES + 3 {
        return Err(too_large(&a.file_name));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.data_base64.as_bytes())
        .map_err(|e| {
            IpcError::invalid(
                "attachment",
                format!("{} could not be read: {e}", a.file_name),
            )
        })?;
    if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(too_large(&a.file_name));
    }
    let mime = sniff_mime(&bytes).ok_or_else(|| {
        IpcError::new(
            ErrorKind::UnsupportedFile,
            format!(
                "{} is not an image (JPEG, PNG, WebP, GIF) or a PDF",
                a.file_name
            ),
        )
    })?;
    Ok(NewAttachment {
        file_name: a.file_name,
        mime: mime.to_owned(),
        bytes,
    })
}

/// Reads a file from disk for attaching: size from metadata first, so a
/// 200 MB file is refused without being read.
pub fn read_attachment_file(path: &Path) -> Result<NewAttachment, IpcError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let meta = std::fs::metadata(path).map_err(|e| {
        IpcError::invalid("attachment", format!("cannot open {}: {e}", path.display()))
    })?;
    if !meta.is_file() {
        return Err(IpcError::invalid(
            "attachment",
            format!("{} is not a file", path.display()),
        ));
    }
    if meta.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_large(&name));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        IpcError::invalid("attachment", format!("cannot read {}: {e}", path.display()))
    })?;
    let mime = sniff_mime(&bytes).ok_or_else(|| {
        IpcError::new(
            ErrorKind::UnsupportedFile,
            format!("{name} is not an image (JPEG, PNG, WebP, GIF) or a PDF"),
        )
    })?;
    Ok(NewAttachment {
        file_name: name,
        mime: mime.to_owned(),
        bytes,
    })
}

/// The type of a file by its first bytes (never by its name).
pub fn sniff_mime(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

fn load_catalogue(cache: &Path) -> Vec<ServiceInfo> {
    let cached = std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<ServiceInfo>>(&b).ok())
        .filter(|l| !l.is_empty());
    match cached {
        Some(list) => list,
        None => cds_api::seed_catalogue().unwrap_or_else(|e| {
            tracing::error!(error = %e, "embedded catalogue is broken");
            Vec::new()
        }),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
