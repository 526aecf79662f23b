//! The three contenders and the listing and unlock measurements.
//!
//! The vault is driven only through its public API; the section marked
//! "vault API" is the one place that follows changes to it.

use crate::{median_duration, Timing};
use anyhow::{anyhow, bail, Context, Result};
use cds_vault::{DocumentInput, KeyStore, NewAttachment, OsKeyring, Vault, VaultError};
use ring::aead::{self, LessSafeKey, UnboundKey, AES_256_GCM};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A store that can write and read records and attachments.
pub(crate) trait Contender {
    fn name(&self) -> &'static str;
    fn path(&self) -> &Path;
    /// Stores one record (the bytes are a JSON object of text fields).
    fn write_record(&mut self, record: &[u8]) -> Result<String>;
    fn read_record(&mut self, id: &str) -> Result<Vec<u8>>;
    fn write_attachment(&mut self, bytes: &[u8]) -> Result<String>;
    fn read_attachment(&mut self, id: &str) -> Result<Vec<u8>>;
    /// `PRAGMA cipher_version` on this contender's connection, if any.
    fn cipher_version(&self) -> Result<Option<String>>;
}

/// A record of about `size` bytes: a JSON object of text fields, the shape
/// a document has in the vault.
pub(crate) fn record_payload(i: usize, size: usize) -> Vec<u8> {
    let mut fields = vec![
        ("title".to_owned(), format!("Giấy tờ số {i}")),
        ("number".to_owned(), format!("B{i:07}")),
        ("full_name".to_owned(), "Nguyễn Thị Ánh Dương".to_owned()),
    ];
    let mut n = 0;
    loop {
        let json = serde_json::to_vec(&fields).unwrap_or_default();
        if json.len() >= size {
            break;
        }
        let missing = size - json.len();
        let filler = "Số nhà 12, đường Lê Lợi, phường Bến Thành, Quận 1, TP. Hồ Chí Minh ";
        let mut value: String = filler.chars().cycle().take(missing.min(120)).collect();
        while value.len() + 12 > missing && value.len() > 1 {
            value.pop();
        }
        fields.push((format!("ghi_chu_{n}"), value));
        n += 1;
        if missing <= 16 {
            break;
        }
    }
    serde_json::to_vec(&fields).unwrap_or_default()
}

fn fields_of(record: &[u8]) -> Result<Vec<(String, String)>> {
    serde_json::from_slice(record).context("a record is a JSON list of (label, value) pairs")
}

// ---- plain SQLite and SQLCipher -------------------------------------------------

