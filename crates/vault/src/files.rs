//! Attachment bytes and thumbnails as sealed, chunked files beside the
//! database (`<vault path>.files/`), so a large attachment is written once
//! (not once to SQLite's WAL and again at checkpoint).
//!
//! Each file has its own random [`FileKey`]. The attachment row keeps, in
//! its sealed `data` / `thumb` cell (place label [`DATA_REF`] /
//! [`THUMB_REF`]), a small *reference*: the file key, the plaintext size
//! and the file name; the plaintext `data_file` / `thumb_file` columns
//! repeat the name so the open-time sweep can tell referenced files from
//! orphans without the key, and every read checks the column against the
//! sealed name. Key rotation re-seals only the references (the files are
//! never rewritten).
//!
//! File format (integers big-endian):
//!
//! ```text
//! header (21 bytes): magic 89 'C' 'D' 'S' 'F' 'I' 'L' 0A, version (1),
//!                    chunk size C (u32, 65 536), plaintext size (u64)
//! chunks: AES-256-GCM(file key, nonce = chunk index as a 96-bit counter,
//!         AAD = reference place's associated data || "|file|" || header ||
//!         index (u64) || last (u8)) = ciphertext || 16-byte tag;
//!         every chunk but the last holds C bytes; the last 0..=C (exactly
//!         one, empty, chunk for an empty file).
//! ```
//!
//! A file swapped with another attachment's (another key), cut, extended,
//! or with any byte changed fails authentication ([`VaultError::Tampered`]);
//! a missing file is [`VaultError::Corrupt`] naming the attachment.
//!
//! Writing: temporary name `<name>.tmp` (fresh random name), written,
//! `fsync`, renamed to `<name>`, directory `fsync` — all while the caller
//! holds SQLite's write lock (an immediate transaction) and **before** the
//! row that references it commits. Deleting: the row's delete commits,
//! then the file is removed. A crash in between leaves an unreferenced
//! file, which [`FileStore::sweep`] removes at the next open (also under
//! the write lock, so it never races a writer).

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, TransactionBehavior};
use std::cell::Cell;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::crypto::{FileKey, Place, VaultKey, AEAD_TAG_LEN};
use crate::error::{db, io};
use crate::{VaultError, Zeroizing};

/// Place label of the sealed reference to an attachment's data file.
pub(crate) const DATA_REF: &str = "data/file";
/// Place label of the sealed reference to an attachment's thumbnail file.
pub(crate) const THUMB_REF: &str = "thumb/file";

/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
const MAGIC: [u8; 8] = *b"\x89CDSFIL\n";
const FILE_VERSION: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 4 + 8;
/// Version byte of a sealed reference's plaintext.
const REF_VERSION: u8 = 1;
const KEY_LEN: usize = crate::crypto::KEY_LEN;
/// Our file names: 32 lower-case hex digits and this suffix.
const SUFFIX: &str = ".cdsf";
const TMP_SUFFIX: &str = ".tmp";

/// `<vault path>.files`: the directory of a vault's attachment files.
pub(crate) fn files_dir(vault: &Path) -> PathBuf {
    let mut p = vault.as_os_str().to_owned();
    p.push(".files");
    PathBuf::from(p)
}

