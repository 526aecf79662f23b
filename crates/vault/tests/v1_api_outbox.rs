//! The vault end to end on real files, with an in-memory key store.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApplicationReceipt, ApplicationStatus, DocumentKind, SubmitApplication};
use cds_vault::{
    DeliveryErrorKind, Document, DocumentInput, KeyStore, MemoryKeyStore, NewAttachment, Vault,
    VaultError,
};
use std::path::Path;
use zeroize::Zeroizing;

mod common;
use common::sidecar;

const NUMBER: &str = "048095001234";
const NAME: &str = "Nguyễn Thị Ánh Dương";

/// A PNG signature followed by bytes no encoder would write twice.
fn photo() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut x: u32 = 0x1234_5678;
    for _ in 0..6000 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((x >> 24) as u8);
    }
    bytes
}

fn cccd_input(number: &str) -> DocumentInput {
    common::document(
        "self",
        DocumentKind::Cccd,
        &[
            ("number", number),
            ("full_name", NAME),
            ("date_of_birth", "1995-08-15"),
            ("sex", "nam"),
            ("nationality", "Việt Nam"),
            ("place_of_origin", "Quảng Nam"),
            ("place_of_residence", "Đà Nẵng"),
            ("issue_date", "2021-04-01"),
        ],
    )
}

/// Adds a CCCD with a fresh valid number each time (numbers are unique).
fn add(vault: &mut Vault, attachments: Vec<NewAttachment>) -> Result<Document, VaultError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1234);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let number = format!("048095{n:06}");
    vault.add_document(&cccd_input(&number), &attachments)
}

fn photo_attachment() -> NewAttachment {
    NewAttachment {
        file_name: "cccd-front.png".into(),
        mime: "image/jpeg".into(), // wrong on purpose: the vault sniffs
        bytes: photo(),
    }
}

fn submission(key: &str) -> SubmitApplication {
    common::submission_for(key, NUMBER, NAME, DocumentKind::Cccd, NUMBER, 1)
}

