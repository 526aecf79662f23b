#![doc = include_str!("../FORMAT.md")]
mod apps;
mod backup;
mod creds;
mod crypto;
mod delivery;
mod docs;
mod error;
mod files;
mod fsutil;
mod keystore;
mod migrate;
mod rows;
mod schema;
mod session;
mod thumb;
mod validate;

pub use cds_api;
pub use creds::{
    CredentialSet, StoredCredential, MAX_CREDENTIALS_PER_SET, MAX_CREDENTIAL_TEXT_BYTES,
    MAX_DEVICE_VALUE_BYTES,
};
pub use delivery::{DeliveryErrorKind, DeliveryFailure};
pub use error::VaultError;
pub use keystore::{KeyPresence, KeyStore, MemoryKeyStore, OsKeyring};
pub use thumb::{MAX_IMAGE_SIDE, THUMBNAIL_MAX_SIDE};
pub use validate::{
    MAX_ATTACHMENT_BYTES, MAX_CUSTOM_FIELDS, MAX_FILE_NAME_CHARS, MAX_LONG_TEXT_CHARS,
    MAX_NAME_CHARS, MAX_NUMBER_CHARS, MAX_TEXT_CHARS,
};
pub use zeroize::Zeroizing;

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crypto::{Kek, LookupKey, Place, VaultKey};
use error::db;

/// Id of the citizen's own profile, which always exists.
pub const SELF_PROFILE_ID: &str = "self";
/// The least PBKDF2 iteration count [`KdfParams::new`] accepts, and what
/// the app uses.
pub const MIN_KDF_ITERATIONS: u32 = 600_000;
/// The iteration count of the test-only KDF. Backup import still accepts
/// files made with it (a test vault's backups), with or without the
/// `test-util` feature: reading a weak file is the file's weakness, not
/// the app's.
pub(crate) const INSECURE_TEST_ITERATIONS: u32 = 1_000;

/// PBKDF2-HMAC-SHA256 cost for PIN wraps and backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    iterations: u32,
}

impl KdfParams {
    /// 600 000 iterations (OWASP 2023 for PBKDF2-HMAC-SHA256).
    pub const fn recommended() -> Self {
        KdfParams {
            iterations: MIN_KDF_ITERATIONS,
        }
    }

    /// At least [`MIN_KDF_ITERATIONS`]; fewer is refused.
    pub fn new(iterations: u32) -> Result<Self, VaultError> {
        if iterations < MIN_KDF_ITERATIONS {
            return Err(VaultError::invalid(
                "kdf",
                format!("at least {MIN_KDF_ITERATIONS} PBKDF2 iterations are required"),
            ));
        }
        Ok(KdfParams { iterations })
    }

    /// 1 000 iterations: **only for tests**, where 600 000 iterations per
    /// PIN check would make a debug test suite take minutes. A vault made
    /// with this is as weak as its PIN; the app never uses it, and it is
    /// compiled only with the `test-util` feature (and in this crate's own
    /// unit tests), so a release build cannot reach it.
    #[cfg(any(test, feature = "test-util"))]
    pub const fn insecure_fast_kdf_for_tests() -> Self {
        KdfParams {
            iterations: INSECURE_TEST_ITERATIONS,
        }
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::recommended()
    }
}

/// Who a profile is to the citizen (the domain's: serialised in
/// `snake_case`, the citizen as `"self"`).
pub use cds_domain::person::Relation;

/// A profile id (the contract's alias; functions take `&str`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProfileId(pub String);

/// The citizen or a family member; documents belong to one profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    /// Empty for the `self` profile until the citizen sets it.
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<String>,
    pub created_at: String,
}

/// A profile to add or the new state of one to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProfile {
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<String>,
}

/// A document to add, or the new content of one to edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInput {
    pub profile_id: String,
    pub kind: DocumentKind,
    /// Keys from `kind.fields()`; empty values are dropped.
    pub fields: BTreeMap<String, String>,
    /// Free `(label, value)` pairs; only for [`DocumentKind::Other`].
    #[serde(default)]
    pub custom_fields: Vec<(String, String)>,
}

/// A photo or scan to store with a document.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub file_name: String,
    /// What the sender claims; ignored in favour of the sniffed type.
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment")
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// A stored document, decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    pub fields: BTreeMap<String, String>,
    pub custom_fields: Vec<(String, String)>,
    /// In the order they were added.
    pub attachments: Vec<AttachmentMeta>,
    /// RFC 3339, UTC, microseconds.
    pub created_at: String,
    pub updated_at: String,
}

impl Document {
    /// A field's value, if set.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// The document number, or `""` (an "other" document has none).
    pub fn number(&self) -> &str {
        self.field("number").unwrap_or("")
    }

