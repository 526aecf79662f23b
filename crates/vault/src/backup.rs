//! Encrypted backup files: [`Vault::export_backup`] and
//! [`Vault::import_backup`]. The file format is described in the crate
//! documentation (`# Backup file format`); this module is its only reader
//! and writer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::apps::{insert_disclosure, link_tag, mask, DisclosureBody, SealedDisclosure};
use crate::crypto::{random_salt, BackupKey, LookupKey, Place, VaultKey, SALT_LEN};
use crate::docs::read_attachment_file;
use crate::docs::{doc_by_number, open_doc_row, rewrite_doc_body, DOC_COLUMNS};
use crate::error::{db, io};
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::keys::{sync_parent_dir, AttachmentInfo, DocBody, ProfileBody};
use crate::{
    new_id, now_rfc3339, number_hash, open_json, seal_json, text, BackupSummary, DisclosureChannel,
    KdfParams, Relation, StatusChange, Vault, VaultError, DEVICE_BOUND, DOC_BODY,
    MAX_ATTACHMENT_BYTES, MAX_FILE_NAME_CHARS, SEALED, SELF_PROFILE_ID, T_APPLICATIONS,
    T_ATTACHMENTS, T_DISCLOSURES, T_DOCUMENTS, T_HISTORY, T_PROFILES,
};

/// First 8 bytes of every backup file. The high first byte and the newline
/// catch transfers that mangle bytes or line endings.
pub(crate) const MAGIC: [u8; 8] = *b"\x89CDSBAK\n";
/// Format version in the header.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// KDF identifier in the header: PBKDF2-HMAC-SHA256.
const KDF_PBKDF2_SHA256: u8 = 1;
const HASH_LEN: usize = 32;
/// Header bytes covered by the header hash.
const HEADER_FIELDS_LEN: usize = 8 + 2 + 1 + 4 + SALT_LEN + 4 + HASH_LEN;
/// The whole header: fields, then SHA-256 of the fields.
pub(crate) const HEADER_LEN: usize = HEADER_FIELDS_LEN + HASH_LEN;
/// AES-GCM tag after each chunk's ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk (every chunk but the last is exactly this).
pub(crate) const CHUNK_SIZE: usize = 64 * 1024;
const MIN_CHUNK_SIZE: u32 = 1024;
const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// Most PBKDF2 iterations an import accepts (a file cannot make the app
/// spin for minutes).
const MAX_IMPORT_ITERATIONS: u32 = 10_000_000;
/// Largest record other than an attachment (an application with a long
/// history, a document with many fields).
const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;
/// Largest thumbnail accepted (ours are JPEGs of at most 320 px).
const MAX_THUMB_BYTES: usize = 4 * 1024 * 1024;
/// Longest id accepted (ours are UUIDs, `self`, idempotency keys ≤ 128).
const MAX_ID_CHARS: usize = 128;
/// Record types in the plaintext stream.
const R_PROFILE: u8 = 1;
const R_DOCUMENT: u8 = 2;
const R_ATTACHMENT: u8 = 3;
const R_APPLICATION: u8 = 4;
const R_DISCLOSURE: u8 = 5;
const R_END: u8 = 0xFF;
/// Access-log entries list at most this many masked numbers.
const MAX_SUMMARY_ITEMS: usize = 10;

// ---- records ----------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct BProfile {
    id: String,
    created_at: String,
    full_name: String,
    relation: Relation,
    date_of_birth: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct BDocument {
    id: String,
    profile_id: String,
    created_at: String,
    updated_at: String,
    kind: DocumentKind,
    fields: BTreeMap<String, String>,
    custom_fields: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct BAttachment {
    id: String,
    document_id: String,
    created_at: String,
    file_name: String,
    mime: String,
    /// Length of the data that follows the JSON.
    size: u64,
    /// Length of the thumbnail after the data, if there is one.
    thumb_size: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct BHistory {
    id: String,
    change: StatusChange,
}

#[derive(Serialize, Deserialize)]
struct BApplication {
    idempotency_key: String,
    created_at: String,
    state: String,
    payload: SubmitApplication,
    receipt: Option<ApplicationReceipt>,
    last_error: Option<String>,
    document_ids: Vec<String>,
    history: Vec<BHistory>,
}

#[derive(Serialize, Deserialize)]
struct BDisclosure {
    id: String,
    at: String,
    body: DisclosureBody,
}

#[derive(Serialize, Deserialize, Default, PartialEq, Eq, Debug, Clone, Copy)]
struct Counts {
    profiles: u32,
    documents: u32,
    attachments: u32,
    applications: u32,
    disclosures: u32,
}

/// One logical record read back from a backup.
enum Rec {
    Profile(BProfile),
    Document(BDocument),
    Attachment(BAttachment, Zeroizing<Vec<u8>>, Option<Zeroizing<Vec<u8>>>),
    Application(Box<BApplication>),
    Disclosure(BDisclosure),
}

fn corrupt(reason: impl Into<String>) -> VaultError {
    VaultError::BackupCorrupt(reason.into())
}

fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(d.as_ref());
    out
}

/// Associated data of chunk `index`: the header hash, the index and
/// whether it is the last chunk.
fn chunk_aad(header_hash: &[u8; HASH_LEN], index: u64, last: bool) -> Vec<u8> {
    let mut a = b"cds-backup/v1/chunk|".to_vec();
    a.extend_from_slice(header_hash);
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

// ---- header -----------------------------------------------------------

struct Header {
    bytes: [u8; HEADER_LEN],
    iterations: u32,
    salt: [u8; SALT_LEN],
    chunk_size: u32,
    check: [u8; HASH_LEN],
    hash: [u8; HASH_LEN],
}

impl Header {
    fn new(iterations: u32, salt: [u8; SALT_LEN], check: &[u8]) -> Result<Header, VaultError> {
        let mut b = Vec::with_capacity(HEADER_LEN);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        b.push(KDF_PBKDF2_SHA256);
        b.extend_from_slice(&iterations.to_be_bytes());
        b.extend_from_slice(&salt);
        b.extend_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
        b.extend_from_slice(check);
        let hash = sha256(&b);
        b.extend_from_slice(&hash);
        Self::parse(&b, u64::MAX)
    }

    /// Parses and checks the first bytes of a file of `file_len` bytes.
    fn parse(b: &[u8], file_len: u64) -> Result<Header, VaultError> {
        if b.is_empty() {
            return Err(corrupt("the file is empty"));
        }
        let n = b.len().min(MAGIC.len());
        if b[..n] != MAGIC[..n] {
            return Err(corrupt("it is not a Công dân số backup file"));
        }
        if b.len() < HEADER_LEN {
            return Err(corrupt("the file ends inside its header (truncated)"));
        }
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(&b[..HEADER_LEN]);
        let mut hash = [0u8; HASH_LEN];
        hash.copy_from_slice(&bytes[HEADER_FIELDS_LEN..]);
        if sha256(&bytes[..HEADER_FIELDS_LEN]) != hash {
            return Err(corrupt("the header is damaged"));
        }
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "backup format version {version} is not known to this app (it reads version \
                 {FORMAT_VERSION}); update the app"
            )));
        }
        if bytes[10] != KDF_PBKDF2_SHA256 {
            return Err(corrupt(format!("unknown key derivation {}", bytes[10])));
        }
        let iterations = u32_at(11);
        let floor = KdfParams::insecure_fast_kdf_for_tests().iterations();
        if !(floor..=MAX_IMPORT_ITERATIONS).contains(&iterations) {
            return Err(corrupt(format!(
                "{iterations} PBKDF2 iterations is outside the accepted range \
                 {floor}..={MAX_IMPORT_ITERATIONS}"
            )));
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[15..15 + SALT_LEN]);
        let chunk_size = u32_at(15 + SALT_LEN);
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(corrupt(format!("chunk size {chunk_size} is not allowed")));
        }
        let mut check = [0u8; HASH_LEN];
        check.copy_from_slice(&bytes[19 + SALT_LEN..HEADER_FIELDS_LEN]);
        if file_len == HEADER_LEN as u64 {
            return Err(corrupt("the file ends right after its header (truncated)"));
        }
        Ok(Header {
            bytes,
            iterations,
            salt,
            chunk_size,
            check,
            hash,
        })
    }
}

