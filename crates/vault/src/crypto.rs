//! Keys and the sealed-blob format.
//!
//! Two key types, kept apart by the type system:
//! - [`Kek`], a key-encryption key. It can only wrap and unwrap a
//!   [`VaultKey`]; it has no method that touches records.
//! - [`VaultKey`], which seals and opens records.
//!
//! Both hold their 32 bytes in [`Zeroizing`] and print as `<redacted>`.
//! A [`VaultKey`] also holds ring's expanded AES-256-GCM key schedule
//! (`LessSafeKey`), built once per unlock instead of once per record, for as
//! long as the vault is open; ring does not zeroize that schedule, which is
//! the one copy of key material outside our control (it is dropped with the
//! vault, as before it was dropped after every call). Other keys (KEKs,
//! backup and lookup keys) build their schedule per call.
//!
//! A sealed blob is `version (1 byte) || nonce (12 bytes) || ciphertext || tag
//! (16 bytes)`, AES-256-GCM with a fresh random nonce per seal.

use ring::aead::{self, LessSafeKey, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::VaultError;

/// Length of every key in the vault, in bytes (AES-256).
pub(crate) const KEY_LEN: usize = 32;
/// Version byte at the start of every sealed blob.
pub(crate) const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + NONCE_LEN;
const TAG_LEN: usize = 16;

/// The sealed blob did not authenticate (wrong key, changed bytes, moved to
/// another place, unknown version or truncated). Deliberately carries no
/// detail: the caller knows the place and turns it into an error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unauthentic;

/// The place a record ciphertext belongs to; rendered as its associated data
/// `cds-vault/v1|<table>|<row id>|<column>` (plus `|<parent id>` for rows
/// that belong to another row, such as an attachment's document).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub table: &'static str,
    pub id: &'a str,
    pub column: &'static str,
    pub parent: Option<&'a str>,
}

impl<'a> Place<'a> {
    pub(crate) fn new(table: &'static str, id: &'a str, column: &'static str) -> Self {
        Place {
            table,
            id,
            column,
            parent: None,
        }
    }

    pub(crate) fn with_parent(mut self, parent: &'a str) -> Self {
        self.parent = Some(parent);
        self
    }

    pub(crate) fn aad(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_aad(&mut v);
        v
    }

    /// Appends the associated data to `out` (no formatting machinery: this
    /// runs for every record opened).
    pub(crate) fn write_aad(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"cds-vault/v");
        out.push(b'0' + FORMAT_VERSION);
        for part in [self.table, self.id, self.column] {
            out.push(b'|');
            out.extend_from_slice(part.as_bytes());
        }
        if let Some(p) = self.parent {
            out.push(b'|');
            out.extend_from_slice(p.as_bytes());
        }
    }

    /// Runs `f` with the associated data, built in a stack buffer when it
    /// fits (ids are UUIDs, so it always does in practice).
    fn with_aad<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let len = 12
            + self.table.len()
            + self.id.len()
            + self.column.len()
            + self.parent.map_or(0, |p| p.len() + 1);
        if len <= 256 {
            let mut buf = [0u8; 256];
            let mut n = 0;
            let mut put = |b: &[u8]| {
                buf[n..n + b.len()].copy_from_slice(b);
                n += b.len();
            };
            put(b"cds-vault/v");
            put(&[b'0' + FORMAT_VERSION]);
            for part in [self.table, self.id, self.column] {
                put(b"|");
                put(part.as_bytes());
            }
            if let Some(p) = self.parent {
                put(b"|");
                put(p.as_bytes());
            }
            f(&buf[..n])
        } else {
            f(&self.aad())
        }
    }

    /// The error for a record at this place that failed to open.
    pub(crate) fn tampered(&self) -> VaultError {
        VaultError::Tampered {
            table: self.table,
            id: self.id.to_owned(),
        }
    }
}

/// Length of a KDF salt, in bytes.
pub(crate) const SALT_LEN: usize = 16;

