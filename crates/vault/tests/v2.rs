//! v2 features end to end: profiles, kinds, search, lookup, PIN, rotation,
//! access log, migration from the v1 fixture.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{DocumentKind, SubmitApplication};
use cds_vault::{
    CredentialSet, DisclosureChannel, DocumentInput, KeyStore, MemoryKeyStore, NewAttachment,
    NewDisclosure, Relation, Vault, VaultError,
};
use std::path::Path;

mod common;
use common::{add_child, copy_fixture, fixture_kek, png, sidecar, user_version, NAME, NUMBER};

fn cccd(profile: &str) -> DocumentInput {
    common::cccd(profile)
}

fn birth_cert(profile: &str) -> DocumentInput {
    common::birth_cert(profile, "Đặng Thị Tí")
}

/// A vault `v.sqlite3` in `dir`.
fn fast_vault(dir: &Path, keys: Option<&dyn KeyStore>, pin: Option<&str>) -> Vault {
    common::fast_vault(&dir.join("v.sqlite3"), keys, pin)
}

#[test]
fn profiles_documents_search_lookup_and_reminders() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(dir.path(), Some(&keys), None);
    let profiles = v.list_profiles().unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].relation, Relation::SelfPerson);
    let child = add_child(&mut v, "Đặng Thị Tí", "2019-06-01");
    let photo = NewAttachment {
        file_name: "front.png".into(),
        mime: "image/png".into(),
        bytes: png(640, 400),
    };
    let id_card = v
        .add_document(&cccd("self"), std::slice::from_ref(&photo))
        .unwrap();
    assert!(id_card.attachments[0].has_thumbnail);
    let thumb = v.thumbnail(&id_card.attachments[0].id).unwrap().unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (320, 200));
    let bc = v.add_document(&birth_cert(&child.id), &[]).unwrap();

    // Same number again: duplicate, nothing added.
    assert_eq!(
        v.add_document(&cccd("self"), &[]).unwrap_err().kind(),
        "duplicate"
    );
    assert_eq!(v.list_documents(None).unwrap().len(), 2);
    assert_eq!(v.list_documents(Some(&child.id)).unwrap()[0].id, bc.id);

    let found = v.search_documents(None, "giay khai sinh").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, bc.id);
    assert_eq!(v.search_documents(None, "dang ti").unwrap().len(), 1);
    assert_eq!(
        v.search_documents(Some("self"), "da nang").unwrap().len(),
        1,
        "Đà Nẵng"
    );
    assert!(v.search_documents(None, "ho chieu").unwrap().is_empty());

    let got = v
        .find_by_number(DocumentKind::Cccd, " 0790 9500 1234 ")
        .unwrap()
        .unwrap();
    assert_eq!(got.id, id_card.id);
    assert!(v
        .find_by_number(DocumentKind::Passport, "079095001234")
        .unwrap()
        .is_none());

    // Edit, attachments, delete.
    let mut edited = cccd("self");
    edited
        .fields
        .insert("place_of_residence".into(), "Hội An".into());
    let e = v.update_document(&id_card.id, &edited).unwrap();
    assert_eq!(e.field("place_of_residence"), Some("Hội An"));
    assert_eq!(e.attachments.len(), 1);
    let pdf = NewAttachment {
        file_name: "scan.pdf".into(),
        mime: "application/pdf".into(),
        bytes: b"%PDF-1.7\n...".to_vec(),
    };
    let a = v.add_attachment(&id_card.id, &pdf).unwrap();
    assert!(!a.has_thumbnail);
    assert_eq!(v.thumbnail(&a.id).unwrap(), None);
    v.delete_attachment(&a.id).unwrap();
    assert_eq!(v.get_document(&id_card.id).unwrap().attachments.len(), 1);

    let today = time::macros::date!(2035 - 07 - 01);
    let r = v.expiry_reminders(today, 60).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].days_left, 45);
    assert!(v.expiry_reminders(today, 30).unwrap().is_empty());

    assert_eq!(
        v.delete_profile(&child.id).unwrap_err().kind(),
        "invalid_input"
    );
    assert_eq!(
        v.delete_profile("self").unwrap_err().kind(),
        "invalid_input"
    );
    v.delete_document(&bc.id).unwrap();
    v.delete_profile(&child.id).unwrap();
    assert_eq!(v.list_profiles().unwrap().len(), 1);
    v.integrity_check().unwrap();
}

