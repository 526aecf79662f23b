//! View types: what the Tauri shell hands the Leptos UI over IPC, and what
//! the UI sends back.
//!
//! Invariant: nothing in here can hold key material. The UI sees decrypted
//! fields the citizen owns and is allowed to see, never a key, a wrapped key
//! or a ciphertext. Compiles for `wasm32-unknown-unknown` (serde only).

pub use cds_api::{
    ApplicationStatus, DisclosureChannel, DocumentKind, FieldSpec, FieldType, ServiceInfo,
    LICENCE_CLASSES, SEX_CHOICES,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod commands;
pub use commands::{Command, COMMANDS};
pub mod qr;
pub use qr::*;

/// An error as the UI receives it: a stable `kind` it translates, and an
/// English `message` with details for logs and support.
///
/// Two optional details travel only when they apply (they are left out of
/// the JSON otherwise, so most errors are exactly `{kind, message}`):
/// `field`, the form field an `invalid_input` is about (a schema key such as
/// `number` or `date_of_birth`), so the UI shows it inline; and
/// `retry_after_secs`, how long to wait after a wrong PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// An `invalid_input` about one form field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(ErrorKind::InvalidInput, message)
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
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
    /// The vault is locked: unlock it with the PIN first.
    VaultLocked,
    /// Input the citizen typed or picked is not acceptable.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// The disk (or the user's quota on it) is full: nothing was saved.
    DiskFull,
    /// Another storage failure (a full disk is [`ErrorKind::DiskFull`]).
    Storage,
    /// A bug or an unexpected failure.
    Internal,
    /// The PIN is wrong; `retry_after_secs` says how long to wait.
    WrongPin,
    /// Too many wrong PINs: wait `retry_after_secs` before trying again.
    PinLocked,
    /// The new PIN is too easy to guess.
    WeakPin,
    /// The vault has no PIN (needed to lock it, or to change it).
    NoPin,
    /// It already exists (a profile, a document with the same number).
    Duplicate,
    /// The backup file is damaged or truncated; nothing was changed.
    BackupCorrupt,
    /// The backup passphrase is wrong; nothing was changed.
    WrongPassphrase,
    /// The file is larger than the 20 MB limit.
    TooLarge,
    /// The file is not an image (JPEG, PNG, WebP, GIF) or a PDF.
    UnsupportedFile,
    /// A backup or restore is already running.
    Busy,
    /// The city no longer accepts this device (its sign-in was withdrawn or
    /// forgotten): activate the citizen QR again with a new code.
    Unauthorized,
    /// The activation code is wrong, already used or expired.
    ActivationCode,
    /// Too many attempts: wait `retry_after_secs`.
    RateLimited,
    /// The picture was read but holds no QR code that could be decoded.
    NoQrFound,
    /// The picked file is not a picture (or cannot be decoded as one).
    NotAnImage,
    /// No camera is available (none attached, or in use by another app).
    CameraUnavailable,
    /// The city's public keys have never been downloaded on this device, so
    /// a citizen QR cannot be checked offline yet.
    NoTrustList,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 30] = [
        ErrorKind::BackendUnreachable,
        ErrorKind::TlsUntrusted,
        ErrorKind::BackendRejected,
        ErrorKind::KeyringUnavailable,
        ErrorKind::VaultKeyMissing,
        ErrorKind::VaultCorrupt,
        ErrorKind::VaultUnavailable,
        ErrorKind::VaultLocked,
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::DiskFull,
        ErrorKind::Storage,
        ErrorKind::Internal,
        ErrorKind::WrongPin,
        ErrorKind::PinLocked,
        ErrorKind::WeakPin,
        ErrorKind::NoPin,
        ErrorKind::Duplicate,
        ErrorKind::BackupCorrupt,
        ErrorKind::WrongPassphrase,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedFile,
        ErrorKind::Busy,
        ErrorKind::Unauthorized,
        ErrorKind::ActivationCode,
        ErrorKind::RateLimited,
        ErrorKind::NoQrFound,
        ErrorKind::NotAnImage,
        ErrorKind::CameraUnavailable,
        ErrorKind::NoTrustList,
    ];

    /// The stable `snake_case` code, as serialised (`{"kind": "<code>"}`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BackendUnreachable => "backend_unreachable",
            ErrorKind::TlsUntrusted => "tls_untrusted",
            ErrorKind::BackendRejected => "backend_rejected",
            ErrorKind::KeyringUnavailable => "keyring_unavailable",
            ErrorKind::VaultKeyMissing => "vault_key_missing",
            ErrorKind::VaultCorrupt => "vault_corrupt",
            ErrorKind::VaultUnavailable => "vault_unavailable",
            ErrorKind::VaultLocked => "vault_locked",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
            ErrorKind::WrongPin => "wrong_pin",
            ErrorKind::PinLocked => "pin_locked",
            ErrorKind::WeakPin => "weak_pin",
            ErrorKind::NoPin => "no_pin",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::BackupCorrupt => "backup_corrupt",
            ErrorKind::WrongPassphrase => "wrong_passphrase",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::UnsupportedFile => "unsupported_file",
            ErrorKind::Busy => "busy",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::ActivationCode => "activation_code",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::NoQrFound => "no_qr_found",
            ErrorKind::NotAnImage => "not_an_image",
            ErrorKind::CameraUnavailable => "camera_unavailable",
            ErrorKind::NoTrustList => "no_trust_list",
        }
    }

    /// The kind with this [`code`](Self::code).
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Whether the vault can be used, and if not what the citizen must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultState {
    /// Open: documents can be read and written.
    Open,
    /// A vault exists but is locked: the UI asks for the PIN (the keyring
    /// is unavailable, or the citizen pressed "lock").
    Locked,
    /// There is no vault and no keyring: the UI asks the citizen to create
    /// a PIN, which creates the vault.
    NeedsPin,
    /// The vault cannot be opened (`vault_error` says why); nothing is
    /// changed on disk.
    Unavailable,
}

