//! Opening, creating, locking; the PIN; key rotation; migrations that need
//! keys; the integrity check.

use ring::rand::SystemRandom;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::crypto::{random_salt, Kek, Place, VaultKey, WrapSlot, SALT_LEN};
use crate::error::{db, io};
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::{
    has_meta, now_rfc3339, number_hash, open_json, read_meta, schema, seal_json, text, thumb,
    validate, write_meta, KdfParams, KeyStore, Relation, Vault, VaultError, VaultFileInfo,
    DOC_BODY, SEALED, SELF_PROFILE_ID, T_APPLICATIONS, T_ATTACHMENTS, T_DOCUMENTS, T_HISTORY,
    T_META, T_PROFILES,
};

const M_PIN_KDF: &str = "kdf/pin";
const M_POLICY: &str = "kdf/policy";
const M_FAILURES: &str = "pin/failures";
const M_LAST_FAILURE: &str = "pin/last_failure";

/// Plaintext PBKDF2 parameters of the PIN wrap (`meta` `kdf/pin`).
#[derive(Serialize, Deserialize)]
struct PinKdf {
    alg: String,
    iterations: u32,
    salt: String,
}

/// v1 document body.
#[derive(Deserialize)]
struct V1Body {
    kind: cds_api::DocumentKind,
    number: String,
    full_name: String,
    date_of_birth: String,
}

/// Sealed profile body (`profiles.body`); `created_at` must equal the row's.
#[derive(Serialize, Deserialize)]
pub(crate) struct ProfileBody {
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<String>,
    pub created_at: String,
}

/// Sealed v2 document body (`documents.body`, place `body/v2`). Besides
/// the content it carries every plaintext column that decides what is shown
/// where (`profile_id`, `created_at`, `updated_at`), which readers check
/// against the row, and the ids of the document's attachments in the order
/// they were added, which readers check against the `attachments` rows.
#[derive(Serialize, Deserialize)]
pub(crate) struct DocBody {
    pub kind: cds_api::DocumentKind,
    pub fields: std::collections::BTreeMap<String, String>,
    pub custom_fields: Vec<(String, String)>,
    pub profile_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub attachments: Vec<String>,
}

/// Sealed attachment metadata (`attachments.meta`); `created_at` must equal
/// the row's.
#[derive(Serialize, Deserialize)]
pub(crate) struct AttachmentInfo {
    pub file_name: String,
    pub mime: String,
    pub size: u64,
    pub created_at: String,
}

/// v1 attachment metadata (migration only).
#[derive(Deserialize)]
struct V1AttachmentInfo {
    file_name: String,
    mime: String,
    size: u64,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds to wait after `failures` consecutive wrong PINs.
pub(crate) fn pin_delay(failures: u64) -> u64 {
    if failures < 4 {
        0
    } else {
        let exp = (failures - 4).min(20) as u32;
        (30u64 << exp).min(3600)
    }
}

/// A plaintext counter; one of another type reads as 0 (the counters are
/// not protected anyway: deleting them has the same effect).
fn meta_u64(conn: &Connection, name: &str) -> Result<u64, VaultError> {
    let value = match read_meta(conn, name) {
        Err(VaultError::Corrupt(_)) => None,
        other => other?,
    };
    Ok(value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Seconds until a PIN attempt is allowed.
fn pin_wait(conn: &Connection) -> Result<u64, VaultError> {
    let failures = meta_u64(conn, M_FAILURES)?;
    let last = meta_u64(conn, M_LAST_FAILURE)?;
    Ok((last + pin_delay(failures)).saturating_sub(unix_now()))
}

/// Counts a wrong PIN and returns the error to report.
fn pin_failed(conn: &Connection) -> VaultError {
    let failures = meta_u64(conn, M_FAILURES).unwrap_or(0) + 1;
    let written = write_meta(conn, M_FAILURES, failures.to_string().as_bytes())
        .and_then(|()| write_meta(conn, M_LAST_FAILURE, unix_now().to_string().as_bytes()));
    match written {
        Ok(()) => VaultError::WrongPin {
            retry_after_secs: pin_delay(failures),
        },
        Err(e) => e,
    }
}

fn pin_reset(conn: &Connection) -> Result<(), VaultError> {
    conn.execute(
        "DELETE FROM meta WHERE name IN (?1, ?2)",
        params![M_FAILURES, M_LAST_FAILURE],
    )
    .map_err(db)?;
    Ok(())
}

/// The PIN wrap and its slot, if the vault has one.
fn read_pin_wrap(conn: &Connection) -> Result<Option<(WrapSlot, Vec<u8>)>, VaultError> {
    let Some(wrapped) = read_meta(conn, "wrap/pin")? else {
        return Ok(None);
    };
    let raw = read_meta(conn, M_PIN_KDF)?
        .ok_or_else(|| VaultError::Corrupt("the PIN wrap has no KDF parameters".into()))?;
    let kdf: PinKdf = serde_json::from_slice(&raw)
        .map_err(|_| VaultError::Corrupt("the PIN KDF parameters are unreadable".into()))?;
    let salt: [u8; SALT_LEN] = unhex(&kdf.salt)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| VaultError::Corrupt("the PIN KDF salt is unreadable".into()))?;
    if kdf.alg != "pbkdf2-hmac-sha256" || kdf.iterations == 0 {
        return Err(VaultError::Corrupt(format!(
            "unknown PIN KDF {} with {} iterations",
            kdf.alg, kdf.iterations
        )));
    }
    Ok(Some((
        WrapSlot::Pin {
            iterations: kdf.iterations,
            salt,
        },
        wrapped,
    )))
}

/// Tries `pin` against the PIN wrap, counting failures and honouring the
/// delay.
fn unwrap_with_pin(conn: &Connection, pin: &str) -> Result<VaultKey, VaultError> {
    let (slot, wrapped) = read_pin_wrap(conn)?.ok_or(VaultError::NoPin)?;
    let wait = pin_wait(conn)?;
    if wait > 0 {
        return Err(VaultError::PinLocked {
            retry_after_secs: wait,
        });
    }
    let WrapSlot::Pin { iterations, salt } = slot else {
        return Err(VaultError::NoPin);
    };
    let kek = Kek::from_pin(pin, &salt, iterations)?;
    match kek.unwrap_key(&wrapped, slot) {
        Ok(key) => {
            pin_reset(conn)?;
            Ok(key)
        }
        Err(_) => Err(pin_failed(conn)),
    }
}

/// Verifies an existing file is a vault of a known schema, writing nothing.
fn verify_file(conn: &Connection) -> Result<(), VaultError> {
    let app_id = schema::application_id(conn)?;
    let version = schema::user_version(conn)?;
    if app_id != schema::APPLICATION_ID {
        return Err(VaultError::Corrupt(
            "the file is not a Công dân số vault (wrong application id)".into(),
        ));
    }
    if !(1..=schema::LATEST).contains(&version) {
        return Err(VaultError::Corrupt(format!(
            "the vault has schema version {version}; this app knows 1 to {}",
            schema::LATEST
        )));
    }
    let has_wrap: i64 = conn
        .query_row(
            "SELECT count(*) FROM meta WHERE name IN ('wrap/keyring', 'wrap/pin')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| match db(e) {
            VaultError::Storage(msg) => {
                VaultError::Corrupt(format!("the vault has no key table: {msg}"))
            }
            other => other,
        })?;
    if has_wrap == 0 {
        return Err(VaultError::Corrupt("the vault holds no wrapped key".into()));
    }
    Ok(())
}

fn open_rw(path: &Path) -> Result<Connection, VaultError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    schema::connection_settings(&conn)?;
    verify_file(&conn)?;
    Ok(conn)
}