/// The vault's per-connection settings, applied to every contender.
fn vault_settings(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("journal_mode stays {mode}");
    }
    Ok(())
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS documents (
        id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS attachments (
        id TEXT PRIMARY KEY NOT NULL,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL, meta BLOB NOT NULL, data BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS attachments_by_document ON attachments(document_id);";

/// SQLite through rusqlite, optionally keyed (SQLCipher). Same schema shape
/// as the vault, one transaction per write.
pub(crate) struct Sql {
    name: &'static str,
    conn: Connection,
    path: PathBuf,
    next: u64,
    parent: String,
}

pub(crate) struct Plain;
pub(crate) struct Sqlcipher;

/// The SQLCipher key: a raw 256-bit key (`x'…'`), so no PBKDF2 runs per
/// open, as the vault's keyring KEK needs none.
const SQLCIPHER_KEY: &str =
    "\"x'2DD29CA851E7B56E4697B0E1F08507293D761A05CE4D1B628663F411A8086D99'\"";

impl Plain {
    #[allow(clippy::new_ret_no_self)]
    pub(crate) fn create(path: &Path) -> Result<Sql> {
        Sql::create("plain", path, None)
    }
}

impl Sqlcipher {
    pub(crate) fn create(path: &Path) -> Result<Sql> {
        Sql::create("sqlcipher", path, Some(SQLCIPHER_KEY))
    }
}

impl Sql {
    fn open_conn(path: &Path, key: Option<&str>) -> Result<Connection> {
        let conn = Connection::open(path).with_context(|| format!("open {}", path.display()))?;
        if let Some(key) = key {
            conn.execute_batch(&format!("PRAGMA key = {key};"))?;
        }
        vault_settings(&conn)?;
        Ok(conn)
    }

    fn create(name: &'static str, path: &Path, key: Option<&str>) -> Result<Sql> {
        let conn = Self::open_conn(path, key)?;
        conn.execute_batch(SCHEMA)?;
        let mut s = Sql {
            name,
            conn,
            path: path.to_owned(),
            next: 0,
            parent: String::new(),
        };
        s.parent = s.write_record(&record_payload(0, 200))?;
        Ok(s)
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.next >> 48, self.next)
    }
}

fn now() -> String {
    format!(
        "{:?}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    )
}

impl Contender for Sql {
    fn name(&self) -> &'static str {
        self.name
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn write_record(&mut self, record: &[u8]) -> Result<String> {
        // Parsed and re-encoded as the vault does with its fields.
        let body = serde_json::to_vec(&fields_of(record)?)?;
        let id = self.id();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO documents (id, created_at, body) VALUES (?1, ?2, ?3)",
            params![id, now(), body],
        )?;
        tx.commit()?;
        Ok(id)
    }
    fn read_record(&mut self, id: &str) -> Result<Vec<u8>> {
        let body: Vec<u8> = self
            .conn
            .prepare_cached("SELECT body FROM documents WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        Ok(serde_json::to_vec(&fields_of(&body)?)?)
    }
    fn write_attachment(&mut self, bytes: &[u8]) -> Result<String> {
        let id = self.id();
        let meta = format!(
            r#"{{"file_name":"scan.pdf","mime":"application/pdf","size":{}}}"#,
            bytes.len()
        );
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO attachments (id, document_id, created_at, meta, data) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, self.parent, now(), meta.as_bytes(), bytes],
        )?;
        tx.commit()?;
        Ok(id)
    }
    fn read_attachment(&mut self, id: &str) -> Result<Vec<u8>> {
        Ok(self
            .conn
            .prepare_cached("SELECT data FROM attachments WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?)
    }
    fn cipher_version(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .optional()?)
    }
}

// ---- vault API ----------------------------------------------------------------

/// A key store with a fixed KEK, for the throughput and listing runs (the
/// unlock run uses the real OS keyring).
pub(crate) struct FixedKek(pub [u8; 32]);

impl KeyStore for FixedKek {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(Some(Zeroizing::new(self.0.to_vec())))
    }
    fn store(&self, _secret: &[u8]) -> Result<(), VaultError> {
        Ok(())
    }
    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

const BENCH_KEK: FixedKek = FixedKek([0x42; 32]);
const BENCH_PIN: &str = "48151623";

pub(crate) struct VaultContender {
    vault: Vault,
    path: PathBuf,
    /// The document the benchmark's attachments are added to.
    parent: String,
}

fn vault_open(path: &Path, keys: &dyn KeyStore) -> Result<Vault> {
    Vault::open(path, keys).map_err(|e| anyhow!("vault {}: {e}", path.display()))
}

/// Adds an "other" document of the citizen's from `(label, value)` fields:
/// `title` becomes its title, the rest its free fields.
fn vault_add(vault: &mut Vault, fields: &[(String, String)]) -> Result<String> {
    let mut title = String::new();
    let mut custom = Vec::new();
    for (label, value) in fields {
        if label == "title" {
            title.clone_from(value);
        } else {
            custom.push((label.clone(), value.clone()));
        }
    }
    let doc = vault
        .add_document(
            &DocumentInput {
                profile_id: "self".into(),
                kind: cds_vault::cds_api::DocumentKind::Other,
                fields: BTreeMap::from([("title".to_owned(), title)]),
                custom_fields: custom,
            },
            &[],
        )
        .map_err(|e| anyhow!("add_document: {e}"))?;
    Ok(doc.id)
}

/// The fields of a stored document, as `(label, value)` pairs.
fn vault_fields(vault: &Vault, id: &str) -> Result<Vec<(String, String)>> {
    let d = vault
        .get_document(id)
        .map_err(|e| anyhow!("get_document: {e}"))?;
    let mut out = vec![("title".to_owned(), d.title().to_owned())];
    out.extend(d.custom_fields);
    Ok(out)
}

fn vault_list(vault: &Vault) -> Result<usize> {
    Ok(vault
        .list_documents(None)
        .map_err(|e| anyhow!("list_documents: {e}"))?
        .len())
}

impl VaultContender {
    pub(crate) fn create(path: &Path) -> Result<VaultContender> {
        let mut vault = vault_open(path, &BENCH_KEK)?;
        let parent = vault_add(&mut vault, &fields_of(&record_payload(0, 200))?)?;
        Ok(VaultContender {
            vault,
            path: path.to_owned(),
            parent,
        })
    }
}

impl Contender for VaultContender {
    fn name(&self) -> &'static str {
        "vault"
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn write_record(&mut self, record: &[u8]) -> Result<String> {
        vault_add(&mut self.vault, &fields_of(record)?)
    }
    fn read_record(&mut self, id: &str) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(&vault_fields(&self.vault, id)?)?)
    }
    fn write_attachment(&mut self, bytes: &[u8]) -> Result<String> {
        let meta = self
            .vault
            .add_attachment(
                &self.parent,
                &NewAttachment {
                    file_name: "scan.pdf".into(),
                    mime: "application/pdf".into(),
                    bytes: bytes.to_vec(),
                },
            )
            .map_err(|e| anyhow!("add_attachment: {e}"))?;
        Ok(meta.id)
    }
    fn read_attachment(&mut self, id: &str) -> Result<Vec<u8>> {
        let mut bytes = self
            .vault
            .attachment_bytes(id)
            .map_err(|e| anyhow!("attachment_bytes: {e}"))?;
        // Moved out, not copied: the comparison with the other contenders
        // must not charge the vault for a copy the app would not make. (The
        // bench's copy is then not zeroized; it is benchmark data.)
        Ok(std::mem::take(&mut *bytes))
    }
    fn cipher_version(&self) -> Result<Option<String>> {
        // The vault's connection is private; ask the file through another.
        let conn = Connection::open(&self.path)?;
        Ok(conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .optional()?)
    }
}