/// Whether `name` is one of our file names (never a path: a tampered
/// column cannot point outside the directory).
fn is_our_name(name: &str) -> bool {
    name.strip_suffix(SUFFIX).is_some_and(|stem| {
        stem.len() == 32 && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Size on disk of a file holding `size` plaintext bytes.
pub(crate) fn sealed_file_len(size: u64) -> u64 {
    let chunks = size.div_ceil(CHUNK as u64).max(1);
    HEADER_LEN as u64 + size + chunks * AEAD_TAG_LEN as u64
}

fn header(size: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8] = FILE_VERSION;
    h[9..13].copy_from_slice(&(CHUNK as u32).to_be_bytes());
    h[13..].copy_from_slice(&size.to_be_bytes());
    h
}

fn chunk_aad(place_aad: &[u8], header: &[u8; HEADER_LEN], index: u64, last: bool) -> Vec<u8> {
    let mut a = Vec::with_capacity(place_aad.len() + 6 + HEADER_LEN + 9);
    a.extend_from_slice(place_aad);
    a.extend_from_slice(b"|file|");
    a.extend_from_slice(header);
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

/// What the row's sealed cell holds.
struct Reference {
    key: FileKey,
    size: u64,
    name: String,
}

impl Reference {
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(1 + KEY_LEN + 8 + self.name.len()));
        v.push(REF_VERSION);
        v.extend_from_slice(self.key.as_bytes());
        v.extend_from_slice(&self.size.to_be_bytes());
        v.extend_from_slice(self.name.as_bytes());
        v
    }

    /// `None` for anything we did not write (it authenticated, so this is
    /// a format change or our bug, reported as tampering at the place).
    fn decode(b: &[u8]) -> Option<Reference> {
        if b.len() < 1 + KEY_LEN + 8 || b[0] != REF_VERSION {
            return None;
        }
        let key = FileKey::from_slice(&b[1..1 + KEY_LEN])?;
        let size = u64::from_be_bytes(b[1 + KEY_LEN..1 + KEY_LEN + 8].try_into().ok()?);
        let name = std::str::from_utf8(&b[1 + KEY_LEN + 8..]).ok()?.to_owned();
        is_our_name(&name).then_some(Reference { key, size, name })
    }
}

/// A file just written: its name (for the plaintext column) and the sealed
/// reference (for the sealed cell).
pub(crate) struct Written {
    pub name: String,
    pub sealed_ref: Vec<u8>,
}

/// The vault's attachment-file directory.
#[derive(Debug)]
pub(crate) struct FileStore {
    dir: PathBuf,
    /// Test hook: report a full disk after this many more bytes written to
    /// files (`None`: no limit). Never set outside tests.
    pub(crate) disk_left: Cell<Option<u64>>,
}

/// Files written by a transaction that has not committed yet: removed when
/// dropped unless [`Pending::committed`] was called (a failed or
/// abandoned write leaves no file behind; after a crash the sweep does it).
pub(crate) struct Pending<'a> {
    files: &'a FileStore,
    names: Vec<String>,
}

impl<'a> Pending<'a> {
    pub(crate) fn new(files: &'a FileStore) -> Self {
        Pending {
            files,
            names: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, name: &str) {
        self.names.push(name.to_owned());
    }

    /// The row referencing them committed: keep them.
    pub(crate) fn committed(mut self) {
        self.names.clear();
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.names.is_empty() {
            self.files.remove(&self.names);
        }
    }
}

impl FileStore {
    pub(crate) fn new(vault_path: &Path) -> Self {
        FileStore {
            dir: files_dir(vault_path),
            disk_left: Cell::new(None),
        }
    }