    /// The holder's full name, or `""`.
    pub fn full_name(&self) -> &str {
        self.field("full_name").unwrap_or("")
    }

    /// The holder's date of birth, or `""`.
    pub fn date_of_birth(&self) -> &str {
        self.field("date_of_birth").unwrap_or("")
    }

    /// The name shown in lists: the full name, or an "other" document's
    /// title.
    pub fn title(&self) -> &str {
        self.field("full_name")
            .or_else(|| self.field("title"))
            .unwrap_or("")
    }
}

/// A document as listed: no attachment bytes, no field map; everything a
/// list card shows, so a listing never opens each document again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    /// The full name, or an "other" document's title.
    pub title: String,
    /// The document number, or `""`.
    pub number: String,
    pub expiry_date: Option<String>,
    /// ISO date, for the documents that have one (ID cards, passports…).
    pub date_of_birth: Option<String>,
    pub attachment_count: u32,
    /// The first attachment that has a thumbnail (the card's picture).
    pub thumbnail_id: Option<String>,
    /// Whether any attachment is a PDF (the card shows a PDF mark).
    pub has_pdf: bool,
    pub updated_at: String,
}

/// What is known about an attachment without reading its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    pub id: String,
    pub file_name: String,
    /// Sniffed from the content: `image/jpeg`, `image/png`, `image/webp`,
    /// `image/gif` or `application/pdf`.
    pub mime: String,
    pub size: u64,
    /// Images that could be decoded have a JPEG thumbnail
    /// ([`Vault::thumbnail`]).
    pub has_thumbnail: bool,
    pub created_at: String,
}

/// A document that expires soon or has expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryReminder {
    pub document_id: String,
    pub profile_id: String,
    pub kind: DocumentKind,
    pub title: String,
    pub expiry_date: String,
    /// Negative: expired that many days ago.
    pub days_left: i64,
}

/// How data left the vault (defined in `cds-api`, shared with the view).
pub use cds_api::DisclosureChannel;

/// One entry of the access log: what left the vault, to whom, when, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    pub id: String,
    /// RFC 3339 UTC.
    pub at: String,
    pub channel: DisclosureChannel,
    pub recipient: String,
    pub purpose: String,
    pub legal_basis: String,
    pub document_ids: Vec<String>,
    /// What was disclosed, numbers masked: `"CCCD 079•••••1234"`.
    pub summary: String,
}

/// A disclosure to log ([`Vault::record_disclosure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDisclosure {
    pub channel: DisclosureChannel,
    pub recipient: String,
    pub purpose: String,
    pub legal_basis: String,
    pub document_ids: Vec<String>,
}

/// What [`Vault::inspect`] learns from a vault file without any key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultFileInfo {
    pub exists: bool,
    pub keyring_wrap: bool,
    pub pin_wrap: bool,
    /// Seconds until a PIN attempt is allowed (0: now).
    pub pin_retry_after_secs: u64,
}

/// Counts of what a backup holds (export) or what was added (import).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackupSummary {
    pub profiles: u32,
    pub documents: u32,
    pub attachments: u32,
    pub applications: u32,
    /// Access-log entries.
    #[serde(default)]
    pub disclosures: u32,
    /// Import only: documents not added because one of the same kind and
    /// number is already in the vault under another id.
    #[serde(default)]
    pub skipped_documents: u32,
    /// Size of the backup file.
    pub bytes: u64,
}

/// An application in the outbox, with what the city answered if delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    pub submission: SubmitApplication,
    /// `Some` once delivered; refreshed by later status lookups.
    pub receipt: Option<ApplicationReceipt>,
    /// The last delivery failure's message, cleared on delivery.
    pub last_error: Option<String>,
    /// Why the last delivery failed ([`Vault::record_delivery_failure`]);
    /// `None` with no failure and for failures recorded before kinds
    /// existed.
    #[serde(default)]
    pub last_error_kind: Option<DeliveryErrorKind>,
    /// How long the city asked to wait after the last failure.
    #[serde(default)]
    pub last_error_retry_after_secs: Option<u64>,
    /// When it was queued (RFC 3339, UTC).
    pub created_at: String,
}

/// One step of an application's history: `queued`, then the city's
/// statuses (`received`, `in_review`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub at: String,
    pub status: String,
    pub case_number: Option<String>,
}

pub(crate) const T_META: &str = "meta";
pub(crate) const T_PROFILES: &str = "profiles";
pub(crate) const T_DOCUMENTS: &str = "documents";
pub(crate) const T_ATTACHMENTS: &str = "attachments";
pub(crate) const T_APPLICATIONS: &str = "applications";
pub(crate) const T_HISTORY: &str = "application_history";
pub(crate) const T_DISCLOSURES: &str = "disclosures";
/// Place label of a v2 document body.
pub(crate) const DOC_BODY: &str = "body/v2";

