//! The citizen's document vault: documents, their photos and scans, and the
//! outbox of applications waiting to be delivered, encrypted at rest in one
//! SQLite file.
//!
//! # Key hierarchy
//!
//! ```text
//!  KeyStore (OS keyring)          vault file (SQLite)
//!  ┌──────────────────────┐       ┌─────────────────────────────────────────┐
//!  │ KEK (random 256 bit) │─wraps─► meta "wrap/keyring" = sealed vault key  │
//!  └──────────────────────┘       │          │ unwrapped in memory only     │
//!                                 │          ▼                              │
//!                                 │ vault key (random 256 bit) seals every  │
//!                                 │ personal field of documents,            │
//!                                 │ attachments and applications            │
//!                                 └─────────────────────────────────────────┘
//! ```
//!
//! - The **vault key** is random (`ring::rand::SystemRandom`) and encrypts
//!   records. It is never stored in clear, only wrapped.
//! - A **key-encryption key (KEK)** lives in a [`KeyStore`] ([`OsKeyring`] in
//!   the app). It only ever wraps the vault key (AES-256-GCM, associated data
//!   `cds-vault/v1/wrap/keyring`); it never encrypts a record. The wrap is the
//!   `meta` row `wrap/keyring`. `meta` holds one row per wrap, so a later
//!   PIN-derived KEK adds `wrap/pin` (plus its KDF parameters) beside it
//!   without re-encrypting anything.
//! - Keys are held in [`zeroize::Zeroizing`] buffers, are private to this
//!   crate, and `Debug`-print as `<redacted>`. No public function returns a
//!   key, a wrapped key or a ciphertext.
//!
//! # Record encryption and associated data
//!
//! Every sealed value is AES-256-GCM with a fresh random 96-bit nonce:
//! `version (1 byte, = 1) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! Its associated data names the place it belongs to:
//! `cds-vault/v1|<table>|<row id>|<column>` — and, for attachments,
//! `|<document id>` as well. Row ids are random UUIDs chosen *before*
//! encrypting. So a ciphertext copied to another row, another column or
//! another document, or two rows' ciphertexts swapped, fail authentication
//! and are reported as [`VaultError::Tampered`]; wrong data is never
//! returned. (Whole rows deleted or rolled back to an older copy of the file
//! are not detected: there is no file-wide MAC.)
//!
//! # On-disk format
//!
//! One SQLite file (WAL, `synchronous=FULL`, foreign keys on,
//! `application_id` = `0x43445356` "CDSV", schema version in
//! `user_version`, numbered migrations):
//!
//! | table | plaintext columns | sealed columns |
//! |---|---|---|
//! | `meta` | `name`, `created_at` | `value` (wrapped vault key) |
//! | `documents` | `id`, `created_at` | `body`: JSON `{kind, number, full_name, date_of_birth}` |
//! | `attachments` | `id`, `document_id`, `created_at` | `meta`: JSON `{file_name, mime, size}`; `data`: the file bytes |
//! | `applications` | `idempotency_key`, `created_at`, `state` (`queued`/`delivered`) | `payload` (`SubmitApplication` JSON), `receipt` (`ApplicationReceipt` JSON), `last_error` |
//!
//! Only ids, timestamps and the delivery state are plaintext. The last
//! delivery error is sealed too, since a server message may echo personal
//! data.
//!
//! # Invariants
//!
//! - **Keys never leave this crate.**
//! - **Never overwrite an existing vault or its key.** An existing file is
//!   verified (is it SQLite, is it a vault, is its schema known, is the KEK
//!   there, does it unwrap the vault key) before anything is written to it;
//!   on any failure it is left byte-for-byte unchanged and the error says
//!   why ([`VaultError::Corrupt`], [`VaultError::KeyMissing`],
//!   [`VaultError::WrongKey`], [`VaultError::Keyring`]). A new key is made
//!   only when there is no vault file at all.
//! - **A new vault is all or nothing.** The KEK is stored in the key store
//!   first (and read back); if that fails, no file is created. The file is
//!   then built under a temporary name in one transaction and linked into
//!   place only when complete. If the key store already holds a KEK (say the
//!   vault file was lost but a backup of it may come back), that KEK is
//!   reused rather than replaced.
//! - **Validation happens before any write**, and each write is one
//!   transaction (a document with all its attachments; an application).
//!
//! The app keeps a [`Vault`] behind a mutex; it is `Send` but not `Sync`.