/// What a record reads back as: the same fields, re-encoded.
pub(crate) fn expected_record(record: &[u8]) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&fields_of(record)?)?)
}

// ---- checks and the non-throughput cases ----------------------------------------

/// Checks which files are encrypted and that SQLCipher is the library in use.
pub(crate) fn check_headers(contenders: &mut [Box<dyn Contender>]) -> Result<String> {
    let mut out = String::from("library and files:");
    for c in contenders.iter() {
        let mut head = [0u8; 16];
        use std::io::Read;
        std::fs::File::open(c.path())?.read_exact(&mut head)?;
        let plain_header = &head == b"SQLite format 3\0";
        let version = c.cipher_version()?;
        out.push_str(&format!(
            "\n  {:<10} cipher_version={:<22} file header {}",
            c.name(),
            version.as_deref().unwrap_or("(none: not SQLCipher)"),
            if plain_header {
                "\"SQLite format 3\" (unencrypted SQLite format)"
            } else {
                "random bytes (encrypted page 1)"
            }
        ));
        let want_plain = c.name() != "sqlcipher";
        if plain_header != want_plain {
            bail!(
                "{}: the file header says encrypted={}, expected encrypted={}",
                c.name(),
                !plain_header,
                !want_plain
            );
        }
    }
    out.push_str(
        "\n  => one SQLCipher build serves all three; without PRAGMA key it writes the plain \
         SQLite format (SQLite's unencrypted code path)",
    );
    Ok(out)
}

pub(crate) fn settings_line(contenders: &[Box<dyn Contender>]) -> Result<String> {
    let names: Vec<&str> = contenders.iter().map(|c| c.name()).collect();
    Ok(format!(
        "contenders: {} — all with journal_mode=WAL, synchronous=FULL, foreign_keys=ON, \
         temp_store=MEMORY, page size 4096, one transaction per write; SQLCipher keyed with a \
         raw 256-bit key (defaults: AES-256-CBC + HMAC-SHA512 per page)",
        names.join(", ")
    ))
}