#[test]
fn pin_set_change_wrong_with_delay_and_pin_only_vaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(dir.path(), Some(&keys), None);
    assert!(!v.has_pin());
    assert_eq!(v.set_pin("123456").unwrap_err().kind(), "weak_pin");
    v.set_pin("482915").unwrap();
    assert_eq!(v.set_pin("482916").unwrap_err().kind(), "duplicate");
    let doc = v.add_document(&cccd("self"), &[]).unwrap();
    v.lock();

    let info = Vault::inspect(&path).unwrap();
    assert!(info.exists && info.keyring_wrap && info.pin_wrap);
    for _ in 0..3 {
        assert_eq!(
            Vault::unlock_with_pin(&path, "000001").unwrap_err(),
            VaultError::WrongPin {
                retry_after_secs: 0
            }
        );
    }
    let mut v = Vault::unlock_with_pin(&path, "482915").unwrap();
    assert_eq!(v.get_document(&doc.id).unwrap().number(), "079095001234");
    v.change_pin("482915", "đường về nhà").unwrap();
    v.lock();
    assert!(Vault::unlock_with_pin(&path, "482915").is_err());
    // Counter was reset by the good PIN: 1 + 3 failures → the 4th waits.
    for _ in 0..2 {
        Vault::unlock_with_pin(&path, "000002").unwrap_err();
    }
    assert_eq!(
        Vault::unlock_with_pin(&path, "000003").unwrap_err(),
        VaultError::WrongPin {
            retry_after_secs: 30
        }
    );
    match Vault::unlock_with_pin(&path, "đường về nhà").unwrap_err() {
        VaultError::PinLocked { retry_after_secs } => assert!(retry_after_secs > 0),
        other => panic!("{other:?}"),
    }
    assert!(Vault::inspect(&path).unwrap().pin_retry_after_secs > 0);
    // The keyring still opens it.
    assert!(Vault::open(&path, &keys).is_ok());

    // A PIN-only vault; later the keyring comes back.
    let dir2 = tempfile::tempdir().unwrap();
    let p2 = dir2.path().join("v.sqlite3");
    let v2 = fast_vault(dir2.path(), None, Some("271828"));
    v2.lock();
    assert_eq!(Vault::open(&p2, &keys).unwrap_err(), VaultError::KeyMissing);
    let mut v2 = Vault::unlock_with_pin(&p2, "271828").unwrap();
    let keys2 = MemoryKeyStore::new();
    v2.add_keyring_wrap(&keys2).unwrap();
    v2.lock();
    assert!(Vault::open(&p2, &keys2).is_ok());
    assert_eq!(
        Vault::create(&p2, Some(&keys2), None).unwrap_err().kind(),
        "duplicate"
    );
}