fn receipt(key: &str, status: ApplicationStatus) -> ApplicationReceipt {
    ApplicationReceipt {
        case_number: "HS-2026-000001".into(),
        idempotency_key: key.into(),
        service_code: "1.001612".into(),
        status,
        received_at: "2026-05-10T08:00:01Z".into(),
        due_date: "2026-05-20".into(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that none of the secrets appears in `bytes` (the photo is
/// checked by several distinctive windows).
fn assert_no_plaintext(bytes: &[u8], what: &str) {
    let photo = photo();
    assert!(
        !contains(bytes, NUMBER.as_bytes()),
        "{what} holds the number"
    );
    assert!(!contains(bytes, NAME.as_bytes()), "{what} holds the name");
    assert!(
        !contains(bytes, "Ánh Dương".as_bytes()),
        "{what} holds part of the name"
    );
    for start in [8, 1000, 3000, 5900] {
        assert!(
            !contains(bytes, &photo[start..start + 32]),
            "{what} holds photo bytes at {start}"
        );
    }
}

/// Runs SQL against the vault file directly, as an attacker with the file
/// (but not the key) could.
fn tamper(path: &Path, f: impl FnOnce(&rusqlite::Connection)) {
    let conn = rusqlite::Connection::open(path).unwrap();
    f(&conn);
    conn.close().unwrap();
}

#[test]
fn a_cccd_with_a_photo_survives_reopening_and_is_never_on_disk_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/vault.sqlite3");
    let keys = MemoryKeyStore::new();

    let mut vault = Vault::open(&path, &keys).unwrap();
    assert!(vault.list_documents(None).unwrap().is_empty());
    let doc = add(&mut vault, vec![photo_attachment()]).unwrap();
    assert_eq!(doc.kind, DocumentKind::Cccd);
    assert!(doc.number().starts_with("048095"));
    assert_eq!(doc.full_name(), NAME);
    assert_eq!(doc.attachments.len(), 1);
    let att = &doc.attachments[0];
    assert_eq!(
        att.mime, "image/png",
        "declared mime replaced by the sniffed one"
    );
    assert_eq!(att.file_name, "cccd-front.png");
    assert_eq!(att.size, photo().len() as u64);
    assert_eq!(vault.list_documents(None).unwrap()[0].id, doc.id);
    assert_eq!(vault.get_document(&doc.id).unwrap(), doc);
    assert_eq!(&vault.attachment_bytes(&att.id).unwrap()[..], &photo()[..]);

    // While open, the WAL holds the newest pages: nothing in clear there either.
    let wal = sidecar(&path, "-wal");
    if let Ok(bytes) = std::fs::read(&wal) {
        assert_no_plaintext(&bytes, "the open vault's -wal file");
    }
    vault.integrity_check().unwrap();
    drop(vault);

    assert_no_plaintext(&std::fs::read(&path).unwrap(), "the vault file");
    if let Ok(bytes) = std::fs::read(&wal) {
        assert_no_plaintext(&bytes, "the -wal file after closing");
    }

    let vault = Vault::open(&path, &keys).unwrap();
    let docs = vault.list_documents(None).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(vault.get_document(&doc.id).unwrap(), doc);
    let bytes: Zeroizing<Vec<u8>> = vault.attachment_bytes(&att.id).unwrap();
    assert_eq!(&bytes[..], &photo()[..], "identical bytes after reopening");
    vault.integrity_check().unwrap();
}

#[test]
fn documents_list_newest_first_and_unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&dir.path().join("v.sqlite3"), &keys).unwrap();
    let first = add(&mut vault, vec![]).unwrap();
    let second = add(&mut vault, vec![photo_attachment(), photo_attachment()]).unwrap();
    let ids: Vec<_> = vault
        .list_documents(None)
        .unwrap()
        .into_iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(ids, [second.id.clone(), first.id.clone()]);
    assert_eq!(vault.get_document(&second.id).unwrap().attachments.len(), 2);
    assert!(vault
        .get_document(&first.id)
        .unwrap()
        .attachments
        .is_empty());

    assert_eq!(
        vault.get_document("no-such-id").unwrap_err(),
        VaultError::NotFound {
            what: "document",
            id: "no-such-id".into()
        }
    );
    assert_eq!(
        vault.attachment_bytes("nope").unwrap_err().kind(),
        "not_found"
    );
}

#[test]
fn invalid_documents_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&dir.path().join("v.sqlite3"), &keys).unwrap();
    let text_as_jpg = NewAttachment {
        file_name: "notes.jpg".into(),
        mime: "image/jpeg".into(),
        bytes: b"just some text".to_vec(),
    };
    // The first attachment is fine; the second is not: nothing is stored.
    let err = add(&mut vault, vec![photo_attachment(), text_as_jpg]).unwrap_err();
    assert_eq!(err, VaultError::UnsupportedFile);
    let err = vault
        .add_document(&cccd_input("04809500123"), &[])
        .unwrap_err();
    assert!(matches!(
        err,
        VaultError::Invalid {
            field: "number",
            ..
        }
    ));
    let err = vault
        .add_document(
            &{
                let mut d = cccd_input(NUMBER);
                d.fields.insert("date_of_birth".into(), "2023-02-31".into());
                d
            },
            &[],
        )
        .unwrap_err();
    assert!(matches!(
        err,
        VaultError::Invalid {
            field: "date_of_birth",
            ..
        }
    ));
    assert!(vault.list_documents(None).unwrap().is_empty());
    drop(vault);
    tamper(&dir.path().join("v.sqlite3"), |c| {
        let n: i64 = c
            .query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn the_outbox_queues_delivers_and_refreshes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();

    let a = submission("11111111-1111-4111-8111-111111111111");
    let b = submission("22222222-2222-4222-8222-222222222222");
    vault.enqueue_application(&a).unwrap();
    vault.enqueue_application(&b).unwrap();
    vault.enqueue_application(&a).unwrap(); // same key again: nothing new
    assert_eq!(
        vault.pending_applications().unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(vault.list_applications().unwrap().len(), 2);

    // A different application under a used key is refused.
    let mut other = a.clone();
    other.service_code = "2.000001".into();
    let err = vault.enqueue_application(&other).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::Invalid {
                field: "idempotency_key",
                ..
            }
        ),
        "{err}"
    );

    vault
        .record_delivery_failure(
            &a.idempotency_key,
            DeliveryErrorKind::Unreachable,
            "the city backend could not be reached",
            None,
        )
        .unwrap();
    let rec = vault.list_applications().unwrap();
    let rec_a = rec.iter().find(|r| r.submission == a).unwrap();
    assert_eq!(
        rec_a.last_error.as_deref(),
        Some("the city backend could not be reached")
    );
    assert_eq!(rec_a.receipt, None);

    let got = receipt(&a.idempotency_key, ApplicationStatus::Received);
    vault.mark_delivered(&a.idempotency_key, &got).unwrap();
    assert_eq!(vault.pending_applications().unwrap(), vec![b.clone()]);

    // A later status refresh replaces the receipt.
    let later = receipt(&a.idempotency_key, ApplicationStatus::Approved);
    vault.mark_delivered(&a.idempotency_key, &later).unwrap();

    // A receipt for another application, or an unknown key, is refused.
    let wrong = receipt(&b.idempotency_key, ApplicationStatus::Received);
    assert_eq!(
        vault
            .mark_delivered(&a.idempotency_key, &wrong)
            .unwrap_err()
            .kind(),
        "invalid_input"
    );
    assert_eq!(
        vault
            .mark_delivered("unknown", &receipt("unknown", ApplicationStatus::Received))
            .unwrap_err()
            .kind(),
        "not_found"
    );
    assert_eq!(
        vault
            .record_delivery_failure("unknown", DeliveryErrorKind::Internal, "x", None)
            .unwrap_err()
            .kind(),
        "not_found"
    );
    drop(vault);

    let vault = Vault::open(&path, &keys).unwrap();
    let records = vault.list_applications().unwrap();
    assert_eq!(records.len(), 2, "enqueueing twice made one record");
    // Newest first: b was queued after a.
    assert_eq!(records[0].submission, b);
    assert_eq!(records[0].receipt, None);
    assert_eq!(records[1].submission, a);
    assert_eq!(records[1].receipt, Some(later));
    assert_eq!(
        records[1].last_error, None,
        "delivery clears the last error"
    );
    assert!(records.iter().all(|r| r.created_at.ends_with('Z')));
    vault.integrity_check().unwrap();
    drop(vault);
    assert_no_plaintext(&std::fs::read(&path).unwrap(), "the vault file");
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let mut garbage = vec![0u8; 8192];
    let mut x: u32 = 7;
    for b in &mut garbage {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *b = (x >> 16) as u8;
    }
    std::fs::write(&path, &garbage).unwrap();
    let keys = MemoryKeyStore::new();
    let err = Vault::open(&path, &keys).unwrap_err();
    assert!(matches!(err, VaultError::Corrupt(_)), "{err:?}");
    assert_eq!(err.kind(), "corrupt");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "byte-for-byte unchanged"
    );
    assert_eq!(dir_listing(dir.path()), ["vault.sqlite3"], "no side files");
    assert_eq!(keys.load().unwrap(), None, "no key was made for it");
}

