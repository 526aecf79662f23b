//! The citizen's document vault: profiles (the citizen and family members),
//! their documents with photos and scans, applications sent to the city and
//! an access log of everything that left the vault, encrypted at rest in one
//! SQLite file and a directory of sealed attachment files beside it
//! (`<vault file>.files/`), with encrypted backups.
//!
//! # Key hierarchy
//!
//! ```text
//!  OS keyring (KeyStore)           PIN / passphrase
//!  ┌───────────────────┐           ┌────────────────────────────────────┐
//!  │ keyring KEK       │           │ PIN KEK = PBKDF2-HMAC-SHA256(PIN,  │
//!  │ (random 256 bit)  │           │   per-vault salt, ≥ 600 000 iter.) │
//!  └─────────┬─────────┘           └──────────────────┬─────────────────┘
//!            │ wraps (AES-256-GCM)                    │ wraps (AES-256-GCM,
//!            ▼ meta "wrap/keyring"                    ▼ AAD binds KDF params)
//!          ┌──────────────────────────────────────────────┐  meta "wrap/pin"
//!          │ vault key (random 256 bit, memory only,      │
//!          │ zeroized on lock/drop)                       │
//!          └───────┬───────────────────────────┬──────────┘
//!                  │ AES-256-GCM per record    │ HKDF-SHA256, info
//!                  ▼                           ▼ "cds-vault/v2/lookup-key/…"
//!        every personal field,           lookup key: HMAC-SHA256 of
//!        attachment, thumbnail,          (kind, document number) → the
//!        application, log entry,         `documents.number_hash` index
//!        credential set, device value,
//!        attachment-file reference ──► file key (random 256 bit per
//!                                      file) ──► the file's chunks
//! ```
//!
//! - The **vault key** is random and encrypts records. It is stored only
//!   wrapped, independently by each key-encryption key (KEK). Either wrap
//!   alone unlocks the vault: the keyring for everyday start-up, the PIN
//!   when the keyring is gone (a new phone, a reinstalled OS).
//! - **KEKs only ever wrap keys**; they never encrypt a record. The PIN
//!   wrap's associated data carries its KDF parameters and salt, so
//!   parameters changed in the file fail authentication.
//! - The **lookup key** is derived from the vault key with HKDF under its
//!   own label, so document numbers can be found by keyed hash: no number is
//!   ever stored in plaintext, and the hashes reveal nothing without the key.
//!   It also tags application links (`application_documents.tag`).
//! - **Backups** have their own key: PBKDF2 of the backup passphrase with the
//!   file's own salt (see [Backup file format](#backup-file-format)); the
//!   vault key never leaves the vault, and a restored backup is re-encrypted
//!   under the target vault's key.
//! - All key material sits in [`zeroize::Zeroizing`] buffers private to this
//!   crate and `Debug`-prints as `<redacted>`. No public function returns a
//!   key, a wrapped key or a ciphertext.
//! - [`Vault::rotate_key`] makes a new vault key and re-encrypts every record
//!   (and recomputes every lookup hash and link tag) in one transaction.
//!
//! # PIN attempts
//!
//! Failures are counted in plaintext `meta` rows (`pin/failures`,
//! `pin/last_failure`), so they survive restarts. The first three failures
//! cost nothing; after failure `n ≥ 4` the next attempt must wait
//! 30 s × 2^(n-4), at most one hour ([`VaultError::WrongPin`] says how long;
//! an attempt made too early is [`VaultError::PinLocked`] and is not
//! checked). A correct PIN resets the counter.
//!
//! # KDF cost
//!
//! [`KdfParams::recommended`] (600 000 PBKDF2 iterations) is what the app
//! uses, and the only choice through [`Vault::open`] and [`Vault::create`].
//! [`KdfParams::new`] refuses fewer. Tests that need speed say so
//! explicitly with [`KdfParams::insecure_fast_kdf_for_tests`] and
//! [`Vault::create_with_kdf`]; the vault's choice is stored sealed in
//! `meta` (`kdf/policy`), so it cannot be lowered by editing the file, and
//! is used for its later PIN wraps and backups. The iteration count of each
//! PIN wrap and each backup is stored beside it.
//!
//! # Record encryption and associated data
//!
//! Every sealed value is AES-256-GCM with a fresh random 96-bit nonce:
//! `version (1 byte, = 1) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! Its associated data names its place and the format version:
//! `cds-vault/v1|<table>|<row id>|<column>[|<parent id>]`. The `<column>`
//! label carries the record layout where it changed: v2 document bodies are
//! sealed as `body/v2`, so a v1 body can never be read as a v2 one. Row ids
//! are random UUIDs chosen before encrypting. A ciphertext copied to another
//! row, column or parent, or two rows' ciphertexts swapped, fail
//! authentication ([`VaultError::Tampered`]); wrong data is never returned.
//!
//! Plaintext columns that decide what is shown where are bound to sealed
//! data and checked on every read:
//!
//! - a document's `profile_id`, `created_at` and `updated_at` are repeated
//!   in its sealed body; listing (all or one profile), search, reminders,
//!   `get_document`, lookups and export compare them with the row. Listing
//!   one profile opens every document and filters by the *sealed* profile,
//!   so a document moved to another profile is caught, not just missing.
//! - a document's sealed body lists its attachment ids in order;
//!   [`DocumentSummary::attachment_count`] is that list's length (no row
//!   counting), and `get_document` and export require the rows to be
//!   exactly that list (a missing, extra, copied or moved row is
//!   Tampered). Adding or deleting an attachment, backup import and the
//!   v1 migration update the list in the same transaction as the rows.
//! - an attachment's `created_at`, a profile's `created_at`, an access-log
//!   entry's `at` and a history entry's `at` are repeated in their sealed
//!   values and compared.
//! - `documents.number_hash` only *finds* a candidate: its decrypted kind
//!   and number must be the ones asked for ([`Vault::find_by_number`], the
//!   duplicate check, application links, backup merging), else Tampered.
//!   [`Vault::integrity_check`] also recomputes every hash.
//! - each `application_documents` link carries `tag` = HMAC-SHA256 under
//!   the lookup key of `"cds-vault/v2/application-link\0" || key || 0 ||
//!   document id`; a link added, repointed or moved is Tampered.
//! - a `meta` key value (`wrap/keyring`, `wrap/pin`, `kdf/policy`) of the
//!   wrong SQL type is [`VaultError::Corrupt`] (a text value is taken as its
//!   bytes and then fails to unwrap: [`VaultError::WrongKey`],
//!   [`VaultError::WrongPin`] or Tampered), never a storage error.
//!
//! Not detected: whole rows deleted together with every reference to them
//! (a document with its attachments, a profile, an application with its
//! history and links, a log entry), a link or a number hash set to NULL
//! (the lookup then finds nothing), the PIN counters, the application
//! `state`/`created_at` columns, and the file rolled back to an older copy:
//! there is no file-wide MAC.
//!
//! # Summary cache
//!
//! [`Vault::list_documents`] and [`Vault::search_documents`] (and [`Vault::expiry_reminders`],
//! [`Vault::application_documents`]) are served from an in-memory list of
//! decrypted [`DocumentSummary`]s (each with its *sealed* profile id, its
//! `created_at` and rowid for the order), built on the first listing by
//! opening and checking every document (and, for documents with
//! attachments, their sealed metadata, for the card's thumbnail and PDF
//! mark) as described above. Listings hand out the cached summaries as
//! shared, immutable `Arc`s: a listing of 10,000 documents copies pointers
//! (about 0.2 ms) instead of 60,000 strings. Each entry also keeps its
//! folded search text (kind names, field values, free fields), so a search
//! per keystroke scans memory (about 4 ms for 10,000) instead of
//! decrypting every document again. Every write
//! that changes what is listed (adding, updating or deleting a document or
//! an attachment) updates the cache from the row it just wrote and
//! re-authenticated; profile writes keep it (summaries do not depend on
//! profile bodies). The cache is stamped with the connection's
//! `total_changes()` and the file's `PRAGMA data_version`: any other write
//! (key rotation, backup import, migration, applications, PIN counters, a
//! failed write…) or a commit by **another connection** makes the stamp
//! stale and the next listing rebuilds it from the file.
//!
//! Trade-off: rows are authenticated when they are first decrypted, not
//! on every listing or search. Bytes of the file changed underneath SQLite
//! by another process while the vault is open (not through a SQLite commit,
//! which `data_version` reveals) are not seen by listings and searches
//! until the cache is rebuilt (any write, or reopening); every other read
//! ([`Vault::get_document`], attachments, export,
//! [`Vault::integrity_check`], which bypasses the cache) still opens and
//! checks the row itself, so tampering is never turned into wrong data for
//! those, and a listing never shows a summary that did not authenticate
//! when it was read. The cache holds decrypted titles, numbers and the
//! folded search text (so every field value) in memory for as long as the
//! vault is open (like any value the app has shown); it
//! is dropped on [`Vault::lock`].
//!
//! # On-disk format (schema version 4)
//!
//! One SQLite file (WAL, `synchronous=FULL`, foreign keys on,
//! `application_id` = `0x43445356` "CDSV", schema version in
//! `user_version`, numbered migrations in `schema.rs`), and beside it the
//! directory **`<vault file>.files/`** holding every attachment's bytes and
//! thumbnail as a sealed file (below). Moving, copying or deleting a vault
//! means moving, copying or deleting both (plus SQLite's `-wal`/`-shm`).
//!
//! | table | plaintext columns | sealed columns |
//! |---|---|---|
//! | `meta` | `name`, `created_at`; values of `kdf/pin` (JSON params), `pin/*` counters | `wrap/keyring`, `wrap/pin` (by KEKs); `kdf/policy` (by the vault key) |
//! | `profiles` | `id` (`self` for the citizen, else UUID), `created_at` | `body`: `{full_name, relation, date_of_birth, created_at}` |
//! | `documents` | `id`, `profile_id`, `created_at`, `updated_at`, `number_hash` (HMAC, unique) | `body` (`body/v2`): `{kind, fields, custom_fields, profile_id, created_at, updated_at, attachments: [id…]}` |
//! | `attachments` | `id`, `document_id`, `created_at`, `data_file`, `thumb_file` (file names) | `meta`: `{file_name, mime, size, created_at}`; `data` (`data/file`), `thumb` (`thumb/file`, JPEG): references to the files |
//! | `applications` | `idempotency_key`, `created_at`, `state` | `payload`, `receipt`, `last_error` |
//! | `application_documents` | `idempotency_key`, `document_id`, `tag` (HMAC of both) | |
//! | `application_history` | `id`, `idempotency_key`, `at` | `body`: `{at, status, case_number}` |
//! | `disclosures` | `id`, `at` | `body`: `{at, channel, recipient, purpose, legal_basis, document_ids, summary}` |
//! | `credentials` (device-bound) | `profile_id` (→ `profiles`, cascade) | `body` (`set/v1`): the [`CredentialSet`] as JSON |
//! | `device_values` (device-bound) | `name` (`[a-z0-9/_.-]{1,64}`) | `value`: the bytes |
//!
//! Only ids, timestamps, links, the delivery state and the PIN counters are
//! plaintext, and all but the application's `created_at`/`state` and the
//! PIN counters are checked against sealed copies (above). Even the
//! document kind is sealed.
//!
//! **Device-bound values** ([`Vault::store_credentials`],
//! [`Vault::set_device_value`]): the citizen's signed QR credentials and
//! small device secrets and caches (refresh token, trust list, revocation
//! list). Sealed like every record, re-sealed by key rotation and opened by
//! the integrity check, but **never written to or read from a backup**: a
//! restored vault fetches its own. A credential set is deleted with its
//! profile (`ON DELETE CASCADE`). Migration 3 adds their tables (no data
//! step).
//!
//! **Attachment files** (`files.rs`): each attachment's bytes and its
//! thumbnail are a file `<32 hex digits>.cdsf` in `<vault file>.files/`,
//! sealed in 64 KiB AES-256-GCM chunks (counter nonces, each chunk's
//! associated data binding the attachment's place, the file header, its
//! index and whether it is last) under a **random key per file**. The row's
//! sealed `data`/`thumb` cell is a small reference (file key, plaintext
//! size, file name) sealed by the vault key at the place
//! `cds-vault/v1|attachments|<id>|data/file|<document id>` (`thumb/file`);
//! the plaintext `data_file`/`thumb_file` columns repeat the name and must
//! equal the sealed one. A file changed, cut, extended, or swapped with
//! another attachment's is [`VaultError::Tampered`]; a missing file is
//! [`VaultError::Corrupt`] naming the attachment. A file is written to a
//! temporary name, fsynced, renamed and its directory fsynced **before**
//! the row referencing it commits (the writer holds SQLite's write lock
//! throughout); a deleted attachment's file is removed **after** the
//! delete commits. A full disk while writing a file is
//! [`VaultError::DiskFull`] and leaves neither the file nor the row. Every
//! open sweeps, under the write lock, our files that
//! no row references (a crash between a rename and a commit, or between a
//! commit and an unlink) and temporary files; other files are left alone.
//! Key rotation re-seals only the references (the file keys are
//! re-wrapped; the files are not rewritten). [`Vault::integrity_check`]
//! reads and authenticates every file. Migration 4 moves inline v2/v3
//! bytes out to files inside the migration's transaction (files first,
//! then the rows; a migration that fails removes the files it wrote, and a
//! crash before the commit leaves the vault at v3 and the files
//! unreferenced, swept by the open that redoes it). After it commits, the
//! open gives the freed pages back to the file system: a `TRUNCATE` WAL
//! checkpoint, `VACUUM` (which keeps rowids: every table has a
//! primary-key index), and another `TRUNCATE` checkpoint, so the database
//! file shrinks by about the bytes moved out and the WAL to zero. This is
//! only reclaiming space, so its failure (no room for the copy VACUUM
//! writes on a nearly full disk) is ignored: the vault opens, the free
//! pages stay in the file for SQLite to reuse, and later opens do not try
//! again.
//!
//! Migration 2 (from v1) needs the vault key: it moves every document into
//! the `self` profile, turns `{kind, number, full_name, date_of_birth}` into
//! the field map (a CCCD's sex from its number) with the profile, times and
//! attachment list, re-seals attachment metadata with its time, computes
//! number hashes, makes thumbnails, and records the links (with tags) and
//! history of queued applications, all in the transaction that opens the
//! file.
//!
//! # Full disk
//!
//! A full disk (or quota) is [`VaultError::DiskFull`] wherever it is met:
//! writing an attachment file or a backup (`ENOSPC`/`EDQUOT`), a SQLite
//! commit (`SQLITE_FULL`), or growing SQLite's WAL index (`-shm`, which
//! fails first when a vault is opened on a full disk;
//! `SQLITE_IOERR_SHMSIZE`). The failed write leaves nothing: no row, no
//! attachment file, no temporary file, no backup file; everything
//! committed before stays readable. Deleting a document or an attachment
//! is how the citizen makes room, so it must not need room: if its commit
//! fails for lack of space to grow the WAL, the WAL is checkpointed and
//! truncated (giving its space back) and the delete is tried once more;
//! only if that checkpoint cannot complete either does the delete report
//! [`VaultError::DiskFull`]. `tests/full_disk.rs` checks all of this on a
//! real, full tmpfs (mounted in a user namespace), besides the simulated
//! full disks of the unit tests.
//!
//! # Backup file format
//!
//! [`Vault::export_backup`] writes one file (`.cdsbackup`); all integers are
//! big-endian.
//!
//! ```text
//! header (99 bytes)
//!   0  8  magic 89 'C' 'D' 'S' 'B' 'A' 'K' 0A
//!   8  2  format version (1)
//!  10  1  KDF (1 = PBKDF2-HMAC-SHA256)
//!  11  4  iterations
//!  15 16  salt (random, fresh for every file)
//!  31  4  chunk size C (plaintext bytes per chunk; 65 536)
//!  35 32  passphrase check = HMAC-SHA256(backup key, "cds-backup/v1/passphrase-check")
//!  67 32  header hash H = SHA-256(bytes 0..67)
//! chunks: chunk i = AES-256-GCM(backup key, nonce = i as 96-bit counter,
//!         AAD = "cds-backup/v1/chunk|" || H || i (u64) || last (u8: 0/1),
//!         plaintext) = ciphertext || 16-byte tag
//!   every chunk but the last holds exactly C plaintext bytes (C + 16 on
//!   disk); the last holds 1..=C and is sealed with last = 1.
//! ```
//!
//! - **Key**: PBKDF2-HMAC-SHA256(passphrase, salt, iterations). Export uses
//!   the vault's KDF policy: 600 000 iterations, or the insecure test count
//!   for vaults made with [`KdfParams::insecure_fast_kdf_for_tests`].
//!   Import accepts 1 000 ..= 10 000 000. The passphrase (at least 8
//!   characters) is independent of the PIN and of the vault key. The key is
//!   fresh per file (fresh salt), so counter nonces never repeat under it.
//! - **Integrity**: each chunk's AAD binds the header hash (so a changed
//!   header, or a chunk from another backup, fails), its index (reordered,
//!   dropped or repeated chunks fail) and whether it is last (a file cut at
//!   a chunk boundary, or with chunks appended, fails). Chunk positions
//!   follow from C and the file length. The header hash also tells a
//!   damaged header ([`VaultError::BackupCorrupt`]) from a wrong passphrase
//!   (the check value fails: [`VaultError::WrongPassphrase`]).
//! - **Content**: the concatenated chunk plaintexts are a stream of records
//!   `type (u8) || length (u32) || payload`, in this order: profiles (1),
//!   documents (2) each followed by its attachments (3), applications (4),
//!   access-log entries (5), then the end marker (0xFF) with the counts of
//!   each, after which nothing may follow. Payloads are JSON, except an
//!   attachment: `json length (u32) || json {id, document_id, created_at,
//!   file_name, mime, size, thumb_size} || bytes || thumbnail`. Records
//!   carry ids and timestamps; an application carries its payload,
//!   receipt, last error, status history and linked document ids.
//!   Credential sets and device values are device-bound and never in a
//!   backup; import leaves the target vault's own ones untouched.
//! - **Streaming**: export holds one attachment and one chunk in memory at
//!   a time, reading from one SQLite snapshot and the attachment files
//!   (each authenticated); import writes the attachment files (removed
//!   again if the import does not commit); it writes `dest.tmp`,
//!   fsyncs, renames over `dest` and fsyncs the directory, removing the
//!   temporary file on any failure ([`VaultError::DiskFull`] for a full
//!   disk). Import reads the file twice: first it decrypts and checks all of
//!   it (structure, unique ids, references, sizes, end marker), then it
//!   applies it in one transaction. Either pass holds one record at a time.
//! - **Merge** (import): by id; existing ids are kept; a document whose kind
//!   and number are already stored under another id is skipped and counted
//!   ([`BackupSummary::skipped_documents`]).
//!
//! # Invariants
//!
//! - **Keys never leave this crate.**
//! - **Never overwrite an existing vault or its key.** An existing file is
//!   verified (is it SQLite, is it a vault, is its schema known, does a KEK
//!   unwrap the vault key) before anything but the PIN counters is written
//!   to it; a new key is made only when there is no vault file at all.
//! - **A new vault is all or nothing**: built under a temporary name in one
//!   transaction and linked into place only when complete.
//! - **Validation happens before any write**, and each write is one
//!   transaction (a document with all its attachments; an attachment added
//!   or deleted with its document's sealed attachment list; an application with
//!   its links, history and access-log entry; a whole key rotation; a whole
//!   backup import).
//! - **Every disclosure is logged**: [`Vault::enqueue_application`] and
//!   [`Vault::export_backup`] write the access log themselves;
//!   [`Vault::record_disclosure`] is for the shell's other channels (QR).
//!
//! The app keeps a [`Vault`] behind a mutex; it is `Send` but not `Sync`.