#[test]
fn the_pin_back_off_runs_on_the_injected_clock() {
    use cds_domain::{Clock, ManualClock};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite3");
    fast_vault(dir.path(), None, Some("482915")).lock();
    let clock = ManualClock::new(time::macros::datetime!(2026-12-02 06:00 UTC));
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let try_pin = |pin: &str| Vault::unlock_with_pin_and_clock(&path, pin, shared.clone());
    for _ in 0..3 {
        assert_eq!(
            try_pin("000001").unwrap_err(),
            VaultError::WrongPin {
                retry_after_secs: 0
            }
        );
    }
    assert_eq!(
        try_pin("000001").unwrap_err(),
        VaultError::WrongPin {
            retry_after_secs: 30
        }
    );
    // Locked for 30 s of the clock, whatever the system time says; the
    // right PIN is not even tried.
    clock.advance(time::Duration::seconds(29));
    assert_eq!(
        Vault::inspect_with_clock(&path, &clock)
            .unwrap()
            .pin_retry_after_secs,
        1
    );
    assert_eq!(
        try_pin("482915").unwrap_err(),
        VaultError::PinLocked {
            retry_after_secs: 1
        }
    );
    // A clock set back cannot shorten the wait.
    clock.advance(time::Duration::seconds(-3600));
    assert!(matches!(
        try_pin("482915").unwrap_err(),
        VaultError::PinLocked { .. }
    ));
    clock.advance(time::Duration::seconds(3600 + 1));
    assert_eq!(
        Vault::inspect_with_clock(&path, &clock)
            .unwrap()
            .pin_retry_after_secs,
        0
    );
    // The fifth wrong PIN doubles the wait, measured from the clock.
    assert_eq!(
        try_pin("000001").unwrap_err(),
        VaultError::WrongPin {
            retry_after_secs: 60
        }
    );
    clock.advance(time::Duration::seconds(60));
    let mut v = try_pin("482915").unwrap();
    // The open vault keeps the clock: a wrong old PIN in change_pin counts
    // and waits on it too.
    for _ in 0..3 {
        v.change_pin("000009", "271828").unwrap_err();
    }
    assert_eq!(
        v.change_pin("000009", "271828").unwrap_err(),
        VaultError::WrongPin {
            retry_after_secs: 30
        }
    );
    assert!(matches!(
        v.change_pin("482915", "271828").unwrap_err(),
        VaultError::PinLocked { .. }
    ));
    clock.advance(time::Duration::seconds(30));
    v.change_pin("482915", "271828").unwrap();
}

#[test]
fn rotating_the_key_keeps_everything_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite3");
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(dir.path(), Some(&keys), Some("482915"));
    let photo = NewAttachment {
        file_name: "a.png".into(),
        mime: "image/png".into(),
        bytes: png(50, 50),
    };
    let doc = v
        .add_document(&cccd("self"), std::slice::from_ref(&photo))
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(v.rotate_key(None).is_err(), "a PIN vault needs the PIN");
    assert_eq!(
        v.rotate_key(Some("000000")).unwrap_err().kind(),
        "wrong_pin"
    );
    v.rotate_key(Some("482915")).unwrap();
    assert_eq!(v.get_document(&doc.id).unwrap(), doc);
    assert!(v
        .find_by_number(DocumentKind::Cccd, "079095001234")
        .unwrap()
        .is_some());
    v.integrity_check().unwrap();
    v.lock();
    assert_ne!(std::fs::read(&path).unwrap(), before);
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(
        &v.attachment_bytes(&doc.attachments[0].id).unwrap()[..],
        &photo.bytes[..]
    );
    v.lock();
    let v = Vault::unlock_with_pin(&path, "482915").unwrap();
    v.integrity_check().unwrap();
}

fn submission(key: &str) -> SubmitApplication {
    common::submission_for(key, NUMBER, NAME, DocumentKind::Cccd, NUMBER, 0)
}

#[test]
fn applications_are_linked_and_logged_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(dir.path(), Some(&keys), None);
    let doc = v.add_document(&cccd("self"), &[]).unwrap();
    v.enqueue_application(&submission("k1")).unwrap();
    v.enqueue_application(&submission("k1")).unwrap(); // idempotent: no new entry
    let linked = v.application_documents("k1").unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].id, doc.id);
    let log = v.access_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].channel, DisclosureChannel::Application);
    assert_eq!(log[0].summary, "CCCD 079•••••1234");
    assert_eq!(log[0].document_ids, vec![doc.id.clone()]);
    let qr = v
        .record_disclosure(&NewDisclosure {
            channel: DisclosureChannel::Qr,
            recipient: "Công an phường".into(),
            purpose: "kiểm tra".into(),
            legal_basis: "consent".into(),
            document_ids: vec![doc.id.clone()],
        })
        .unwrap();
    let log = v.access_log().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].id, qr.id, "newest first");
    assert_eq!(v.application_history("k1").unwrap()[0].status, "queued");
    assert!(v
        .record_disclosure(&NewDisclosure {
            channel: DisclosureChannel::Export,
            recipient: " ".into(),
            purpose: "x".into(),
            legal_basis: "x".into(),
            document_ids: vec![],
        })
        .is_err());
}