impl Vault {
    /// What can be learnt about the vault file without a key: does it
    /// exist, which wraps it has, how long until a PIN attempt is allowed.
    /// Writes nothing.
    pub fn inspect(path: &Path) -> Result<VaultFileInfo, VaultError> {
        match std::fs::metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(VaultFileInfo {
                    exists: false,
                    keyring_wrap: false,
                    pin_wrap: false,
                    pin_retry_after_secs: 0,
                })
            }
            Err(e) => return Err(io(format_args!("cannot read {}", path.display()), e)),
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        verify_file(&conn)?;
        Ok(VaultFileInfo {
            exists: true,
            keyring_wrap: has_meta(&conn, "wrap/keyring")?,
            pin_wrap: has_meta(&conn, "wrap/pin")?,
            pin_retry_after_secs: pin_wait(&conn)?,
        })
    }

    /// Opens the vault at `path` through the keyring, or creates it (with a
    /// keyring wrap only) when there is no file.
    ///
    /// - No file: as [`Vault::create`] with `keys` and no PIN.
    /// - File exists: nothing is written before it is verified. Not SQLite,
    ///   not a vault, damaged or of a newer schema → [`VaultError::Corrupt`];
    ///   no keyring wrap in the file (a PIN-only vault) or no entry in
    ///   `keys` → [`VaultError::KeyMissing`] (a new key is never made over
    ///   an existing vault); the KEK does not unwrap the vault key →
    ///   [`VaultError::WrongKey`]; keyring failure → [`VaultError::Keyring`].
    ///   An older schema is migrated in one transaction.
    pub fn open(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        match std::fs::metadata(path) {
            Ok(_) => Self::open_existing(path, keys),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match Self::create(path, Some(keys), None) {
                    // Another process created it meanwhile: use theirs.
                    Err(VaultError::Duplicate { .. }) => Self::open_existing(path, keys),
                    other => other,
                }
            }
            Err(e) => Err(io(format_args!("cannot read {}", path.display()), e)),
        }
    }

    fn open_existing(path: &Path, keys: &dyn KeyStore) -> Result<Vault, VaultError> {
        let conn = open_rw(path)?;
        let wrapped = read_meta(&conn, "wrap/keyring")?.ok_or(VaultError::KeyMissing)?;
        let secret = keys.load()?.ok_or(VaultError::KeyMissing)?;
        let kek = Kek::from_slice(&secret).ok_or(VaultError::WrongKey)?;
        drop(secret);
        let key = kek
            .unwrap_key(&wrapped, WrapSlot::Keyring)
            .map_err(|_| VaultError::WrongKey)?;
        Self::finish_open(conn, key, Some(kek), path, None)
    }

    /// Opens a verified file with its vault key: WAL, migrations, policy.
    fn finish_open(
        mut conn: Connection,
        key: VaultKey,
        keyring_kek: Option<Kek>,
        path: &Path,
        kdf: Option<KdfParams>,
    ) -> Result<Vault, VaultError> {
        let rng = SystemRandom::new();
        let lookup = key.lookup_key()?;
        let files = FileStore::new(path);
        schema::enable_wal(&conn)?;
        let from = schema::user_version(&conn)?;
        if from < schema::LATEST {
            // Files written by migration 4 are removed again if the
            // migration does not commit (declared before the transaction,
            // so they go after its rollback).
            let mut written = Pending::new(&files);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            schema::migrate(&tx, &mut |c, to| {
                migrate_data(c, to, &key, &rng, &files, &mut written)
            })?;
            tx.commit().map_err(db)?;
            written.committed();
            if from < schema::ATTACHMENT_FILES {
                // Only reclaiming space: the migration has committed and
                // the vault is complete without it. A failure (no room for
                // the copy VACUUM writes on a full disk, another
                // connection holding the file) must not refuse to open the
                // vault; the freed pages then just stay in the file, and
                // SQLite reuses them for later writes.
                let _ = reclaim_space(&conn);
            }
        }
        // Files left by a crash (written but never referenced, or no longer
        // referenced) and temporary files.
        files.sweep(&mut conn)?;
        let kdf = match kdf {
            Some(k) => k,
            None => match read_meta(&conn, M_POLICY)? {
                Some(sealed) => {
                    let it: u32 = open_json(&key, &Place::new(T_META, M_POLICY, "value"), &sealed)?;
                    KdfParams { iterations: it }
                }
                None => KdfParams::recommended(),
            },
        };
        Ok(Vault {
            conn,
            key,
            lookup,
            keyring_kek,
            kdf,
            rng,
            path: path.to_owned(),
            doc_cache: Default::default(),
            files,
        })
    }

    /// Creates a new vault at `path`, wrapped by the keyring KEK in `keys`
    /// and/or by `pin` (at least one). Refuses an existing file
    /// ([`VaultError::Duplicate`]). The KEK is stored in `keys` first (if
    /// `keys` already holds one, it is reused); the file is built under a
    /// temporary name in one transaction and linked into place only when
    /// complete. PIN wraps use [`KdfParams::recommended`].
    pub fn create(
        path: &Path,
        keys: Option<&dyn KeyStore>,
        pin: Option<&str>,
    ) -> Result<Vault, VaultError> {
        Self::create_with_kdf(path, keys, pin, KdfParams::recommended())
    }

    /// [`Vault::create`] with an explicit KDF cost for the PIN wrap and
    /// later backups ([`KdfParams::insecure_fast_kdf_for_tests`] in tests).
    pub fn create_with_kdf(
        path: &Path,
        keys: Option<&dyn KeyStore>,
        pin: Option<&str>,
        kdf: KdfParams,
    ) -> Result<Vault, VaultError> {
        if keys.is_none() && pin.is_none() {
            return Err(VaultError::invalid(
                "pin",
                "a new vault needs the keyring or a PIN",
            ));
        }
        if let Some(pin) = pin {
            validate::check_pin_strength(pin)?;
        }
        if path.exists() {
            return Err(VaultError::Duplicate {
                what: "a vault file",
            });
        }
        let file_name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            VaultError::Storage(format!("{} is not a usable file path", path.display()))
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| io(format_args!("cannot create {}", parent.display()), e))?;
        }
        let rng = SystemRandom::new();

        // The KEK goes to the key store before any file exists.
        let kek = match keys {
            None => None,
            Some(keys) => Some(match keys.load()? {
                Some(existing) => Kek::from_slice(&existing).ok_or_else(|| {
                    VaultError::Keyring(format!(
                        "the keyring entry holds {} bytes, not a {}-byte key",
                        existing.len(),
                        crate::crypto::KEY_LEN
                    ))
                })?,
                None => {
                    let kek = Kek::generate(&rng)?;
                    keys.store(kek.as_bytes())?;
                    kek
                }
            }),
        };
        let key = VaultKey::generate(&rng)?;
        let mut wraps: Vec<(&'static str, Vec<u8>)> = Vec::new();
        if let Some(kek) = &kek {
            wraps.push(("wrap/keyring", kek.wrap(&rng, &key, WrapSlot::Keyring)?));
        }
        if let Some(pin) = pin {
            let (kdf_json, wrapped) = pin_wrap(&rng, &key, pin, kdf)?;
            wraps.push((M_PIN_KDF, kdf_json));
            wraps.push(("wrap/pin", wrapped));
        }
        wraps.push((
            M_POLICY,
            seal_json(
                &key,
                &rng,
                &Place::new(T_META, M_POLICY, "value"),
                &kdf.iterations,
            )?,
        ));

        let tmp = path.with_file_name(format!(
            ".{file_name}.{}.creating",
            uuid::Uuid::new_v4().simple()
        ));
        if let Err(e) = build_new_file(&tmp, &wraps, &key, &rng) {
            remove_quietly(&tmp);
            return Err(e);
        }
        match publish(&tmp, path) {
            Ok(()) => {}
            Err(Published::AlreadyThere) => {
                remove_quietly(&tmp);
                return Err(VaultError::Duplicate {
                    what: "a vault file",
                });
            }
            Err(Published::Failed(e)) => {
                remove_quietly(&tmp);
                return Err(e);
            }
        }
        let conn = open_rw(path)?;
        Self::finish_open(conn, key, kek, path, Some(kdf))
    }

    /// Unlocks with the PIN or passphrase. Wrong → [`VaultError::WrongPin`]
    /// (counted); too early after failures → [`VaultError::PinLocked`]; no
    /// PIN wrap → [`VaultError::NoPin`].
    pub fn unlock_with_pin(path: &Path, pin: &str) -> Result<Vault, VaultError> {
        let conn = open_rw(path)?;
        let key = unwrap_with_pin(&conn, pin)?;
        Self::finish_open(conn, key, None, path, None)
    }

    /// Locks: drops the connection and zeroizes every key.
    pub fn lock(self) {
        drop(self);
    }

    /// Whether the vault has a PIN wrap.
    pub fn has_pin(&self) -> bool {
        matches!(has_meta(&self.conn, "wrap/pin"), Ok(true))
    }

    /// Whether the vault has a keyring wrap.
    pub fn has_keyring_wrap(&self) -> bool {
        matches!(has_meta(&self.conn, "wrap/keyring"), Ok(true))
    }

    /// Adds a PIN wrap when there is none ([`VaultError::Duplicate`] if
    /// there is; use [`Vault::change_pin`]).
    pub fn set_pin(&mut self, new_pin: &str) -> Result<(), VaultError> {
        if self.has_pin() {
            return Err(VaultError::Duplicate { what: "a PIN" });
        }
        validate::check_pin_strength(new_pin)?;
        self.write_pin_wrap(new_pin)
    }

    /// Replaces the PIN after checking the old one (counted like an unlock).
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<(), VaultError> {
        unwrap_with_pin(&self.conn, old_pin)?;
        validate::check_pin_strength(new_pin)?;
        self.write_pin_wrap(new_pin)
    }

    fn write_pin_wrap(&mut self, pin: &str) -> Result<(), VaultError> {
        let (kdf_json, wrapped) = pin_wrap(&self.rng, &self.key, pin, self.kdf)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        write_meta(&tx, M_PIN_KDF, &kdf_json)?;
        write_meta(&tx, "wrap/pin", &wrapped)?;
        pin_reset(&tx)?;
        tx.commit().map_err(db)
    }

    /// Adds (or replaces) the keyring wrap, e.g. after a PIN-only start when
    /// the keyring is back. Reuses a KEK already in `keys`.
    pub fn add_keyring_wrap(&mut self, keys: &dyn KeyStore) -> Result<(), VaultError> {
        let kek = match keys.load()? {
            Some(existing) => match Kek::from_slice(&existing) {
                Some(k) => k,
                None => {
                    let k = Kek::generate(&self.rng)?;
                    keys.store(k.as_bytes())?;
                    k
                }
            },
            None => {
                let k = Kek::generate(&self.rng)?;
                keys.store(k.as_bytes())?;
                k
            }
        };
        let wrapped = kek.wrap(&self.rng, &self.key, WrapSlot::Keyring)?;
        write_meta(&self.conn, "wrap/keyring", &wrapped)?;
        self.keyring_kek = Some(kek);
        Ok(())
    }

    /// Makes a new vault key and re-encrypts every record with it (and
    /// recomputes every lookup hash), in one transaction; then re-wraps it.
    /// A vault with a PIN needs the PIN (checked and counted like an
    /// unlock; it gets a fresh salt). The keyring wrap is renewed when the
    /// vault was opened through the keyring; after a PIN unlock the KEK is
    /// not known, so the keyring wrap is removed and
    /// [`Vault::add_keyring_wrap`] must be called again.
    pub fn rotate_key(&mut self, pin: Option<&str>) -> Result<(), VaultError> {
        if self.has_pin() {
            let pin = pin.ok_or_else(|| {
                VaultError::invalid("pin", "the PIN is needed to rotate the vault key")
            })?;
            unwrap_with_pin(&self.conn, pin)?;
        }
        let new_key = VaultKey::generate(&self.rng)?;
        let new_lookup = new_key.lookup_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(db)?;
        for c in SEALED {
            reseal_column(&tx, c, &self.key, &new_key, &self.rng)?;
        }
        // Lookup hashes under the new lookup key.
        let mut ids: Vec<String> = Vec::new();
        {
            let mut stmt = tx.prepare("SELECT id FROM documents").map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                ids.push(text(r, 0)?);
            }
        }
        tx.execute("UPDATE documents SET number_hash = NULL", [])
            .map_err(db)?;
        for id in &ids {
            let sealed: Vec<u8> = tx
                .query_row("SELECT body FROM documents WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .map_err(db)?;
            let body: DocBody =
                open_json(&new_key, &Place::new(T_DOCUMENTS, id, DOC_BODY), &sealed)?;
            if let Some(n) = body.fields.get("number") {
                tx.execute(
                    "UPDATE documents SET number_hash = ?2 WHERE id = ?1",
                    params![id, number_hash(&new_lookup, body.kind, n)],
                )
                .map_err(db)?;
            }
        }
        // Link tags under the new lookup key.
        let mut links: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = tx
                .prepare("SELECT idempotency_key, document_id FROM application_documents")
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                links.push((text(r, 0)?, text(r, 1)?));
            }
        }
        for (k, doc) in &links {
            let old_tag: Vec<u8> = tx
                .query_row(
                    "SELECT tag FROM application_documents \
                     WHERE idempotency_key = ?1 AND document_id = ?2",
                    [k, doc],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if old_tag != crate::apps::link_tag(&self.lookup, k, doc) {
                return Err(VaultError::Tampered {
                    table: "application_documents",
                    id: k.clone(),
                });
            }
            tx.execute(
                "UPDATE application_documents SET tag = ?3 \
                 WHERE idempotency_key = ?1 AND document_id = ?2",
                params![k, doc, crate::apps::link_tag(&new_lookup, k, doc)],
            )
            .map_err(db)?;
        }
        write_meta(
            &tx,
            M_POLICY,
            &seal_json(
                &new_key,
                &self.rng,
                &Place::new(T_META, M_POLICY, "value"),
                &self.kdf.iterations,
            )?,
        )?;
        match &self.keyring_kek {
            Some(kek) => write_meta(
                &tx,
                "wrap/keyring",
                &kek.wrap(&self.rng, &new_key, WrapSlot::Keyring)?,
            )?,
            None => {
                tx.execute("DELETE FROM meta WHERE name = 'wrap/keyring'", [])
                    .map_err(db)?;
            }
        }
        if let Some(pin) = pin.filter(|_| has_meta(&tx, "wrap/pin").unwrap_or(false)) {
            let (kdf_json, wrapped) = pin_wrap(&self.rng, &new_key, pin, self.kdf)?;
            write_meta(&tx, M_PIN_KDF, &kdf_json)?;
            write_meta(&tx, "wrap/pin", &wrapped)?;
        }
        tx.commit().map_err(db)?;
        self.key = new_key;
        self.lookup = new_lookup;
        Ok(())
    }

    /// Checks the whole file: SQLite's `PRAGMA integrity_check` and
    /// `foreign_key_check`, then opens every sealed value (one at a time)
    /// and decodes every record. The first failure is returned:
    /// [`VaultError::Corrupt`] for SQLite-level damage,
    /// [`VaultError::Tampered`] for a record.
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
        verify_file(&self.conn)?;
        for c in SEALED {
            for_each_sealed(&self.conn, c, &mut |id, parent, blob| {
                let mut place = Place::new(c.table, id, c.place_col);
                if let Some(p) = parent {
                    place = place.with_parent(p);
                }
                self.key.open(&place, blob).map(drop)
            })?;
        }
        self.list_profiles()?;
        // Every document: its plaintext columns and attachment rows match
        // its sealed body, and its lookup hash (if any) is its own.
        for d in self.list_documents_uncached()? {
            let doc = self.get_document(&d.id)?;
            let hash: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT number_hash FROM documents WHERE id = ?1",
                    [&d.id],
                    |r| match r.get_ref(0)? {
                        rusqlite::types::ValueRef::Null => Ok(None),
                        rusqlite::types::ValueRef::Blob(b) => Ok(Some(b.to_vec())),
                        _ => Ok(Some(Vec::new())),
                    },
                )
                .map_err(db)?;
            // NULL is allowed: a v1 vault could hold a number twice, and
            // only the first keeps the lookup.
            if let Some(h) = hash {
                let own = doc
                    .fields
                    .get("number")
                    .map(|n| self.number_hash(doc.kind, n));
                if own.as_deref() != Some(&h[..]) {
                    return Err(VaultError::Tampered {
                        table: T_DOCUMENTS,
                        id: d.id,
                    });
                }
            }
        }
        for app in self.list_applications()? {
            let k = &app.submission.idempotency_key;
            self.application_documents(k)?;
            self.application_history(k)?;
        }
        self.access_log()?;
        self.check_credentials()?;
        self.check_attachment_files()?;
        Ok(())
    }
}

