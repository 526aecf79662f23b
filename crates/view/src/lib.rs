//! View types: what the Tauri shell hands the Leptos UI over IPC, and what
//! the UI sends back.
//!
//! Invariant: nothing in here can hold key material. The UI sees decrypted
//! fields the citizen owns and is allowed to see, never a key, a wrapped key
//! or a ciphertext. Compiles for `wasm32-unknown-unknown` (serde only).

pub use cds_api::{ApplicationStatus, DocumentKind, ServiceInfo};
use serde::{Deserialize, Serialize};

/// An error as the UI receives it: a stable `kind` it translates, and an
/// English `message` with details for logs and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// Stable error codes; the UI has a Vietnamese and English text for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The city backend could not be reached (offline, server down).
    BackendUnreachable,
    /// The backend's TLS certificate is not trusted.
    TlsUntrusted,
    /// The backend answered with an error.
    BackendRejected,
    /// The OS keyring (Secret Service, Keychain…) could not be used.
    KeyringUnavailable,
    /// The vault exists but its key is not in the keyring.
    VaultKeyMissing,
    /// The vault file is damaged or was tampered with.
    VaultCorrupt,
    /// The vault has not been opened (see the start-up error).
    VaultUnavailable,
    /// Input the citizen typed or picked is not acceptable.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// Disk full or another storage failure.
    Storage,
    /// A bug or an unexpected failure.
    Internal,
}

/// State of the app as the home screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    /// `None` when the vault is open; otherwise why it is not.
    pub vault_error: Option<IpcError>,
    pub backend_url: String,
    pub document_count: u32,
    /// Applications waiting in the outbox for the backend.
    pub pending_count: u32,
    /// Outcome of the last sync attempt, if any.
    pub last_sync_error: Option<IpcError>,
}

/// A file attached to a document, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: String,
    pub file_name: String,
    pub mime: String,
    pub size: u64,
}

/// A vault document, decrypted for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: String,
    pub kind: DocumentKind,
    pub number: String,
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub attachments: Vec<AttachmentView>,
    /// RFC 3339.
    pub created_at: String,
}

/// A file the citizen picked, sent from the UI as base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAttachmentInput {
    pub file_name: String,
    pub mime: String,
    pub data_base64: String,
}

/// The "add document" form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDocumentInput {
    pub kind: DocumentKind,
    pub number: String,
    pub full_name: String,
    /// ISO `YYYY-MM-DD` (what `<input type=date>` yields).
    pub date_of_birth: String,
    pub attachments: Vec<NewAttachmentInput>,
}

/// The "submit application" form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitInput {
    pub service_code: String,
    /// Vault document ids to send (their fields are read from the vault).
    pub document_ids: Vec<String>,
}

/// Where one of the citizen's applications is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting in the outbox on this device.
    Queued,
    /// The city has it; see `status`.
    Delivered,
}

/// One application, as listed in "Hồ sơ của tôi".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub idempotency_key: String,
    pub service_code: String,
    pub service_name_vi: String,
    pub service_name_en: String,
    pub delivery: DeliveryState,
    pub case_number: Option<String>,
    pub status: Option<ApplicationStatus>,
    /// RFC 3339, device time when submit was pressed.
    pub submitted_at: String,
    pub due_date: Option<String>,
    /// Why the last delivery attempt failed, while queued.
    pub last_error: Option<IpcError>,
}

/// Result of one sync run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub delivered: u32,
    pub still_pending: u32,
    pub error: Option<IpcError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_error_serialises_as_kind_and_message() {
        let e = IpcError::new(ErrorKind::TlsUntrusted, "bad cert");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"kind":"tls_untrusted","message":"bad cert"}"#
        );
    }
}
