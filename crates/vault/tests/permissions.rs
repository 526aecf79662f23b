//! Who may read the vault on disk: every file the vault writes is 0600 and
//! every folder it creates 0700 (a copy of the file is all an offline PIN
//! guess needs), and a vault left 0644 by an older version is narrowed when
//! it is opened.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use cds_vault::{MemoryKeyStore, NewAttachment, Vault, SELF_PROFILE_ID};
use common::{cccd, fast_vault, png, sidecar};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_vault_its_side_files_attachments_and_folders_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app-data").join("vault");
    let path = data.join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(&path, Some(&keys), Some("482915"));
    v.add_document(
        &cccd(SELF_PROFILE_ID),
        &[NewAttachment {
            file_name: "front.png".into(),
            mime: "image/png".into(),
            bytes: png(64, 40),
        }],
    )
    .unwrap();

    // Both folders the vault created, not only the innermost one.
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&dir.path().join("app-data")), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&sidecar(&path, "-wal")), 0o600);
    assert_eq!(mode(&sidecar(&path, "-shm")), 0o600);
    let files = sidecar(&path, ".files");
    assert_eq!(mode(&files), 0o700);
    let mut n = 0;
    for f in std::fs::read_dir(&files).unwrap() {
        assert_eq!(mode(&f.unwrap().path()), 0o600);
        n += 1;
    }
    assert_eq!(n, 2, "the photo and its thumbnail");
    // Nothing else was left beside the vault (no temporary file).
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "v.sqlite3",
            "v.sqlite3-shm",
            "v.sqlite3-wal",
            "v.sqlite3.files"
        ]
    );
}

#[test]
fn a_vault_readable_by_others_is_narrowed_on_open_and_an_existing_folder_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    fast_vault(&path, Some(&keys), None).lock();
    // As an older version left it.
    for p in [path.clone(), sidecar(&path, "-wal"), sidecar(&path, "-shm")] {
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&sidecar(&path, "-wal")), 0o600);
    assert_eq!(mode(&sidecar(&path, "-shm")), 0o600);
    // The folder was not made by the vault: not the vault's to change.
    assert_eq!(mode(dir.path()), 0o755);
    v.integrity_check().unwrap();
}

#[test]
fn a_file_that_is_not_a_vault_keeps_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"not a vault").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(Vault::open(&path, &MemoryKeyStore::new()).is_err());
    assert_eq!(mode(&path), 0o644);
    assert_eq!(std::fs::read(&path).unwrap(), b"not a vault");
}