/// Where a wrapped copy of the vault key comes from. Each slot has its own
/// row in `meta` and its own associated data, so one wrap can never be
/// passed off as another. The PIN slot's associated data also carries its
/// KDF parameters, so parameters changed in the file fail authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WrapSlot {
    /// Wrapped by the KEK held in the [`crate::KeyStore`].
    Keyring,
    /// Wrapped by the KEK derived from the PIN or passphrase.
    Pin {
        iterations: u32,
        salt: [u8; SALT_LEN],
    },
}

impl WrapSlot {
    fn aad(self) -> Vec<u8> {
        match self {
            WrapSlot::Keyring => b"cds-vault/v1/wrap/keyring".to_vec(),
            WrapSlot::Pin { iterations, salt } => {
                let mut a = b"cds-vault/v2/wrap/pin|pbkdf2-hmac-sha256|".to_vec();
                a.extend_from_slice(&iterations.to_be_bytes());
                a.push(b'|');
                a.extend_from_slice(&salt);
                a
            }
        }
    }
}

/// Raw AES-256 key bytes; private so that only [`Kek`] and [`VaultKey`]
/// decide what a key may be used for.
struct KeyBytes(Zeroizing<[u8; KEY_LEN]>);

impl KeyBytes {
    fn generate(rng: &SystemRandom) -> Result<Self, VaultError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(&mut k[..]).map_err(|_| rng_failed())?;
        Ok(KeyBytes(k))
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(bytes);
        Some(KeyBytes(k))
    }

    fn ring_key(&self) -> Result<LessSafeKey, VaultError> {
        UnboundKey::new(&AES_256_GCM, &self.0[..])
            .map(LessSafeKey::new)
            .map_err(|_| VaultError::Storage("the AES-256-GCM key could not be set up".into()))
    }

    fn seal(
        &self,
        rng: &SystemRandom,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        seal_with(&self.ring_key()?, rng, aad, plaintext)
    }

    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        let key = self.ring_key().map_err(|_| Unauthentic)?;
        open_with(&key, aad, sealed)
    }
}

/// Seals `plaintext` under `key` with a fresh random nonce.
fn seal_with(
    key: &LessSafeKey,
    rng: &SystemRandom,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| rng_failed())?;
    // Exact capacity: the buffer holds plaintext for a moment and must
    // never reallocate (which would leave a copy behind), and it is
    // zeroized if anything below fails.
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN));
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut out[HEADER_LEN..],
        )
        .map_err(|_| VaultError::Storage("encryption failed (record too large?)".into()))?;
    out.extend_from_slice(tag.as_ref());
    // Now ciphertext only: safe to hand out without zeroizing.
    Ok(std::mem::take(&mut *out))
}

/// Opens a sealed blob borrowed from elsewhere (one copy, then in place).
fn open_with(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
    if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != FORMAT_VERSION {
        return Err(Unauthentic);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&sealed[1..HEADER_LEN]);
    let mut buf = Zeroizing::new(sealed[HEADER_LEN..].to_vec());
    let len = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf[..],
        )
        .map_err(|_| Unauthentic)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// Opens a sealed blob the caller owns, in place: no second buffer. The
