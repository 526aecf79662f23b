//! File-system helpers of the vault: durable directory entries, moving a
//! finished file into place without replacing one, quiet clean-up, and the
//! permissions of everything the vault keeps on disk (files 0600, folders
//! 0700: the sealed records are safe to read, but a copy of the file is
//! what an offline PIN guess needs, so nobody else gets one).

use std::path::Path;

use crate::error::io;
use crate::VaultError;

/// Mode of every file the vault writes (database, WAL, shared memory,
/// attachment files, backups).
#[cfg(unix)]
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of every folder the vault creates (the data folder, `.files/`).
#[cfg(unix)]
pub(crate) const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents with [`DIR_MODE`]. Folders that
/// already exist are left as they are: the vault may live in a folder it
/// does not own (a home directory, a test's temp dir).
pub(crate) fn create_private_dir_all(dir: &Path) -> Result<(), VaultError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(dir)
        .map_err(|e| io(format_args!("cannot create {}", dir.display()), e))
}

/// Creates an empty file at `path` that only the owner can read and
/// write, failing if it exists. SQLite then opens it as a new database and
/// gives its `-wal`, `-shm` and `-journal` files the same mode (it copies
/// the database file's permissions), so no vault file is ever readable by
/// others, not even for a moment.
pub(crate) fn create_private_file(path: &Path) -> Result<(), VaultError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, FILE_MODE);
    opts.open(path)
        .map(drop)
        .map_err(|e| io(format_args!("cannot create {}", path.display()), e))
}

/// Narrows the vault file and its SQLite side files to [`FILE_MODE`] when
/// they are readable by others (vaults made by earlier versions, which
/// left SQLite's default 0644). Only the vault's own files are touched.
pub(crate) fn restrict_vault_files(path: &Path) -> Result<(), VaultError> {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(format_args!("cannot read {}", p.display()), e)),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(FILE_MODE))
                .map_err(|e| io(format_args!("cannot restrict {}", p.display()), e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub(crate) enum Published {
    AlreadyThere,
    Failed(VaultError),
}

/// Moves the finished file into place without ever replacing an existing
/// file: a hard link fails if `path` exists. Where links are unsupported,
/// falls back to a rename after checking the name is still free.
pub(crate) fn publish(tmp: &Path, path: &Path) -> Result<(), Published> {
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

pub(crate) fn remove_quietly(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
}