/// A sealed column, for operations over every record (rotation, integrity).
pub(crate) struct SealedColumn {
    pub table: &'static str,
    pub id_col: &'static str,
    pub parent_col: Option<&'static str>,
    pub col: &'static str,
    pub place_col: &'static str,
}

const fn sc(
    table: &'static str,
    id_col: &'static str,
    parent_col: Option<&'static str>,
    col: &'static str,
    place_col: &'static str,
) -> SealedColumn {
    SealedColumn {
        table,
        id_col,
        parent_col,
        col,
        place_col,
    }
}

/// Every column sealed by the vault key (schema version 4). Rotation
/// re-seals and the integrity check opens all of them; backups carry every
/// table here except the device-bound ones ([`DEVICE_BOUND`]).
pub(crate) const SEALED: &[SealedColumn] = &[
    sc(T_PROFILES, "id", None, "body", "body"),
    sc(T_DOCUMENTS, "id", None, "body", DOC_BODY),
    sc(T_ATTACHMENTS, "id", Some("document_id"), "meta", "meta"),
    // Since schema 4: sealed references to the attachment files.
    sc(
        T_ATTACHMENTS,
        "id",
        Some("document_id"),
        "data",
        files::DATA_REF,
    ),
    sc(
        T_ATTACHMENTS,
        "id",
        Some("document_id"),
        "thumb",
        files::THUMB_REF,
    ),
    sc(
        T_APPLICATIONS,
        "idempotency_key",
        None,
        "payload",
        "payload",
    ),
    sc(
        T_APPLICATIONS,
        "idempotency_key",
        None,
        "receipt",
        "receipt",
    ),
    sc(
        T_APPLICATIONS,
        "idempotency_key",
        None,
        "last_error",
        "last_error",
    ),
    sc(T_HISTORY, "id", Some("idempotency_key"), "body", "body"),
    sc(T_DISCLOSURES, "id", None, "body", "body"),
    sc(
        creds::T_CREDENTIALS,
        "profile_id",
        None,
        "body",
        creds::CRED_BODY,
    ),
    sc(
        creds::T_DEVICE_VALUES,
        "name",
        None,
        "value",
        creds::DEVICE_VALUE,
    ),
];

/// Tables that stay on this device: never exported to, nor imported from,
/// a backup.
pub(crate) const DEVICE_BOUND: &[&str] = &[creds::T_CREDENTIALS, creds::T_DEVICE_VALUES];