// ---- chunked stream -----------------------------------------------------

/// Buffers plaintext into chunks and seals each. A full chunk is sealed
/// only once more data arrives, so the last chunk (sealed by
/// [`ChunkWriter::finish`] with the last flag) is never empty of the end
/// marker.
struct ChunkWriter<'k, W: Write> {
    out: W,
    key: &'k BackupKey,
    hash: [u8; HASH_LEN],
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    written: u64,
}

impl<'k, W: Write> ChunkWriter<'k, W> {
    fn new(out: W, key: &'k BackupKey, hash: [u8; HASH_LEN]) -> Self {
        ChunkWriter {
            out,
            key,
            hash,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            index: 0,
            written: 0,
        }
    }

    fn write(&mut self, mut data: &[u8]) -> Result<(), VaultError> {
        while !data.is_empty() {
            if self.buf.len() == CHUNK_SIZE {
                self.seal(false)?;
            }
            // Never past the capacity: the buffer must not reallocate and
            // leave plaintext behind.
            let n = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> Result<(), VaultError> {
        let aad = chunk_aad(&self.hash, self.index, last);
        let sealed = self.key.seal_chunk(self.index, &aad, &self.buf)?;
        self.out
            .write_all(&sealed)
            .map_err(|e| io("cannot write the backup file", e))?;
        self.written += sealed.len() as u64;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    fn frame(&mut self, tag: u8, parts: &[&[u8]]) -> Result<(), VaultError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).map_err(|_| VaultError::storage("a record is too large"))?;
        let mut head = [0u8; 5];
        head[0] = tag;
        head[1..].copy_from_slice(&len.to_be_bytes());
        self.write(&head)?;
        for p in parts {
            self.write(p)?;
        }
        Ok(())
    }

    fn json_frame<T: Serialize>(&mut self, tag: u8, value: &T) -> Result<(), VaultError> {
        let json = to_json(value)?;
        self.frame(tag, &[&json])
    }

    fn finish(mut self) -> Result<(W, u64), VaultError> {
        self.seal(true)?;
        Ok((self.out, self.written))
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|e| VaultError::Storage(format!("cannot encode a backup record: {e}")))
}

/// Reads and opens the chunks of a backup file in order, handing out the
/// plaintext stream. Chunk positions follow from the chunk size and the
/// file length; the chunk that ends the file must carry the last flag.
struct ChunkReader<'a> {
    file: File,
    key: &'a BackupKey,
    hash: [u8; HASH_LEN],
    chunk_size: usize,
    n_chunks: u64,
    last_len: usize,
    next: u64,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    consumed: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<'a> ChunkReader<'a> {
    /// `file` is positioned right after the header.
    fn new(
        file: File,
        key: &'a BackupKey,
        header: &Header,
        file_len: u64,
        progress: &'a mut dyn FnMut(u64),
    ) -> Result<Self, VaultError> {
        let body = file_len
            .checked_sub(HEADER_LEN as u64)
            .filter(|b| *b > 0)
            .ok_or_else(|| corrupt("the file ends right after its header (truncated)"))?;
        let full = header.chunk_size as u64 + TAG_LEN as u64;
        let n_chunks = body.div_ceil(full);
        let last_len = (body - (n_chunks - 1) * full) as usize;
        Ok(ChunkReader {
            file,
            key,
            hash: header.hash,
            chunk_size: header.chunk_size as usize,
            n_chunks,
            last_len,
            next: 0,
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            consumed: HEADER_LEN as u64,
            progress,
        })
    }

    fn load_next(&mut self) -> Result<(), VaultError> {
        if self.next == self.n_chunks {
            return Err(corrupt(
                "the content ends before its end marker (the file is truncated)",
            ));
        }
        let i = self.next;
        let last = i + 1 == self.n_chunks;
        let len = if last {
            self.last_len
        } else {
            self.chunk_size + TAG_LEN
        };
        let mut sealed = vec![0u8; len];
        self.file.read_exact(&mut sealed).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt("the file changed while it was being read")
            } else {
                io("cannot read the backup file", e)
            }
        })?;
        let opened = self
            .key
            .open_chunk(i, &chunk_aad(&self.hash, i, last), &sealed);
        let plain = match opened {
            Ok(p) => p,
            Err(_) => {
                // Tell the likely cause: a file cut at a chunk boundary (the
                // chunk opens as a middle chunk) or with bytes appended
                // after its real end (a middle chunk opens as the last).
                let as_other = self
                    .key
                    .open_chunk(i, &chunk_aad(&self.hash, i, !last), &sealed);
                return Err(corrupt(match (as_other.is_ok(), last) {
                    (true, true) => "the file is truncated (it ends between two chunks)".into(),
                    (true, false) => "there is extra data after the end of the backup".into(),
                    _ => format!(
                        "chunk {} of {} is damaged, truncated or out of place",
                        i + 1,
                        self.n_chunks
                    ),
                }));
            }
        };
        if plain.len() > self.chunk_size {
            return Err(corrupt("a chunk is larger than the header allows"));
        }
        self.buf = plain;
        self.pos = 0;
        self.next += 1;
        self.consumed += len as u64;
        (self.progress)(self.consumed);
        Ok(())
    }

    fn read_exact(&mut self, mut out: &mut [u8]) -> Result<(), VaultError> {
        while !out.is_empty() {
            if self.pos == self.buf.len() {
                self.load_next()?;
                continue;
            }
            let n = (self.buf.len() - self.pos).min(out.len());
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            out = &mut out[n..];
        }
        Ok(())
    }

    fn read_vec(&mut self, len: usize) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let mut v = Zeroizing::new(vec![0u8; len]);
        self.read_exact(&mut v)?;
        Ok(v)
    }

    fn read_u32(&mut self) -> Result<u32, VaultError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn read_json<T: DeserializeOwned>(&mut self, len: usize, what: &str) -> Result<T, VaultError> {
        if len > MAX_RECORD_BYTES {
            return Err(corrupt(format!("a {what} record is too large")));
        }
        let bytes = self.read_vec(len)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            corrupt(format!(
                "a {what} record is malformed (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// Every chunk read and every byte of the last one consumed.
    fn at_end(&self) -> bool {
        self.pos == self.buf.len() && self.next == self.n_chunks
    }
}

// ---- record checks (both passes) ----------------------------------------

fn check_id(what: &str, id: &str) -> Result<(), VaultError> {
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(corrupt(format!("a {what} has an invalid id")));
    }
    Ok(())
}

fn check_text(what: &str, s: &str, max_chars: usize) -> Result<(), VaultError> {
    if s.chars().count() > max_chars || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(corrupt(format!(
            "a {what} is too long or has control characters"
        )));
    }
    Ok(())
}

