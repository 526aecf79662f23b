//! Opening, creating and locking a vault: verifying a file before anything
//! is written, unwrapping the vault key through the keyring or the PIN,
//! running the migrations, and building a new vault file under a temporary
//! name that is linked into place only when complete.

use cds_domain::{Clock, SystemClock};
use ring::rand::SystemRandom;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;

use super::pin::{pin_wait, pin_wrap, unwrap_with_pin, M_PIN_KDF};
use crate::crypto::{Kek, Place, VaultKey, WrapSlot};
use crate::error::{db, io};
use crate::files::{FileStore, Pending};
use crate::fsutil::{publish, remove_quietly, Published};
use crate::migrate::{migrate_data, reclaim_space};
use crate::{
    has_meta, open_json, read_meta, schema, seal_json, validate, write_meta, KdfParams, KeyStore,
    Vault, VaultError, VaultFileInfo, T_META,
};

/// The vault's KDF policy (`meta` `kdf/policy`, sealed): the iteration
/// count of its PIN wrap and backups.
pub(crate) const M_POLICY: &str = "kdf/policy";

/// Verifies an existing file is a vault of a known schema, writing nothing.
pub(crate) fn verify_file(conn: &Connection) -> Result<(), VaultError> {
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
    // Only once it is known to be a vault: a file that is not one is not
    // ours to change. Best effort: a vault on a file system that refuses
    // chmod (a read-only or FAT mount) still opens; it was no safer before.
    let _ = crate::fsutil::restrict_vault_files(path);
    Ok(conn)
}

impl Vault {
    /// What can be learnt about the vault file without a key: does it
    /// exist, which wraps it has, how long until a PIN attempt is allowed.
    /// Writes nothing.
    pub fn inspect(path: &Path) -> Result<VaultFileInfo, VaultError> {
        Self::inspect_with_clock(path, &SystemClock)
    }

    /// [`Vault::inspect`] with the PIN back-off measured on `clock`.
    pub fn inspect_with_clock(path: &Path, clock: &dyn Clock) -> Result<VaultFileInfo, VaultError> {
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
            pin_retry_after_secs: pin_wait(&conn, clock)?,
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
        // Installed after the migrations: what they changed is in the file,
        // and the cache is built from the file.
        let summary_stamp = crate::docs::SummaryStamp::install(&conn);
        Ok(Vault {
            conn,
            key,
            lookup,
            keyring_kek,
            kdf,
            rng,
            path: path.to_owned(),
            doc_cache: Default::default(),
            summary_stamp,
            files,
            clock: Arc::new(SystemClock),
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
        Self::create_with(path, keys, pin, KdfParams::recommended())
    }

    /// [`Vault::create`] with an explicit KDF cost for the PIN wrap and
    /// later backups (`KdfParams::insecure_fast_kdf_for_tests` in tests).
    /// Only with the `test-util` feature: the app always creates with
    /// [`KdfParams::recommended`].
    #[cfg(any(test, feature = "test-util"))]
    pub fn create_with_kdf(
        path: &Path,
        keys: Option<&dyn KeyStore>,
        pin: Option<&str>,
        kdf: KdfParams,
    ) -> Result<Vault, VaultError> {
        Self::create_with(path, keys, pin, kdf)
    }

    fn create_with(
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
            crate::fsutil::create_private_dir_all(parent)?;
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
        Self::unlock_with_pin_and_clock(path, pin, Arc::new(SystemClock))
    }

    /// [`Vault::unlock_with_pin`] with the PIN back-off measured on
    /// `clock`, which the open vault keeps for [`Vault::change_pin`] and
    /// [`Vault::rotate_key`] (tests pass a `ManualClock` and never wait).
    pub fn unlock_with_pin_and_clock(
        path: &Path,
        pin: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Vault, VaultError> {
        let conn = open_rw(path)?;
        let key = unwrap_with_pin(&conn, pin, clock.as_ref())?;
        let mut v = Self::finish_open(conn, key, None, path, None)?;
        v.clock = clock;
        Ok(v)
    }

    /// The clock the PIN back-off of this open vault is measured on (the
    /// system clock unless set).
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// Locks: drops the connection and zeroizes every key.
    pub fn lock(self) {
        drop(self);
    }

    /// Whether the vault has a keyring wrap.
    pub fn has_keyring_wrap(&self) -> bool {
        matches!(has_meta(&self.conn, "wrap/keyring"), Ok(true))
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
    crate::fsutil::create_private_file(tmp)?;
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
