//! Device-bound values: credential sets per profile and named device
//! values. Sealed, replaced atomically, deleted with their profile,
//! re-sealed by key rotation, and never carried by a backup.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_vault::{
    CredentialSet, MemoryKeyStore, StoredCredential, Vault, VaultError, MAX_DEVICE_VALUE_BYTES,
};
use std::path::Path;

mod common;
use common::{cccd, NAME};

fn fast_vault(path: &Path, keys: &MemoryKeyStore, pin: Option<&str>) -> Vault {
    common::fast_vault(path, Some(keys), pin)
}

fn cred(disclosure: &str, n: u32) -> StoredCredential {
    common::credential(
        disclosure,
        &format!("cred-{disclosure}-{n}"),
        &format!("CDS1:{disclosure}.{n}.eyJzdWIiOiIwNzkwOTUwMDEyMzQifQ.c2lnbmF0dXJl"),
    )
}

fn set(profile: &str, n: u32) -> CredentialSet {
    common::credential_set(
        profile,
        NAME,
        vec![cred("full", n), cred("over18", n), cred("name_only", n)],
    )
}

fn child(v: &mut Vault) -> String {
    common::add_child(v, "Đặng Thị Tí", "2019-06-01").id
}

#[test]
fn credential_sets_are_stored_replaced_whole_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let path = dir.path().join("v.sqlite3");
    let mut v = fast_vault(&path, &keys, None);
    let kid = child(&mut v);
    assert_eq!(v.credentials("self").unwrap(), None);
    v.store_credentials(&set("self", 1)).unwrap();
    v.store_credentials(&set(&kid, 7)).unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    // Replacing is whole-set: the new set, nothing of the old one.
    let mut smaller = set("self", 2);
    smaller.credentials.truncate(1);
    v.store_credentials(&smaller).unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(smaller.clone()));
    assert_eq!(v.credentials(&kid).unwrap(), Some(set(&kid, 7)));
    // Survives reopening; the payload is not on disk in clear.
    drop(v);
    let raw = std::fs::read(&path).unwrap();
    let needle = b"eyJzdWIiOiIwNzkwOTUwMDEyMzQifQ";
    assert!(!raw.windows(needle.len()).any(|w| w == needle));
    let mut v = Vault::open(&path, &keys).unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(smaller));
    v.delete_credentials("self").unwrap();
    assert_eq!(v.credentials("self").unwrap(), None);
    v.delete_credentials("self").unwrap(); // nothing to delete is fine
    assert_eq!(v.credentials(&kid).unwrap(), Some(set(&kid, 7)));
    v.integrity_check().unwrap();
}

#[test]
fn unknown_profiles_are_not_found_and_bad_sets_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(&dir.path().join("v.sqlite3"), &keys, None);
    let nobody = "00000000-0000-4000-8000-000000000000";
    for e in [
        v.store_credentials(&set(nobody, 1)).unwrap_err(),
        v.credentials(nobody).unwrap_err(),
        v.delete_credentials(nobody).unwrap_err(),
    ] {
        assert_eq!(
            e,
            VaultError::NotFound {
                what: "profile",
                id: nobody.into()
            }
        );
    }
    type Change = Box<dyn Fn(&mut CredentialSet)>;
    let bad: Vec<(&str, Change)> = vec![
        (
            "disclosure",
            Box::new(|s| s.credentials[0].disclosure = "all".into()),
        ),
        (
            "subject_number",
            Box::new(|s| s.subject_number = "07909500123".into()),
        ),
        (
            "subject_number",
            Box::new(|s| s.subject_number = "07909500123x".into()),
        ),
        (
            "text",
            Box::new(|s| s.credentials[1].text = "CDS2:abc".into()),
        ),
        (
            "text",
            Box::new(|s| s.credentials[1].text = format!("CDS1:{}", "a".repeat(9000))),
        ),
        (
            "not_after",
            Box::new(|s| s.credentials[2].not_after = "2027-11-01".into()),
        ),
        (
            "fetched_at",
            Box::new(|s| s.fetched_at = "yesterday".into()),
        ),
        ("full_name", Box::new(|s| s.full_name = String::new())),
        (
            "credential_id",
            Box::new(|s| s.credentials[0].credential_id = "a\nb".into()),
        ),
        (
            "credentials",
            Box::new(|s| s.credentials = vec![cred("full", 1); 17]),
        ),
    ];
    v.store_credentials(&set("self", 1)).unwrap();
    for (field, change) in bad {
        let mut s = set("self", 2);
        change(&mut s);
        match v.store_credentials(&s) {
            Err(VaultError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Nothing refused was written.
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    // An empty set is a valid set (the server issued none).
    let mut empty = set("self", 3);
    empty.credentials.clear();
    v.store_credentials(&empty).unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(empty));
}

#[test]
fn deleting_a_profile_deletes_its_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let path = dir.path().join("v.sqlite3");
    let mut v = fast_vault(&path, &keys, None);
    let kid = child(&mut v);
    v.store_credentials(&set(&kid, 1)).unwrap();
    v.store_credentials(&set("self", 1)).unwrap();
    v.delete_profile(&kid).unwrap();
    assert_eq!(v.credentials(&kid).unwrap_err().kind(), "not_found");
    drop(v);
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM credentials WHERE profile_id = ?1",
            [&kid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0, "the row is gone from the file, not just hidden");
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    v.integrity_check().unwrap();
}