/// Reads the whole plaintext stream, checking its structure (order of the
/// sections, unique ids, references, sizes, the end marker and its
/// counts), and hands each record to `visit`.
fn read_stream(
    r: &mut ChunkReader<'_>,
    visit: &mut dyn FnMut(Rec) -> Result<(), VaultError>,
) -> Result<Counts, VaultError> {
    let mut section = 0u8;
    let mut counts = Counts::default();
    let mut profiles = HashSet::new();
    let mut documents = HashSet::new();
    let mut attachments = HashSet::new();
    let mut applications = HashSet::new();
    let mut disclosures = HashSet::new();
    let mut order = |s: u8| {
        if s < section {
            return Err(corrupt("records are out of order"));
        }
        section = s;
        Ok(())
    };
    let unique = |set: &mut HashSet<String>, what: &str, id: &str| {
        if set.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(corrupt(format!("{what} {id} appears twice")))
        }
    };
    loop {
        let mut head = [0u8; 5];
        r.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        match head[0] {
            R_PROFILE => {
                order(1)?;
                let p: BProfile = r.read_json(len, "profile")?;
                check_id("profile", &p.id)?;
                check_text("profile name", &p.full_name, 1000)?;
                if (p.id == SELF_PROFILE_ID) != (p.relation == Relation::SelfPerson) {
                    return Err(corrupt("only the citizen's own profile may be \"self\""));
                }
                unique(&mut profiles, "profile", &p.id)?;
                counts.profiles += 1;
                visit(Rec::Profile(p))?;
            }
            R_DOCUMENT => {
                order(2)?;
                let d: BDocument = r.read_json(len, "document")?;
                check_id("document", &d.id)?;
                if !profiles.contains(&d.profile_id) {
                    return Err(corrupt(format!(
                        "document {} belongs to a profile not in the backup",
                        d.id
                    )));
                }
                unique(&mut documents, "document", &d.id)?;
                counts.documents += 1;
                visit(Rec::Document(d))?;
            }
            R_ATTACHMENT => {
                order(2)?;
                let json_len = r.read_u32()? as usize;
                if json_len.saturating_add(4) > len {
                    return Err(corrupt("an attachment record is malformed"));
                }
                let a: BAttachment = r.read_json(json_len, "attachment")?;
                check_id("attachment", &a.id)?;
                if a.file_name.is_empty() {
                    return Err(corrupt("an attachment has no file name"));
                }
                check_text("file name", &a.file_name, MAX_FILE_NAME_CHARS)?;
                check_text("file type", &a.mime, 100)?;
                if !documents.contains(&a.document_id) {
                    return Err(corrupt(format!(
                        "attachment {} belongs to a document not in the backup",
                        a.id
                    )));
                }
                let size = usize::try_from(a.size).unwrap_or(usize::MAX);
                let thumb_size = a
                    .thumb_size
                    .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
                if size > MAX_ATTACHMENT_BYTES || thumb_size.unwrap_or(0) > MAX_THUMB_BYTES {
                    return Err(corrupt("an attachment is larger than allowed"));
                }
                if 4 + json_len + size + thumb_size.unwrap_or(0) != len {
                    return Err(corrupt("an attachment record has the wrong length"));
                }
                unique(&mut attachments, "attachment", &a.id)?;
                let data = r.read_vec(size)?;
                let thumb = match thumb_size {
                    Some(t) => Some(r.read_vec(t)?),
                    None => None,
                };
                counts.attachments += 1;
                visit(Rec::Attachment(a, data, thumb))?;
            }
            R_APPLICATION => {
                order(3)?;
                let a: BApplication = r.read_json(len, "application")?;
                check_id("application", &a.idempotency_key)?;
                if a.payload.idempotency_key != a.idempotency_key {
                    return Err(corrupt("an application is filed under another key"));
                }
                let delivered = match a.state.as_str() {
                    "queued" => false,
                    "delivered" => true,
                    _ => return Err(corrupt("an application has an unknown state")),
                };
                if delivered != a.receipt.is_some() {
                    return Err(corrupt("an application's state does not match its receipt"));
                }
                for h in &a.history {
                    check_id("status change", &h.id)?;
                }
                unique(&mut applications, "application", &a.idempotency_key)?;
                counts.applications += 1;
                visit(Rec::Application(Box::new(a)))?;
            }
            R_DISCLOSURE => {
                order(4)?;
                let d: BDisclosure = r.read_json(len, "access-log")?;
                check_id("access-log entry", &d.id)?;
                unique(&mut disclosures, "access-log entry", &d.id)?;
                counts.disclosures += 1;
                visit(Rec::Disclosure(d))?;
            }
            R_END => {
                let end: Counts = r.read_json(len, "end")?;
                if end != counts {
                    return Err(corrupt("the end marker's counts do not match the content"));
                }
                if !r.at_end() {
                    return Err(corrupt("there is data after the end marker"));
                }
                return Ok(counts);
            }
            t => return Err(corrupt(format!("unknown record type {t}"))),
        }
    }
}