mod apps;
mod backup;
mod creds;
mod crypto;
mod docs;
mod error;
mod files;
mod keys;
mod keystore;
mod schema;
mod text;
mod thumb;
mod validate;

pub use cds_api;
pub use creds::{
    CredentialSet, StoredCredential, MAX_CREDENTIALS_PER_SET, MAX_CREDENTIAL_TEXT_BYTES,
    MAX_DEVICE_VALUE_BYTES,
};
pub use error::VaultError;
pub use keystore::{KeyStore, MemoryKeyStore, OsKeyring};
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
    /// with this is as weak as its PIN; the app never uses it.
    pub const fn insecure_fast_kdf_for_tests() -> Self {
        KdfParams { iterations: 1_000 }
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

/// Who a profile is to the citizen. Serialised in `snake_case`, the
/// citizen as `"self"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    #[serde(rename = "self")]
    SelfPerson,
    Child,
    Parent,
    Spouse,
    Other,
}

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
    /// What was disclosed, numbers masked: `"CCCD 0790…1234"`.
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
    /// The last delivery failure, cleared on delivery.
    pub last_error: Option<String>,
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
    /// The attachment files beside the database (`<path>.files/`).
    pub(crate) files: files::FileStore,
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

    /// Opens the sealed blob in column `idx`. A value that is not a blob
    /// (NULL, text…) cannot have been written by us: tampered.
    pub(crate) fn open_cell(
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

    #[test]
    fn relation_serialises_self_as_self() {
        assert_eq!(
            serde_json::to_string(&Relation::SelfPerson).unwrap(),
            "\"self\""
        );
        assert_eq!(
            serde_json::to_string(&Relation::Child).unwrap(),
            "\"child\""
        );
    }
}