/// Lists `n` documents: builds the vault once (reused from `--dir`), then
/// times `list_documents` (the first call and the median of 20).
pub(crate) fn listing(dir: &Path, n: usize) -> Result<Vec<Timing>> {
    let path = dir.join(format!("list-{n}.sqlite3"));
    let mut vault = vault_open(&path, &BENCH_KEK)?;
    let have = vault_list(&vault)?;
    if have < n {
        let t = Instant::now();
        for i in have..n {
            vault_add(&mut vault, &fields_of(&record_payload(i + 1, 400))?)?;
        }
        eprintln!(
            "built the listing vault: {} documents in {:.1?}",
            n - have,
            t.elapsed()
        );
    }
    drop(vault);
    let vault = vault_open(&path, &BENCH_KEK)?;
    let t = Instant::now();
    let count = vault_list(&vault)?;
    let first = t.elapsed();
    if count < n {
        bail!("the listing vault holds {count} documents, wanted {n}");
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        vault_list(&vault)?;
        times.push(t.elapsed());
    }
    // A search typed without accents, as a citizen would: one keystroke's
    // worth of work in the app.
    let query = format!("giay to so {}", n / 2 + 42);
    let mut search_times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let hits = vault
            .search_documents(None, &query)
            .map_err(|e| anyhow!("search_documents: {e}"))?;
        search_times.push(t.elapsed());
        if hits.is_empty() {
            bail!("the search {query:?} found nothing");
        }
    }
    Ok(vec![
        Timing {
            what: format!("search {count} documents, no accents (median of 20)"),
            value: Some(median_duration(search_times)),
            target: None,
            note: String::new(),
        },
        Timing {
            what: format!("list {count} documents (median of 20)"),
            value: Some(median_duration(times)),
            target: Some(Duration::from_millis(10)),
            note: String::new(),
        },
        Timing {
            what: format!("list {count} documents (first call after open)"),
            value: Some(first),
            target: None,
            note: String::new(),
        },
    ])
}

/// Unlocks an existing vault through the OS keyring (Secret Service) and,
/// for comparison, through an in-memory KEK.
pub(crate) fn unlock(dir: &Path, keyring: bool) -> Result<Vec<Timing>> {
    let path = dir.join("unlock.sqlite3");
    let mut out = Vec::new();

    drop(vault_open(&path, &BENCH_KEK)?);
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let v = vault_open(&path, &BENCH_KEK)?;
        times.push(t.elapsed());
        drop(v);
    }
    out.push(Timing {
        what: "open with an in-memory KEK (no keyring)".into(),
        value: Some(median_duration(times)),
        target: None,
        note: "median of 20".into(),
    });

    // Through a PIN (for information): PBKDF2-HMAC-SHA256 at the vault's
    // recommended 600,000 iterations, then open.
    let pin_path = dir.join("unlock-pin.sqlite3");
    if !pin_path.exists() {
        drop(
            Vault::create(&pin_path, None, Some(BENCH_PIN))
                .map_err(|e| anyhow!("create a PIN vault: {e}"))?,
        );
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let v = Vault::unlock_with_pin(&pin_path, BENCH_PIN)
            .map_err(|e| anyhow!("unlock_with_pin: {e}"))?;
        times.push(t.elapsed());
        drop(v);
    }
    out.push(Timing {
        what: "unlock through a PIN (600,000 PBKDF2 iterations)".into(),
        value: Some(median_duration(times)),
        target: None,
        note: "median of 5".into(),
    });

    // Made afresh: its KEK lives in this session's keyring only.
    let kr_path = dir.join("unlock-keyring.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("unlock-keyring.sqlite3{suffix}")));
    }
    let account = format!("bench-{}", std::process::id());
    let kr = OsKeyring::new("vn.congdanso.vault-bench", &account);
    let measured = if !keyring {
        Err(anyhow!("--no-keyring"))
    } else {
        (|| -> Result<(Duration, Duration, Duration)> {
            drop(
                vault_open(&kr_path, &kr)
                    .context("creating a vault with its KEK in the keyring")?,
            );
            let (mut opens, mut loads) = (Vec::new(), Vec::new());
            let t = Instant::now();
            drop(vault_open(&kr_path, &kr)?);
            let first = t.elapsed();
            for _ in 0..20 {
                let t = Instant::now();
                let v = vault_open(&kr_path, &kr)?;
                opens.push(t.elapsed());
                drop(v);
                let t = Instant::now();
                kr.load()
                    .map_err(|e| anyhow!("{e}"))?
                    .context("the KEK vanished")?;
                loads.push(t.elapsed());
            }
            Ok((first, median_duration(opens), median_duration(loads)))
        })()
    };
    let _ = kr.delete();
    match measured {
        Ok((first, open, load)) => {
            out.push(Timing {
                what: "unlock through the OS keyring (median of 20)".into(),
                value: Some(open),
                target: Some(Duration::from_millis(50)),
                note: "Secret Service over D-Bus, then open".into(),
            });
            out.push(Timing {
                what: "unlock through the OS keyring (first)".into(),
                value: Some(first),
                target: None,
                note: String::new(),
            });
            out.push(Timing {
                what: "  of which: reading the KEK from the keyring".into(),
                value: Some(load),
                target: None,
                note: "median of 20".into(),
            });
        }
        Err(e) => out.push(Timing {
            what: "unlock through the OS keyring".into(),
            value: None,
            target: Some(Duration::from_millis(50)),
            note: format!("not measured: {e:#} (run under scripts/with-keyring.sh)"),
        }),
    }
    Ok(out)
}

