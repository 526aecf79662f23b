//! The backup file's constants, header and record types: what a backup
//! file holds, written by [`super::export`] and read by [`super::check`].

use super::*;

/// First 8 bytes of every backup file. The high first byte and the newline
/// catch transfers that mangle bytes or line endings.
pub(crate) const MAGIC: [u8; 8] = *b"\x89CDSBAK\n";
/// Format version in the header.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// KDF identifier in the header: PBKDF2-HMAC-SHA256.
pub(super) const KDF_PBKDF2_SHA256: u8 = 1;
pub(super) const HASH_LEN: usize = 32;
/// Header bytes covered by the header hash.
pub(super) const HEADER_FIELDS_LEN: usize = 8 + 2 + 1 + 4 + SALT_LEN + 4 + HASH_LEN;
/// The whole header: fields, then SHA-256 of the fields.
pub(crate) const HEADER_LEN: usize = HEADER_FIELDS_LEN + HASH_LEN;
/// AES-GCM tag after each chunk's ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk (every chunk but the last is exactly this).
pub(crate) const CHUNK_SIZE: usize = 64 * 1024;
pub(super) const MIN_CHUNK_SIZE: u32 = 1024;
pub(super) const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// Most PBKDF2 iterations an import accepts (a file cannot make the app
/// spin for minutes).
pub(super) const MAX_IMPORT_ITERATIONS: u32 = 10_000_000;
/// Largest record other than an attachment (an application with a long
/// history, a document with many fields).
pub(super) const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;
/// Largest thumbnail accepted (ours are JPEGs of at most 320 px).
pub(super) const MAX_THUMB_BYTES: usize = 4 * 1024 * 1024;
/// Longest id accepted (ours are UUIDs, `self`, idempotency keys ≤ 128).
pub(super) const MAX_ID_CHARS: usize = 128;
/// Record types in the plaintext stream.
pub(super) const R_PROFILE: u8 = 1;
pub(super) const R_DOCUMENT: u8 = 2;
pub(super) const R_ATTACHMENT: u8 = 3;
pub(super) const R_APPLICATION: u8 = 4;
pub(super) const R_DISCLOSURE: u8 = 5;
pub(super) const R_END: u8 = 0xFF;
/// Access-log entries list at most this many masked numbers.
pub(super) const MAX_SUMMARY_ITEMS: usize = 10;

// ---- records ----------------------------------------------------------

#[derive(Serialize, Deserialize)]
pub(super) struct BProfile {
    pub(super) id: String,
    pub(super) created_at: String,
    pub(super) full_name: String,
    pub(super) relation: Relation,
    pub(super) date_of_birth: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct BDocument {
    pub(super) id: String,
    pub(super) profile_id: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) kind: DocumentKind,
    pub(super) fields: BTreeMap<String, String>,
    pub(super) custom_fields: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct BAttachment {
    pub(super) id: String,
    pub(super) document_id: String,
    pub(super) created_at: String,
    pub(super) file_name: String,
    pub(super) mime: String,
    /// Length of the data that follows the JSON.
    pub(super) size: u64,
    /// Length of the thumbnail after the data, if there is one.
    pub(super) thumb_size: Option<u64>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct BHistory {
    pub(super) id: String,
    pub(super) change: StatusChange,
}

#[derive(Serialize, Deserialize)]
pub(super) struct BApplication {
    pub(super) idempotency_key: String,
    pub(super) created_at: String,
    pub(super) state: String,
    pub(super) payload: SubmitApplication,
    pub(super) receipt: Option<ApplicationReceipt>,
    pub(super) last_error: Option<String>,
    /// Since delivery failures are typed; absent in older backups (and an
    /// older app ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_error_kind: Option<crate::DeliveryErrorKind>,
    pub(super) document_ids: Vec<String>,
    pub(super) history: Vec<BHistory>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct BDisclosure {
    pub(super) id: String,
    pub(super) at: String,
    pub(super) body: DisclosureBody,
}

#[derive(Serialize, Deserialize, Default, PartialEq, Eq, Debug, Clone, Copy)]
pub(super) struct Counts {
    pub(super) profiles: u32,
    pub(super) documents: u32,
    pub(super) attachments: u32,
    pub(super) applications: u32,
    pub(super) disclosures: u32,
}

/// One logical record read back from a backup.
pub(super) enum Rec {
    Profile(BProfile),
    Document(BDocument),
    Attachment(BAttachment, Zeroizing<Vec<u8>>, Option<Zeroizing<Vec<u8>>>),
    Application(Box<BApplication>),
    Disclosure(BDisclosure),
}

pub(super) fn corrupt(reason: impl Into<String>) -> VaultError {
    VaultError::BackupCorrupt(reason.into())
}

pub(super) fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(d.as_ref());
    out
}

/// Associated data of chunk `index`: the header hash, the index and
/// whether it is the last chunk.
pub(super) fn chunk_aad(header_hash: &[u8; HASH_LEN], index: u64, last: bool) -> Vec<u8> {
    let mut a = b"cds-backup/v1/chunk|".to_vec();
    a.extend_from_slice(header_hash);
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

// ---- header -----------------------------------------------------------

pub(super) struct Header {
    pub(super) bytes: [u8; HEADER_LEN],
    pub(super) iterations: u32,
    pub(super) salt: [u8; SALT_LEN],
    pub(super) chunk_size: u32,
    pub(super) check: [u8; HASH_LEN],
    pub(super) hash: [u8; HASH_LEN],
}

impl Header {
    pub(super) fn new(
        iterations: u32,
        salt: [u8; SALT_LEN],
        check: &[u8],
    ) -> Result<Header, VaultError> {
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
    pub(super) fn parse(b: &[u8], file_len: u64) -> Result<Header, VaultError> {
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
        let floor = crate::INSECURE_TEST_ITERATIONS;
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