#[test]
fn device_values_round_trip_with_checked_names_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let path = dir.path().join("v.sqlite3");
    let mut v = fast_vault(&path, &keys, None);
    assert_eq!(v.device_value("creds/refresh_token").unwrap(), None);
    v.set_device_value("creds/refresh_token", b"rt-1").unwrap();
    v.set_device_value("trust/list.json", &[7u8; 200_000])
        .unwrap();
    v.set_device_value("empty", b"").unwrap();
    v.set_device_value("creds/refresh_token", b"rt-2").unwrap();
    drop(v);
    let mut v = Vault::open(&path, &keys).unwrap();
    assert_eq!(
        &v.device_value("creds/refresh_token").unwrap().unwrap()[..],
        b"rt-2"
    );
    assert_eq!(
        &v.device_value("trust/list.json").unwrap().unwrap()[..],
        &[7u8; 200_000][..]
    );
    assert_eq!(&v.device_value("empty").unwrap().unwrap()[..], b"");
    for bad in ["", "Trust", "a b", "x|y", &"n".repeat(65)] {
        for e in [
            v.set_device_value(bad, b"x").unwrap_err(),
            v.device_value(bad).unwrap_err(),
            v.delete_device_value(bad).unwrap_err(),
        ] {
            assert_eq!(e.kind(), "invalid_input", "{bad:?}");
        }
    }
    assert_eq!(
        v.set_device_value("big", &vec![0u8; MAX_DEVICE_VALUE_BYTES + 1])
            .unwrap_err(),
        VaultError::TooLarge {
            max: MAX_DEVICE_VALUE_BYTES as u64
        }
    );
    assert_eq!(v.device_value("big").unwrap(), None);
    v.delete_device_value("creds/refresh_token").unwrap();
    v.delete_device_value("creds/refresh_token").unwrap();
    assert_eq!(v.device_value("creds/refresh_token").unwrap(), None);
    v.integrity_check().unwrap();
}

#[test]
fn key_rotation_reseals_device_bound_values() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let path = dir.path().join("v.sqlite3");
    let mut v = fast_vault(&path, &keys, Some("482915"));
    v.store_credentials(&set("self", 1)).unwrap();
    v.set_device_value("creds/refresh_token", b"rt-1").unwrap();
    let sealed = |path: &Path| -> (Vec<u8>, Vec<u8>) {
        let c = rusqlite::Connection::open(path).unwrap();
        (
            c.query_row("SELECT body FROM credentials", [], |r| r.get(0))
                .unwrap(),
            c.query_row("SELECT value FROM device_values", [], |r| r.get(0))
                .unwrap(),
        )
    };
    let before = sealed(&path);
    v.rotate_key(Some("482915")).unwrap();
    let after = sealed(&path);
    assert_ne!(before.0, after.0, "credentials re-sealed");
    assert_ne!(before.1, after.1, "device value re-sealed");
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    v.integrity_check().unwrap();
    drop(v);
    // Under the new key after reopening, through either unlock.
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(
        &v.device_value("creds/refresh_token").unwrap().unwrap()[..],
        b"rt-1"
    );
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    drop(v);
    let v = Vault::unlock_with_pin(&path, "482915").unwrap();
    assert_eq!(v.credentials("self").unwrap(), Some(set("self", 1)));
    v.integrity_check().unwrap();
}

#[test]
fn backups_neither_carry_nor_disturb_device_bound_values() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut src = fast_vault(&dir.path().join("src.sqlite3"), &keys, None);
    let kid = child(&mut src);
    src.add_document(&cccd("self"), &[]).unwrap();
    src.store_credentials(&set("self", 1)).unwrap();
    src.store_credentials(&set(&kid, 1)).unwrap();
    src.set_device_value("creds/refresh_token", b"source-token")
        .unwrap();
    let backup = dir.path().join("b.cdsbackup");
    let exported = src
        .export_backup(&backup, "correct horse battery", &mut |_, _| {})
        .unwrap();
    assert_eq!(exported.profiles, 2);

    // Into a fresh vault: the profiles and the document come, the
    // credentials and device values do not.
    let keys2 = MemoryKeyStore::new();
    let mut fresh = fast_vault(&dir.path().join("fresh.sqlite3"), &keys2, None);
    fresh
        .import_backup(&backup, "correct horse battery", &mut |_, _| {})
        .unwrap();
    assert_eq!(fresh.list_profiles().unwrap().len(), 2);
    assert_eq!(fresh.list_documents(None).unwrap().len(), 1);
    assert_eq!(fresh.credentials("self").unwrap(), None);
    assert_eq!(fresh.credentials(&kid).unwrap(), None);
    assert_eq!(fresh.device_value("creds/refresh_token").unwrap(), None);
    fresh.integrity_check().unwrap();

    // Into a vault with its own: they are kept as they were.
    let keys3 = MemoryKeyStore::new();
    let mut own = fast_vault(&dir.path().join("own.sqlite3"), &keys3, None);
    own.store_credentials(&set("self", 9)).unwrap();
    own.set_device_value("creds/refresh_token", b"own-token")
        .unwrap();
    own.import_backup(&backup, "correct horse battery", &mut |_, _| {})
        .unwrap();
    assert_eq!(own.credentials("self").unwrap(), Some(set("self", 9)));
    assert_eq!(own.credentials(&kid).unwrap(), None);
    assert_eq!(
        &own.device_value("creds/refresh_token").unwrap().unwrap()[..],
        b"own-token"
    );
    own.integrity_check().unwrap();

    // A vault with nothing device-bound backs up the same set of records:
    // the backup's counts do not depend on them.
    let backup2 = dir.path().join("b2.cdsbackup");
    let again = fresh
        .export_backup(&backup2, "correct horse battery", &mut |_, _| {})
        .unwrap();
    assert_eq!(
        (again.profiles, again.documents, again.attachments),
        (exported.profiles, exported.documents, exported.attachments)
    );
}