    fn ensure_dir(&self) -> Result<(), VaultError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&self.dir)
            .map_err(|e| io(format_args!("cannot create {}", self.dir.display()), e))?;
        // The new directory's entry must be durable before any file in it
        // is referenced by a commit.
        crate::fsutil::sync_parent_dir(&self.dir);
        Ok(())
    }

    fn sync_dir(&self) -> Result<(), VaultError> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(format_args!("cannot sync {}", self.dir.display()), e))?;
        Ok(())
    }

    /// Seals `plaintext` into a new file under a fresh key and name and
    /// returns the sealed reference for the row at `place`. The file is
    /// complete and durable (file and directory fsynced) when this returns;
    /// on any failure nothing is left behind ([`VaultError::DiskFull`] for
    /// a full disk). The caller must hold the write lock until the row
    /// commits, and remove the file if it does not ([`Pending`]).
    pub(crate) fn write(
        &self,
        vault_key: &VaultKey,
        rng: &SystemRandom,
        place: &Place<'_>,
        plaintext: &[u8],
    ) -> Result<Written, VaultError> {
        let key = FileKey::generate(rng)?;
        let mut raw = [0u8; 16];
        rng.fill(&mut raw)
            .map_err(|_| VaultError::storage("the system random number generator failed"))?;
        let name: String = raw
            .iter()
            .map(|b| format!("{b:02x}"))
            .chain(std::iter::once(SUFFIX.to_owned()))
            .collect();
        let size = plaintext.len() as u64;
        let reference = Reference { key, size, name };
        // Sealed first: nothing can fail after the file is in place.
        let sealed_ref = vault_key.seal(rng, place, &reference.encode())?;
        self.ensure_dir()?;
        let tmp = self.dir.join(format!("{}{TMP_SUFFIX}", reference.name));
        let fin = self.dir.join(&reference.name);
        let done = self
            .write_tmp(&tmp, &reference, place, plaintext)
            .and_then(|()| {
                std::fs::rename(&tmp, &fin)
                    .map_err(|e| io(format_args!("cannot rename {}", tmp.display()), e))
            });
        if let Err(e) = done {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        if let Err(e) = self.sync_dir() {
            let _ = std::fs::remove_file(&fin);
            return Err(e);
        }
        Ok(Written {
            name: reference.name,
            sealed_ref,
        })
    }

    fn write_tmp(
        &self,
        tmp: &Path,
        r: &Reference,
        place: &Place<'_>,
        plaintext: &[u8],
    ) -> Result<(), VaultError> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(tmp)
            .map_err(|e| io(format_args!("cannot create {}", tmp.display()), e))?;
        let what = "cannot write an attachment file";
        let h = header(r.size);
        self.write_all(&mut f, &h).map_err(|e| io(what, e))?;
        let place_aad = place.aad();
        // One reusable buffer: a chunk of plaintext at a time (zeroized
        // when dropped), sealed in place.
        let mut buf = Zeroizing::new(Vec::with_capacity(CHUNK + AEAD_TAG_LEN));
        let mut chunks = plaintext.chunks(CHUNK).peekable();
        let mut index: u64 = 0;
        if plaintext.is_empty() {
            r.key
                .seal_chunk(0, &chunk_aad(&place_aad, &h, 0, true), &mut buf)?;
            self.write_all(&mut f, &buf).map_err(|e| io(what, e))?;
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            buf.clear();
            buf.extend_from_slice(chunk);
            r.key
                .seal_chunk(index, &chunk_aad(&place_aad, &h, index, last), &mut buf)?;
            self.write_all(&mut f, &buf).map_err(|e| io(what, e))?;
            index += 1;
        }
        f.sync_all()
            .map_err(|e| io("cannot flush an attachment file to disk", e))
    }

    /// `write_all`, through the simulated full disk of the tests.
    fn write_all(&self, f: &mut File, b: &[u8]) -> std::io::Result<()> {
        if let Some(left) = self.disk_left.get() {
            if left < b.len() as u64 {
                // Like a real full disk: part of it may have been written.
                f.write_all(&b[..left as usize])?;
                self.disk_left.set(Some(0));
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.disk_left.set(Some(left - b.len() as u64));
        }
        f.write_all(b)
    }

    /// Opens the sealed reference `sealed_ref` at `place`, checks it names
    /// `column_name` (the row's plaintext file-name column), and reads and
    /// authenticates the whole file.
    pub(crate) fn read(
        &self,
        vault_key: &VaultKey,
        place: &Place<'_>,
        column_name: Option<&str>,
        sealed_ref: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let plain = vault_key.open(place, sealed_ref)?;
        let r = Reference::decode(&plain).ok_or_else(|| place.tampered())?;
        drop(plain);
        if column_name != Some(r.name.as_str()) {
            return Err(place.tampered());
        }
        let path = self.dir.join(&r.name);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::Corrupt(format!(
                    "the file of attachment {} ({}) is missing from {}",
                    place.id,
                    place.column,
                    self.dir.display()
                )))
            }
            Err(e) => return Err(io(format_args!("cannot open {}", path.display()), e)),
        };
        let len = f
            .metadata()
            .map_err(|e| io(format_args!("cannot read {}", path.display()), e))?
            .len();
        // Cut or extended: refused before reading anything.
        if len != sealed_file_len(r.size) {
            return Err(place.tampered());
        }
        let size = usize::try_from(r.size).map_err(|_| place.tampered())?;
        let mut h = [0u8; HEADER_LEN];
        read_exact(&mut f, &mut h, place)?;
        let expected = header(r.size);
        if h != expected {
            return Err(place.tampered());
        }
        let place_aad = place.aad();
        // One buffer: chunk i's ciphertext and tag are read to where its
        // plaintext belongs and opened in place; the tag's 16 bytes are
        // overwritten by the next chunk. No second copy of the plaintext.
        let mut out = Zeroizing::new(vec![0u8; size + AEAD_TAG_LEN]);
        let chunks = r.size.div_ceil(CHUNK as u64).max(1);
        for i in 0..chunks {
            let start = i as usize * CHUNK;
            let plen = (size - start).min(CHUNK);
            let slot = &mut out[start..start + plen + AEAD_TAG_LEN];
            read_exact(&mut f, slot, place)?;
            let last = i + 1 == chunks;
            r.key
                .open_chunk(i, &chunk_aad(&place_aad, &expected, i, last), slot)
                .map_err(|_| place.tampered())?;
        }
        out.truncate(size);
        Ok(out)
    }

    /// Removes files (best effort: what is left is an orphan the next
    /// sweep removes), then makes the removals durable.
    pub(crate) fn remove(&self, names: &[String]) {
        let mut any = false;
        for n in names.iter().filter(|n| is_our_name(n)) {
            any |= std::fs::remove_file(self.dir.join(n)).is_ok();
        }
        if any {
            let _ = self.sync_dir();
        }
    }

    /// Removes every file of ours in the directory that no attachment row
    /// references (a crash between a file's rename and its row's commit,
    /// or between a row's delete and the file's removal) and every
    /// temporary file. Runs under SQLite's write lock, so no writer is
    /// between writing a file and committing its row meanwhile. Files
    /// that are not ours are left alone. Returns how many were removed.
    pub(crate) fn sweep(&self, conn: &mut Connection) -> Result<usize, VaultError> {
        if !self.dir.is_dir() {
            return Ok(0);
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let referenced = referenced_names(&tx)?;
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| io(format_args!("cannot list {}", self.dir.display()), e))?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| io("cannot list the attachment files", e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let orphan = if let Some(base) = name.strip_suffix(TMP_SUFFIX) {
                is_our_name(base)
            } else {
                is_our_name(&name) && !referenced.contains(&name)
            };
            if orphan && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            self.sync_dir()?;
        }
        // Nothing was written: rolling back just releases the lock.
        drop(tx);
        Ok(removed)
    }

    /// The size of file `name` (0 if it is not there or not ours), for
    /// progress totals.
    pub(crate) fn len_of(&self, name: &str) -> u64 {
        if !is_our_name(name) {
            return 0;
        }
        std::fs::metadata(self.dir.join(name)).map_or(0, |m| m.len())
    }

    /// Every file of ours in the directory (for tests and checks).
    #[cfg(test)]
    pub(crate) fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// The file names the attachment rows reference.