// ---- import: applying records ---------------------------------------------

/// Applies records inside the import transaction, merging by id.
struct Applier<'a, 'f> {
    conn: &'a Connection,
    key: &'a VaultKey,
    lookup: &'a LookupKey,
    rng: &'a SystemRandom,
    files: &'f FileStore,
    /// Attachment files written by this import: removed unless it commits.
    pending: &'a mut Pending<'f>,
    /// Backup document id → the id of the document with the same kind and
    /// number already in the vault (the backup's copy is skipped).
    same_number: HashMap<String, String>,
    added: BackupSummary,
}

impl Applier<'_, '_> {
    fn exists(&self, sql: &str, id: &str) -> Result<bool, VaultError> {
        self.conn
            .query_row(sql, [id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(db)
    }

    fn apply(&mut self, rec: Rec) -> Result<(), VaultError> {
        match rec {
            Rec::Profile(p) => self.profile(p),
            Rec::Document(d) => self.document(d),
            Rec::Attachment(a, data, thumb) => {
                self.attachment(a, &data, thumb.as_ref().map(|t| &t[..]))
            }
            Rec::Application(a) => self.application(*a),
            Rec::Disclosure(d) => self.disclosure(d),
        }
    }

    fn profile(&mut self, p: BProfile) -> Result<(), VaultError> {
        let place = Place::new(T_PROFILES, &p.id, "body");
        let body = ProfileBody {
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at: p.created_at.clone(),
        };
        let existing: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT body FROM profiles WHERE id = ?1", [&p.id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db)?;
        let sealed = seal_json(self.key, self.rng, &place, &body)?;
        match existing {
            None => {
                self.conn
                    .execute(
                        "INSERT INTO profiles (id, created_at, body) VALUES (?1, ?2, ?3)",
                        params![p.id, p.created_at, sealed],
                    )
                    .map_err(db)?;
                self.added.profiles += 1;
            }
            // A fresh vault's own profile is still blank: restoring onto a
            // new device fills it in. A filled-in one is kept.
            Some(old) if p.id == SELF_PROFILE_ID => {
                let old: ProfileBody = open_json(self.key, &place, &old)?;
                let blank = |b: &ProfileBody| b.full_name.is_empty() && b.date_of_birth.is_none();
                if blank(&old) && !blank(&body) {
                    self.conn
                        .execute(
                            "UPDATE profiles SET created_at = ?2, body = ?3 WHERE id = ?1",
                            params![p.id, p.created_at, sealed],
                        )
                        .map_err(db)?;
                    self.added.profiles += 1;
                }
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn document(&mut self, d: BDocument) -> Result<(), VaultError> {
        if self.exists("SELECT 1 FROM documents WHERE id = ?1", &d.id)? {
            return Ok(());
        }
        let hash = d
            .fields
            .get("number")
            .map(|n| number_hash(self.lookup, d.kind, n));
        if let Some(n) = d.fields.get("number") {
            let other = doc_by_number(self.conn, self.key, self.lookup, d.kind, n)?;
            if let Some((other, _)) = other {
                self.same_number.insert(d.id, other);
                self.added.skipped_documents += 1;
                return Ok(());
            }
        }
        let body = seal_json(
            self.key,
            self.rng,
            &Place::new(T_DOCUMENTS, &d.id, DOC_BODY),
            &DocBody {
                kind: d.kind,
                fields: d.fields,
                custom_fields: d.custom_fields,
                profile_id: d.profile_id.clone(),
                created_at: d.created_at.clone(),
                updated_at: d.updated_at.clone(),
                // Filled in as its attachment records are applied.
                attachments: Vec::new(),
            },
        )?;
        self.conn
            .execute(
                "INSERT INTO documents (id, profile_id, created_at, updated_at, number_hash, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![d.id, d.profile_id, d.created_at, d.updated_at, hash, body],
            )
            .map_err(db)?;
        self.added.documents += 1;
        Ok(())
    }

    fn attachment(
        &mut self,
        a: BAttachment,
        data: &[u8],
        thumb: Option<&[u8]>,
    ) -> Result<(), VaultError> {
        // The photos of a skipped duplicate are not added to the document
        // already in the vault.
        if self.same_number.contains_key(&a.document_id)
            || self.exists("SELECT 1 FROM attachments WHERE id = ?1", &a.id)?
        {
            return Ok(());
        }
        let at = |col| Place::new(T_ATTACHMENTS, &a.id, col).with_parent(&a.document_id);
        let meta = seal_json(
            self.key,
            self.rng,
            &at("meta"),
            &AttachmentInfo {
                file_name: a.file_name.clone(),
                mime: a.mime.clone(),
                size: a.size,
                created_at: a.created_at.clone(),
            },
        )?;
        // Files first (under the import's write lock), then the row.
        let data = self.files.write(self.key, self.rng, &at(DATA_REF), data)?;
        self.pending.push(&data.name);
        let thumb = match thumb {
            Some(t) => {
                let w = self.files.write(self.key, self.rng, &at(THUMB_REF), t)?;
                self.pending.push(&w.name);
                Some(w)
            }
            None => None,
        };
        self.conn
            .execute(
                "INSERT INTO attachments \
                 (id, document_id, created_at, meta, data, data_file, thumb, thumb_file) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    a.id,
                    a.document_id,
                    a.created_at,
                    meta,
                    data.sealed_ref,
                    data.name,
                    thumb.as_ref().map(|t| &t.sealed_ref),
                    thumb.as_ref().map(|t| &t.name)
                ],
            )
            .map_err(db)?;
        // Listed in its document's sealed body, in the same transaction;
        // the document's `updated_at` is the backup's.
        rewrite_doc_body(self.conn, self.key, self.rng, &a.document_id, |b| {
            b.attachments.push(a.id.clone());
            Ok(())
        })?;
        self.added.attachments += 1;
        Ok(())
    }

    fn application(&mut self, a: BApplication) -> Result<(), VaultError> {
        let k = a.idempotency_key.as_str();
        if self.exists("SELECT 1 FROM applications WHERE idempotency_key = ?1", k)? {
            return Ok(());
        }
        let payload = seal_json(
            self.key,
            self.rng,
            &Place::new(T_APPLICATIONS, k, "payload"),
            &a.payload,
        )?;
        let receipt = match &a.receipt {
            Some(r) => Some(seal_json(
                self.key,
                self.rng,
                &Place::new(T_APPLICATIONS, k, "receipt"),
                r,
            )?),
            None => None,
        };
        let last_error = match &a.last_error {
            Some(e) => Some(self.key.seal(
                self.rng,
                &Place::new(T_APPLICATIONS, k, "last_error"),
                e.as_bytes(),
            )?),
            None => None,
        };
        self.conn
            .execute(
                "INSERT INTO applications \
                 (idempotency_key, created_at, state, payload, receipt, last_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![k, a.created_at, a.state, payload, receipt, last_error],
            )
            .map_err(db)?;
        for h in &a.history {
            let id = if self.exists("SELECT 1 FROM application_history WHERE id = ?1", &h.id)? {
                new_id()
            } else {
                h.id.clone()
            };
            let body = seal_json(
                self.key,
                self.rng,
                &Place::new(T_HISTORY, &id, "body").with_parent(k),
                &h.change,
            )?;
            self.conn
                .execute(
                    "INSERT INTO application_history (id, idempotency_key, at, body) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id, k, h.change.at, body],
                )
                .map_err(db)?;
        }
        for doc in &a.document_ids {
            let doc = self.same_number.get(doc).unwrap_or(doc);
            if self.exists("SELECT 1 FROM documents WHERE id = ?1", doc)? {
                self.conn
                    .execute(
                        "INSERT OR IGNORE INTO application_documents \
                         (idempotency_key, document_id, tag) VALUES (?1, ?2, ?3)",
                        params![k, doc, link_tag(self.lookup, k, doc)],
                    )
                    .map_err(db)?;
            }
        }
        self.added.applications += 1;
        Ok(())
    }

    fn disclosure(&mut self, mut d: BDisclosure) -> Result<(), VaultError> {
        if self.exists("SELECT 1 FROM disclosures WHERE id = ?1", &d.id)? {
            return Ok(());
        }
        for id in &mut d.body.document_ids {
            if let Some(other) = self.same_number.get(id) {
                id.clone_from(other);
            }
        }
        let body = seal_json(
            self.key,
            self.rng,
            &Place::new(T_DISCLOSURES, &d.id, "body"),
            &SealedDisclosure {
                at: d.at.clone(),
                body: d.body,
            },
        )?;
        self.conn
            .execute(
                "INSERT INTO disclosures (id, at, body) VALUES (?1, ?2, ?3)",
                params![d.id, d.at, body],
            )
            .map_err(db)?;
        self.added.disclosures += 1;
        Ok(())
    }
}

// ---- export --------------------------------------------------------------

/// What an export wrote, for the summary and the access log.
struct Exported {
    counts: Counts,
    /// (id, kind, number) of every document, for the access-log entry.
    documents: Vec<(String, DocumentKind, String)>,
}

/// A writer that reports a full disk after `left` bytes (tests of the
/// failure path use it; `None` passes everything through).
struct Limited<W> {
    inner: W,
    left: Option<u64>,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(left) = &mut self.left {
            if *left < buf.len() as u64 {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            *left -= buf.len() as u64;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn tmp_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".tmp");
    PathBuf::from(p)
}

/// `path` as an absolute path with its directory resolved (the file
/// itself need not exist).
fn resolved(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

fn blob<'r>(row: &'r Row<'_>, idx: usize, place: &Place<'_>) -> Result<&'r [u8], VaultError> {
    match row.get_ref(idx).map_err(db)? {
        ValueRef::Blob(b) => Ok(b),
        _ => Err(place.tampered()),
    }
}

fn opt_blob<'r>(
    row: &'r Row<'_>,
    idx: usize,
    place: &Place<'_>,
) -> Result<Option<&'r [u8]>, VaultError> {
    match row.get_ref(idx).map_err(db)? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(b)),
        _ => Err(place.tampered()),
    }
}