/// State of the app as the home screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    pub vault_state: VaultState,
    /// `None` when the vault is open or simply locked; otherwise why it
    /// cannot be opened.
    pub vault_error: Option<IpcError>,
    /// Whether the vault has a PIN wrap (PIN unlock, lock, change PIN).
    pub has_pin: bool,
    /// Whether the OS keyring held (or could hold) the vault's key.
    pub keyring_available: bool,
    /// Seconds before another PIN attempt is accepted (0: now).
    pub pin_retry_after_secs: u64,
    pub backend_url: String,
    pub document_count: u32,
    /// Applications waiting in the outbox for the backend.
    pub pending_count: u32,
    /// Outcome of the last sync attempt, if any.
    pub last_sync_error: Option<IpcError>,
}

/// How a profile's owner relates to the citizen (the domain's).
pub use cds_domain::person::Relation;

/// A person whose papers the vault holds (the citizen, a child, a parent…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    pub id: String,
    pub full_name: String,
    pub relation: Relation,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
}

/// The add/edit profile form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInput {
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<String>,
}

/// A file attached to a document, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: String,
    pub file_name: String,
    pub mime: String,
    pub size: u64,
    pub has_thumbnail: bool,
}

/// A vault document in a list: enough for a card and for choosing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummaryView {
    pub id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    /// The holder's full name, or the title of an "other" document.
    pub title: String,
    pub number: String,
    /// ISO `YYYY-MM-DD`, empty when the kind has none.
    pub date_of_birth: String,
    pub expiry_date: Option<String>,
    pub attachment_count: u32,
    /// An attachment with a thumbnail, for the card's picture.
    pub thumbnail_id: Option<String>,
    pub has_pdf: bool,
    /// RFC 3339.
    pub updated_at: String,
}

/// A vault document, decrypted for display and editing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    /// Schema keys (`DocumentKind::fields()`) to values; dates ISO.
    pub fields: BTreeMap<String, String>,
    /// Free `(label, value)` pairs of an "other" document.
    pub custom_fields: Vec<(String, String)>,
    pub attachments: Vec<AttachmentView>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// A file the citizen picked, sent from the UI as base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAttachmentInput {
    pub file_name: String,
    pub mime: String,
    pub data_base64: String,
}

/// The add/edit document form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInput {
    pub profile_id: String,
    pub kind: DocumentKind,
    /// Schema keys to values; dates ISO `YYYY-MM-DD`.
    pub fields: BTreeMap<String, String>,
    /// Only for "other".
    pub custom_fields: Vec<(String, String)>,
}

/// Add a document with its first attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDocumentInput {
    pub document: DocumentInput,
    pub attachments: Vec<NewAttachmentInput>,
}

/// A document that expires soon (or has expired), for the home screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryReminderView {
    pub document_id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    pub title: String,
    /// ISO `YYYY-MM-DD`.
    pub expiry_date: String,
    /// Negative: expired that many days ago.
    pub days_left: i64,
}

/// One entry of "who has my data".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureView {
    pub id: String,
    /// RFC 3339.
    pub at: String,
    pub channel: DisclosureChannel,
    pub recipient: String,
    pub purpose: String,
    pub legal_basis: String,
    pub document_ids: Vec<String>,
    pub summary: String,
}

/// Which long operation a [`BackupProgress`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupOp {
    Export,
    Import,
}

/// What a backup or restore contained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummaryView {
    pub profiles: u32,
    pub documents: u32,
    pub attachments: u32,
    pub applications: u32,
    pub bytes: u64,
}

/// The running (or last) backup or restore, polled by the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupProgress {
    pub op: Option<BackupOp>,
    pub running: bool,
    pub done: u64,
    pub total: u64,
    pub result: Option<Result<BackupSummaryView, IpcError>>,
}

/// Start a backup export or import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInput {
    pub path: String,
    pub passphrase: String,
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
        let e = IpcError::new(ErrorKind::WrongPin, "wrong").with_retry_after(30);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"kind":"wrong_pin","message":"wrong","retry_after_secs":30}"#
        );
        let back: IpcError = serde_json::from_str(r#"{"kind":"wrong_pin","message":"m"}"#).unwrap();
        assert_eq!(back.retry_after_secs, None);
    }

    #[test]
    fn every_kind_has_its_serialised_code() {
        for k in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.code())
            );
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
    }

    #[test]
    fn relation_self_is_spelled_self() {
        assert_eq!(
            serde_json::to_string(&Relation::SelfPerson).unwrap(),
            r#""self""#
        );
        for r in Relation::ALL {
            assert_eq!(Relation::from_code(r.code()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
    }
}