mod crypto;
mod error;
mod keystore;
mod schema;
mod validate;

pub use cds_api;
pub use error::VaultError;
pub use keystore::{KeyStore, MemoryKeyStore, OsKeyring};
pub use validate::{MAX_ATTACHMENT_BYTES, MAX_FILE_NAME_CHARS, MAX_NAME_CHARS, MAX_NUMBER_CHARS};

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use crypto::{Kek, Place, VaultKey, WrapSlot};
use error::{db, io};

/// A document to add; see [`Vault::add_document`] for the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub kind: DocumentKind,
    /// The paper's own number; for a [`DocumentKind::Cccd`], 12 digits.
    pub number: String,
    pub full_name: String,
    /// ISO date `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub attachments: Vec<NewAttachment>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub kind: DocumentKind,
    pub number: String,
    pub full_name: String,
    pub date_of_birth: String,
    /// In the order they were added.
    pub attachments: Vec<AttachmentMeta>,
    /// RFC 3339, UTC, microseconds.
    pub created_at: String,
}

/// What is known about an attachment without reading its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub id: String,
    pub file_name: String,
    /// Sniffed from the content: `image/jpeg`, `image/png`, `image/webp`,
    /// `image/gif` or `application/pdf`.
    pub mime: String,
    pub size: u64,
}

/// An application in the outbox, with what the city answered if delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub submission: SubmitApplication,
    /// `Some` once delivered; refreshed by later status lookups.
    pub receipt: Option<ApplicationReceipt>,
    /// The last delivery failure, cleared on delivery.
    pub last_error: Option<String>,
    /// When it was queued (RFC 3339, UTC).
    pub created_at: String,
}

/// Sealed JSON of a `documents.body`.
#[derive(Serialize, Deserialize)]
struct DocumentBody {
    kind: DocumentKind,
    number: String,
    full_name: String,
    date_of_birth: String,
}

/// Sealed JSON of an `attachments.meta`.
#[derive(Serialize, Deserialize)]
struct AttachmentInfo {
    file_name: String,
    mime: String,
    size: u64,
}

const T_DOCUMENTS: &str = "documents";
const T_ATTACHMENTS: &str = "attachments";
const T_APPLICATIONS: &str = "applications";
/// Longest accepted idempotency key (a UUID is 36).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// Longest stored delivery error message; longer ones are cut.
const MAX_ERROR_CHARS: usize = 2000;

