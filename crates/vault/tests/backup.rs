//! Encrypted backups end to end: round trip into another vault with another
//! key, idempotent and merging imports, wrong passphrases, and every kind of
//! damaged file refused with the target vault unchanged.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApplicationReceipt, ApplicationStatus, DocumentKind, SubmitApplication};
use cds_vault::{
    ApplicationRecord, AttachmentMeta, DeliveryErrorKind, Disclosure, DisclosureChannel, Document,
    DocumentInput, KdfParams, MemoryKeyStore, NewAttachment, NewDisclosure, NewProfile, Profile,
    Relation, StatusChange, Vault, VaultError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::{add_child, birth_cert, cccd, document, fields, png, NAME, NUMBER};

const PASS: &str = "trời xanh mây trắng 2026";
/// Format constants (see the crate docs, "Backup file format").
const HEADER_LEN: usize = 99;
const SEALED_CHUNK: usize = 64 * 1024 + 16;

/// A PDF-looking file of `len` pseudo-random bytes (incompressible, so the
/// backup spans several chunks).
fn pdf(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out
}

fn submission(key: &str) -> SubmitApplication {
    common::submission_for(key, NUMBER, NAME, DocumentKind::Cccd, NUMBER, 1)
}

fn fast_vault(path: &Path, keys: &MemoryKeyStore) -> Vault {
    common::fast_vault(path, Some(keys), None)
}

/// A vault with something of every kind: two profiles, four documents
/// (one with a photo and a scan), a queued and a delivered application with
/// history and links, a delivery error, and access-log entries.
fn populate(v: &mut Vault) {
    v.update_profile(
        "self",
        &NewProfile {
            full_name: "Nguyễn Văn Bình".into(),
            relation: Relation::SelfPerson,
            date_of_birth: Some("1995-08-15".into()),
        },
    )
    .unwrap();
    let child = add_child(v, "Nguyễn Thị Tí", "2019-06-01");
    let id_card = v
        .add_document(
            &cccd("self"),
            &[
                NewAttachment {
                    file_name: "mặt trước.png".into(),
                    mime: "image/png".into(),
                    bytes: png(640, 400),
                },
                NewAttachment {
                    file_name: "bản chụp.pdf".into(),
                    mime: "application/pdf".into(),
                    bytes: pdf(200_000, 1),
                },
            ],
        )
        .unwrap();
    assert!(id_card.attachments[0].has_thumbnail);
    v.add_document(&birth_cert(&child.id, "Nguyễn Thị Tí"), &[])
        .unwrap();
    let other = v
        .add_document(
            &DocumentInput {
                profile_id: "self".into(),
                kind: DocumentKind::Other,
                fields: fields(&[("title", "Thẻ thư viện")]),
                custom_fields: vec![
                    ("Số thẻ".into(), "TV-0042".into()),
                    ("Nơi cấp".into(), "Thư viện Đà Nẵng".into()),
                ],
            },
            &[],
        )
        .unwrap();
    v.add_attachment(
        &other.id,
        &NewAttachment {
            file_name: "thẻ.png".into(),
            mime: "image/png".into(),
            bytes: png(100, 60),
        },
    )
    .unwrap();
    v.enqueue_application(&submission("k-queued")).unwrap();
    v.record_delivery_failure(
        "k-queued",
        DeliveryErrorKind::Unreachable,
        "mạng không ổn định",
        None,
    )
    .unwrap();
    v.enqueue_application(&submission("k-done")).unwrap();
    v.mark_delivered(
        "k-done",
        &ApplicationReceipt {
            case_number: "HS-2026-000001".into(),
            idempotency_key: "k-done".into(),
            service_code: "1.001612".into(),
            status: ApplicationStatus::InReview,
            received_at: "2026-05-10T08:00:01Z".into(),
            due_date: "2026-05-20".into(),
        },
    )
    .unwrap();
    v.record_disclosure(&NewDisclosure {
        channel: DisclosureChannel::Qr,
        recipient: "Công an phường".into(),
        purpose: "kiểm tra".into(),
        legal_basis: "consent".into(),
        document_ids: vec![id_card.id],
    })
    .unwrap();
}

/// Everything a vault holds, decrypted, in a comparable form.
#[derive(Debug, PartialEq)]
struct Snapshot {
    profiles: Vec<Profile>,
    documents: Vec<Document>,
    /// attachment id → (bytes, thumbnail)
    files: BTreeMap<String, (Vec<u8>, Option<Vec<u8>>)>,
    applications: Vec<ApplicationRecord>,
    history: BTreeMap<String, Vec<StatusChange>>,
    links: BTreeMap<String, Vec<String>>,
    log: Vec<Disclosure>,
}

fn snapshot(v: &Vault) -> Snapshot {
    let mut documents: Vec<Document> = v
        .list_documents(None)
        .unwrap()
        .iter()
        .map(|s| v.get_document(&s.id).unwrap())
        .collect();
    documents.sort_by(|a, b| a.id.cmp(&b.id));
    let mut files = BTreeMap::new();
    for d in &documents {
        for AttachmentMeta { id, .. } in &d.attachments {
            let bytes = v.attachment_bytes(id).unwrap().to_vec();
            let thumb = v.thumbnail(id).unwrap().map(|t| t.to_vec());
            files.insert(id.clone(), (bytes, thumb));
        }
    }
    let applications = v.list_applications().unwrap();
    let mut history = BTreeMap::new();
    let mut links = BTreeMap::new();
    for a in &applications {
        let k = &a.submission.idempotency_key;
        history.insert(k.clone(), v.application_history(k).unwrap());
        let mut ids: Vec<String> = v
            .application_documents(k)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        ids.sort();
        links.insert(k.clone(), ids);
    }
    Snapshot {
        profiles: v.list_profiles().unwrap(),
        documents,
        files,
        applications,
        history,
        links,
        log: v.access_log().unwrap(),
    }
}

/// A populated source vault and its backup file (made before the snapshot
/// is taken, so the snapshot's log has the backup entry; the file does
/// not).
struct Fixture {
    dir: tempfile::TempDir,
    source: Vault,
    before_export: Snapshot,
    backup: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut source = fast_vault(&dir.path().join("source.sqlite3"), &keys);
    populate(&mut source);
    let before_export = snapshot(&source);
    let backup = dir.path().join("sao lưu.cdsbackup");
    source.export_backup(&backup, PASS, &mut |_, _| {}).unwrap();
    Fixture {
        dir,
        source,
        before_export,
        backup,
    }
}

/// A vault on its own path with its own key, holding one document of its
/// own.
fn target(dir: &Path, name: &str) -> (Vault, MemoryKeyStore) {
    let keys = MemoryKeyStore::new();
    let mut v = fast_vault(&dir.join(name), &keys);
    v.add_document(
        &document(
            "self",
            DocumentKind::HealthInsurance,
            &[
                ("number", "7901234567"),
                ("full_name", "Trần Thị Hoa"),
                ("date_of_birth", "1990-01-02"),
                ("sex", "nu"),
                ("registered_hospital", "Bệnh viện C"),
                ("valid_from", "2026-01-01"),
                ("expiry_date", "2026-12-31"),
            ],
        ),
        &[],
    )
    .unwrap();
    (v, keys)
}

#[test]
fn round_trip_into_a_fresh_vault_with_another_key_brings_everything_back() {
    let f = fixture();
    let bytes = std::fs::read(&f.backup).unwrap();
    // No plaintext in the file: names, numbers, attachment bytes.
    for needle in [
        "Nguyễn Văn Bình".as_bytes(),
        b"079095001234",
        b"HS-2026-000001",
        &png(100, 60)[..64],
        &pdf(200_000, 1)[1000..1064],
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "plaintext in the backup"
        );
    }
    assert!(
        bytes.len() > HEADER_LEN + 3 * SEALED_CHUNK,
        "several chunks"
    );

    let path = f.dir.path().join("elsewhere").join("new.sqlite3");
    std::fs::create_dir(path.parent().unwrap()).unwrap();
    let keys = MemoryKeyStore::new();
    let mut fresh = fast_vault(&path, &keys);
    let summary = fresh
        .import_backup(&f.backup, PASS, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        (
            summary.profiles,
            summary.documents,
            summary.attachments,
            summary.applications,
            summary.disclosures,
            summary.skipped_documents,
            summary.bytes
        ),
        (2, 3, 3, 2, 3, 0, bytes.len() as u64)
    );
    assert_eq!(snapshot(&fresh), f.before_export);
    fresh.integrity_check().unwrap();
    // Lookups work under the new vault's own lookup key.
    let found = fresh
        .find_by_number(DocumentKind::Cccd, "0790 9500 1234")
        .unwrap()
        .unwrap();
    assert_eq!(found.full_name(), "Nguyễn Văn Bình");
    drop(fresh);

    // Re-encrypted under the new vault's key: it reopens with its own KEK.
    let reopened = Vault::open(&path, &keys).unwrap();
    reopened.integrity_check().unwrap();
    assert_eq!(snapshot(&reopened), f.before_export);
    // The source logged the export.
    let log = f.source.access_log().unwrap();
    assert_eq!(log[0].channel, DisclosureChannel::Backup);
    assert!(log[0].recipient.contains("tệp sao lưu"));
    assert!(log[0].recipient.contains("sao lưu.cdsbackup"));
    assert_eq!(log[0].document_ids.len(), 3);
    assert!(log[0].summary.contains("CCCD 079•••••1234"));
    assert!(!log[0].summary.contains("079095001234"));
    assert_eq!(log.len(), f.before_export.log.len() + 1);
}