#[test]
fn a_sqlite_file_of_another_app_is_not_a_vault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    tamper(&path, |c| {
        c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    });
    let before = std::fs::read(&path).unwrap();
    let keys = MemoryKeyStore::new();
    let err = Vault::open(&path, &keys).unwrap_err();
    assert_eq!(err.kind(), "corrupt", "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // An empty file is not a vault either.
    std::fs::write(&path, b"").unwrap();
    assert_eq!(Vault::open(&path, &keys).unwrap_err().kind(), "corrupt");
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn a_vault_whose_key_is_missing_or_wrong_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();
    add(&mut vault, vec![photo_attachment()]).unwrap();
    drop(vault);
    let before = std::fs::read(&path).unwrap();
    let listing = dir_listing(dir.path());

    let empty = MemoryKeyStore::new();
    assert_eq!(
        Vault::open(&path, &empty).unwrap_err(),
        VaultError::KeyMissing
    );
    assert_eq!(
        empty.load().unwrap(),
        None,
        "no new key was made over the vault"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(dir_listing(dir.path()), listing);

    let wrong = MemoryKeyStore::new();
    wrong.store(&[0x42; 32]).unwrap();
    assert_eq!(
        Vault::open(&path, &wrong).unwrap_err(),
        VaultError::WrongKey
    );
    assert_eq!(
        &wrong.load().unwrap().unwrap()[..],
        &[0x42; 32],
        "not replaced"
    );
    let short = MemoryKeyStore::new();
    short.store(&[1, 2, 3]).unwrap();
    assert_eq!(Vault::open(&path, &short).unwrap_err().kind(), "wrong_key");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // The right key still opens it.
    let vault = Vault::open(&path, &keys).unwrap();
    assert_eq!(vault.list_documents(None).unwrap().len(), 1);
}

#[test]
fn a_flipped_byte_in_a_document_is_reported_as_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();
    let doc = add(&mut vault, vec![]).unwrap();
    drop(vault);

    tamper(&path, |c| {
        let mut body: Vec<u8> = c
            .query_row("SELECT body FROM documents WHERE id = ?1", [&doc.id], |r| {
                r.get(0)
            })
            .unwrap();
        let mid = body.len() / 2;
        body[mid] ^= 0x01;
        c.execute(
            "UPDATE documents SET body = ?1 WHERE id = ?2",
            rusqlite::params![body, doc.id],
        )
        .unwrap();
    });

    let vault = Vault::open(&path, &keys).unwrap();
    let expected = VaultError::Tampered {
        table: "documents",
        id: doc.id.clone(),
    };
    assert_eq!(vault.get_document(&doc.id).unwrap_err(), expected);
    assert_eq!(vault.list_documents(None).unwrap_err(), expected);
    assert_eq!(vault.integrity_check().unwrap_err(), expected);
    assert_eq!(expected.kind(), "tampered");
}