pub(crate) fn referenced_names(conn: &Connection) -> Result<HashSet<String>, VaultError> {
    let mut stmt = conn
        .prepare("SELECT data_file, thumb_file FROM attachments")
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    let mut out = HashSet::new();
    while let Some(r) = rows.next().map_err(db)? {
        for i in 0..2 {
            if let Ok(Some(n)) = r.get::<_, Option<String>>(i) {
                out.insert(n);
            }
        }
    }
    Ok(out)
}

fn read_exact(f: &mut File, buf: &mut [u8], place: &Place<'_>) -> Result<(), VaultError> {
    f.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            // Shorter than its length said a moment ago: cut meanwhile.
            place.tampered()
        } else {
            io("cannot read an attachment file", e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::T_ATTACHMENTS;

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::new(&dir.path().join("v.sqlite3"));
        (dir, fs)
    }

    #[test]
    fn files_round_trip_at_chunk_boundaries_and_refuse_any_change() {
        let (_d, fs) = store();
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = Place::new(T_ATTACHMENTS, "a1", DATA_REF).with_parent("d1");
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 200_001] {
            let plain: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let w = fs.write(&key, &rng, &place, &plain).unwrap();
            let path = fs.dir.join(&w.name);
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                sealed_file_len(size as u64)
            );
            let back = fs.read(&key, &place, Some(&w.name), &w.sealed_ref).unwrap();
            assert_eq!(&back[..], &plain[..], "size {size}");
            // Another place (row, column or document) does not open it.
            let other = Place::new(T_ATTACHMENTS, "a2", DATA_REF).with_parent("d1");
            assert!(fs.read(&key, &other, Some(&w.name), &w.sealed_ref).is_err());
            // The plaintext name must be the sealed one.
            assert!(matches!(
                fs.read(&key, &place, Some("0".repeat(32).as_str()), &w.sealed_ref),
                Err(VaultError::Tampered { .. })
            ));
            let pristine = std::fs::read(&path).unwrap();
            let n = pristine.len();
            let mut spots = vec![0, 8, 9, 12, 13, 20, 21, n / 2, n - 17, n - 1];
            spots.retain(|&i| i < n);
            for i in spots {
                let mut bad = pristine.clone();
                bad[i] ^= 0x40;
                std::fs::write(&path, &bad).unwrap();
                assert_eq!(
                    fs.read(&key, &place, Some(&w.name), &w.sealed_ref)
                        .unwrap_err(),
                    place.tampered(),
                    "size {size}, byte {i}"
                );
            }
            for cut in [n - 1, n.saturating_sub(AEAD_TAG_LEN + 1), HEADER_LEN, 0] {
                std::fs::write(&path, &pristine[..cut]).unwrap();
                assert_eq!(
                    fs.read(&key, &place, Some(&w.name), &w.sealed_ref)
                        .unwrap_err(),
                    place.tampered(),
                    "size {size}, cut to {cut}"
                );
            }
            std::fs::write(&path, [&pristine[..], b"x"].concat()).unwrap();
            assert!(fs.read(&key, &place, Some(&w.name), &w.sealed_ref).is_err());
            std::fs::remove_file(&path).unwrap();
            assert_eq!(
                fs.read(&key, &place, Some(&w.name), &w.sealed_ref)
                    .unwrap_err()
                    .kind(),
                "corrupt"
            );
        }
    }

    #[test]
    fn a_file_swapped_with_another_never_decrypts() {
        let (_d, fs) = store();
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = Place::new(T_ATTACHMENTS, "a1", DATA_REF).with_parent("d1");
        let a = fs.write(&key, &rng, &place, &[1u8; 1000]).unwrap();
        let b = fs.write(&key, &rng, &place, &[2u8; 1000]).unwrap();
        let (pa, pb) = (fs.dir.join(&a.name), fs.dir.join(&b.name));
        let (ba, bb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        std::fs::write(&pa, &bb).unwrap();
        std::fs::write(&pb, &ba).unwrap();
        for w in [&a, &b] {
            assert_eq!(
                fs.read(&key, &place, Some(&w.name), &w.sealed_ref)
                    .unwrap_err(),
                place.tampered()
            );
        }
    }

    #[test]
    fn a_full_disk_leaves_no_file() {
        let (_d, fs) = store();
        let rng = SystemRandom::new();
        let key = VaultKey::generate(&rng).unwrap();
        let place = Place::new(T_ATTACHMENTS, "a1", DATA_REF).with_parent("d1");
        for left in [0, 10, 5_000, 150_000] {
            fs.disk_left.set(Some(left));
            assert_eq!(
                fs.write(&key, &rng, &place, &[9u8; 200_000]).err(),
                Some(VaultError::DiskFull),
                "{left}"
            );
            assert!(fs.list().is_empty(), "{left}: {:?}", fs.list());
        }
        fs.disk_left.set(None);
        fs.write(&key, &rng, &place, &[9u8; 200_000]).unwrap();
        assert_eq!(fs.list().len(), 1);
    }

    fn other_doc(title: &str) -> crate::DocumentInput {
        crate::DocumentInput {
            profile_id: "self".into(),
            kind: cds_api::DocumentKind::Other,
            fields: [("title".to_owned(), title.to_owned())].into(),
            custom_fields: vec![],
        }
    }

    fn pdf(len: usize) -> crate::NewAttachment {
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.resize(len, 0x42);
        crate::NewAttachment {
            file_name: "scan.pdf".into(),
            mime: "application/pdf".into(),
            bytes,
        }
    }

    #[test]
    fn a_full_disk_while_adding_leaves_no_row_and_no_file_and_deletes_remove_files() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::MemoryKeyStore::new();
        let mut v = crate::Vault::create_with_kdf(
            &dir.path().join("v.sqlite3"),
            Some(&keys),
            None,
            crate::KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let doc = v.add_document(&other_doc("a"), &[]).unwrap();
        for left in [0, 100, 70_000, 199_000] {
            v.files.disk_left.set(Some(left));
            assert_eq!(
                v.add_attachment(&doc.id, &pdf(200_000)).unwrap_err(),
                VaultError::DiskFull,
                "{left}"
            );
            v.files.disk_left.set(Some(left));
            assert_eq!(
                v.add_document(&other_doc("b"), &[pdf(1000), pdf(200_000)])
                    .unwrap_err(),
                VaultError::DiskFull,
                "{left}"
            );
            assert!(v.files.list().is_empty(), "{left}: {:?}", v.files.list());
            assert!(v.get_document(&doc.id).unwrap().attachments.is_empty());
            assert_eq!(v.list_documents(None).unwrap().len(), 1);
        }
        v.files.disk_left.set(None);
        let a = v.add_attachment(&doc.id, &pdf(200_000)).unwrap();
        assert_eq!(v.files.list().len(), 1);
        assert_eq!(v.attachment_bytes(&a.id).unwrap().len(), 200_000);
        v.integrity_check().unwrap();
        v.delete_attachment(&a.id).unwrap();
        assert!(v.files.list().is_empty(), "removed after the delete");
        let d = v
            .add_document(&other_doc("c"), &[pdf(1000), pdf(70_000)])
            .unwrap();
        assert_eq!(v.files.list().len(), 2);
        v.delete_document(&d.id).unwrap();
        assert!(v.files.list().is_empty(), "removed with the document");
        v.integrity_check().unwrap();
    }

    #[test]
    fn key_rotation_rewraps_file_keys_without_rewriting_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite3");
        let keys = crate::MemoryKeyStore::new();
        let mut v = crate::Vault::create_with_kdf(
            &path,
            Some(&keys),
            None,
            crate::KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let d = v.add_document(&other_doc("a"), &[pdf(150_000)]).unwrap();
        let att = &d.attachments[0].id;
        let snapshot = |v: &crate::Vault| -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
            let files = v
                .files
                .list()
                .into_iter()
                .map(|n| {
                    let b = std::fs::read(v.files.dir.join(&n)).unwrap();
                    (n, b)
                })
                .collect();
            let cell = v
                .conn
                .query_row("SELECT data FROM attachments", [], |r| r.get(0))
                .unwrap();
            (files, cell)
        };
        let before = snapshot(&v);
        v.rotate_key(None).unwrap();
        let after = snapshot(&v);
        assert_eq!(before.0, after.0, "the files are untouched");
        assert_ne!(before.1, after.1, "the reference is re-sealed");
        assert_eq!(v.attachment_bytes(att).unwrap().len(), 150_000);
        v.integrity_check().unwrap();
        drop(v);
        let v = crate::Vault::open(&path, &keys).unwrap();
        assert_eq!(
            &v.attachment_bytes(att).unwrap()[..],
            &pdf(150_000).bytes[..]
        );
        v.integrity_check().unwrap();
    }

    #[test]
    fn only_our_names_are_accepted() {
        assert!(is_our_name("0123456789abcdef0123456789abcdef.cdsf"));
        for bad in [
            "../0123456789abcdef0123456789abcdef.cdsf",
            "0123456789ABCDEF0123456789abcdef.cdsf",
            "0123456789abcdef0123456789abcdef.cdsf.tmp",
            "0123456789abcdef0123456789abcde.cdsf",
            "x.cdsf",
            "",
        ] {
            assert!(!is_our_name(bad), "{bad}");
        }
    }
}