#[test]
fn importing_twice_adds_nothing_the_second_time() {
    let f = fixture();
    let (mut t, _keys) = target(f.dir.path(), "t.sqlite3");
    let own = snapshot(&t);
    let first = t.import_backup(&f.backup, PASS, &mut |_, _| {}).unwrap();
    assert_eq!(first.documents, 3);
    // The target's own profile was filled in already? No: it was blank, so
    // it is taken from the backup.
    assert_eq!(first.profiles, 2);
    let after_first = snapshot(&t);
    assert_eq!(after_first.documents.len(), own.documents.len() + 3);
    let second = t.import_backup(&f.backup, PASS, &mut |_, _| {}).unwrap();
    assert_eq!(
        (
            second.profiles,
            second.documents,
            second.attachments,
            second.applications,
            second.disclosures,
            second.skipped_documents
        ),
        (0, 0, 0, 0, 0, 0)
    );
    assert_eq!(snapshot(&t), after_first);
    t.integrity_check().unwrap();
}

#[test]
fn a_document_already_stored_under_another_id_is_skipped_not_duplicated() {
    let f = fixture();
    let (mut t, _keys) = target(f.dir.path(), "t.sqlite3");
    t.update_profile(
        "self",
        &NewProfile {
            full_name: "Nguyễn Văn Bình".into(),
            relation: Relation::SelfPerson,
            date_of_birth: None,
        },
    )
    .unwrap();
    let mine = t.add_document(&cccd("self"), &[]).unwrap();
    let self_before = t.list_profiles().unwrap()[0].clone();
    let s = t.import_backup(&f.backup, PASS, &mut |_, _| {}).unwrap();
    assert_eq!(s.skipped_documents, 1);
    assert_eq!(s.documents, 2);
    // The skipped CCCD's two attachments are not added; the other
    // document's one is.
    assert_eq!(s.attachments, 1);
    // Filled-in own profile kept; the child added.
    assert_eq!(s.profiles, 1);
    assert_eq!(t.list_profiles().unwrap()[0], self_before);
    let cccds: Vec<_> = t
        .list_documents(None)
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == DocumentKind::Cccd)
        .collect();
    assert_eq!(cccds.len(), 1);
    assert_eq!(cccds[0].id, mine.id);
    assert!(t.get_document(&mine.id).unwrap().attachments.is_empty());
    // The imported applications point at the CCCD that is here.
    let linked = t.application_documents("k-done").unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].id, mine.id);
    t.integrity_check().unwrap();
}