#[test]
fn the_v1_fixture_migrates_into_the_self_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("v1.sqlite3", dir.path());
    let keys = fixture_kek("v1.kek.hex");
    let v = Vault::open(&path, &keys).unwrap();
    let profiles = v.list_profiles().unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].id, "self");
    assert_eq!(profiles[0].full_name, "Nguyễn Văn Bình");
    let doc = v
        .get_document("8857e184-afcf-4230-9a41-c2f6a19e8ae4")
        .unwrap();
    assert_eq!(doc.profile_id, "self");
    assert_eq!(doc.kind, DocumentKind::Cccd);
    assert_eq!(doc.number(), "079095001234");
    assert_eq!(doc.full_name(), "Nguyễn Văn Bình");
    assert_eq!(doc.date_of_birth(), "1995-08-15");
    assert_eq!(doc.field("sex"), Some("nam"));
    assert_eq!(doc.attachments.len(), 1);
    let att = &doc.attachments[0];
    assert_eq!(att.id, "e413acce-adb3-48fe-b224-3e4ad6d9c336");
    assert!(att.has_thumbnail);
    assert!(v.attachment_bytes(&att.id).unwrap().starts_with(b"\x89PNG"));
    assert_eq!(
        v.find_by_number(DocumentKind::Cccd, "079095001234")
            .unwrap()
            .unwrap()
            .id,
        doc.id
    );
    let pending = v.pending_applications().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].idempotency_key,
        "6f1c8a52-3e2b-4c4d-9a0e-0123456789ab"
    );
    assert_eq!(
        v.application_documents(&pending[0].idempotency_key)
            .unwrap()[0]
            .id,
        doc.id
    );
    assert_eq!(
        v.application_history(&pending[0].idempotency_key).unwrap()[0].status,
        "queued"
    );
    v.integrity_check().unwrap();
    // The PNG and its thumbnail (made by migration 2) are files now.
    assert_moved_to_files(&path, 2);
    // Every later migration ran too: the device-bound tables are there.
    assert_eq!(user_version(&path), latest_version());
    let mut v = v;
    assert_eq!(v.credentials("self").unwrap(), None);
    v.store_credentials(&credential_set("self")).unwrap();
    v.set_device_value("creds/refresh_token", b"rt").unwrap();
    v.integrity_check().unwrap();
    v.lock();
    // Reopening does not migrate again.
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(v.list_profiles().unwrap().len(), 1);
    assert_eq!(v.list_documents(None).unwrap().len(), 1);
    assert_eq!(v.credentials("self").unwrap(), Some(credential_set("self")));
}

/// The schema version a new vault gets.
fn latest_version() -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    drop(fast_vault(dir.path(), Some(&keys), None));
    user_version(&dir.path().join("v.sqlite3"))
}

fn credential_set(profile: &str) -> CredentialSet {
    common::credential_set(
        profile,
        NAME,
        vec![common::credential("over18", "c-1", "CDS1:abc.def")],
    )
}

const V2_DOC: &str = "cb020964-845e-422f-890f-ab775d616a04";
const V2_CHILD: &str = "b2e5aa57-8b73-4f75-aaba-b12b207362e0";
const V2_PNG: &str = "49f7a5c4-09ca-4f74-9540-ac8a6cc5e29e";
const V2_PDF: &str = "8f018ed5-d692-42f3-a6fe-44f413c58cd2";

/// A deterministic PDF-looking payload, as `make_v2_fixture.rs` made it.
fn fixture_pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 12345;
    while v.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.push((x >> 16) as u8);
    }
    v
}