/// plaintext is moved to the front of the same allocation and the buffer
/// zeroized if anything fails after decryption started.
fn open_owned_with(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
    let mut buf = Zeroizing::new(sealed);
    if buf.len() < HEADER_LEN + TAG_LEN || buf[0] != FORMAT_VERSION {
        return Err(Unauthentic);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&buf[1..HEADER_LEN]);
    let len = key
        .open_within(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf[..],
            HEADER_LEN..,
        )
        .map_err(|_| Unauthentic)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

impl KeyBytes {
    /// AES-256-GCM with a caller-chosen nonce, output `ciphertext || tag`.
    /// Only for keys used once per file (the backup key), where a counter
    /// nonce never repeats.
    fn seal_counter(
        &self,
        counter: u64,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let key = self.ring_key()?;
        let mut out = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
        out.extend_from_slice(plaintext);
        key.seal_in_place_append_tag(counter_nonce(counter), aead::Aad::from(aad), &mut *out)
            .map_err(|_| VaultError::Storage("encryption failed (chunk too large?)".into()))?;
        Ok(std::mem::take(&mut *out))
    }

    fn open_counter(
        &self,
        counter: u64,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        let key = self.ring_key().map_err(|_| Unauthentic)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = key
            .open_in_place(counter_nonce(counter), aead::Aad::from(aad), &mut buf[..])
            .map_err(|_| Unauthentic)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn counter_nonce(counter: u64) -> aead::Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[NONCE_LEN - 8..].copy_from_slice(&counter.to_be_bytes());
    aead::Nonce::assume_unique_for_key(n)
}

/// PBKDF2-HMAC-SHA256 of `secret` into 32 zeroized bytes.
fn pbkdf2(secret: &[u8], salt: &[u8], iterations: u32) -> Result<KeyBytes, VaultError> {
    let iterations = std::num::NonZeroU32::new(iterations)
        .ok_or_else(|| VaultError::Storage("zero KDF iterations".into()))?;
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        secret,
        &mut k[..],
    );
    Ok(KeyBytes(k))
}

/// Random bytes for salts and ids of key material.
pub(crate) fn random_salt(rng: &SystemRandom) -> Result<[u8; SALT_LEN], VaultError> {
    let mut s = [0u8; SALT_LEN];
    rng.fill(&mut s).map_err(|_| rng_failed())?;
    Ok(s)
}

/// Length type for HKDF output.
struct Len32;

impl ring::hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

fn rng_failed() -> VaultError {
    VaultError::Storage("the system random number generator failed".into())
}

/// Key-encryption key: lives in the [`crate::KeyStore`], only wraps the
/// vault key.
pub(crate) struct Kek(KeyBytes);

impl Kek {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self, VaultError> {
        KeyBytes::generate(rng).map(Kek)
    }

    /// A key store entry that is not exactly 32 bytes cannot be our KEK.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        KeyBytes::from_slice(bytes).map(Kek)
    }

    /// The KEK of a PIN or passphrase (PBKDF2-HMAC-SHA256).
    pub(crate) fn from_pin(
        pin: &str,
        salt: &[u8; SALT_LEN],
        iterations: u32,
    ) -> Result<Self, VaultError> {
        pbkdf2(pin.as_bytes(), salt, iterations).map(Kek)
    }

    /// The bytes to put in the key store.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0 .0[..]
    }

    pub(crate) fn wrap(
        &self,
        rng: &SystemRandom,
        key: &VaultKey,
        slot: WrapSlot,
    ) -> Result<Vec<u8>, VaultError> {
        self.0.seal(rng, &slot.aad(), &key.0 .0[..])
    }

    pub(crate) fn unwrap_key(
        &self,
        wrapped: &[u8],
        slot: WrapSlot,
    ) -> Result<VaultKey, Unauthentic> {
        let raw = self.0.open(&slot.aad(), wrapped)?;
        KeyBytes::from_slice(&raw)
            .ok_or(Unauthentic)
            .and_then(|k| VaultKey::from_bytes(k).map_err(|_| Unauthentic))
    }
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

/// The random key that encrypts every record of one vault, with its AES-GCM
/// key schedule built once (when the key is unwrapped or made).
pub(crate) struct VaultKey(KeyBytes, LessSafeKey);

impl VaultKey {
    fn from_bytes(bytes: KeyBytes) -> Result<Self, VaultError> {
        let aead = bytes.ring_key()?;
        Ok(VaultKey(bytes, aead))
    }

    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self, VaultError> {
        KeyBytes::generate(rng).and_then(VaultKey::from_bytes)
    }

    pub(crate) fn seal(
        &self,
        rng: &SystemRandom,
        place: &Place<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        place.with_aad(|aad| seal_with(&self.1, rng, aad, plaintext))
    }

    /// Like [`VaultKey::open`] for a sealed blob the caller owns (read out
    /// of SQLite as a `Vec`): decrypted in place, no second copy.
    pub(crate) fn open_owned(
        &self,
        place: &Place<'_>,
        sealed: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        place
            .with_aad(|aad| open_owned_with(&self.1, aad, sealed))
            .map_err(|Unauthentic| place.tampered())
    }