#[test]
fn a_wrong_passphrase_changes_nothing() {
    let f = fixture();
    let (mut t, _keys) = target(f.dir.path(), "t.sqlite3");
    let before = snapshot(&t);
    for wrong in ["trời xanh mây trắng 2025", "", "TRỜI XANH MÂY TRẮNG 2026"] {
        assert_eq!(
            t.import_backup(&f.backup, wrong, &mut |_, _| {}),
            Err(VaultError::WrongPassphrase)
        );
    }
    assert_eq!(snapshot(&t), before);
}

/// Imports `bytes` as a backup file into `t`; it must fail as corrupt and
/// leave `t` as it was.
fn assert_refused(t: &mut Vault, before: &Snapshot, dir: &Path, bytes: &[u8], what: &str) {
    let p = dir.join("bad.cdsbackup");
    std::fs::write(&p, bytes).unwrap();
    match t.import_backup(&p, PASS, &mut |_, _| {}) {
        Err(VaultError::BackupCorrupt(reason)) => assert!(!reason.is_empty()),
        other => panic!("{what}: expected BackupCorrupt, got {other:?}"),
    }
    assert_eq!(&snapshot(t), before, "{what}: the vault changed");
}

fn chunk_starts(len: usize) -> Vec<usize> {
    (HEADER_LEN..len).step_by(SEALED_CHUNK).collect()
}

