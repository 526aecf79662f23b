//! The app's behaviour behind the IPC commands, free of Tauri types so it can
//! be tested without a window.
//!
//! Invariants:
//! - Keys stay inside `cds-vault`; this module only sees decrypted fields and
//!   turns them into `cds-view` types.
//! - A failure to open the vault is remembered, never "fixed" by creating a
//!   new vault over the old one: the citizen's data stays where it is.
//! - Submitting only queues (a local transaction). Delivery is the sync
//!   service's job, so submit works the same offline and online.

use base64::Engine as _;
use cds_api::{Applicant, DocumentKind, DocumentRef, ServiceInfo, SubmitApplication};
use cds_sync::{CityClient, SyncError, VaultAccess};
use cds_vault::{Document, NewAttachment, NewDocument, OsKeyring, Vault, VaultError};
use cds_view::{
    AppStatus, ApplicationView, AttachmentView, DeliveryState, DocumentView, ErrorKind, IpcError,
    NewDocumentInput, SubmitInput, SyncReport,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::Config;

/// Keyring account under the configured service that holds the vault's KEK.
const KEYRING_ACCOUNT: &str = "vault-kek";
/// Largest attachment the UI may send, before base64 (matches the vault).
const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

pub fn vault_error(e: VaultError) -> IpcError {
    let kind = match e.kind() {
        "keyring_unavailable" => ErrorKind::KeyringUnavailable,
        "key_missing" | "wrong_key" => ErrorKind::VaultKeyMissing,
        "corrupt" | "tampered" => ErrorKind::VaultCorrupt,
        "invalid_input" => ErrorKind::InvalidInput,
        "not_found" => ErrorKind::NotFound,
        "disk_full" | "storage" => ErrorKind::Storage,
        _ => ErrorKind::Internal,
    };
    IpcError::new(kind, e.to_string())
}

pub fn sync_error(e: SyncError) -> IpcError {
    match e {
        SyncError::Vault(v) => vault_error(v),
        other => {
            let kind = match other.kind() {
                "backend_unreachable" => ErrorKind::BackendUnreachable,
                "tls_untrusted" => ErrorKind::TlsUntrusted,
                "backend_rejected" => ErrorKind::BackendRejected,
                _ => ErrorKind::Internal,
            };
            IpcError::new(kind, other.to_string())
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

/// Everything the commands share.
pub struct AppCore {
    backend_url: String,
    vault: Result<Arc<Mutex<Vault>>, IpcError>,
    client: Result<CityClient, IpcError>,
    services: Mutex<Vec<ServiceInfo>>,
    services_cache: PathBuf,
    last_sync_error: Mutex<Option<IpcError>>,
    /// One sync at a time: a background tick and a button press must not
    /// deliver the same queue twice concurrently (harmless, but wasteful).
    sync_gate: tokio::sync::Mutex<()>,
}

impl AppCore {
    /// Opens the vault in `data_dir` with the OS keyring and prepares the
    /// backend client. Never fails: problems are kept and shown in the UI.
    pub fn start(cfg: &Config, data_dir: &Path) -> AppCore {
        let keys = OsKeyring::new(&cfg.keyring_service, KEYRING_ACCOUNT);
        let vault = std::fs::create_dir_all(data_dir)
            .map_err(|e| {
                IpcError::new(
                    ErrorKind::Storage,
                    format!("cannot create data folder {}: {e}", data_dir.display()),
                )
            })
            .and_then(|()| {
                Vault::open(&data_dir.join("vault.sqlite3"), &keys)
                    .map(|v| Arc::new(Mutex::new(v)))
                    .map_err(vault_error)
            });
        if let Err(e) = &vault {
            tracing::error!(error = %e, "vault could not be opened");
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
            vault,
            client,
            services: Mutex::new(services),
            services_cache,
            last_sync_error: Mutex::new(None),
            sync_gate: tokio::sync::Mutex::new(()),
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

    fn vault(&self) -> Result<&Arc<Mutex<Vault>>, IpcError> {
        self.vault.as_ref().map_err(|e| {
            IpcError::new(
                ErrorKind::VaultUnavailable,
                format!("the vault is not open: {}", e.message),
            )
        })
    }

    pub fn status(&self) -> AppStatus {
        let (document_count, pending_count) = match &self.vault {
            Ok(v) => {
                let v = lock(v);
                (
                    v.list_documents().map(|d| d.len() as u32).unwrap_or(0),
                    v.pending_applications()
                        .map(|p| p.len() as u32)
                        .unwrap_or(0),
                )
            }
            Err(_) => (0, 0),
        };
        AppStatus {
            vault_error: self.vault.as_ref().err().cloned(),
            backend_url: self.backend_url.clone(),
            document_count,
            pending_count,
            last_sync_error: lock(&self.last_sync_error).clone(),
        }
    }

    pub fn list_documents(&self) -> Result<Vec<DocumentView>, IpcError> {
        let docs = lock(self.vault()?).list_documents().map_err(vault_error)?;
        Ok(docs.into_iter().map(document_view).collect())
    }

    pub fn add_document(&self, input: NewDocumentInput) -> Result<DocumentView, IpcError> {
        let mut attachments = Vec::with_capacity(input.attachments.len());
        for a in input.attachments {
            // Reject before decoding a huge string into memory twice.
            if a.data_base64.len() / 4 * 3 > MAX_ATTACHMENT_BYTES + 3 {
                return Err(IpcError::new(
                    ErrorKind::InvalidInput,
                    format!("{} is larger than 20 MB", a.file_name),
                ));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(a.data_base64.as_bytes())
                .map_err(|e| {
                    IpcError::new(
                        ErrorKind::InvalidInput,
                        format!("{} could not be read: {e}", a.file_name),
                    )
                })?;
            attachments.push(NewAttachment {
                file_name: a.file_name,
                mime: a.mime,
                bytes,
            });
        }
        let doc = NewDocument {
            kind: input.kind,
            number: input.number,
            full_name: input.full_name,
            date_of_birth: input.date_of_birth,
            attachments,
        };
        let saved = lock(self.vault()?)
            .add_document(&doc)
            .map_err(vault_error)?;
        Ok(document_view(saved))
    }

    pub fn attachment_data_url(&self, id: &str) -> Result<String, IpcError> {
        let vault = lock(self.vault()?);
        let mime = vault
            .list_documents()
            .map_err(vault_error)?
            .into_iter()
            .flat_map(|d| d.attachments)
            .find(|a| a.id == id)
            .map(|a| a.mime)
            .ok_or_else(|| IpcError::new(ErrorKind::NotFound, format!("no attachment {id}")))?;
        let bytes = vault.attachment_bytes(id).map_err(vault_error)?;
        Ok(format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes[..])
        ))
    }

    pub fn list_services(&self) -> Vec<ServiceInfo> {
        lock(&self.services).clone()
    }

    fn service(&self, code: &str) -> Option<ServiceInfo> {
        lock(&self.services).iter().find(|s| s.code == code).cloned()
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
        let mut vault = lock(self.vault()?);
        let mut docs: Vec<Document> = Vec::new();
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
        let submission = SubmitApplication {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            service_code: service.code.clone(),
            applicant: Applicant {
                id_number: id_card.number.clone(),
                full_name: id_card.full_name.clone(),
                date_of_birth: id_card.date_of_birth.clone(),
            },
            documents: docs
                .iter()
                .map(|d| DocumentRef {
                    kind: d.kind,
                    number: d.number.clone(),
                    full_name: d.full_name.clone(),
                    date_of_birth: d.date_of_birth.clone(),
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
        let records = lock(self.vault()?)
            .list_applications()
            .map_err(vault_error)?;
        Ok(records
            .into_iter()
            .map(|r| self.application_view(r))
            .collect())
    }

    fn application_view(&self, r: cds_vault::ApplicationRecord) -> ApplicationView {
        let svc = self.service(&r.submission.service_code);
        let (name_vi, name_en) = svc
            .map(|s| (s.name_vi, s.name_en))
            .unwrap_or_else(|| {
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

    /// Delivers the outbox, refreshes delivered applications' statuses and
    /// the catalogue. Safe to call from several places at once.
    pub async fn sync(&self) -> SyncReport {
        let _gate = self.sync_gate.lock().await;
        let report = self.sync_inner().await;
        *lock(&self.last_sync_error) = report.error.clone();
        report
    }

    async fn sync_inner(&self) -> SyncReport {
        let vault = match self.vault() {
            Ok(v) => v.clone(),
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
        let drained = cds_sync::drain_outbox(vault.as_ref(), client).await;
        let (delivered, mut error) = match drained {
            Ok(r) => (
                r.delivered.len() as u32,
                r.error.map(|(kind, msg)| classify(kind, msg)),
            ),
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
    pub fn has_pending(&self) -> bool {
        match &self.vault {
            Ok(v) => lock(v)
                .pending_applications()
                .map(|p| !p.is_empty())
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

fn document_view(d: Document) -> DocumentView {
    DocumentView {
        id: d.id,
        kind: d.kind,
        number: d.number,
        full_name: d.full_name,
        date_of_birth: d.date_of_birth,
        attachments: d
            .attachments
            .into_iter()
            .map(|a| AttachmentView {
                id: a.id,
                file_name: a.file_name,
                mime: a.mime,
                size: a.size,
            })
            .collect(),
        created_at: d.created_at,
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