#[test]
fn swapped_document_bodies_fail_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();
    let a = add(&mut vault, vec![]).unwrap();
    let b = add(&mut vault, vec![]).unwrap();
    drop(vault);

    tamper(&path, |c| {
        let get = |id: &str| -> Vec<u8> {
            c.query_row("SELECT body FROM documents WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        let (body_a, body_b) = (get(&a.id), get(&b.id));
        let set = |id: &str, body: &[u8]| {
            c.execute(
                "UPDATE documents SET body = ?1 WHERE id = ?2",
                rusqlite::params![body, id],
            )
            .unwrap();
        };
        set(&a.id, &body_b);
        set(&b.id, &body_a);
    });

    let vault = Vault::open(&path, &keys).unwrap();
    for id in [&a.id, &b.id] {
        assert_eq!(
            vault.get_document(id).unwrap_err(),
            VaultError::Tampered {
                table: "documents",
                id: id.clone()
            }
        );
    }
    assert_eq!(vault.integrity_check().unwrap_err().kind(), "tampered");
}

#[test]
fn an_attachment_moved_to_another_document_fails_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();
    let with_photo = add(&mut vault, vec![photo_attachment()]).unwrap();
    let other = add(&mut vault, vec![]).unwrap();
    let att_id = with_photo.attachments[0].id.clone();
    drop(vault);

    tamper(&path, |c| {
        c.execute(
            "UPDATE attachments SET document_id = ?1 WHERE id = ?2",
            [&other.id, &att_id],
        )
        .unwrap();
    });

    let vault = Vault::open(&path, &keys).unwrap();
    let tampered = VaultError::Tampered {
        table: "attachments",
        id: att_id.clone(),
    };
    assert_eq!(vault.attachment_bytes(&att_id).unwrap_err(), tampered);
    assert_eq!(vault.get_document(&other.id).unwrap_err(), tampered);
    assert_eq!(vault.integrity_check().unwrap_err(), tampered);
}