fn pin_wrap(
    rng: &SystemRandom,
    key: &VaultKey,
    pin: &str,
    kdf: KdfParams,
) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
    let salt = random_salt(rng)?;
    let slot = WrapSlot::Pin {
        iterations: kdf.iterations,
        salt,
    };
    let kek = Kek::from_pin(pin, &salt, kdf.iterations)?;
    let wrapped = kek.wrap(rng, key, slot)?;
    let json = serde_json::to_vec(&PinKdf {
        alg: "pbkdf2-hmac-sha256".into(),
        iterations: kdf.iterations,
        salt: hex(&salt),
    })
    .map_err(VaultError::storage)?;
    Ok((json, wrapped))
}

/// `f(id, parent, blob)` of [`for_each_sealed`].
pub(crate) type SealedVisitor<'a> =
    dyn FnMut(&str, Option<&str>, &[u8]) -> Result<(), VaultError> + 'a;

/// Calls `f(id, parent, blob)` for each non-NULL value of a sealed column,
/// one row at a time (attachments can be large).
pub(crate) fn for_each_sealed(
    conn: &Connection,
    c: &crate::SealedColumn,
    f: &mut SealedVisitor<'_>,
) -> Result<(), VaultError> {
    let parent = c.parent_col.unwrap_or("NULL");
    let sql = format!(
        "SELECT rowid, {id}, {parent}, {col} FROM {t} WHERE rowid > ?1 AND {col} IS NOT NULL \
         ORDER BY rowid LIMIT 1",
        id = c.id_col,
        col = c.col,
        t = c.table
    );
    let mut last: i64 = i64::MIN;
    loop {
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([last]).map_err(db)?;
        let Some(row) = rows.next().map_err(db)? else {
            return Ok(());
        };
        last = row.get(0).map_err(db)?;
        let id = text(row, 1)?;
        let parent: Option<String> = row.get(2).map_err(db)?;
        match row.get_ref(3).map_err(db)? {
            rusqlite::types::ValueRef::Blob(b) => f(&id, parent.as_deref(), b)?,
            _ => return Err(VaultError::Tampered { table: c.table, id }),
        }
    }
}