/// The open vault. Holds the unwrapped vault key in memory (zeroized on
/// drop) and one SQLite connection.
pub struct Vault {
    conn: Connection,
    key: VaultKey,
    rng: SystemRandom,
    path: PathBuf,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens or creates the vault file at `path`.
    ///
    /// - No file: creates the parent folders, makes a vault key and (unless
    ///   `keys` already holds one) a KEK, stores the KEK in `keys` **first**
    ///   (if that fails: the error, and no vault file), then builds the file
    ///   in one transaction under a temporary name and links it into place.
    /// - File exists: nothing is written before it is verified. Not SQLite,
    ///   not a vault, damaged or of a newer schema → [`VaultError::Corrupt`];
    ///   `keys` has no entry → [`VaultError::KeyMissing`] (a new key is
    ///   never made over an existing vault); the KEK does not unwrap the
    ///   vault key → [`VaultError::WrongKey`]; keyring failure →
    ///   [`VaultError::Keyring`].
    pub fn open(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        match std::fs::metadata(path) {
            Ok(_) => Self::open_existing(path, keys),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path, keys),
            Err(e) => Err(io(format_args!("cannot read {}", path.display()), e)),
        }
    }

    fn open_existing(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        // Read-write but never create: the file must be there.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        schema::connection_settings(&conn)?;
        let wrapped = read_keyring_wrap(&conn)?;

        let secret = keys.load()?.ok_or(VaultError::KeyMissing)?;
        let kek = Kek::from_slice(&secret).ok_or(VaultError::WrongKey)?;
        drop(secret);
        let key = kek
            .unwrap_key(&wrapped, WrapSlot::Keyring)
            .map_err(|_| VaultError::WrongKey)?;
        drop(kek);

        // Verified: from here on the file may be written.
        let mut vault = Vault {
            conn,
            key,
            rng: SystemRandom::new(),
            path: path.to_owned(),
        };
        schema::enable_wal(&vault.conn)?;
        if schema::user_version(&vault.conn)? < schema::LATEST {
            let tx = vault
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            schema::migrate(&tx)?;
            tx.commit().map_err(db)?;
        }
        Ok(vault)
    }

    fn create(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        let file_name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            VaultError::Storage(format!("{} is not a usable file path", path.display()))
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| io(format_args!("cannot create {}", parent.display()), e))?;
        }
        let rng = SystemRandom::new();

        // The KEK goes to the key store before any file exists.
        let kek = match keys.load()? {
            Some(existing) => Kek::from_slice(&existing).ok_or_else(|| {
                VaultError::Keyring(format!(
                    "the key store already holds an entry of {} bytes that is not a vault \
                     key; it was left untouched",
                    existing.len()
                ))
            })?,
            None => {
                let kek = Kek::generate(&rng)?;
                keys.store(kek.as_bytes())?;
                kek
            }
        };
        let key = VaultKey::generate(&rng)?;
        let wrapped = kek.wrap(&rng, &key, WrapSlot::Keyring)?;
        drop(kek);

        let tmp = path.with_file_name(format!(
            ".{file_name}.{}.creating",
            uuid::Uuid::new_v4().simple()
        ));
        if let Err(e) = build_new_file(&tmp, &wrapped) {
            remove_quietly(&tmp);
            return Err(e);
        }
        match publish(&tmp, path) {
            Ok(()) => {}
            Err(Published::AlreadyThere) => {
                // Another process created the vault meanwhile: use theirs.
                remove_quietly(&tmp);
                return Self::open_existing(path, keys);
            }
            Err(Published::Failed(e)) => {
                remove_quietly(&tmp);
                return Err(e);
            }
        }

        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        schema::connection_settings(&conn)?;
        schema::enable_wal(&conn)?;
        Ok(Vault {
            conn,
            key,
            rng,
            path: path.to_owned(),
        })
    }

    /// Validates and stores a document with its attachments, in one
    /// transaction. Nothing is written if any check fails:
    ///
    /// - `number`: non-empty; for a CCCD exactly 12 ASCII digits starting
    ///   with a province code; otherwise at most 40 characters.
    /// - `full_name`: non-empty, at most 100 characters.
    /// - `date_of_birth`: a real `YYYY-MM-DD` date, not in the future, not
    ///   before 1900.
    /// - each attachment: a file name, at most 20 MiB, and content that is
    ///   really a JPEG, PNG, WebP, GIF or PDF (by its magic bytes; the
    ///   declared mime is replaced by the sniffed one).
    ///
    /// Text fields are trimmed.
    pub fn add_document(&mut self, doc: &NewDocument) -> Result<Document, VaultError> {
        let valid = validate::validate_document(doc, latest_date_on_earth())?;
        let id = new_id();
        let created_at = now_rfc3339()?;
        let body = self.seal_json(
            &Place::new(T_DOCUMENTS, &id, "body"),
            &DocumentBody {
                kind: valid.kind,
                number: valid.number.clone(),
                full_name: valid.full_name.clone(),
                date_of_birth: valid.date_of_birth.clone(),
            },
        )?;

        let mut attachments = Vec::with_capacity(valid.attachments.len());
        let mut sealed = Vec::with_capacity(valid.attachments.len());
        for a in &valid.attachments {
            let att_id = new_id();
            let info = AttachmentInfo {
                file_name: a.file_name.clone(),
                mime: a.mime.to_owned(),
                size: a.bytes.len() as u64,
            };
            let meta = self.seal_json(
                &Place::new(T_ATTACHMENTS, &att_id, "meta").with_parent(&id),
                &info,
            )?;
            let data = self.key.seal(
                &self.rng,
                &Place::new(T_ATTACHMENTS, &att_id, "data").with_parent(&id),
                a.bytes,
            )?;
            sealed.push((att_id.clone(), meta, data));
            attachments.push(AttachmentMeta {
                id: att_id,
                file_name: info.file_name,
                mime: info.mime,
                size: info.size,
            });
        }

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute(
            "INSERT INTO documents (id, created_at, body) VALUES (?1, ?2, ?3)",
            params![id, created_at, body],
        )
        .map_err(db)?;
        for (att_id, meta, data) in &sealed {
            tx.execute(
                "INSERT INTO attachments (id, document_id, created_at, meta, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![att_id, id, created_at, meta, data],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;

        Ok(Document {
            id,
            kind: valid.kind,
            number: valid.number,
            full_name: valid.full_name,
            date_of_birth: valid.date_of_birth,
            attachments,
            created_at,
        })
    }

    /// Every document, newest first.
    pub fn list_documents(&self) -> Result<Vec<Document>, VaultError> {
        let mut by_doc: HashMap<String, Vec<AttachmentMeta>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, document_id, meta FROM attachments ORDER BY rowid")
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(row) = rows.next().map_err(db)? {
                let (id, doc_id) = (text(row, 0)?, text(row, 1)?);
                let meta = self.attachment_meta(row, 2, &id, &doc_id)?;
                by_doc.entry(doc_id).or_default().push(meta);
            }
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, created_at, body FROM documents \
                 ORDER BY created_at DESC, rowid DESC",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let id = text(row, 0)?;
            let attachments = by_doc.remove(&id).unwrap_or_default();
            out.push(self.document_from_row(row, id, attachments)?);
        }
        Ok(out)
    }

    /// One document; [`VaultError::NotFound`] if there is none with `id`.
    pub fn get_document(&self, id: &str) -> Result<Document, VaultError> {
        let mut attachments = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, meta FROM attachments WHERE document_id = ?1 ORDER BY rowid")
                .map_err(db)?;
            let mut rows = stmt.query([id]).map_err(db)?;
            while let Some(row) = rows.next().map_err(db)? {
                let att_id = text(row, 0)?;
                attachments.push(self.attachment_meta(row, 1, &att_id, id)?);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id, created_at, body FROM documents WHERE id = ?1")
            .map_err(db)?;
        let mut rows = stmt.query([id]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => self.document_from_row(row, id.to_owned(), attachments),
            None => Err(VaultError::NotFound {
                what: "document",
                id: id.to_owned(),
            }),
        }
    }

    /// The decrypted bytes of one attachment.
    pub fn attachment_bytes(&self, attachment_id: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let mut stmt = self
            .conn
            .prepare("SELECT document_id, data FROM attachments WHERE id = ?1")
            .map_err(db)?;
        let mut rows = stmt.query([attachment_id]).map_err(db)?;
        let row = rows
            .next()
            .map_err(db)?
            .ok_or_else(|| VaultError::NotFound {
                what: "attachment",
                id: attachment_id.to_owned(),
            })?;
        let doc_id = text(row, 0)?;
        self.open_cell(
            row,
            1,
            &Place::new(T_ATTACHMENTS, attachment_id, "data").with_parent(&doc_id),
        )
    }

    /// Queues an application for delivery. Idempotent on its
    /// `idempotency_key`: queuing the same application again changes
    /// nothing; a *different* application under a used key is refused
    /// ([`VaultError::Invalid`]).
    pub fn enqueue_application(&mut self, app: &SubmitApplication) -> Result<(), VaultError> {
        let key = app.idempotency_key.as_str();
        check_idempotency_key(key)?;
        let payload = self.seal_json(&Place::new(T_APPLICATIONS, key, "payload"), app)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let existing: Option<Vec<u8>> = tx
            .query_row(
                "SELECT payload FROM applications WHERE idempotency_key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if let Some(blob) = existing {
            let stored: SubmitApplication = open_json(
                &self.key,
                &Place::new(T_APPLICATIONS, key, "payload"),
                &blob,
            )?;
            return if stored == *app {
                Ok(())
            } else {
                Err(VaultError::invalid(
                    "idempotency_key",
                    format!("{key} is already used by a different application"),
                ))
            };
        }
        tx.execute(
            "INSERT INTO applications (idempotency_key, created_at, state, payload) \
             VALUES (?1, ?2, 'queued', ?3)",
            params![key, now_rfc3339()?, payload],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Applications not yet delivered, oldest first.
    pub fn pending_applications(&self) -> Result<Vec<SubmitApplication>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idempotency_key, payload FROM applications WHERE state = 'queued' \
                 ORDER BY created_at, rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let key = text(row, 0)?;
            out.push(self.open_json_cell(row, 1, &Place::new(T_APPLICATIONS, &key, "payload"))?);
        }
        Ok(out)
    }

    /// Records the city's receipt: the application is delivered. Called
    /// again later with a fresher receipt to refresh its status. The
    /// receipt must carry the same idempotency key.
    pub fn mark_delivered(
        &mut self,
        idempotency_key: &str,
        receipt: &ApplicationReceipt,
    ) -> Result<(), VaultError> {
        if receipt.idempotency_key != idempotency_key {
            return Err(VaultError::invalid(
                "receipt",
                format!(
                    "the receipt is for application {}, not {idempotency_key}",
                    receipt.idempotency_key
                ),
            ));
        }
        let sealed = self.seal_json(
            &Place::new(T_APPLICATIONS, idempotency_key, "receipt"),
            receipt,
        )?;
        let changed = self
            .conn
            .execute(
                "UPDATE applications SET state = 'delivered', receipt = ?2, last_error = NULL \
                 WHERE idempotency_key = ?1",
                params![idempotency_key, sealed],
            )
            .map_err(db)?;
        if changed == 0 {
            return Err(not_found_application(idempotency_key));
        }
        Ok(())
    }

    /// Remembers why the last delivery attempt failed (shown to the
    /// citizen). Messages longer than 2000 characters are cut.
    pub fn record_delivery_error(
        &mut self,
        idempotency_key: &str,
        message: &str,
    ) -> Result<(), VaultError> {
        let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
        let sealed = self.key.seal(
            &self.rng,
            &Place::new(T_APPLICATIONS, idempotency_key, "last_error"),
            message.as_bytes(),
        )?;
        let changed = self
            .conn
            .execute(
                "UPDATE applications SET last_error = ?2 WHERE idempotency_key = ?1",
                params![idempotency_key, sealed],
            )
            .map_err(db)?;
        if changed == 0 {
            return Err(not_found_application(idempotency_key));
        }
        Ok(())
    }

    /// Every application, newest first.
    pub fn list_applications(&self) -> Result<Vec<ApplicationRecord>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idempotency_key, created_at, payload, receipt, last_error \
                 FROM applications ORDER BY created_at DESC, rowid DESC",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let key = text(row, 0)?;
            out.push(self.application_from_row(row, &key)?);
        }
        Ok(out)
    }

    /// Checks the whole file: SQLite's `PRAGMA integrity_check` and
    /// `foreign_key_check`, then opens every sealed value (attachments one
    /// at a time). The first failure is returned: [`VaultError::Corrupt`]
    /// for SQLite-level damage, [`VaultError::Tampered`] for a record.
    pub fn integrity_check(&self) -> Result<(), VaultError> {
        let problems: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(db)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        if problems != ["ok"] {
            let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
            return Err(VaultError::Corrupt(format!(
                "SQLite integrity check failed: {}",
                shown.join("; ")
            )));
        }
        let orphans: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        if orphans != 0 {
            return Err(VaultError::Corrupt(format!(
                "{orphans} rows point at rows that do not exist"
            )));
        }
        read_keyring_wrap(&self.conn)?;

        self.list_documents()?;
        let mut stmt = self
            .conn
            .prepare("SELECT id, document_id, data FROM attachments ORDER BY rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let (id, doc_id) = (text(row, 0)?, text(row, 1)?);
            self.open_cell(
                row,
                2,
                &Place::new(T_ATTACHMENTS, &id, "data").with_parent(&doc_id),
            )?;
        }
        self.list_applications()?;
        Ok(())
    }

    // ---- helpers -------------------------------------------------------

    fn seal_json<T: Serialize>(&self, place: &Place<'_>, value: &T) -> Result<Vec<u8>, VaultError> {
        let json = Zeroizing::new(
            serde_json::to_vec(value)
                .map_err(|e| VaultError::Storage(format!("cannot encode a record: {e}")))?,
        );
        self.key.seal(&self.rng, place, &json)
    }

    /// Opens the sealed blob in column `idx`. A value that is not a blob
    /// (NULL, text…) cannot have been written by us: tampered.
    fn open_cell(
        &self,
        row: &Row<'_>,
        idx: usize,
        place: &Place<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        match row.get_ref(idx).map_err(db)? {
            ValueRef::Blob(b) => self.key.open(place, b),
            _ => Err(place.tampered()),
        }
    }

    fn open_json_cell<T: DeserializeOwned>(
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

    fn attachment_meta(
        &self,
        row: &Row<'_>,
        idx: usize,
        id: &str,
        doc_id: &str,
    ) -> Result<AttachmentMeta, VaultError> {
        let info: AttachmentInfo = self.open_json_cell(
            row,
            idx,
            &Place::new(T_ATTACHMENTS, id, "meta").with_parent(doc_id),
        )?;
        Ok(AttachmentMeta {
            id: id.to_owned(),
            file_name: info.file_name,
            mime: info.mime,
            size: info.size,
        })
    }

    /// Row: `id, created_at, body`.
    fn document_from_row(
        &self,
        row: &Row<'_>,
        id: String,
        attachments: Vec<AttachmentMeta>,
    ) -> Result<Document, VaultError> {
        let body: DocumentBody =
            self.open_json_cell(row, 2, &Place::new(T_DOCUMENTS, &id, "body"))?;
        Ok(Document {
            kind: body.kind,
            number: body.number,
            full_name: body.full_name,
            date_of_birth: body.date_of_birth,
            attachments,
            created_at: text(row, 1)?,
            id,
        })
    }

    /// Row: `idempotency_key, created_at, payload, receipt, last_error`.
    fn application_from_row(
        &self,
        row: &Row<'_>,
        key: &str,
    ) -> Result<ApplicationRecord, VaultError> {
        let submission =
            self.open_json_cell(row, 2, &Place::new(T_APPLICATIONS, key, "payload"))?;
        let receipt = match row.get_ref(3).map_err(db)? {
            ValueRef::Null => None,
            _ => Some(self.open_json_cell(row, 3, &Place::new(T_APPLICATIONS, key, "receipt"))?),
        };
        let last_error = match row.get_ref(4).map_err(db)? {
            ValueRef::Null => None,
            _ => {
                let place = Place::new(T_APPLICATIONS, key, "last_error");
                let bytes = self.open_cell(row, 4, &place)?;
                Some(String::from_utf8(bytes.to_vec()).map_err(|_| place.tampered())?)
            }
        };
        Ok(ApplicationRecord {
            submission,
            receipt,
            last_error,
            created_at: text(row, 1)?,
        })
    }
}