#[test]
fn the_v2_fixture_migrates_to_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("v2.sqlite3", dir.path());
    assert_eq!(user_version(&path), 2);
    let keys = fixture_kek("v2.kek.hex");
    let mut v = Vault::open(&path, &keys).unwrap();
    assert_eq!(user_version(&path), latest_version());
    let profiles = v.list_profiles().unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[1].id, V2_CHILD);
    let doc = v.get_document(V2_DOC).unwrap();
    assert_eq!(doc.number(), "079095001234");
    let ids: Vec<&str> = doc.attachments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [V2_PNG, V2_PDF]);
    assert!(doc.attachments[0].has_thumbnail);
    assert!(!doc.attachments[1].has_thumbnail);
    let png = v.attachment_bytes(V2_PNG).unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (64, 40));
    assert!(v
        .thumbnail(V2_PNG)
        .unwrap()
        .unwrap()
        .starts_with(&[0xFF, 0xD8]));
    assert_eq!(
        &v.attachment_bytes(V2_PDF).unwrap()[..],
        &fixture_pdf(150_000)[..]
    );
    assert_eq!(v.thumbnail(V2_PDF).unwrap(), None);
    assert_eq!(
        v.pending_applications().unwrap()[0].idempotency_key,
        "app-v2"
    );
    v.integrity_check().unwrap();
    // The inline bytes moved out to files: PNG data, its thumbnail, PDF.
    assert_moved_to_files(&path, 3);
    // The new tables work on the migrated file.
    v.store_credentials(&credential_set(V2_CHILD)).unwrap();
    v.set_device_value("trust/list", b"[]").unwrap();
    v.rotate_key(None).unwrap();
    v.integrity_check().unwrap();
    drop(v);
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(
        v.credentials(V2_CHILD).unwrap(),
        Some(credential_set(V2_CHILD))
    );
    assert_eq!(&v.device_value("trust/list").unwrap().unwrap()[..], b"[]");
    assert_eq!(
        &v.attachment_bytes(V2_PDF).unwrap()[..],
        &fixture_pdf(150_000)[..]
    );
    v.integrity_check().unwrap();
}

#[test]
fn attachment_lists_profiles_and_links_survive_edits_rotation_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(dir.path(), Some(&keys), None);
    let child = add_child(&mut v, "Lê Minh Khôi", "2018-03-09");
    let att = |n: &str| NewAttachment {
        file_name: n.into(),
        mime: "image/png".into(),
        bytes: png(40, 30),
    };
    let doc = v.add_document(&cccd("self"), &[att("a.png")]).unwrap();
    let b = v.add_attachment(&doc.id, &att("b.png")).unwrap();
    let c = v.add_attachment(&doc.id, &att("c.png")).unwrap();
    v.delete_attachment(&b.id).unwrap();
    let listed = |v: &Vault| v.list_documents(None).unwrap()[0].attachment_count;
    assert_eq!(listed(&v), 2);
    let got = v.get_document(&doc.id).unwrap();
    let ids: Vec<&str> = got.attachments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [doc.attachments[0].id.as_str(), c.id.as_str()]);
    // Moving the document to the child's profile keeps its attachments.
    let mut moved = cccd(&child.id);
    moved
        .fields
        .insert("full_name".into(), "Lê Minh Khôi".into());
    v.update_document(&doc.id, &moved).unwrap();
    assert!(v.list_documents(Some("self")).unwrap().is_empty());
    assert_eq!(v.list_documents(Some(&child.id)).unwrap().len(), 1);
    assert_eq!(listed(&v), 2);
    v.enqueue_application(&submission("app-1")).unwrap();
    assert_eq!(v.application_documents("app-1").unwrap().len(), 1);
    v.integrity_check().unwrap();
    v.rotate_key(None).unwrap();
    v.integrity_check().unwrap();
    assert_eq!(v.application_documents("app-1").unwrap().len(), 1);
    assert_eq!(v.get_document(&doc.id).unwrap().attachments.len(), 2);

    let backup = dir.path().join("b.cdsbackup");
    v.export_backup(&backup, "correct horse battery", &mut |_, _| {})
        .unwrap();
    let keys2 = MemoryKeyStore::new();
    let dir2 = tempfile::tempdir().unwrap();
    let mut w = fast_vault(dir2.path(), Some(&keys2), None);
    w.import_backup(&backup, "correct horse battery", &mut |_, _| {})
        .unwrap();
    w.integrity_check().unwrap();
    let restored = w.get_document(&doc.id).unwrap();
    assert_eq!(restored, v.get_document(&doc.id).unwrap());
    assert_eq!(w.list_documents(Some(&child.id)).unwrap().len(), 1);
    assert_eq!(w.application_documents("app-1").unwrap().len(), 1);
}