impl Vault {
    /// Writes the whole vault (profiles, documents with their fields,
    /// attachments with their thumbnails, applications with their history
    /// and document links, and the access log) to one encrypted backup file
    /// at `dest`, protected by `passphrase` (at least 8 characters; it is
    /// independent of the PIN and of the vault key). The format is in the
    /// crate documentation.
    ///
    /// The file is written as `dest` + `.tmp` in the same directory,
    /// flushed to disk and renamed over `dest`, so `dest` is either the
    /// complete backup or untouched; on any failure (a full disk is
    /// [`VaultError::DiskFull`]) the temporary file is removed. The export
    /// is logged in the access log (channel [`DisclosureChannel::Backup`]);
    /// if that fails the new file is removed too.
    ///
    /// `progress(done, total)` is called as records are written, in bytes
    /// of the vault's encrypted records (monotonic, ending with
    /// `done == total`). The summary counts what the file holds; `bytes`
    /// is its size. Attachments are streamed one at a time.
    pub fn export_backup(
        &mut self,
        dest: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        self.export_backup_limited(dest, passphrase, progress, None)
    }

    fn export_backup_limited(
        &mut self,
        dest: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
        disk_left: Option<u64>,
    ) -> Result<BackupSummary, VaultError> {
        check_backup_passphrase(passphrase)?;
        let tmp = tmp_path(dest);
        self.refuse_vault_paths(dest)?;
        self.refuse_vault_paths(&tmp)?;
        let written = self.write_backup_file(&tmp, passphrase, progress, disk_left);
        let (exported, bytes) = match written {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(
                format_args!("cannot move the backup to {}", dest.display()),
                e,
            ));
        }
        sync_parent_dir(dest);
        if let Err(e) = self.log_backup(dest, &exported) {
            // Nothing leaves the vault unlogged.
            let _ = std::fs::remove_file(dest);
            return Err(e);
        }
        let c = exported.counts;
        Ok(BackupSummary {
            profiles: c.profiles,
            documents: c.documents,
            attachments: c.attachments,
            applications: c.applications,
            disclosures: c.disclosures,
            skipped_documents: 0,
            bytes,
        })
    }

    /// Refuses to write a backup over the vault's own files.
    fn refuse_vault_paths(&self, p: &Path) -> Result<(), VaultError> {
        let (Some(p), Some(vault)) = (resolved(p), resolved(&self.path)) else {
            return Ok(());
        };
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut v = vault.as_os_str().to_owned();
            v.push(suffix);
            if p.as_os_str() == v {
                return Err(VaultError::invalid(
                    "path",
                    "the backup cannot be written over the vault itself",
                ));
            }
        }
        Ok(())
    }

    fn write_backup_file(
        &self,
        tmp: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
        disk_left: Option<u64>,
    ) -> Result<(Exported, u64), VaultError> {
        let salt = random_salt(&self.rng)?;
        let iterations = self.kdf.iterations();
        let key = BackupKey::derive(passphrase, &salt, iterations)?;
        let header = Header::new(iterations, salt, &key.check_value())?;
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts
            .open(tmp)
            .map_err(|e| io(format_args!("cannot create {}", tmp.display()), e))?;
        let mut out = BufWriter::with_capacity(
            CHUNK_SIZE + TAG_LEN,
            Limited {
                inner: file,
                left: disk_left,
            },
        );
        out.write_all(&header.bytes)
            .map_err(|e| io("cannot write the backup file", e))?;
        let mut w = ChunkWriter::new(out, &key, header.hash);
        let exported = self.write_records(&mut w, progress)?;
        let (out, body_len) = w.finish()?;
        let limited = out
            .into_inner()
            .map_err(|e| io("cannot write the backup file", e.into_error()))?;
        limited
            .inner
            .sync_all()
            .map_err(|e| io("cannot flush the backup file to disk", e))?;
        Ok((exported, HEADER_LEN as u64 + body_len))
    }

    /// Streams every record, reading from one snapshot of the vault.
    fn write_records<W: Write>(
        &self,
        w: &mut ChunkWriter<'_, W>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Exported, VaultError> {
        // A read transaction: one consistent snapshot, never committed.
        let tx = self.conn.unchecked_transaction().map_err(db)?;
        let conn: &Connection = &tx;
        let mut total: u64 = 0;
        // Device-bound tables are not exported, so not counted; attachment
        // bytes are counted by their files' sizes below.
        for c in SEALED.iter().filter(|c| {
            !DEVICE_BOUND.contains(&c.table)
                && !(c.table == T_ATTACHMENTS && (c.col == "data" || c.col == "thumb"))
        }) {
            let sql = format!(
                "SELECT coalesce(sum(length({col})), 0) FROM {t}",
                col = c.col,
                t = c.table
            );
            let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).map_err(db)?;
            total = total.saturating_add(u64::try_from(n).unwrap_or(0));
        }
        for name in crate::files::referenced_names(conn)? {
            total = total.saturating_add(self.files.len_of(&name));
        }
        let mut done: u64 = 0;
        let mut step = |n: usize, progress: &mut dyn FnMut(u64, u64)| {
            done = done.saturating_add(n as u64).min(total);
            progress(done, total);
        };
        progress(0, total);
        let mut counts = Counts::default();
        let mut documents = Vec::new();

        let mut stmt = conn
            .prepare(
                "SELECT id, created_at, body FROM profiles \
                 ORDER BY (id = 'self') DESC, created_at, rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let id = text(r, 0)?;
            let place = Place::new(T_PROFILES, &id, "body");
            let sealed = blob(r, 2, &place)?;
            let b: ProfileBody = open_json(&self.key, &place, sealed)?;
            w.json_frame(
                R_PROFILE,
                &BProfile {
                    created_at: text(r, 1)?,
                    full_name: b.full_name,
                    relation: b.relation,
                    date_of_birth: b.date_of_birth,
                    id,
                },
            )?;
            counts.profiles += 1;
            step(sealed.len(), progress);
        }
        drop(rows);
        drop(stmt);

        let mut stmt = conn
            .prepare(&format!(
                "SELECT {DOC_COLUMNS} FROM documents ORDER BY created_at, rowid"
            ))
            .map_err(db)?;
        let mut att_stmt = conn
            .prepare(
                "SELECT id, created_at, meta, data, data_file, thumb, thumb_file \
                 FROM attachments WHERE document_id = ?1 ORDER BY rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (id, b) = open_doc_row(&self.key, r)?;
            let place = Place::new(T_DOCUMENTS, &id, DOC_BODY);
            let place_sealed = blob(r, 4, &place)?.len();
            let mut listed: Vec<&str> = b.attachments.iter().map(String::as_str).collect();
            documents.push((
                id.clone(),
                b.kind,
                b.fields.get("number").cloned().unwrap_or_default(),
            ));
            w.json_frame(
                R_DOCUMENT,
                &BDocument {
                    id: id.clone(),
                    profile_id: b.profile_id.clone(),
                    updated_at: b.updated_at.clone(),
                    created_at: b.created_at.clone(),
                    kind: b.kind,
                    fields: b.fields.clone(),
                    custom_fields: b.custom_fields.clone(),
                },
            )?;
            counts.documents += 1;
            step(place_sealed, progress);
            // One attachment in memory at a time.
            let mut atts = att_stmt.query([&id]).map_err(db)?;
            while let Some(a) = atts.next().map_err(db)? {
                let att_id = text(a, 0)?;
                let at = |col| Place::new(T_ATTACHMENTS, &att_id, col).with_parent(&id);
                let meta_sealed = blob(a, 2, &at("meta"))?;
                // Only the rows the document's sealed body lists, each once.
                let before = listed.len();
                listed.retain(|l| *l != att_id);
                if listed.len() == before {
                    return Err(at("meta").tampered());
                }
                let info: AttachmentInfo = open_json(&self.key, &at("meta"), meta_sealed)?;
                if text(a, 1)? != info.created_at {
                    return Err(at("meta").tampered());
                }
                // The bytes come from the attachment files, authenticated.
                let data =
                    read_attachment_file(&self.key, &self.files, a, 3, &att_id, &id, "data")?
                        .ok_or_else(|| at(DATA_REF).tampered())?;
                let thumb =
                    read_attachment_file(&self.key, &self.files, a, 5, &att_id, &id, "thumb")?;
                let json = to_json(&BAttachment {
                    id: att_id.clone(),
                    document_id: id.clone(),
                    created_at: text(a, 1)?,
                    file_name: info.file_name,
                    mime: info.mime,
                    size: data.len() as u64,
                    thumb_size: thumb.as_ref().map(|t| t.len() as u64),
                })?;
                let json_len = u32::try_from(json.len())
                    .map_err(|_| VaultError::storage("an attachment record is too large"))?;
                w.frame(
                    R_ATTACHMENT,
                    &[
                        &json_len.to_be_bytes(),
                        &json,
                        &data,
                        thumb.as_deref().map(|t| &t[..]).unwrap_or(&[]),
                    ],
                )?;
                counts.attachments += 1;
                step(
                    meta_sealed.len()
                        + sealed_len(data.len())
                        + thumb.as_ref().map_or(0, |t| sealed_len(t.len())),
                    progress,
                );
            }
            drop(atts);
            if !listed.is_empty() {
                // Listed but not there.
                return Err(place.tampered());
            }
        }
        drop(rows);
        drop(stmt);
        drop(att_stmt);

        let mut stmt = conn
            .prepare(
                "SELECT idempotency_key, created_at, state, payload, receipt, last_error \
                 FROM applications ORDER BY created_at, rowid",
            )
            .map_err(db)?;
        let mut hist_stmt = conn
            .prepare(
                "SELECT id, body, at FROM application_history WHERE idempotency_key = ?1 \
                 ORDER BY at, rowid",
            )
            .map_err(db)?;
        let mut link_stmt = conn
            .prepare(
                "SELECT document_id, tag FROM application_documents \
                 WHERE idempotency_key = ?1 ORDER BY document_id",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let k = text(r, 0)?;
            let mut n = 0usize;
            let p_place = Place::new(T_APPLICATIONS, &k, "payload");
            let sealed = blob(r, 3, &p_place)?;
            n += sealed.len();
            let payload: SubmitApplication = open_json(&self.key, &p_place, sealed)?;
            let r_place = Place::new(T_APPLICATIONS, &k, "receipt");
            let receipt = match opt_blob(r, 4, &r_place)? {
                Some(b) => {
                    n += b.len();
                    Some(open_json(&self.key, &r_place, b)?)
                }
                None => None,
            };
            let e_place = Place::new(T_APPLICATIONS, &k, "last_error");
            let last_error = match opt_blob(r, 5, &e_place)? {
                Some(b) => {
                    n += b.len();
                    let bytes = self.key.open(&e_place, b)?;
                    Some(String::from_utf8(bytes.to_vec()).map_err(|_| e_place.tampered())?)
                }
                None => None,
            };
            let mut history = Vec::new();
            let mut hrows = hist_stmt.query([&k]).map_err(db)?;
            while let Some(h) = hrows.next().map_err(db)? {
                let id = text(h, 0)?;
                let place = Place::new(T_HISTORY, &id, "body").with_parent(&k);
                let b = blob(h, 1, &place)?;
                n += b.len();
                let change: StatusChange = open_json(&self.key, &place, b)?;
                if text(h, 2)? != change.at {
                    return Err(place.tampered());
                }
                history.push(BHistory { change, id });
            }
            drop(hrows);
            let mut document_ids = Vec::new();
            let mut lrows = link_stmt.query([&k]).map_err(db)?;
            while let Some(l) = lrows.next().map_err(db)? {
                let doc = text(l, 0)?;
                match l.get_ref(1).map_err(db)? {
                    rusqlite::types::ValueRef::Blob(t) if t == link_tag(&self.lookup, &k, &doc) => {
                    }
                    _ => {
                        return Err(VaultError::Tampered {
                            table: "application_documents",
                            id: k,
                        })
                    }
                }
                document_ids.push(doc);
            }
            drop(lrows);
            w.json_frame(
                R_APPLICATION,
                &BApplication {
                    created_at: text(r, 1)?,
                    state: text(r, 2)?,
                    idempotency_key: k,
                    payload,
                    receipt,
                    last_error,
                    document_ids,
                    history,
                },
            )?;
            counts.applications += 1;
            step(n, progress);
        }
        drop(rows);
        drop(stmt);
        drop(hist_stmt);
        drop(link_stmt);

        let mut stmt = conn
            .prepare("SELECT id, at, body FROM disclosures ORDER BY at, rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let id = text(r, 0)?;
            let place = Place::new(T_DISCLOSURES, &id, "body");
            let sealed = blob(r, 2, &place)?;
            let sealed_body: SealedDisclosure = open_json(&self.key, &place, sealed)?;
            if text(r, 1)? != sealed_body.at {
                return Err(place.tampered());
            }
            w.json_frame(
                R_DISCLOSURE,
                &BDisclosure {
                    at: sealed_body.at,
                    id,
                    body: sealed_body.body,
                },
            )?;
            counts.disclosures += 1;
            step(sealed.len(), progress);
        }
        drop(rows);
        drop(stmt);

        w.json_frame(R_END, &counts)?;
        drop(tx);
        progress(total, total);
        Ok(Exported { counts, documents })
    }

    /// The access-log entry of an export.
    fn log_backup(&mut self, dest: &Path, e: &Exported) -> Result<(), VaultError> {
        let name: String = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let mut parts: Vec<String> = e
            .documents
            .iter()
            .take(MAX_SUMMARY_ITEMS)
            .map(|(_, kind, number)| mask(*kind, number))
            .collect();
        if e.documents.len() > MAX_SUMMARY_ITEMS {
            parts.push(format!("+{} more", e.documents.len() - MAX_SUMMARY_ITEMS));
        }
        let c = e.counts;
        let summary = format!(
            "{} profiles, {} documents, {} attachments, {} applications{}{}",
            c.profiles,
            c.documents,
            c.attachments,
            c.applications,
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        );
        insert_disclosure(
            &self.conn,
            &self.key,
            &self.rng,
            &now_rfc3339()?,
            DisclosureBody {
                channel: DisclosureChannel::Backup,
                recipient: format!("tệp sao lưu (backup file) {name}"),
                purpose: "encrypted backup of the whole vault".into(),
                legal_basis: "the citizen's own request".into(),
                document_ids: e.documents.iter().map(|(id, _, _)| id.clone()).collect(),
                summary,
            },
        )
        .map(drop)
    }

    // ---- import ----------------------------------------------------------

    /// Restores a backup made by [`Vault::export_backup`] (on this or
    /// another device) into this vault.
    ///
    /// First the **whole file** is decrypted and checked without changing
    /// anything: a passphrase that does not open it is
    /// [`VaultError::WrongPassphrase`]; an empty, foreign, truncated,
    /// reordered, spliced or altered file is [`VaultError::BackupCorrupt`]
    /// with the reason. Then, in **one transaction**, its records are
    /// merged by id and re-encrypted under this vault's key: records whose
    /// id is already in the vault are kept as they are (importing twice
    /// adds nothing); a document whose kind and number are already stored
    /// under another id is skipped (`skipped_documents`) with its
    /// attachments, and applications and log entries pointing at it are
    /// pointed at the stored one. The citizen's own (`self`) profile is
    /// taken from the backup only while this vault's is still blank.
    ///
    /// `progress(done, total)` counts bytes of the file read, twice (the
    /// check, then the merge): `total` is twice the file size; monotonic,
    /// ending with `done == total`. The summary counts what was **added**;
    /// `bytes` is the file size.
    pub fn import_backup(
        &mut self,
        src: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        let (file, len, header) = open_backup(src)?;
        let key = BackupKey::derive(passphrase, &header.salt, header.iterations)?;
        if !key.verify_check_value(&header.check) {
            return Err(VaultError::WrongPassphrase);
        }
        let total = len.saturating_mul(2);
        progress(0, total);
        // Pass 1: everything decrypts, authenticates and makes sense.
        {
            let mut report = |d: u64| progress(d, total);
            let mut r = ChunkReader::new(file, &key, &header, len, &mut report)?;
            read_stream(&mut r, &mut |_| Ok(()))?;
        }
        // Pass 2: the same file again, applied in one transaction.
        let (file, len2, header2) = open_backup(src)?;
        if len2 != len || header2.bytes != header.bytes {
            return Err(corrupt("the file changed during the import"));
        }
        let Vault {
            conn,
            key: vkey,
            lookup,
            rng,
            files,
            ..
        } = self;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        // Attachment files this import writes: removed unless it commits.
        let mut pending = Pending::new(files);
        let mut applier = Applier {
            conn: &tx,
            key: vkey,
            lookup,
            rng,
            files,
            pending: &mut pending,
            same_number: HashMap::new(),
            added: BackupSummary::default(),
        };
        {
            let mut report = |d: u64| progress(len.saturating_add(d), total);
            let mut r = ChunkReader::new(file, &key, &header, len, &mut report)?;
            read_stream(&mut r, &mut |rec| applier.apply(rec))?;
        }
        let mut added = applier.added;
        tx.commit().map_err(db)?;
        pending.committed();
        added.bytes = len;
        progress(total, total);
        Ok(added)
    }
}