fn reseal_column(
    conn: &Connection,
    c: &crate::SealedColumn,
    old: &VaultKey,
    new: &VaultKey,
    rng: &SystemRandom,
) -> Result<(), VaultError> {
    let mut updates: Vec<(String, Vec<u8>)> = Vec::new();
    let update_sql = format!(
        "UPDATE {t} SET {col} = ?2 WHERE {id} = ?1",
        t = c.table,
        col = c.col,
        id = c.id_col
    );
    for_each_sealed(conn, c, &mut |id, parent, blob| {
        let mut place = Place::new(c.table, id, c.place_col);
        if let Some(p) = parent {
            place = place.with_parent(p);
        }
        let plain = old.open(&place, blob)?;
        let sealed = new.seal(rng, &place, &plain)?;
        // Big columns are written at once to bound memory.
        if c.col == "data" {
            conn.execute(&update_sql, params![id, sealed]).map_err(db)?;
        } else {
            updates.push((id.to_owned(), sealed));
        }
        Ok(())
    })?;
    for (id, sealed) in updates {
        conn.execute(&update_sql, params![id, sealed]).map_err(db)?;
    }
    Ok(())
}

/// The parts of migrations that need the vault key. Files written are
/// added to `written`, to be removed if the migration does not commit.
fn migrate_data(
    conn: &Connection,
    to: i64,
    key: &VaultKey,
    rng: &SystemRandom,
    files: &FileStore,
    written: &mut Pending<'_>,
) -> Result<(), VaultError> {
    match to {
        2 => migrate_to_v2(conn, key, rng),
        schema::ATTACHMENT_FILES => attachments_to_files(conn, key, rng, files, written),
        _ => Ok(()),
    }
}