/// The open vault. Holds the unwrapped vault key in memory (zeroized on
/// drop) and one SQLite connection.
pub struct Vault {
    pub(crate) conn: Connection,
    pub(crate) key: VaultKey,
    pub(crate) lookup: LookupKey,
    /// The keyring KEK, when the vault was opened through the keyring (for
    /// re-wrapping on key rotation).
    pub(crate) keyring_kek: Option<Kek>,
    pub(crate) kdf: KdfParams,
    pub(crate) rng: SystemRandom,
    pub(crate) path: PathBuf,
    /// Decrypted document summaries (see "Summary cache" in the crate docs).
    pub(crate) doc_cache: std::cell::RefCell<Option<docs::DocCache>>,
    /// What the summary cache is stamped with: changes to the tables it is
    /// made from.
    pub(crate) summary_stamp: docs::SummaryStamp,
    /// The attachment files beside the database (`<path>.files/`).
    pub(crate) files: files::FileStore,
    /// What the PIN back-off is measured on ([`Vault::set_clock`]).
    pub(crate) clock: std::sync::Arc<dyn cds_domain::Clock>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Vault {
    // ---- helpers shared by the modules ----------------------------------

    pub(crate) fn seal_json<T: Serialize>(
        &self,
        place: &Place<'_>,
        value: &T,
    ) -> Result<Vec<u8>, VaultError> {
        seal_json(&self.key, &self.rng, place, value)
    }

    pub(crate) fn open_json_cell<T: DeserializeOwned>(
        &self,
        row: &Row<'_>,
        idx: usize,
        place: &Place<'_>,
    ) -> Result<T, VaultError> {
        match row.get_ref(idx).map_err(db)? {
            ValueRef::Blob(b) => open_json(&self.key, place, b),
            _ => Err(place.tampered()),
        }
    }

    /// The keyed hash of a document number of `kind`.
    pub(crate) fn number_hash(&self, kind: DocumentKind, number: &str) -> Vec<u8> {
        number_hash(&self.lookup, kind, number)
    }
}

pub(crate) fn number_hash(lookup: &LookupKey, kind: DocumentKind, number: &str) -> Vec<u8> {
    let mut data = kind.code().as_bytes().to_vec();
    data.push(0);
    data.extend_from_slice(validate::lookup_form(number).as_bytes());
    lookup.hash(&data)
}

pub(crate) fn seal_json<T: Serialize>(
    key: &VaultKey,
    rng: &SystemRandom,
    place: &Place<'_>,
    value: &T,
) -> Result<Vec<u8>, VaultError> {
    let json = Zeroizing::new(
        serde_json::to_vec(value)
            .map_err(|e| VaultError::Storage(format!("cannot encode a record: {e}")))?,
    );
    key.seal(rng, place, &json)
}

pub(crate) fn open_json<T: DeserializeOwned>(
    key: &VaultKey,
    place: &Place<'_>,
    sealed: &[u8],
) -> Result<T, VaultError> {
    let plain = key.open(place, sealed)?;
    // Authentic but unreadable: our own bug or a format change, not an
    // attack. Say so without echoing the plaintext.
    serde_json::from_slice(&plain).map_err(|e| {
        VaultError::Corrupt(format!(
            "record `{}` {} ({}) decrypts but is not in the expected format (line {}, column {})",
            place.table,
            place.id,
            place.column,
            e.line(),
            e.column()
        ))
    })
}

pub(crate) fn text(row: &Row<'_>, idx: usize) -> Result<String, VaultError> {
    row.get(idx).map_err(db)
}

/// A `meta` value as bytes. The vault writes only blobs; a text value is
/// taken as its bytes (it then fails authentication or parsing like any
/// changed value), and any other type (integer, real, NULL) cannot be ours:
/// [`VaultError::Corrupt`], never a storage error.
pub(crate) fn read_meta(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>, VaultError> {
    let value: Option<rusqlite::types::Value> = conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    match value {
        None => Ok(None),
        Some(rusqlite::types::Value::Blob(b)) => Ok(Some(b)),
        Some(rusqlite::types::Value::Text(t)) => Ok(Some(t.into_bytes())),
        Some(_) => Err(VaultError::Corrupt(format!(
            "the vault's `{name}` entry is not a byte string"
        ))),
    }
}

/// Whether `meta` has a row `name` (whatever its value).
pub(crate) fn has_meta(conn: &Connection, name: &str) -> Result<bool, VaultError> {
    conn.query_row("SELECT 1 FROM meta WHERE name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(db)
}

pub(crate) fn write_meta(conn: &Connection, name: &str, value: &[u8]) -> Result<(), VaultError> {
    conn.execute(
        "INSERT INTO meta (name, created_at, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        rusqlite::params![name, now_rfc3339()?, value],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Now as RFC 3339 UTC with a fixed six-digit fraction, so that stored
/// timestamps sort as text.
pub(crate) fn now_rfc3339() -> Result<String, VaultError> {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .map_err(|e| VaultError::Storage(format!("cannot format the time: {e}")))
}

/// Today's date where it is latest (UTC+14): a date after this is in the
/// future for everyone.
pub(crate) fn latest_date_on_earth() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+14))
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_and_sort_as_text() {
        let a = now_rfc3339().unwrap();
        let parsed =
            time::OffsetDateTime::parse(&a, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(parsed.offset(), time::UtcOffset::UTC);
        assert_eq!(a.len(), "2026-01-01T00:00:00.000000Z".len());
    }

    #[test]
    fn debug_output_never_shows_keys_or_attachment_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MemoryKeyStore::new();
        let v = Vault::open(&dir.path().join("v.sqlite3"), &keys).unwrap();
        let shown = format!("{v:?}");
        let path = dir.path().join("v.sqlite3");
        assert_eq!(shown, format!("Vault {{ path: {path:?}, .. }}"));
        let a = NewAttachment {
            file_name: "a.png".into(),
            mime: "image/png".into(),
            bytes: vec![0xAB; 64],
        };
        assert_eq!(
            format!("{a:?}"),
            r#"NewAttachment { file_name: "a.png", mime: "image/png", bytes: <64 bytes> }"#
        );
    }

    #[test]
    fn the_vault_can_live_behind_a_mutex_shared_across_threads() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<Vault>();
        send_sync::<std::sync::Mutex<Vault>>();
        send_sync::<MemoryKeyStore>();
        send_sync::<OsKeyring>();
        send_sync::<VaultError>();
    }

    #[test]
    fn kdf_params_refuse_weak_counts_except_the_explicit_test_constructor() {
        assert_eq!(KdfParams::default().iterations(), 600_000);
        assert!(KdfParams::new(599_999).is_err());
        assert_eq!(KdfParams::new(700_000).unwrap().iterations(), 700_000);
        assert!(KdfParams::insecure_fast_kdf_for_tests().iterations() < MIN_KDF_ITERATIONS);
    }
}