#[test]
fn truncated_files_are_refused_at_every_kind_of_offset() {
    let f = fixture();
    let bytes = std::fs::read(&f.backup).unwrap();
    let (mut t, _keys) = target(f.dir.path(), "t.sqlite3");
    let before = snapshot(&t);
    let mut cuts = vec![
        0,
        1,
        7,
        8,
        9,
        50,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 1,
    ];
    for start in chunk_starts(bytes.len()).into_iter().skip(1) {
        // Exactly at a chunk boundary, and around it.
        cuts.extend([start - 16, start - 1, start, start + 1]);
    }
    cuts.extend([bytes.len() - 17, bytes.len() - 16, bytes.len() - 1]);
    cuts.extend((HEADER_LEN..bytes.len()).step_by(37_123));
    for cut in cuts {
        assert_refused(
            &mut t,
            &before,
            f.dir.path(),
            &bytes[..cut],
            &format!("cut at {cut}"),
        );
    }
    // The reason says what happened for a cut at a chunk boundary.
    let p = f.dir.path().join("cut.cdsbackup");
    std::fs::write(&p, &bytes[..HEADER_LEN + SEALED_CHUNK]).unwrap();
    match t.import_backup(&p, PASS, &mut |_, _| {}) {
        Err(VaultError::BackupCorrupt(r)) => assert!(r.contains("truncated"), "{r}"),
        other => panic!("{other:?}"),
    }
    std::fs::write(&p, []).unwrap();
    match t.import_backup(&p, PASS, &mut |_, _| {}) {
        Err(VaultError::BackupCorrupt(r)) => assert!(r.contains("empty"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn flipped_swapped_spliced_extended_and_foreign_files_are_refused() {
    let f = fixture();
    let bytes = std::fs::read(&f.backup).unwrap();
    let (mut t, _keys) = target(f.dir.path(), "t.sqlite3");
    let before = snapshot(&t);
    let dir = f.dir.path();
    // Every header byte.
    for i in 0..HEADER_LEN {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        assert_refused(&mut t, &before, dir, &b, &format!("header byte {i}"));
    }
    // First, middle and last byte of each chunk.
    let starts = chunk_starts(bytes.len());
    assert!(starts.len() >= 4);
    for (n, &s) in starts.iter().enumerate() {
        let end = (s + SEALED_CHUNK).min(bytes.len());
        for i in [s, (s + end) / 2, end - 1] {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert_refused(&mut t, &before, dir, &b, &format!("chunk {n} byte {i}"));
        }
    }
    // Two chunks swapped.
    let swap = |a: usize, c: usize| {
        let mut b = bytes.clone();
        let (x, y) = (starts[a], starts[c]);
        let tmp = b[x..x + SEALED_CHUNK].to_vec();
        b.copy_within(y..y + SEALED_CHUNK, x);
        b[y..y + SEALED_CHUNK].copy_from_slice(&tmp);
        b
    };
    assert_refused(&mut t, &before, dir, &swap(0, 1), "chunks 0 and 1 swapped");
    assert_refused(&mut t, &before, dir, &swap(1, 2), "chunks 1 and 2 swapped");
    // A chunk dropped from the middle.
    let mut dropped = bytes[..starts[1]].to_vec();
    dropped.extend_from_slice(&bytes[starts[2]..]);
    assert_refused(&mut t, &before, dir, &dropped, "chunk 1 dropped");
    // A chunk repeated.
    let mut repeated = bytes[..starts[2]].to_vec();
    repeated.extend_from_slice(&bytes[starts[1]..]);
    assert_refused(&mut t, &before, dir, &repeated, "chunk 1 repeated");
    // Bytes appended; the last chunk appended again.
    let mut appended = bytes.clone();
    appended.extend_from_slice(b"more");
    assert_refused(&mut t, &before, dir, &appended, "bytes appended");
    let mut doubled_end = bytes.clone();
    doubled_end.extend_from_slice(&bytes[*starts.last().unwrap()..]);
    assert_refused(&mut t, &before, dir, &doubled_end, "last chunk twice");
    // Spliced: a chunk from another backup of the same vault with the same
    // passphrase (another salt, so another key and header hash).
    let mut source = f.source;
    let other_path = dir.join("other.cdsbackup");
    source
        .export_backup(&other_path, PASS, &mut |_, _| {})
        .unwrap();
    let other = std::fs::read(&other_path).unwrap();
    let mut spliced = bytes.clone();
    spliced[starts[1]..starts[1] + SEALED_CHUNK]
        .copy_from_slice(&other[starts[1]..starts[1] + SEALED_CHUNK]);
    assert_refused(&mut t, &before, dir, &spliced, "chunk from another backup");
    let mut other_header = other[..HEADER_LEN].to_vec();
    other_header.extend_from_slice(&bytes[HEADER_LEN..]);
    assert_refused(
        &mut t,
        &before,
        dir,
        &other_header,
        "header from another backup",
    );
    // Empty, random, random after a valid magic, a vault file.
    assert_refused(&mut t, &before, dir, &[], "empty file");
    let random = pdf(50_000, 99);
    assert_refused(&mut t, &before, dir, &random, "random file");
    let mut magic_then_random = bytes[..8].to_vec();
    magic_then_random.extend_from_slice(&random);
    assert_refused(&mut t, &before, dir, &magic_then_random, "magic + random");
    let vault_file = std::fs::read(dir.join("source.sqlite3")).unwrap();
    assert_refused(&mut t, &before, dir, &vault_file, "a vault file");
    // And the intact file still imports into the untouched vault.
    t.import_backup(&f.backup, PASS, &mut |_, _| {}).unwrap();
}

#[test]
fn progress_is_monotonic_and_ends_at_the_total_for_export_and_import() {
    let f = fixture();
    let mut source = f.source;
    let dest = f.dir.path().join("p.cdsbackup");
    for import in [false, true] {
        let mut calls: Vec<(u64, u64)> = Vec::new();
        let mut record = |d, t| calls.push((d, t));
        if import {
            let (mut t, _keys) = target(f.dir.path(), "p.sqlite3");
            t.import_backup(&dest, PASS, &mut record).unwrap();
        } else {
            source.export_backup(&dest, PASS, &mut record).unwrap();
        }
        assert!(calls.len() > 3, "{calls:?}");
        let total = calls[0].1;
        assert!(total > 0);
        assert!(calls.iter().all(|(_, t)| *t == total), "total changed");
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "not monotonic: {calls:?}"
        );
        assert!(calls.iter().all(|(d, _)| *d <= total));
        assert_eq!(*calls.last().unwrap(), (total, total));
        if import {
            let len = std::fs::metadata(&dest).unwrap().len();
            assert_eq!(total, 2 * len);
        }
    }
}

#[test]
fn export_refuses_weak_passphrases_the_vault_itself_and_missing_folders() {
    let f = fixture();
    let mut source = f.source;
    let dir = f.dir.path();
    let log_len = source.access_log().unwrap().len();
    assert_eq!(
        source
            .export_backup(&dir.join("w.cdsbackup"), "ngắn", &mut |_, _| {})
            .unwrap_err()
            .kind(),
        "weak_pin"
    );
    assert!(!dir.join("w.cdsbackup").exists());
    let vault_path = dir.join("source.sqlite3");
    let vault_bytes = std::fs::read(&vault_path).unwrap();
    assert_eq!(
        source
            .export_backup(&vault_path, PASS, &mut |_, _| {})
            .unwrap_err()
            .kind(),
        "invalid_input"
    );
    assert_eq!(std::fs::read(&vault_path).unwrap(), vault_bytes);
    let missing = dir.join("no such folder").join("b.cdsbackup");
    assert_eq!(
        source
            .export_backup(&missing, PASS, &mut |_, _| {})
            .unwrap_err()
            .kind(),
        "storage"
    );
    assert!(!dir.join("no such folder").exists());
    // Nothing left the vault, so nothing was logged.
    assert_eq!(source.access_log().unwrap().len(), log_len);
    // Overwriting an older backup replaces it completely, no .tmp left.
    std::fs::write(dir.join("old.cdsbackup"), vec![0u8; 5_000_000]).unwrap();
    let s = source
        .export_backup(&dir.join("old.cdsbackup"), PASS, &mut |_, _| {})
        .unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("old.cdsbackup")).unwrap().len(),
        s.bytes
    );
    assert!(!dir.join("old.cdsbackup.tmp").exists());
    assert_eq!(
        (s.profiles, s.documents, s.attachments, s.applications),
        (2, 3, 3, 2)
    );
}

#[test]
fn a_backup_of_a_vault_with_the_recommended_kdf_uses_600k_iterations_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::new();
    let mut v = Vault::create(&dir.path().join("real.sqlite3"), Some(&keys), None).unwrap();
    v.add_document(&cccd("self"), &[]).unwrap();
    let dest = dir.path().join("real.cdsbackup");
    v.export_backup(&dest, PASS, &mut |_, _| {}).unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    let iterations = u32::from_be_bytes(bytes[11..15].try_into().unwrap());
    assert_eq!(iterations, 600_000);
    assert_eq!(iterations, KdfParams::recommended().iterations());
    let (mut t, _k) = target(dir.path(), "t.sqlite3");
    assert_eq!(
        t.import_backup(&dest, "wrong passphrase", &mut |_, _| {}),
        Err(VaultError::WrongPassphrase)
    );
    let s = t.import_backup(&dest, PASS, &mut |_, _| {}).unwrap();
    assert_eq!(s.documents, 1);
    assert!(t
        .find_by_number(DocumentKind::Cccd, "079095001234")
        .unwrap()
        .is_some());
}

#[test]
fn fast_test_vaults_write_their_own_low_count_which_imports() {
    let f = fixture();
    let bytes = std::fs::read(&f.backup).unwrap();
    assert_eq!(
        u32::from_be_bytes(bytes[11..15].try_into().unwrap()),
        KdfParams::insecure_fast_kdf_for_tests().iterations()
    );
    assert_eq!(&bytes[..8], b"\x89CDSBAK\n");
    assert_eq!(u16::from_be_bytes([bytes[8], bytes[9]]), 1);
}
