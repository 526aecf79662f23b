//! The one error type of the crate, and the mapping from SQLite and I/O errors.

use rusqlite::ffi::ErrorCode;

/// Everything that can go wrong in the vault.
///
/// Messages are English, for logs and developers; the app maps
/// [`VaultError::kind`] to a translated text. No message ever contains key
/// material or decrypted personal data (row ids are random UUIDs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The OS keyring (Secret Service, Keychain, Credential Manager) could
    /// not be used.
    #[error("the OS keyring is not available: {0}")]
    Keyring(String),
    /// The vault file exists but its key-encryption key is not in the key
    /// store. The vault is left untouched; a new key is never made for it.
    #[error(
        "the vault file exists but its key is missing from the keyring; \
         the vault was not changed"
    )]
    KeyMissing,
    /// The key store holds a key, but it does not open this vault.
    #[error("the key in the keyring does not open this vault; the vault was not changed")]
    WrongKey,
    /// The file is not a vault, or SQLite found it damaged.
    #[error("the vault file is damaged or is not a vault: {0}")]
    Corrupt(String),
    /// A record failed authentication: it was changed, moved or swapped
    /// outside the app. Its contents are never returned.
    #[error(
        "a record in `{table}` (id {id}) failed authentication: it was changed \
         or moved outside the app"
    )]
    Tampered { table: &'static str, id: String },
    /// Input that the vault refuses to store.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// No such document, attachment or application.
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    /// The disk (or the device's storage quota) is full.
    #[error("the disk is full; nothing was saved")]
    DiskFull,
    /// Any other storage failure (I/O, SQLite).
    #[error("storage error: {0}")]
    Storage(String),
    /// The PIN or passphrase did not unlock the vault. After three failures
    /// each further attempt must wait `retry_after_secs`.
    #[error("wrong PIN or passphrase; next attempt allowed in {retry_after_secs} s")]
    WrongPin { retry_after_secs: u64 },
    /// Too many wrong PINs: wait before trying again. Nothing was checked.
    #[error("too many wrong PINs; try again in {retry_after_secs} s")]
    PinLocked { retry_after_secs: u64 },
    /// The new PIN or passphrase is too easy to guess.
    #[error("the PIN or passphrase is too weak: {0}")]
    WeakPin(String),
    /// The vault has no PIN wrap (yet) but one was needed.
    #[error("the vault has no PIN")]
    NoPin,
    /// The thing already exists (a document with the same number, a vault
    /// file at the path, a PIN when setting one).
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    /// The backup file is damaged, truncated or not a backup. Nothing in the
    /// vault was changed.
    #[error("the backup file is damaged or incomplete: {0}; the vault was not changed")]
    BackupCorrupt(String),
    /// The passphrase does not open the backup. Nothing was changed.
    #[error("the passphrase does not open this backup; the vault was not changed")]
    WrongPassphrase,
    /// A file is larger than allowed.
    #[error("the file is larger than the {max} bytes allowed")]
    TooLarge { max: u64 },
    /// An attachment is not a JPEG, PNG, WebP or GIF image or a PDF.
    #[error(
        "the file is not a JPEG, PNG, WebP or GIF image or a PDF document \
         (checked by its content, not its name)"
    )]
    UnsupportedFile,
    /// The vault is locked.
    #[error("the vault is locked")]
    Locked,
}

impl VaultError {
    /// Stable `snake_case` code for the app (`{kind, message}` across IPC).
    pub fn kind(&self) -> &'static str {
        match self {
            VaultError::Keyring(_) => "keyring_unavailable",
            VaultError::KeyMissing => "key_missing",
            VaultError::WrongKey => "wrong_key",
            VaultError::Corrupt(_) => "corrupt",
            VaultError::Tampered { .. } => "tampered",
            VaultError::Invalid { .. } => "invalid_input",
            VaultError::NotFound { .. } => "not_found",
            VaultError::DiskFull => "disk_full",
            VaultError::Storage(_) => "storage",
            VaultError::WrongPin { .. } => "wrong_pin",
            VaultError::PinLocked { .. } => "pin_locked",
            VaultError::WeakPin(_) => "weak_pin",
            VaultError::NoPin => "no_pin",
            VaultError::Duplicate { .. } => "duplicate",
            VaultError::BackupCorrupt(_) => "backup_corrupt",
            VaultError::WrongPassphrase => "wrong_passphrase",
            VaultError::TooLarge { .. } => "too_large",
            VaultError::UnsupportedFile => "unsupported_file",
            VaultError::Locked => "vault_locked",
        }
    }

    pub(crate) fn storage(what: impl std::fmt::Display) -> Self {
        VaultError::Storage(what.to_string())
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        VaultError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Maps a SQLite error to the vault's error (kept private so `rusqlite`
/// does not become part of the public API through a `From` impl).
///
/// A full disk reaches us from SQLite in two forms: `SQLITE_FULL` (a write
/// to the database or its WAL failed with `ENOSPC`), and
/// `SQLITE_IOERR_SHMSIZE`, when the WAL index (`-shm`) cannot be grown:
/// SQLite extends it by writing one byte per page, and on a full disk that
/// write fails before anything else, e.g. when a vault is opened on a full
/// disk (seen on a real full tmpfs, `tests/full_disk.rs`). Both are
/// [`VaultError::DiskFull`].
pub(crate) fn db(e: rusqlite::Error) -> VaultError {
    if let rusqlite::Error::SqliteFailure(code, _) = &e {
        if code.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE {
            return VaultError::DiskFull;
        }
        match code.code {
            ErrorCode::DiskFull => return VaultError::DiskFull,
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                return VaultError::Corrupt(e.to_string())
            }
            _ => {}
        }
    }
    VaultError::Storage(e.to_string())
}