/// The listing cache follows every write path: after each step the cached
/// listing equals what a freshly opened vault (no cache) lists, and a
/// change committed by another connection while the vault is open is seen.
#[test]
fn the_listing_cache_stays_coherent_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let path = dir.path().join("v.sqlite3");
    let mut v = fast_vault(dir.path(), Some(&keys), Some("482915"));
    let fresh = |v: &Vault| {
        let listed = v.list_documents(None).unwrap();
        let w = Vault::open(&path, &keys).unwrap();
        assert_eq!(listed, w.list_documents(None).unwrap());
        for p in v.list_profiles().unwrap() {
            assert_eq!(
                v.list_documents(Some(&p.id)).unwrap(),
                w.list_documents(Some(&p.id)).unwrap()
            );
        }
        // Searches are served from the same cache: they agree with a
        // fresh open too.
        for q in ["nguyen", "binh an", "GIẤY KHAI", "124/2019", "ho chieu", ""] {
            assert_eq!(
                v.search_documents(None, q).unwrap(),
                w.search_documents(None, q).unwrap(),
                "{q:?}"
            );
        }
        listed
    };
    assert!(fresh(&v).is_empty());
    let a = v.add_document(&cccd("self"), &[]).unwrap();
    assert_eq!(fresh(&v).len(), 1);
    let kid = add_child(&mut v, "Đặng Thị Tí", "2019-06-01");
    let b = v.add_document(&birth_cert(&kid.id), &[]).unwrap();
    assert_eq!(fresh(&v)[0].id, b.id, "newest first");
    let att = v
        .add_attachment(
            &a.id,
            &NewAttachment {
                file_name: "mat-truoc.png".into(),
                mime: "image/png".into(),
                bytes: png(40, 30),
            },
        )
        .unwrap();
    let l = fresh(&v);
    let listed = l.iter().find(|d| d.id == a.id).unwrap();
    assert_eq!(listed.attachment_count, 1);
    // The card's picture and birth date come with the summary (the same
    // from the cache and from a fresh open, see `fresh`).
    assert_eq!(listed.thumbnail_id.as_deref(), Some(att.id.as_str()));
    assert_eq!(
        listed.date_of_birth,
        cccd("self").fields.get("date_of_birth").cloned()
    );
    assert!(!listed.has_pdf);
    let pdf = v
        .add_attachment(
            &a.id,
            &NewAttachment {
                file_name: "ban-sao.pdf".into(),
                mime: "application/pdf".into(),
                bytes: b"%PDF-1.7\n...".to_vec(),
            },
        )
        .unwrap();
    let l = fresh(&v);
    let listed = l.iter().find(|d| d.id == a.id).unwrap();
    assert!(listed.has_pdf);
    assert_eq!(listed.thumbnail_id.as_deref(), Some(att.id.as_str()));
    v.delete_attachment(&pdf.id).unwrap();
    assert!(!fresh(&v).iter().find(|d| d.id == a.id).unwrap().has_pdf);
    let mut changed = cccd("self");
    changed
        .fields
        .insert("full_name".into(), "Nguyễn Văn Bình An Khuê".into());
    assert!(v.search_documents(None, "khue").unwrap().is_empty());
    v.update_document(&a.id, &changed).unwrap();
    assert!(fresh(&v)
        .iter()
        .any(|d| d.title == "Nguyễn Văn Bình An Khuê"));
    // The cache followed the edit: the new name is found, without accents.
    let found = v.search_documents(None, "binh an khue").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, a.id);
    let mut moved = birth_cert("self");
    moved.fields.insert("number".into(), "124/2019".into());
    v.update_document(&b.id, &moved).unwrap();
    assert!(v.list_documents(Some(&kid.id)).unwrap().is_empty());
    fresh(&v);
    v.delete_attachment(&att.id).unwrap();
    let l = fresh(&v);
    let listed = l.iter().find(|d| d.id == a.id).unwrap();
    assert_eq!(listed.attachment_count, 0);
    assert_eq!(listed.thumbnail_id, None);
    v.delete_profile(&kid.id).unwrap();
    fresh(&v);
    v.rotate_key(Some("482915")).unwrap();
    fresh(&v);
    v.record_disclosure(&NewDisclosure {
        channel: DisclosureChannel::Qr,
        recipient: "UBND phường".into(),
        purpose: "kiểm tra".into(),
        legal_basis: "consent".into(),
        document_ids: vec![a.id.clone()],
    })
    .unwrap();
    fresh(&v);
    v.delete_document(&b.id).unwrap();
    assert_eq!(fresh(&v).len(), 1);

    // Another connection deletes a row while the vault is open: the next
    // listing rebuilds from the file (PRAGMA data_version moved).
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute("DELETE FROM documents WHERE id = ?1", [&a.id])
            .unwrap();
    }
    assert!(v.list_documents(None).unwrap().is_empty());
    v.integrity_check().unwrap();
}