/// Gives the space freed by migration 4 back to the file system. Moving
/// the attachment bytes out of the database leaves their pages on SQLite's
/// free list, so without this the `.db` file stays as large as it was
/// with the attachments inside (while the same bytes now also sit in
/// `<vault>.files/`).
///
/// The vault runs in WAL mode, where `VACUUM` writes the rebuilt database
/// into the WAL and the database file only shrinks when a checkpoint
/// copies it back, so: checkpoint first (the migration's own frames; this
/// also empties the WAL, leaving VACUUM the most room on a nearly full
/// disk), `VACUUM`, then checkpoint again with `TRUNCATE`, which truncates
/// the database file to its new size and the WAL to zero bytes. The last
/// checkpoint runs even if VACUUM failed, so the frames a failed VACUUM
/// wrote do not keep holding disk space in the WAL. `VACUUM` keeps the
/// rowids of these tables (each has a primary-key index), so the
/// `ORDER BY rowid` orders are unchanged.
///
/// Must run outside any transaction. Returns the first failure, for
/// tests; the open ignores it (see the caller).
pub(crate) fn reclaim_space(conn: &Connection) -> Result<(), VaultError> {
    let first = schema::checkpoint_truncate(conn);
    let vacuum = conn.execute_batch("VACUUM").map_err(db);
    let last = schema::checkpoint_truncate(conn);
    first.and(vacuum).and(last)
}