/// Opens a backup file and reads and checks its header.
fn open_backup(src: &Path) -> Result<(File, u64, Header), VaultError> {
    let mut file =
        File::open(src).map_err(|e| io(format_args!("cannot open {}", src.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| io(format_args!("cannot read {}", src.display()), e))?
        .len();
    let n = usize::try_from(len.min(HEADER_LEN as u64)).unwrap_or(HEADER_LEN);
    let mut head = vec![0u8; n];
    file.read_exact(&mut head)
        .map_err(|e| io(format_args!("cannot read {}", src.display()), e))?;
    let header = Header::parse(&head, len)?;
    Ok((file, len, header))
}

/// A backup passphrase protects a file anyone may copy: at least 8
/// characters, not blank, not one character repeated.
fn check_backup_passphrase(p: &str) -> Result<(), VaultError> {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() < 8 {
        return Err(VaultError::WeakPin(
            "a backup passphrase needs at least 8 characters".into(),
        ));
    }
    if p.trim().is_empty() || chars.iter().all(|c| *c == chars[0]) {
        return Err(VaultError::WeakPin(
            "the backup passphrase is too easy to guess".into(),
        ));
    }
    if chars.iter().any(|c| c.is_control()) {
        return Err(VaultError::WeakPin(
            "the backup passphrase contains control characters".into(),
        ));
    }
    Ok(())
}

/// On-disk size of an attachment file of `n` plaintext bytes (progress).
fn sealed_len(n: usize) -> usize {
    usize::try_from(crate::files::sealed_file_len(n as u64)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DocumentInput, MemoryKeyStore, NewAttachment};

    fn vault(dir: &Path) -> Vault {
        let keys = MemoryKeyStore::new();
        let mut v = Vault::create_with_kdf(
            &dir.join("v.sqlite3"),
            Some(&keys),
            None,
            KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let mut fields = BTreeMap::new();
        fields.insert("title".to_owned(), "Sổ hộ khẩu".to_owned());
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.resize(300_000, 7);
        v.add_document(
            &DocumentInput {
                profile_id: SELF_PROFILE_ID.into(),
                kind: DocumentKind::Other,
                fields,
                custom_fields: vec![],
            },
            &[NewAttachment {
                file_name: "so.pdf".into(),
                mime: "application/pdf".into(),
                bytes: pdf,
            }],
        )
        .unwrap();
        v
    }

    #[test]
    fn a_full_disk_is_disk_full_and_leaves_no_file_and_no_log_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = vault(dir.path());
        let dest = dir.path().join("b.cdsbackup");
        for left in [0, 10, HEADER_LEN as u64 + 100, 200_000] {
            let err = v
                .export_backup_limited(&dest, "mật khẩu sao lưu", &mut |_, _| {}, Some(left))
                .unwrap_err();
            assert_eq!(err, VaultError::DiskFull, "after {left} bytes");
            assert!(!dest.exists());
            assert!(!tmp_path(&dest).exists());
            assert!(v.access_log().unwrap().is_empty());
        }
        // With room it works, and is logged once.
        v.export_backup_limited(&dest, "mật khẩu sao lưu", &mut |_, _| {}, Some(10_000_000))
            .unwrap();
        assert!(dest.exists() && !tmp_path(&dest).exists());
        assert_eq!(v.access_log().unwrap().len(), 1);
    }

    #[test]
    fn the_writer_never_seals_an_empty_last_chunk_and_frames_round_trip() {
        let key = BackupKey::derive("passphrase", &[1; SALT_LEN], 1000).unwrap();
        let header = Header::new(1000, [1; SALT_LEN], &key.check_value()).unwrap();
        // Exactly one full chunk of data: one chunk, flagged last.
        let mut w = ChunkWriter::new(Vec::new(), &key, header.hash);
        w.write(&vec![5u8; CHUNK_SIZE]).unwrap();
        let (out, n) = w.finish().unwrap();
        assert_eq!(out.len(), CHUNK_SIZE + TAG_LEN);
        assert_eq!(n as usize, out.len());
        assert!(key
            .open_chunk(0, &chunk_aad(&header.hash, 0, true), &out)
            .is_ok());
    }

    #[test]
    fn headers_round_trip_and_refuse_bad_values() {
        let h = Header::new(600_000, [3; SALT_LEN], &[9; HASH_LEN]).unwrap();
        let p = Header::parse(&h.bytes, 1000).unwrap();
        assert_eq!(
            (p.iterations, p.salt, p.chunk_size, p.check),
            (600_000, [3; SALT_LEN], CHUNK_SIZE as u32, [9; HASH_LEN])
        );
        // A valid hash over a too-low iteration count is still refused.
        let mut low = h.bytes;
        low[11..15].copy_from_slice(&999u32.to_be_bytes());
        let hash = sha256(&low[..HEADER_FIELDS_LEN]);
        low[HEADER_FIELDS_LEN..].copy_from_slice(&hash);
        assert!(matches!(
            Header::parse(&low, 1000),
            Err(VaultError::BackupCorrupt(r)) if r.contains("iterations")
        ));
        assert!(Header::parse(&h.bytes, HEADER_LEN as u64).is_err());
    }

    #[test]
    fn weak_backup_passphrases_are_refused() {
        for p in ["", "short", "aaaaaaaaaa", "          ", "abc\u{0}defgh"] {
            assert_eq!(check_backup_passphrase(p).unwrap_err().kind(), "weak_pin");
        }
        assert!(check_backup_passphrase("mật khẩu sao lưu").is_ok());
    }
}