#[test]
fn a_tampered_application_is_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = Vault::open(&path, &keys).unwrap();
    let a = submission("aaaaaaaa-1111-4111-8111-111111111111");
    let b = submission("bbbbbbbb-2222-4222-8222-222222222222");
    vault.enqueue_application(&a).unwrap();
    vault.enqueue_application(&b).unwrap();
    drop(vault);

    // Give b the payload of a: replaying a under b's key must not work.
    tamper(&path, |c| {
        c.execute(
            "UPDATE applications SET payload = \
             (SELECT payload FROM applications WHERE idempotency_key = ?1) \
             WHERE idempotency_key = ?2",
            [&a.idempotency_key, &b.idempotency_key],
        )
        .unwrap();
    });
    let vault = Vault::open(&path, &keys).unwrap();
    assert_eq!(
        vault.pending_applications().unwrap_err(),
        VaultError::Tampered {
            table: "applications",
            id: b.idempotency_key.clone()
        }
    );
    assert_eq!(vault.list_applications().unwrap_err().kind(), "tampered");
}

/// A key store whose writes fail, like a locked or absent keyring.
struct FailingKeyStore;

impl KeyStore for FailingKeyStore {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(None)
    }
    fn store(&self, _secret: &[u8]) -> Result<(), VaultError> {
        Err(VaultError::Keyring("the keyring is locked".into()))
    }
    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

#[test]
fn when_the_key_cannot_be_stored_no_vault_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let err = Vault::open(&path, &FailingKeyStore).unwrap_err();
    assert_eq!(err.kind(), "keyring_unavailable");
    assert!(err.to_string().contains("the keyring is locked"), "{err}");
    assert!(!path.exists());
    assert!(
        dir_listing(dir.path()).is_empty(),
        "no file at all is left behind"
    );
}

#[test]
fn an_existing_key_in_the_store_is_reused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    keys.store(&[9u8; 32]).unwrap();
    let path = dir.path().join("vault.sqlite3");
    let mut vault = Vault::open(&path, &keys).unwrap();
    add(&mut vault, vec![]).unwrap();
    drop(vault);
    assert_eq!(&keys.load().unwrap().unwrap()[..], &[9u8; 32]);
    assert_eq!(
        dir_listing(dir.path()),
        ["vault.sqlite3"],
        "no temporary files left"
    );
    assert_eq!(
        Vault::open(&path, &keys)
            .unwrap()
            .list_documents(None)
            .unwrap()
            .len(),
        1
    );

    // An entry that cannot be a vault key is an error, and is kept.
    let odd = MemoryKeyStore::new();
    odd.store(b"not a key").unwrap();
    let other = dir.path().join("other.sqlite3");
    assert_eq!(
        Vault::open(&other, &odd).unwrap_err().kind(),
        "keyring_unavailable"
    );
    assert!(!other.exists());
    assert_eq!(&odd.load().unwrap().unwrap()[..], b"not a key");
}

#[test]
fn the_vault_file_uses_wal_and_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let keys = MemoryKeyStore::new();
    drop(Vault::open(&path, &keys).unwrap());
    tamper(&path, |c| {
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 4);
        let wraps: Vec<String> = c
            .prepare("SELECT name FROM meta ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(wraps, ["kdf/policy", "wrap/keyring"]);
    });
}