/// Migration 4: every attachment's inline `data` and `thumb` (sealed with
/// the place labels `data` / `thumb`) become files, and the cells sealed
/// references to them. Files are written (and fsynced, with their
/// directory) before the migration's transaction commits; a crash before
/// the commit leaves the rows inline and the files unreferenced, so the
/// next open migrates again and its sweep removes the old files. One
/// attachment in memory at a time.
fn attachments_to_files(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    files: &FileStore,
    written: &mut Pending<'_>,
) -> Result<(), VaultError> {
    let mut ids: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, document_id FROM attachments ORDER BY rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            ids.push((text(r, 0)?, text(r, 1)?));
        }
    }
    for (id, doc) in ids {
        for (col, label) in [("data", DATA_REF), ("thumb", THUMB_REF)] {
            let inline: Option<Vec<u8>> = conn
                .query_row(
                    &format!("SELECT {col} FROM attachments WHERE id = ?1"),
                    [&id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let Some(inline) = inline else { continue };
            let plain = key.open_owned(
                &Place::new(T_ATTACHMENTS, &id, col).with_parent(&doc),
                inline,
            )?;
            let w = files.write(
                key,
                rng,
                &Place::new(T_ATTACHMENTS, &id, label).with_parent(&doc),
                &plain,
            )?;
            written.push(&w.name);
            conn.execute(
                &format!("UPDATE attachments SET {col} = ?2, {col}_file = ?3 WHERE id = ?1"),
                params![id, w.sealed_ref, w.name],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

/// Migration 2 (from v1).
fn migrate_to_v2(conn: &Connection, key: &VaultKey, rng: &SystemRandom) -> Result<(), VaultError> {
    let lookup = key.lookup_key()?;
    let now = now_rfc3339()?;
    // Documents: v1 body → v2 field map in the self profile.
    let mut docs: Vec<(String, String, Vec<u8>)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, created_at, body FROM documents ORDER BY created_at, rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            docs.push((text(r, 0)?, text(r, 1)?, r.get(2).map_err(db)?));
        }
    }
    let mut self_name = String::new();
    let mut converted = Vec::new();
    for (id, created_at, sealed) in docs {
        let v1: V1Body = open_json(key, &Place::new(T_DOCUMENTS, &id, "body"), &sealed)?;
        if self_name.is_empty() && v1.kind == cds_api::DocumentKind::Cccd {
            self_name = v1.full_name.clone();
        }
        let mut fields = std::collections::BTreeMap::new();
        if v1.kind == cds_api::DocumentKind::Other {
            fields.insert(
                "title".to_owned(),
                format!("{} {}", v1.full_name, v1.number),
            );
        } else {
            fields.insert("number".to_owned(), v1.number.clone());
            fields.insert("full_name".to_owned(), v1.full_name.clone());
            fields.insert("date_of_birth".to_owned(), v1.date_of_birth.clone());
        }
        if v1.kind == cds_api::DocumentKind::Cccd {
            if let Some(sex) = validate::cccd_sex(&v1.number) {
                fields.insert("sex".to_owned(), sex.to_owned());
            }
        }
        let hash = (v1.kind != cds_api::DocumentKind::Other)
            .then(|| number_hash(&lookup, v1.kind, &v1.number));
        converted.push((id, created_at, v1.kind, fields, hash));
    }
    let profile = ProfileBody {
        full_name: self_name,
        relation: Relation::SelfPerson,
        date_of_birth: None,
        created_at: now.clone(),
    };
    conn.execute(
        "INSERT INTO profiles (id, created_at, body) VALUES (?1, ?2, ?3)",
        params![
            SELF_PROFILE_ID,
            now,
            seal_json(
                key,
                rng,
                &Place::new(T_PROFILES, SELF_PROFILE_ID, "body"),
                &profile
            )?
        ],
    )
    .map_err(db)?;
    let mut seen_hashes = std::collections::HashSet::new();
    for (id, created_at, kind, fields, hash) in converted {
        let mut attachments = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT id FROM attachments WHERE document_id = ?1 ORDER BY rowid")
                .map_err(db)?;
            let mut rows = stmt.query([&id]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                attachments.push(text(r, 0)?);
            }
        }
        let body = DocBody {
            kind,
            fields,
            custom_fields: Vec::new(),
            profile_id: SELF_PROFILE_ID.to_owned(),
            created_at: created_at.clone(),
            updated_at: created_at.clone(),
            attachments,
        };
        // v1 allowed the same number twice; the first keeps the lookup.
        let hash = hash.filter(|h| seen_hashes.insert(h.clone()));
        conn.execute(
            "UPDATE documents SET profile_id = ?2, updated_at = ?3, number_hash = ?4, body = ?5 \
             WHERE id = ?1",
            params![
                id,
                SELF_PROFILE_ID,
                created_at,
                hash,
                seal_json(key, rng, &Place::new(T_DOCUMENTS, &id, DOC_BODY), &body)?
            ],
        )
        .map_err(db)?;
    }
    // Attachment metadata in the v2 layout (with its time), and thumbnails
    // for images.
    let mut atts: Vec<(String, String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, document_id, created_at FROM attachments")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            atts.push((text(r, 0)?, text(r, 1)?, text(r, 2)?));
        }
    }
    for (id, doc, created_at) in atts {
        let (meta, data): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT meta, data FROM attachments WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        let meta_place = Place::new(T_ATTACHMENTS, &id, "meta").with_parent(&doc);
        let v1: V1AttachmentInfo = open_json(key, &meta_place, &meta)?;
        let info = AttachmentInfo {
            file_name: v1.file_name,
            mime: v1.mime,
            size: v1.size,
            created_at,
        };
        conn.execute(
            "UPDATE attachments SET meta = ?2 WHERE id = ?1",
            params![id, seal_json(key, rng, &meta_place, &info)?],
        )
        .map_err(db)?;
        let bytes = key.open(
            &Place::new(T_ATTACHMENTS, &id, "data").with_parent(&doc),
            &data,
        )?;
        // An old image too large to thumbnail keeps no thumbnail.
        if let Ok(Some(t)) = thumb::make_thumbnail(&bytes, &info.mime) {
            let sealed = key.seal(
                rng,
                &Place::new(T_ATTACHMENTS, &id, "thumb").with_parent(&doc),
                &t,
            )?;
            conn.execute(
                "UPDATE attachments SET thumb = ?2 WHERE id = ?1",
                params![id, sealed],
            )
            .map_err(db)?;
        }
    }
    // Applications: history and links to the documents sent.
    // (idempotency key, created_at, payload, receipt)
    type AppRow = (String, String, Vec<u8>, Option<Vec<u8>>);
    let mut apps: Vec<AppRow> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT idempotency_key, created_at, payload, receipt FROM applications")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            apps.push((
                text(r, 0)?,
                text(r, 1)?,
                r.get(2).map_err(db)?,
                r.get(3).map_err(db)?,
            ));
        }
    }
    for (k, created_at, payload, receipt) in apps {
        let app: cds_api::SubmitApplication =
            open_json(key, &Place::new(T_APPLICATIONS, &k, "payload"), &payload)?;
        crate::apps::add_history(conn, key, rng, &k, &created_at, "queued", None)?;
        if let Some(r) = receipt {
            let r: cds_api::ApplicationReceipt =
                open_json(key, &Place::new(T_APPLICATIONS, &k, "receipt"), &r)?;
            crate::apps::add_history(
                conn,
                key,
                rng,
                &k,
                &r.received_at,
                r.status.code(),
                Some(&r.case_number),
            )?;
        }
        crate::apps::link_documents(conn, key, &lookup, &k, &app)?;
    }
    let _ = T_HISTORY;
    Ok(())
}