fn open_json<T: DeserializeOwned>(
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

fn text(row: &Row<'_>, idx: usize) -> Result<String, VaultError> {
    row.get(idx).map_err(db)
}

/// Reads the keyring wrap of the vault key: the verification of an
/// existing file. Anything unexpected means "not a (readable) vault".
fn read_keyring_wrap(conn: &Connection) -> Result<Vec<u8>, VaultError> {
    let app_id = schema::application_id(conn)?;
    let version = schema::user_version(conn)?;
    if app_id != schema::APPLICATION_ID {
        return Err(VaultError::Corrupt(
            "the file is not a Công dân số vault (wrong application id)".into(),
        ));
    }
    if version < 1 || version > schema::LATEST {
        return Err(VaultError::Corrupt(format!(
            "the vault has schema version {version}; this app knows 1 to {}",
            schema::LATEST
        )));
    }
    let wrapped: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            [WrapSlot::Keyring.meta_name()],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| match db(e) {
            VaultError::Storage(msg) => {
                VaultError::Corrupt(format!("the vault has no key table: {msg}"))
            }
            other => other,
        })?;
    wrapped.ok_or_else(|| VaultError::Corrupt("the vault holds no wrapped key".into()))
}

/// Builds a complete new vault file at `tmp` in one transaction.
fn build_new_file(tmp: &Path, wrapped: &[u8]) -> Result<(), VaultError> {
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    schema::connection_settings(&conn)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(db)?;
    tx.pragma_update(None, "application_id", schema::APPLICATION_ID)
        .map_err(db)?;
    schema::migrate(&tx)?;
    tx.execute(
        "INSERT INTO meta (name, created_at, value) VALUES (?1, ?2, ?3)",
        params![WrapSlot::Keyring.meta_name(), now_rfc3339()?, wrapped],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    conn.close().map_err(|(_, e)| db(e))
}

enum Published {
    AlreadyThere,
    Failed(VaultError),
}

/// Moves the finished file into place without ever replacing an existing
/// file: a hard link fails if `path` exists. Where links are unsupported,
/// falls back to a rename after checking the name is still free.
fn publish(tmp: &Path, path: &Path) -> Result<(), Published> {
    match std::fs::hard_link(tmp, path) {
        Ok(()) => remove_quietly(tmp),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Published::AlreadyThere)
        }
        Err(_) => {
            if path.exists() {
                return Err(Published::AlreadyThere);
            }
            std::fs::rename(tmp, path).map_err(|e| {
                Published::Failed(io(
                    format_args!("cannot move the new vault to {}", path.display()),
                    e,
                ))
            })?;
        }
    }
    sync_parent_dir(path);
    Ok(())
}