/// `PRAGMA data_version` seen from another connection: it changes exactly
/// when the vault commits a write to the file.
fn commits_seen(reader: &rusqlite::Connection) -> i64 {
    reader
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn delivery_failures_are_typed_unchanged_ones_write_nothing_and_keep_the_listing_cache() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut vault = common::fast_vault(&path, Some(&keys), None);
    for _ in 0..20 {
        add(&mut vault, vec![]).unwrap();
    }
    let a = submission("k-offline");
    vault.enqueue_application(&a).unwrap();
    let listed = vault.list_documents(None).unwrap();
    assert_eq!(listed.len(), 20);
    let reader = rusqlite::Connection::open(&path).unwrap();

    // The first failure is written, with its kind.
    let before = commits_seen(&reader);
    vault
        .record_delivery_failure(
            "k-offline",
            DeliveryErrorKind::Unreachable,
            "the city could not be reached",
            None,
        )
        .unwrap();
    assert_ne!(commits_seen(&reader), before, "a new failure is stored");
    let rec = &vault.list_applications().unwrap()[0];
    assert_eq!(rec.last_error_kind, Some(DeliveryErrorKind::Unreachable));
    assert_eq!(
        rec.last_error.as_deref(),
        Some("the city could not be reached")
    );

    // Every later offline tick with the same failure: no commit at all.
    let before = commits_seen(&reader);
    for _ in 0..5 {
        vault
            .record_delivery_failure(
                "k-offline",
                DeliveryErrorKind::Unreachable,
                "the city could not be reached",
                None,
            )
            .unwrap();
    }
    assert_eq!(commits_seen(&reader), before, "nothing written");

    // A different failure is written; the listing cache survives it (the
    // same summaries are handed out, not rebuilt from the file).
    vault
        .record_delivery_failure(
            "k-offline",
            DeliveryErrorKind::Timeout,
            "no answer in 20 s",
            None,
        )
        .unwrap();
    // The same kind and message with the city's wait is a different
    // failure, and is stored too.
    vault
        .record_delivery_failure(
            "k-offline",
            DeliveryErrorKind::Timeout,
            "no answer in 20 s",
            Some(60),
        )
        .unwrap();
    assert_ne!(commits_seen(&reader), before);
    let again = vault.list_documents(None).unwrap();
    assert_eq!(again.len(), listed.len());
    assert!(
        again.iter().zip(&listed).all(|(x, y)| Arc::ptr_eq(x, y)),
        "recording delivery failures kept the listing cache"
    );
    let rec = &vault.list_applications().unwrap()[0];
    assert_eq!(rec.last_error_kind, Some(DeliveryErrorKind::Timeout));
    assert_eq!(rec.last_error_retry_after_secs, Some(60));
    assert_eq!(rec.last_error.as_deref(), Some("no answer in 20 s"));

    // A document write is applied to the cache (its other entries stay
    // shared); a write to the documents table behind the API's back (as an
    // import or a rotation does) rebuilds it.
    vault
        .record_delivery_failure("k-offline", DeliveryErrorKind::RateLimited, "429", Some(30))
        .unwrap();
    let added = add(&mut vault, vec![]).unwrap();
    let after_add = vault.list_documents(None).unwrap();
    assert_eq!(after_add[0].id, added.id);
    assert!(Arc::ptr_eq(&after_add[1], &listed[0]));
    vault.rotate_key(None).unwrap();
    let rebuilt = vault.list_documents(None).unwrap();
    assert_eq!(rebuilt.len(), 21);
    assert!(
        !Arc::ptr_eq(&rebuilt[1], &listed[0]),
        "rebuilt after rotation"
    );
    assert_eq!(*rebuilt[1], *listed[0]);

    // Unknown applications are still not found, typed or not.
    assert!(matches!(
        vault
            .record_delivery_failure("unknown", DeliveryErrorKind::Internal, "x", None)
            .unwrap_err(),
        VaultError::NotFound { .. }
    ));
    // The kind survives closing and reopening, and delivery clears it.
    drop(vault);
    let mut vault = Vault::open(&path, &keys).unwrap();
    let rec = &vault.list_applications().unwrap()[0];
    assert_eq!(rec.last_error_kind, Some(DeliveryErrorKind::RateLimited));
    assert_eq!(rec.last_error_retry_after_secs, Some(30));
    vault
        .mark_delivered(
            "k-offline",
            &receipt("k-offline", ApplicationStatus::Received),
        )
        .unwrap();
    let rec = &vault.list_applications().unwrap()[0];
    assert_eq!(
        (
            rec.last_error.as_deref(),
            rec.last_error_kind,
            rec.last_error_retry_after_secs
        ),
        (None, None, None)
    );
    vault.integrity_check().unwrap();
}