/// Builds a complete new vault file at `tmp` in one transaction.
fn build_new_file(
    tmp: &Path,
    meta: &[(&'static str, Vec<u8>)],
    key: &VaultKey,
    rng: &SystemRandom,
) -> Result<(), VaultError> {
    // A new vault has no attachments: migration 4 writes no file.
    let files = FileStore::new(tmp);
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
    let mut written = Pending::new(&files);
    schema::migrate(&tx, &mut |c, to| {
        migrate_data(c, to, key, rng, &files, &mut written)
    })?;
    for (name, value) in meta {
        write_meta(&tx, name, value)?;
    }
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

/// Makes a new directory entry durable (best effort; Unix only).
pub(crate) fn sync_parent_dir(path: &Path) {
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
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
}

impl Vault {
    /// For [`Vault::integrity_check`]: every attachment's data and
    /// thumbnail file exists with the size its reference says and
    /// authenticates in full (one file in memory at a time).
    fn check_attachment_files(&self) -> Result<(), VaultError> {
        let mut last: i64 = i64::MIN;
        loop {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT rowid, id, document_id, data, data_file, thumb, thumb_file \
                     FROM attachments WHERE rowid > ?1 ORDER BY rowid LIMIT 1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([last]).map_err(db)?;
            let Some(r) = rows.next().map_err(db)? else {
                return Ok(());
            };
            last = r.get(0).map_err(db)?;
            let id = text(r, 1)?;
            let doc = text(r, 2)?;
            let read = |idx, col| {
                crate::docs::read_attachment_file(&self.key, &self.files, r, idx, &id, &doc, col)
            };
            if read(3, "data")?.is_none() {
                return Err(VaultError::Tampered {
                    table: T_ATTACHMENTS,
                    id,
                });
            }
            read(5, "thumb")?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_delay_grows_from_the_fourth_failure_and_is_capped() {
        assert_eq!(
            (0..=10).map(pin_delay).collect::<Vec<_>>(),
            [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920]
        );
        assert_eq!(pin_delay(11), 3600);
        assert_eq!(pin_delay(1000), 3600);
    }

    /// `(rowid, every column as text)` of every row of every table.
    fn all_rows(conn: &Connection) -> Vec<(String, i64, String)> {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut out = Vec::new();
        for t in tables {
            let mut stmt = conn
                .prepare(&format!("SELECT rowid, * FROM {t} ORDER BY rowid"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cols: Vec<String> = (1..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok((t.clone(), r.get(0)?, cols.join("|")))
                })
                .unwrap()
                .map(Result::unwrap);
            out.extend(rows);
        }
        out
    }

    #[test]
    fn reclaiming_space_keeps_every_row_and_rowid_and_failing_is_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite3");
        let keys = crate::MemoryKeyStore::new();
        let mut v = Vault::create_with_kdf(
            &path,
            Some(&keys),
            None,
            KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..6 {
            let doc = crate::DocumentInput {
                profile_id: SELF_PROFILE_ID.into(),
                kind: cds_api::DocumentKind::Other,
                fields: [("title".to_owned(), format!("doc {i}"))].into(),
                custom_fields: vec![],
            };
            let mut bytes = b"%PDF-1.7\n".to_vec();
            bytes.resize(50_000, i as u8);
            let att = crate::NewAttachment {
                file_name: "a.pdf".into(),
                mime: "application/pdf".into(),
                bytes,
            };
            ids.push(v.add_document(&doc, &[att.clone(), att]).unwrap().id);
        }
        // Holes in the rowids, and free pages.
        v.delete_document(&ids[1]).unwrap();
        v.delete_document(&ids[4]).unwrap();
        let big = vec![7u8; 200_000];
        v.set_device_value("x/big", &big).unwrap();
        v.set_device_value("x/big", b"small").unwrap();
        let before = all_rows(&v.conn);
        let free = |c: &Connection| -> i64 {
            c.query_row("PRAGMA freelist_count", [], |r| r.get(0))
                .unwrap()
        };
        assert!(free(&v.conn) > 0);

        // Inside a transaction VACUUM cannot run: an error, nothing lost.
        v.conn.execute_batch("BEGIN").unwrap();
        assert!(reclaim_space(&v.conn).is_err());
        v.conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(all_rows(&v.conn), before);

        reclaim_space(&v.conn).unwrap();
        assert_eq!(free(&v.conn), 0);
        assert_eq!(all_rows(&v.conn), before, "same rows, same rowids");
        let wal = std::fs::metadata(dir.path().join("v.sqlite3-wal")).unwrap();
        assert_eq!(wal.len(), 0, "WAL truncated");
        v.integrity_check().unwrap();
        let listed: Vec<String> = v
            .list_documents(None)
            .unwrap()
            .into_iter()
            .map(|d| d.id.clone())
            .collect();
        let newest_first: Vec<String> = [5, 3, 2, 0].map(|i| ids[i].clone()).into();
        assert_eq!(listed, newest_first);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xAB, 0xFF])),
            Some(vec![0, 1, 0xAB, 0xFF])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