    /// The key for keyed-hash lookups, derived with HKDF-SHA256 under its
    /// own label: knowing lookup hashes tells nothing about record keys.
    pub(crate) fn lookup_key(&self) -> Result<LookupKey, VaultError> {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"cds-vault/v2/hkdf-salt")
            .extract(&self.0 .0[..]);
        let okm = prk
            .expand(&[b"cds-vault/v2/lookup-key/hmac-sha256"], Len32)
            .map_err(|_| VaultError::Storage("HKDF failed".into()))?;
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        okm.fill(&mut k[..])
            .map_err(|_| VaultError::Storage("HKDF failed".into()))?;
        Ok(LookupKey(KeyBytes(k)))
    }

    /// Opens a record; any failure is reported as tampering at `place`.
    pub(crate) fn open(
        &self,
        place: &Place<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        place
            .with_aad(|aad| open_with(&self.1, aad, sealed))
            .map_err(|Unauthentic| place.tampered())
    }
}

/// The random key of one attachment file (see `files.rs`). Stored only
/// inside the attachment row's sealed reference (so it is wrapped by the
/// vault key, and key rotation re-wraps it without touching the file).
/// Used with counter nonces: the key is fresh for every file written, so a
/// counter never repeats under it.
pub(crate) struct FileKey(KeyBytes, LessSafeKey);

impl FileKey {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self, VaultError> {
        let bytes = KeyBytes::generate(rng)?;
        let aead = bytes.ring_key()?;
        Ok(FileKey(bytes, aead))
    }

    /// A key read back from a sealed reference; `None` if not 32 bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let bytes = KeyBytes::from_slice(bytes)?;
        let aead = bytes.ring_key().ok()?;
        Some(FileKey(bytes, aead))
    }

    /// The raw bytes, to be sealed into the reference (never stored in
    /// clear).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0 .0[..]
    }

    /// Seals `buf` (one chunk of plaintext) in place, appending the tag.
    pub(crate) fn seal_chunk(
        &self,
        counter: u64,
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), VaultError> {
        self.1
            .seal_in_place_append_tag(counter_nonce(counter), aead::Aad::from(aad), buf)
            .map_err(|_| VaultError::Storage("encryption failed (chunk too large?)".into()))
    }

    /// Opens `ciphertext || tag` in place; returns the plaintext length
    /// (the plaintext is at the start of `buf`).
    pub(crate) fn open_chunk(
        &self,
        counter: u64,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, Unauthentic> {
        self.1
            .open_in_place(counter_nonce(counter), aead::Aad::from(aad), buf)
            .map(|p| p.len())
            .map_err(|_| Unauthentic)
    }
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

/// Length of an AES-GCM tag, in bytes.
pub(crate) const AEAD_TAG_LEN: usize = TAG_LEN;

/// HMAC-SHA256 key for lookups by document number (never stored).
pub(crate) struct LookupKey(KeyBytes);

impl LookupKey {
    pub(crate) fn hash(&self, data: &[u8]) -> Vec<u8> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0 .0[..]);
        ring::hmac::sign(&key, data).as_ref().to_vec()
    }
}

impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupKey(<redacted>)")
    }
}

/// The key of one backup file, from its passphrase and salt. Encrypts
/// chunks with counter nonces: the salt is fresh for every file, so the
/// key is too, and a counter never repeats within a file.
pub(crate) struct BackupKey(KeyBytes);

impl BackupKey {
    pub(crate) fn derive(
        passphrase: &str,
        salt: &[u8; SALT_LEN],
        iterations: u32,
    ) -> Result<Self, VaultError> {
        pbkdf2(passphrase.as_bytes(), salt, iterations).map(BackupKey)
    }

    pub(crate) fn seal_chunk(
        &self,
        index: u64,
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        self.0.seal_counter(index, aad, plain)
    }