/// Every attachment byte is in `<vault>.files/` (exactly `n` files, each
/// referenced by a row), and SQLite holds only small references.
fn assert_moved_to_files(path: &Path, n: usize) {
    let mut on_disk: Vec<String> = std::fs::read_dir(sidecar(path, ".files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut referenced: Vec<String> = conn
        .prepare(
            "SELECT data_file FROM attachments UNION ALL \
             SELECT thumb_file FROM attachments WHERE thumb_file IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    referenced.sort();
    assert_eq!(on_disk, referenced);
    assert_eq!(on_disk.len(), n);
    let biggest = common::largest_attachment_cell(&conn);
    assert!(biggest < 200, "a {biggest}-byte cell is still inline");
}

const V3_DOC: &str = "fc3fb2c4-2825-4f67-9676-6473e29ea80b";
const V3_PNG: &str = "f8c190a2-ac40-4f10-8d8b-204285316273";
const V3_PDF: &str = "ae09b602-a742-4194-9ea1-e4ab842b8074";

#[test]
fn the_v3_fixture_moves_its_attachments_to_files_and_keeps_device_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("v3.sqlite3", dir.path());
    assert_eq!(user_version(&path), 3);
    let keys = fixture_kek("v3.kek.hex");
    let v = Vault::open(&path, &keys).unwrap();
    assert_eq!(user_version(&path), latest_version());
    assert_moved_to_files(&path, 3);
    let doc = v.get_document(V3_DOC).unwrap();
    let ids: Vec<&str> = doc.attachments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [V3_PNG, V3_PDF]);
    let img = image::load_from_memory(&v.attachment_bytes(V3_PNG).unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (64, 40));
    assert!(v
        .thumbnail(V3_PNG)
        .unwrap()
        .unwrap()
        .starts_with(&[0xFF, 0xD8]));
    assert_eq!(
        &v.attachment_bytes(V3_PDF).unwrap()[..],
        &fixture_pdf(150_000)[..]
    );
    let set = v.credentials("self").unwrap().unwrap();
    assert_eq!(set.credentials[0].text, "CDS1:v3.payload.sig");
    assert_eq!(
        &v.device_value("creds/refresh_token").unwrap().unwrap()[..],
        b"v3-refresh"
    );
    v.integrity_check().unwrap();
    // Reopening neither migrates again nor loses a file to the sweep.
    drop(v);
    let v = Vault::open(&path, &keys).unwrap();
    assert_moved_to_files(&path, 3);
    assert_eq!(
        &v.attachment_bytes(V3_PDF).unwrap()[..],
        &fixture_pdf(150_000)[..]
    );
    v.integrity_check().unwrap();
}

/// Migration 4 writes files before its transaction commits. If it fails
/// (here: the file directory cannot be made) nothing is changed: the vault
/// stays at schema 3 with its bytes inline and opens once the cause is
/// gone. Files of an earlier attempt that crashed before committing are
/// unreferenced and swept by the open that completes the migration.
#[test]
fn a_failed_or_crashed_move_to_files_changes_nothing_and_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture("v3.sqlite3", dir.path());
    let keys = fixture_kek("v3.kek.hex");
    let files = sidecar(&path, ".files");
    // A plain file where the directory should go: the migration fails.
    std::fs::write(&files, b"in the way").unwrap();
    let e = Vault::open(&path, &keys).unwrap_err();
    assert_eq!(e.kind(), "storage", "{e:?}");
    assert_eq!(user_version(&path), 3, "rolled back");
    let inline: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT max(length(data)) FROM attachments", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(inline > 150_000, "the bytes are still inline");
    // What a crash after some files were renamed but before the commit
    // leaves: files of ours nobody references, and a temporary file.
    std::fs::remove_file(&files).unwrap();
    std::fs::create_dir(&files).unwrap();
    let stray = files.join("00112233445566778899aabbccddeeff.cdsf");
    let tmp = files.join("ffeeddccbbaa99887766554433221100.cdsf.tmp");
    std::fs::write(&stray, vec![1u8; 4096]).unwrap();
    std::fs::write(&tmp, vec![2u8; 100]).unwrap();
    let v = Vault::open(&path, &keys).unwrap();
    assert!(!stray.exists() && !tmp.exists(), "swept");
    assert_eq!(user_version(&path), latest_version());
    assert_moved_to_files(&path, 3);
    assert_eq!(
        &v.attachment_bytes(V3_PDF).unwrap()[..],
        &fixture_pdf(150_000)[..]
    );
    v.integrity_check().unwrap();
}