/// AES-256-GCM (ring, the vault's cipher) in memory, for scale: what the
/// vault's own crypto costs per MB, without SQLite.
pub(crate) fn aes_gcm_in_memory(size: usize) -> Result<Vec<Timing>> {
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &[7u8; 32]).map_err(|_| anyhow!("ring key"))?,
    );
    let mut buf = crate::fill(1, size, b"");
    let (mut seal, mut open) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let tag = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key([1; 12]),
                aead::Aad::from(b"bench"),
                &mut buf,
            )
            .map_err(|_| anyhow!("seal"))?;
        seal.push(t.elapsed());
        buf.extend_from_slice(tag.as_ref());
        let t = Instant::now();
        let len = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key([1; 12]),
                aead::Aad::from(b"bench"),
                &mut buf,
            )
            .map_err(|_| anyhow!("open"))?
            .len();
        open.push(t.elapsed());
        buf.truncate(len);
    }
    let rate = |d: Duration| format!("{:.0} MB/s", size as f64 / 1e6 / d.as_secs_f64());
    let (s, o) = (median_duration(seal), median_duration(open));
    Ok(vec![
        Timing {
            what: format!("AES-256-GCM seal {} MiB in memory (ring)", size >> 20),
            value: Some(s),
            target: None,
            note: rate(s),
        },
        Timing {
            what: format!("AES-256-GCM open {} MiB in memory (ring)", size >> 20),
            value: Some(o),
            target: None,
            note: rate(o),
        },
    ])
}

/// What-if for the write targets: an attachment sealed (AES-256-GCM, ring)
/// into its own file next to the database, written once and fsynced (file
/// and directory), instead of going through SQLite's WAL (written to the
/// WAL, fsynced, then copied into the database at checkpoint). Same
/// payloads as the attachment runs; MB/s as in the table.
pub(crate) fn sealed_files(dir: &Path, size: usize, count: usize) -> Result<Timing> {
    use std::io::Write;
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &[9u8; 32]).map_err(|_| anyhow!("ring key"))?,
    );
    let files = dir.join("sealed-files");
    std::fs::create_dir_all(&files)?;
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|i| crate::fill(i as u64 * 7919 + size as u64, size, b"%PDF-1.7\n"))
        .collect();
    let mut spent = Duration::ZERO;
    for (i, p) in payloads.iter().enumerate() {
        let t = Instant::now();
        let mut buf = Vec::with_capacity(p.len() + 29);
        buf.push(1u8);
        buf.extend_from_slice(&[0u8; 12]);
        buf.extend_from_slice(p);
        let tag = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key([i as u8; 12]),
                aead::Aad::from(b"cds-vault/v1|attachments|id|data"),
                &mut buf[13..],
            )
            .map_err(|_| anyhow!("seal"))?;
        buf.extend_from_slice(tag.as_ref());
        let path = files.join(format!("{i}.sealed"));
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&buf)?;
        f.sync_all()?;
        std::fs::File::open(&files)?.sync_all()?;
        spent += t.elapsed();
    }
    let _ = std::fs::remove_dir_all(&files);
    let mbps = (size * count) as f64 / 1e6 / spent.as_secs_f64();
    Ok(Timing {
        what: format!("what-if: {} MiB sealed to its own file + fsync", size >> 20),
        value: Some(spent / count as u32),
        target: None,
        note: format!("{mbps:.1} MB/s (per write shown)"),
    })
}