/// Makes the new directory entry durable (best effort; Unix only).
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn remove_quietly(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn check_idempotency_key(key: &str) -> Result<(), VaultError> {
    if key.trim().is_empty() {
        return Err(VaultError::invalid(
            "idempotency_key",
            "the idempotency key is empty",
        ));
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "idempotency_key",
            format!(
                "the idempotency key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters \
                 without control characters"
            ),
        ));
    }
    Ok(())
}

fn not_found_application(key: &str) -> VaultError {
    VaultError::NotFound {
        what: "application",
        id: key.to_owned(),
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Now as RFC 3339 UTC with a fixed six-digit fraction, so that stored
/// timestamps sort as text.
fn now_rfc3339() -> Result<String, VaultError> {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .map_err(|e| VaultError::Storage(format!("cannot format the time: {e}")))
}

/// Today's date where it is latest (UTC+14): a date of birth after this is
/// in the future for everyone.
fn latest_date_on_earth() -> time::Date {
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
    fn idempotency_keys_are_checked() {
        assert!(check_idempotency_key("5f0c2d1e-0000-4000-8000-000000000000").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("  ").is_err());
        assert!(check_idempotency_key(&"k".repeat(129)).is_err());
        assert!(check_idempotency_key("a\nb").is_err());
    }
}