/// Maps an I/O error, naming what was being done. `ENOSPC` and `EDQUOT`
/// (the disk, or the user's quota on it, is full) are
/// [`VaultError::DiskFull`].
pub(crate) fn io(what: impl std::fmt::Display, e: std::io::Error) -> VaultError {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => VaultError::DiskFull,
        _ => VaultError::Storage(format!("{what}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_map_to_kinds() {
        assert_eq!(db(sqlite(ffi::SQLITE_FULL)), VaultError::DiskFull);
        // The WAL index could not be grown: what a vault opened on a full
        // disk reports. Other I/O errors are not a full disk.
        assert_eq!(db(sqlite(ffi::SQLITE_IOERR_SHMSIZE)), VaultError::DiskFull);
        assert_eq!(db(sqlite(ffi::SQLITE_IOERR_WRITE)).kind(), "storage");
        assert_eq!(db(sqlite(ffi::SQLITE_IOERR_FSYNC)).kind(), "storage");
        assert_eq!(db(sqlite(ffi::SQLITE_IOERR_SHMMAP)).kind(), "storage");
        assert_eq!(db(sqlite(ffi::SQLITE_CORRUPT)).kind(), "corrupt");
        assert_eq!(db(sqlite(ffi::SQLITE_NOTADB)).kind(), "corrupt");
        assert_eq!(db(sqlite(ffi::SQLITE_IOERR)).kind(), "storage");
        assert_eq!(db(rusqlite::Error::QueryReturnedNoRows).kind(), "storage");
    }

    #[test]
    fn io_storage_full_is_disk_full() {
        let e = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(io("writing", e), VaultError::DiskFull);
        // As Linux reports them: ENOSPC (28), EDQUOT (122).
        if cfg!(target_os = "linux") {
            for errno in [28, 122] {
                let e = std::io::Error::from_raw_os_error(errno);
                assert_eq!(io("writing", e), VaultError::DiskFull, "errno {errno}");
            }
        }
        assert_eq!(
            VaultError::DiskFull.to_string(),
            "the disk is full; nothing was saved"
        );
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(io("writing x", e).kind(), "storage");
    }

    #[test]
    fn kinds_are_stable_snake_case() {
        let all = [
            VaultError::Keyring("x".into()),
            VaultError::KeyMissing,
            VaultError::WrongKey,
            VaultError::Corrupt("x".into()),
            VaultError::Tampered {
                table: "documents",
                id: "1".into(),
            },
            VaultError::invalid("number", "x"),
            VaultError::NotFound {
                what: "document",
                id: "1".into(),
            },
            VaultError::DiskFull,
            VaultError::Storage("x".into()),
            VaultError::WrongPin {
                retry_after_secs: 0,
            },
            VaultError::PinLocked {
                retry_after_secs: 30,
            },
            VaultError::WeakPin("x".into()),
            VaultError::NoPin,
            VaultError::Duplicate { what: "document" },
            VaultError::BackupCorrupt("x".into()),
            VaultError::WrongPassphrase,
            VaultError::TooLarge { max: 1 },
            VaultError::UnsupportedFile,
            VaultError::Locked,
        ];
        let kinds: Vec<_> = all.iter().map(VaultError::kind).collect();
        assert_eq!(
            kinds,
            [
                "keyring_unavailable",
                "key_missing",
                "wrong_key",
                "corrupt",
                "tampered",
                "invalid_input",
                "not_found",
                "disk_full",
                "storage",
                "wrong_pin",
                "pin_locked",
                "weak_pin",
                "no_pin",
                "duplicate",
                "backup_corrupt",
                "wrong_passphrase",
                "too_large",
                "unsupported_file",
                "vault_locked",
            ]
        );
    }
}