/// What-if for the proposed attachment file format (step 3 of the vault
/// changes, not implemented in the vault yet): the payload sealed as
/// 64 KiB AES-256-GCM chunks (STREAM: nonce = chunk counter with a "last"
/// flag, so no chunk can be reordered, dropped or appended), streamed to a
/// temporary file, fsynced, renamed into place and the directory fsynced —
/// the full crash-safe write a vault would do before committing the row.
/// Then read back: each chunk opened in place and appended to one output
/// buffer (no second full-size copy). Checked against the payload outside
/// the timed region.
pub(crate) fn stream_files(dir: &Path, size: usize, count: usize) -> Result<Vec<Timing>> {
    use std::io::{Read, Write};
    const CHUNK: usize = 64 * 1024;
    const TAG: usize = 16;
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &[7u8; 32]).map_err(|_| anyhow!("ring key"))?,
    );
    let nonce = |i: u64, last: bool| {
        let mut n = [0u8; 12];
        n[0] = u8::from(last);
        n[4..].copy_from_slice(&i.to_be_bytes());
        aead::Nonce::assume_unique_for_key(n)
    };
    let aad = b"cds-vault/v1|attachments|id|data|doc";
    let files = dir.join("stream-files");
    std::fs::create_dir_all(&files)?;
    let payloads: Vec<Vec<u8>> = (0..count)
        .map(|i| crate::fill(i as u64 * 7919 + size as u64, size, b"%PDF-1.7\n"))
        .collect();
    let (mut w_spent, mut r_spent) = (Duration::ZERO, Duration::ZERO);
    let mut buf = Vec::with_capacity(CHUNK + TAG);
    for (i, p) in payloads.iter().enumerate() {
        let t = Instant::now();
        let tmp = files.join(format!("{i}.tmp"));
        let path = files.join(format!("{i}"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(b"CDSFILE\x01")?;
        let chunks: Vec<&[u8]> = p.chunks(CHUNK).collect();
        for (c, part) in chunks.iter().enumerate() {
            buf.clear();
            buf.extend_from_slice(part);
            key.seal_in_place_append_tag(
                nonce(c as u64, c + 1 == chunks.len()),
                aead::Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| anyhow!("seal"))?;
            f.write_all(&buf)?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&files)?.sync_all()?;
        w_spent += t.elapsed();

        let t = Instant::now();
        let mut f = std::fs::File::open(&path)?;
        let len = f.metadata()?.len() as usize - 8;
        let mut magic = [0u8; 8];
        f.read_exact(&mut magic)?;
        let n_chunks = len.div_ceil(CHUNK + TAG);
        let mut out = Zeroizing::new(Vec::with_capacity(len - n_chunks * TAG));
        for c in 0..n_chunks {
            let start = out.len();
            let this = (len - c * (CHUNK + TAG)).min(CHUNK + TAG);
            out.resize(start + this, 0);
            f.read_exact(&mut out[start..])?;
            let plain = key
                .open_in_place(
                    nonce(c as u64, c + 1 == n_chunks),
                    aead::Aad::from(aad),
                    &mut out[start..],
                )
                .map_err(|_| anyhow!("open"))?
                .len();
            out.truncate(start + plain);
        }
        r_spent += t.elapsed();
        if &magic != b"CDSFILE\x01" || out[..] != p[..] {
            bail!("stream file {i} did not read back");
        }
    }
    let _ = std::fs::remove_dir_all(&files);
    let rate = |d: Duration| (size * count) as f64 / 1e6 / d.as_secs_f64();
    Ok(vec![
        Timing {
            what: format!(
                "what-if: {} MiB chunked sealed file (tmp + fsync + rename + dir fsync)",
                size >> 20
            ),
            value: Some(w_spent / count as u32),
            target: None,
            note: format!("{:.1} MB/s write (per write shown)", rate(w_spent)),
        },
        Timing {
            what: format!("what-if: {} MiB chunked sealed file, read back", size >> 20),
            value: Some(r_spent / count as u32),
            target: None,
            note: format!("{:.1} MB/s read (per read shown)", rate(r_spent)),
        },
    ])
}
