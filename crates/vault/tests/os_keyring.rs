//! The real OS keyring (Secret Service on Linux).
//!
//! These tests need an unlocked keyring in a session bus. The project's test
//! command provides one; to run them alone:
//!
//! ```sh
//! dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock \
//!   --components=secrets >/dev/null; cargo test -p cds-vault --test os_keyring'
//! ```
//!
//! Without a keyring they fail (they never skip) and say so.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::DocumentKind;
use cds_vault::{KeyStore, NewAttachment, OsKeyring, Vault};

mod common;

const HOW_TO_RUN: &str = "these tests need an unlocked OS keyring (Secret Service). Run them \
     under the project's test command, or: dbus-run-session -- sh -c 'printf pw | \
     gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p cds-vault \
     --test os_keyring'";

/// A keyring entry of its own for each test, removed when the test ends.
struct TestEntry {
    service: String,
    keys: OsKeyring,
}

impl TestEntry {
    fn new() -> Self {
        let service = format!("cds-vault-test-{}", uuid::Uuid::new_v4());
        let keys = OsKeyring::new(&service, "vault-kek");
        TestEntry { service, keys }
    }
}

impl Drop for TestEntry {
    fn drop(&mut self) {
        let _ = self.keys.delete();
    }
}

fn must<T>(r: Result<T, cds_vault::VaultError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}\n\n{HOW_TO_RUN}"),
    }
}

#[test]
fn store_load_delete_round_trip() {
    let entry = TestEntry::new();
    let keys = &entry.keys;
    assert_eq!(must(keys.load(), "reading a fresh keyring entry"), None);

    let secret: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    must(keys.store(&secret), "storing a secret in the keyring");
    let back = must(keys.load(), "reading the secret back").expect("the entry is there");
    assert_eq!(&back[..], &secret[..]);

    // Replacing works, and a fresh handle on the same entry sees it.
    must(keys.store(&[7u8; 32]), "replacing the secret");
    let other_handle = OsKeyring::new(&entry.service, "vault-kek");
    assert_eq!(
        must(other_handle.load(), "reading through another handle")
            .as_deref()
            .map(Vec::as_slice),
        Some(&[7u8; 32][..])
    );

    must(keys.delete(), "deleting the entry");
    assert_eq!(must(keys.load(), "reading a deleted entry"), None);
    must(keys.delete(), "deleting a missing entry (must be a no-op)");
}

#[test]
fn a_vault_opens_adds_and_reopens_through_the_os_keyring() {
    let entry = TestEntry::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");

    let mut vault = must(
        Vault::open(&path, &entry.keys),
        "creating a vault with the OS keyring",
    );
    let photo = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01,
    ];
    let doc = vault
        .add_document(
            &common::document(
                "self",
                DocumentKind::Cccd,
                &[
                    ("number", "001099012345"),
                    ("full_name", "Trần Văn Bảy"),
                    ("date_of_birth", "1999-03-04"),
                    ("sex", "nam"),
                    ("nationality", "Việt Nam"),
                    ("place_of_origin", "Hà Nội"),
                    ("place_of_residence", "Đà Nẵng"),
                    ("issue_date", "2021-01-01"),
                ],
            ),
            &[NewAttachment {
                file_name: "front.jpg".into(),
                mime: "image/jpeg".into(),
                bytes: photo.to_vec(),
            }],
        )
        .unwrap();
    drop(vault);

    let kek = must(entry.keys.load(), "reading the KEK").expect("the KEK is in the keyring");
    assert_eq!(kek.len(), 32);

    // A new handle, as on the next app start.
    let again = OsKeyring::new(&entry.service, "vault-kek");
    let vault = must(Vault::open(&path, &again), "reopening the vault");
    assert_eq!(vault.get_document(&doc.id).unwrap(), doc);
    assert_eq!(vault.list_documents(None).unwrap().len(), 1);
    assert_eq!(
        &vault.attachment_bytes(&doc.attachments[0].id).unwrap()[..],
        &photo[..]
    );
    drop(vault);

    // Without its keyring entry the vault is refused and left as it was.
    let before = std::fs::read(&path).unwrap();
    must(entry.keys.delete(), "deleting the KEK");
    assert_eq!(
        Vault::open(&path, &again).unwrap_err(),
        cds_vault::VaultError::KeyMissing
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(must(again.load(), "reading the deleted entry"), None);
}