/// `(rowid, id)` of every row of `table`, in rowid order.
fn rowids(conn: &rusqlite::Connection, table: &str, id: &str) -> Vec<(i64, String)> {
    conn.prepare(&format!("SELECT rowid, {id} FROM {table} ORDER BY rowid"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Moving the attachments out of SQLite (migration 4) leaves their pages
/// free in the file; the open that migrates then VACUUMs and truncates
/// the WAL, so the `.db` file shrinks by about the attachment bytes (the
/// v2 and v3 fixtures hold a 150,000-byte PDF and a small PNG with its
/// thumbnail inline) and holds no free page. VACUUM keeps the rowids, on
/// which the order of documents and attachments relies.
#[test]
fn migrating_attachments_out_gives_their_space_back() {
    for (fixture, kek) in [
        ("v1.sqlite3", "v1.kek.hex"),
        ("v2.sqlite3", "v2.kek.hex"),
        ("v3.sqlite3", "v3.kek.hex"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = copy_fixture(fixture, dir.path());
        let before = std::fs::metadata(&path).unwrap().len();
        let (inline, order) = {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let inline: i64 = conn
                .query_row(
                    "SELECT sum(length(data)) + coalesce(sum(length(thumb)), 0) \
                     FROM attachments",
                    [],
                    |r| r.get(0),
                )
                .unwrap_or_else(|_| {
                    // v1 has no thumbnail column.
                    conn.query_row("SELECT sum(length(data)) FROM attachments", [], |r| {
                        r.get(0)
                    })
                    .unwrap()
                });
            let order = (
                rowids(&conn, "documents", "id"),
                rowids(&conn, "attachments", "id"),
            );
            (inline as u64, order)
        };
        let v = Vault::open(&path, &fixture_kek(kek)).unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        let wal = std::fs::metadata(sidecar(&path, "-wal")).map_or(0, |m| m.len());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let pragma = |p: &str| -> i64 { conn.query_row(p, [], |r| r.get(0)).unwrap() };
        eprintln!(
            "{fixture}: {before} bytes with {inline} attachment bytes inline → {after} (WAL {wal})"
        );
        assert_eq!(pragma("PRAGMA freelist_count"), 0, "{fixture}: vacuumed");
        assert_eq!(
            (pragma("PRAGMA page_count") * pragma("PRAGMA page_size")) as u64,
            after,
            "{fixture}: the file is exactly its pages"
        );
        assert_eq!(wal, 0, "{fixture}: the WAL is truncated");
        // (v1's 98-byte PNG is too small to matter next to the tables
        // later schemas add.)
        if inline > 100_000 {
            assert!(
                after + inline * 9 / 10 < before,
                "{fixture}: {before} → {after} bytes, {inline} moved out"
            );
        }
        let now = (
            rowids(&conn, "documents", "id"),
            rowids(&conn, "attachments", "id"),
        );
        assert_eq!(now, order, "{fixture}: rowids kept");
        v.integrity_check().unwrap();
        drop(v);
        // Reopening (no migration) changes nothing.
        let v = Vault::open(&path, &fixture_kek(kek)).unwrap();
        v.integrity_check().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), after);
    }
}