    pub(crate) fn open_chunk(
        &self,
        index: u64,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Unauthentic> {
        self.0.open_counter(index, aad, sealed)
    }

    /// A value that proves the passphrase without revealing the key:
    /// HMAC of a fixed label, compared in constant time.
    pub(crate) fn check_value(&self) -> Vec<u8> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0 .0[..]);
        ring::hmac::sign(&key, b"cds-backup/v1/passphrase-check")
            .as_ref()
            .to_vec()
    }

    pub(crate) fn verify_check_value(&self, expected: &[u8]) -> bool {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0 .0[..]);
        ring::hmac::verify(&key, b"cds-backup/v1/passphrase-check", expected).is_ok()
    }
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKey(<redacted>)")
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn doc_place(id: &str) -> Place<'_> {
        Place::new("documents", id, "body")
    }

    #[test]
    fn seal_open_round_trip() {
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = doc_place("a");
        for msg in [&b""[..], b"x", "Nguyễn Văn An".as_bytes(), &[0u8; 5000][..]] {
            let sealed = key.seal(&rng, &place, msg).unwrap();
            assert_eq!(sealed.len(), 1 + 12 + msg.len() + 16);
            assert_eq!(sealed[0], FORMAT_VERSION);
            assert_eq!(&key.open(&place, &sealed).unwrap()[..], msg);
        }
    }

    #[test]
    fn open_owned_decrypts_in_place_and_refuses_what_open_refuses() {
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = Place::new("attachments", "a", "data").with_parent("d");
        let msg = vec![0x5Au8; 70_000];
        let sealed = key.seal(&rng, &place, &msg).unwrap();
        assert_eq!(
            &key.open_owned(&place, sealed.clone()).unwrap()[..],
            &msg[..]
        );
        for i in [0, 1, 12, 13, 500, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x80;
            assert!(key.open_owned(&place, bad).is_err(), "flip at {i}");
        }
        assert!(key.open_owned(&place, sealed[..20].to_vec()).is_err());
        assert!(key.open_owned(&place, Vec::new()).is_err());
        let other = Place::new("attachments", "a", "thumb").with_parent("d");
        assert!(key.open_owned(&other, sealed).is_err());
        // The AAD built on the stack is the documented one.
        assert_eq!(
            place.with_aad(|a| a.to_vec()),
            b"cds-vault/v1|attachments|a|data|d".to_vec()
        );
    }

    #[test]
    fn aad_binds_table_row_column_and_parent() {
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = Place::new("attachments", "att-1", "data").with_parent("doc-1");
        let sealed = key.seal(&rng, &place, b"photo").unwrap();
        assert!(key.open(&place, &sealed).is_ok());
        let elsewhere = [
            Place::new("attachments", "att-2", "data").with_parent("doc-1"),
            Place::new("attachments", "att-1", "meta").with_parent("doc-1"),
            Place::new("documents", "att-1", "data").with_parent("doc-1"),
            Place::new("attachments", "att-1", "data").with_parent("doc-2"),
            Place::new("attachments", "att-1", "data"),
        ];
        for other in elsewhere {
            assert_eq!(
                key.open(&other, &sealed).unwrap_err(),
                VaultError::Tampered {
                    table: other.table,
                    id: other.id.to_owned()
                }
            );
        }
        assert_eq!(
            doc_place("r1").aad(),
            b"cds-vault/v1|documents|r1|body".to_vec()
        );
    }

    #[test]
    fn nonces_are_fresh_for_every_seal() {
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = doc_place("same");
        let mut nonces = HashSet::new();
        let mut blobs = HashSet::new();
        for _ in 0..2000 {
            let sealed = key.seal(&rng, &place, b"same plaintext").unwrap();
            assert!(nonces.insert(sealed[1..13].to_vec()), "nonce repeated");
            assert!(blobs.insert(sealed), "ciphertext repeated");
        }
    }

    #[test]
    fn tampered_wrong_key_truncated_and_unknown_version_fail() {
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let other = VaultKey::generate(&rng).unwrap();
        let place = doc_place("a");
        let sealed = key.seal(&rng, &place, b"secret").unwrap();
        assert!(other.open(&place, &sealed).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(key.open(&place, &bad).is_err(), "flip at byte {i} accepted");
        }
        assert!(key.open(&place, &sealed[..sealed.len() - 1]).is_err());
        assert!(key.open(&place, &sealed[..10]).is_err());
        assert!(key.open(&place, &[]).is_err());
    }

    #[test]
    fn kek_wraps_and_unwraps_only_with_the_same_kek_and_slot() {
        let rng = SystemRandom::new();
        let kek = Kek::generate(&rng).unwrap();
        let vk = VaultKey::generate(&rng).unwrap();
        let wrapped = kek.wrap(&rng, &vk, WrapSlot::Keyring).unwrap();
        assert_eq!(wrapped.len(), 1 + 12 + KEY_LEN + 16);
        let back = kek.unwrap_key(&wrapped, WrapSlot::Keyring).unwrap();
        // Same key: what one seals, the other opens.
        let place = doc_place("x");
        let sealed = vk.seal(&rng, &place, b"hi").unwrap();
        assert_eq!(&back.open(&place, &sealed).unwrap()[..], b"hi");
        // A PIN wrap only opens with the same PIN, salt and iterations.
        let salt = [3u8; SALT_LEN];
        let slot = WrapSlot::Pin {
            iterations: 10,
            salt,
        };
        let pin_kek = Kek::from_pin("482915", &salt, 10).unwrap();
        let pw = pin_kek.wrap(&rng, &vk, slot).unwrap();
        assert!(Kek::from_pin("482915", &salt, 10)
            .unwrap()
            .unwrap_key(&pw, slot)
            .is_ok());
        assert!(Kek::from_pin("482916", &salt, 10)
            .unwrap()
            .unwrap_key(&pw, slot)
            .is_err());
        let lowered = WrapSlot::Pin {
            iterations: 9,
            salt,
        };
        assert!(Kek::from_pin("482915", &salt, 9)
            .unwrap()
            .unwrap_key(&pw, lowered)
            .is_err());
        assert!(pin_kek.unwrap_key(&pw, WrapSlot::Keyring).is_err());
        let wrong = Kek::generate(&rng).unwrap();
        assert_eq!(
            wrong.unwrap_key(&wrapped, WrapSlot::Keyring).unwrap_err(),
            Unauthentic
        );
        // A wrap is not a record: the record AAD differs from the wrap AAD.
        assert!(vk.open(&place, &wrapped).is_err());
    }

    #[test]
    fn lookup_keys_differ_from_the_record_key_and_between_vaults() {
        let rng = SystemRandom::new();
        let a = VaultKey::generate(&rng).unwrap();
        let b = VaultKey::generate(&rng).unwrap();
        let h1 = a.lookup_key().unwrap().hash(b"cccd\x00079095001234");
        assert_eq!(h1, a.lookup_key().unwrap().hash(b"cccd\x00079095001234"));
        assert_eq!(h1.len(), 32);
        assert_ne!(h1, b.lookup_key().unwrap().hash(b"cccd\x00079095001234"));
        assert_ne!(h1, a.lookup_key().unwrap().hash(b"cccd\x00079095001235"));
        assert_ne!(&a.lookup_key().unwrap().0 .0[..], &a.0 .0[..]);
    }

    #[test]
    fn backup_chunks_bind_counter_and_aad() {
        let salt = [9u8; SALT_LEN];
        let k = BackupKey::derive("correct horse", &salt, 5).unwrap();
        let c = k.seal_chunk(7, b"aad", b"chunk").unwrap();
        assert_eq!(&k.open_chunk(7, b"aad", &c).unwrap()[..], b"chunk");
        assert!(k.open_chunk(8, b"aad", &c).is_err());
        assert!(k.open_chunk(7, b"aae", &c).is_err());
        let other = BackupKey::derive("correct horsf", &salt, 5).unwrap();
        assert!(other.open_chunk(7, b"aad", &c).is_err());
        assert!(k.verify_check_value(&k.check_value()));
        assert!(!other.verify_check_value(&k.check_value()));
    }

    #[test]
    fn keys_never_debug_print_their_bytes() {
        let rng = SystemRandom::new();
        let kek = Kek::generate(&rng).unwrap();
        let vk = VaultKey::generate(&rng).unwrap();
        assert_eq!(format!("{kek:?}"), "Kek(<redacted>)");
        assert_eq!(format!("{vk:?}"), "VaultKey(<redacted>)");
        assert!(Kek::from_slice(&[0u8; 31]).is_none());
        assert!(Kek::from_slice(&[0u8; 33]).is_none());
        assert_eq!(Kek::from_slice(&[7u8; 32]).unwrap().as_bytes(), &[7u8; 32]);
    }
}
