//! Tamper detection (issue #3, item 8): someone with the vault file but not
//! the key changes it with plain SQLite while the app is closed. Whatever
//! they do to a sealed value, the vault must answer with a clear error
//! ([`VaultError::Tampered`], [`VaultError::WrongKey`] or
//! [`VaultError::Corrupt`]) and never with wrong data or a panic:
//!
//! - every byte of every sealed column value flipped, one at a time (for
//!   large attachments a dense sample: the version byte, the whole nonce,
//!   the start of the ciphertext, the end of the ciphertext, the whole tag
//!   and bytes spread through the middle);
//! - two rows' ciphertexts swapped (same column across rows, across columns,
//!   across tables), a value cut short, emptied or turned into text;
//! - an attachment moved to another document, a row copied under a new id,
//!   a row renamed;
//! - the vault opened with the wrong KEK, a KEK of the wrong length, no KEK,
//!   or the key wrap of another vault.
//! - the attachment files beside the database (`<vault>.files/`): bytes
//!   flipped (the whole header, both sides of every chunk boundary, the last
//!   tag), files cut or extended, swapped between attachments or between an
//!   attachment's data and thumbnail, the rows' file-name columns swapped or
//!   pointed elsewhere, and a file missing (a clear `Corrupt` naming the
//!   attachment); stray and temporary files are swept at open;
//! - the device-bound tables (credential sets, device values): flipped,
//!   swapped, moved to another profile or name.
//!
//! After each change the test opens the vault and tries every read the API
//! offers (profiles, documents, search, lookups by number, attachments,
//! thumbnails, reminders, applications, their documents and history, the
//! access log): each read either returns exactly what it returned before
//! the change, or fails with one of those errors; at least one read fails
//! and `integrity_check` fails. A changed PIN wrap must stop the PIN from
//! unlocking (`WrongPin`) while the keyring path reads everything as before.
//! (Whole rows deleted or rolled back are out of scope: the vault documents
//! that it has no file-wide MAC.)
//!
//! Plaintext columns that decide what is shown where (a document's profile
//! and times, an attachment's document and time, application links, log
//! and history times, number hashes) are changed too: each must be caught
//! against the sealed data. Every case must pass in full.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::{ApplicationReceipt, ApplicationStatus, DocumentKind, SubmitApplication};
use cds_vault::{
    CredentialSet, DeliveryErrorKind, DisclosureChannel, DocumentInput, KeyStore, MemoryKeyStore,
    NewAttachment, NewDisclosure, Vault, VaultError,
};
use ring::digest::{digest, SHA256};
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

mod common;
use common::{add_child, document, fast_vault, fields, sidecar, FixedKek};

// ---- the vault API this test uses (the only part that follows API changes)

/// Every column that holds sealed values (version, nonce, ciphertext, tag),
/// as `(table, column, the table's key column, which rows)`.
const SEALED: &[(&str, &str, &str, &str)] = &[
    // `meta` also holds plaintext rows (KDF parameters, PIN counters).
    (
        "meta",
        "value",
        "name",
        "name IN ('wrap/keyring', 'wrap/pin', 'kdf/policy')",
    ),
    ("profiles", "body", "id", "1"),
    ("documents", "body", "id", "1"),
    ("attachments", "meta", "id", "1"),
    ("attachments", "data", "id", "1"),
    ("attachments", "thumb", "id", "1"),
    ("applications", "payload", "idempotency_key", "1"),
    ("applications", "receipt", "idempotency_key", "1"),
    ("applications", "last_error", "idempotency_key", "1"),
    ("application_history", "body", "id", "1"),
    ("disclosures", "body", "id", "1"),
    // Device-bound values (never in backups).
    ("credentials", "body", "profile_id", "1"),
    ("device_values", "value", "name", "1"),
];

/// BLOB columns that are deliberately not sealed. A new BLOB column must be
/// added to one of the two lists, so this test covers it.
const PLAIN_BLOBS: &[(&str, &str)] = &[
    // HMAC of (kind, number) for `find_by_number`: swapped below.
    ("documents", "number_hash"),
    // HMAC of (application, document) for each link: see
    // `changed_plaintext_links_and_times_are_detected`.
    ("application_documents", "tag"),
];

/// The `meta` rows that wrap the vault key: changing the keyring wrap makes
/// the KEK fail to unwrap it (`WrongKey`); the PIN wrap is only used by
/// `unlock_with_pin`, where a changed wrap cannot be told from a wrong PIN.
fn is_key_wrap(table: &str, key: &str) -> bool {
    table == "meta" && key.starts_with("wrap/")
}

const PIN: &str = "739184";

/// A key store that hands out whatever bytes it holds, of any length.
struct RawKey(Vec<u8>);

impl KeyStore for RawKey {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(Some(Zeroizing::new(self.0.clone())))
    }
    fn store(&self, _secret: &[u8]) -> Result<(), VaultError> {
        Err(VaultError::Keyring("read only".into()))
    }
    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

const KEK: FixedKek = FixedKek([0x6B; 32]);

/// A real 640x480 PNG: decodable and larger than a thumbnail, so it gets one.
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A real 4x4 RGB PNG (too small for a thumbnail).
const PNG: [u8; 96] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09,
    0x29, 0x00, 0x00, 0x00, 0x27, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x0D, 0xC7, 0x31, 0x01, 0x00,
    0x30, 0x0C, 0x02, 0x30, 0xE4, 0x4C, 0x0E, 0x72, 0x38, 0x2B, 0x7D, 0x39, 0x72, 0x24, 0xC9, 0xE5,
    0x51, 0x46, 0x9E, 0x53, 0x46, 0xEA, 0x94, 0x91, 0x39, 0x65, 0xBB, 0x0F, 0xAD, 0x8F, 0x0F, 0x81,
    0x28, 0x53, 0xAE, 0xA4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn pdf(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut x = seed;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn att(file_name: &str, bytes: Vec<u8>) -> NewAttachment {
    NewAttachment {
        file_name: file_name.into(),
        mime: "application/octet-stream".into(),
        bytes,
    }
}

/// Ids of what [`populate`] stored.
struct Ids {
    /// `(document id, its attachment ids)`, in the order added.
    docs: Vec<(String, Vec<String>)>,
    /// The profiles: the citizen's and a child's.
    profiles: Vec<String>,
    applications: Vec<String>,
    /// `(kind, number)` of the documents that have a number.
    numbers: Vec<(DocumentKind, String)>,
    /// Names of the device values stored.
    device_values: Vec<String>,
}

const DEVICE_VALUES: [(&str, &[u8]); 2] = [
    ("creds/refresh_token", b"rt-0123456789"),
    ("trust/list.json", b"[\"k1\",\"k2\"]"),
];

/// A credential set of `n` credentials for `profile`.
fn credential_set(profile: &str, n: usize) -> CredentialSet {
    let levels = ["full", "over18", "name_only"];
    common::credential_set(
        profile,
        "Lê Văn Tám",
        (0..n)
            .map(|i| {
                common::credential(
                    levels[i % 3],
                    &format!("c{i}"),
                    &format!("CDS1:{i}.payload.sig"),
                )
            })
            .collect(),
    )
}

const PASSPORT_NO: &str = "C1234567";
const INSURANCE_NO: &str = "7912345678";

fn submission(key: &str) -> SubmitApplication {
    common::submission_for(
        key,
        "079095001234",
        "Lê Văn Tám",
        DocumentKind::Passport,
        PASSPORT_NO,
        1,
    )
}

/// Creates the vault (keyring wrap and PIN wrap, fast KDF) and fills it: a
/// child's profile, a passport with a photo (thumbnail) and a PDF, an
/// "other" document of the child's with a few hundred KiB of scan, a
/// health insurance card without attachments, one delivered application
/// and one that failed to deliver (history, links, access log), and a QR
/// disclosure.
fn populate(path: &Path) -> Ids {
    let mut vault = fast_vault(path, Some(&KEK), Some(PIN));
    let child = add_child(&mut vault, "Lê Minh Khôi", "2018-03-09").id;
    let me = "self".to_owned();
    let inputs = [
        (
            document(
                &me,
                DocumentKind::Passport,
                &[
                    ("number", PASSPORT_NO),
                    ("full_name", "Lê Văn Tám"),
                    ("date_of_birth", "1995-08-15"),
                    ("sex", "nam"),
                    ("nationality", "Việt Nam"),
                    ("place_of_birth", "TP. Hồ Chí Minh"),
                    ("issue_date", "2020-01-10"),
                    ("expiry_date", "2030-01-10"),
                    ("issuing_authority", "Cục Quản lý xuất nhập cảnh"),
                ],
            ),
            vec![att("photo.png", photo()), att("page.pdf", pdf(700, 1))],
        ),
        (
            DocumentInput {
                profile_id: child.clone(),
                kind: DocumentKind::Other,
                fields: fields(&[("title", "Giấy chứng nhận tiêm chủng")]),
                custom_fields: vec![("Nơi cấp".into(), "Trạm y tế phường Bến Nghé".into())],
            },
            vec![
                att("scan.pdf", pdf(300 * 1024, 2)),
                att("tiny.png", PNG.to_vec()),
            ],
        ),
        (
            document(
                &me,
                DocumentKind::HealthInsurance,
                &[
                    ("number", INSURANCE_NO),
                    ("full_name", "Lê Văn Tám"),
                    ("date_of_birth", "1995-08-15"),
                    ("sex", "nam"),
                    ("registered_hospital", "Bệnh viện Quận 1"),
                    ("valid_from", "2026-01-01"),
                    ("expiry_date", "2026-12-31"),
                ],
            ),
            vec![],
        ),
    ];
    let mut docs = Vec::new();
    for (input, attachments) in inputs {
        let d = vault.add_document(&input, &attachments).unwrap();
        docs.push((d.id, d.attachments.into_iter().map(|a| a.id).collect()));
    }
    let keys = ["app-delivered-1", "app-failed-2"];
    for k in keys {
        vault.enqueue_application(&submission(k)).unwrap();
    }
    vault
        .mark_delivered(
            keys[0],
            &ApplicationReceipt {
                case_number: "HS-2026-000001".into(),
                idempotency_key: keys[0].into(),
                service_code: "1.001612".into(),
                status: ApplicationStatus::Received,
                received_at: "2026-05-10T08:00:01Z".into(),
                due_date: "2026-05-20".into(),
            },
        )
        .unwrap();
    vault
        .record_delivery_failure(
            keys[1],
            DeliveryErrorKind::ServerUnavailable,
            "503 Service Unavailable: thử lại sau",
            Some(120),
        )
        .unwrap();
    vault
        .record_disclosure(&NewDisclosure {
            channel: DisclosureChannel::Qr,
            recipient: "Công an phường Bến Nghé".into(),
            purpose: "Xác minh nơi cư trú".into(),
            legal_basis: "Đồng ý của công dân".into(),
            document_ids: vec![docs[0].0.clone()],
        })
        .unwrap();
    vault.store_credentials(&credential_set(&me, 2)).unwrap();
    vault.store_credentials(&credential_set(&child, 1)).unwrap();
    for (name, value) in DEVICE_VALUES {
        vault.set_device_value(name, value).unwrap();
    }
    vault.integrity_check().unwrap();
    Ids {
        device_values: DEVICE_VALUES.iter().map(|(n, _)| n.to_string()).collect(),
        docs,
        profiles: vec![me, child],
        applications: keys.iter().map(|k| k.to_string()).collect(),
        numbers: vec![
            (DocumentKind::Passport, PASSPORT_NO.into()),
            (DocumentKind::HealthInsurance, INSURANCE_NO.into()),
        ],
    }
}

/// Every read the API offers, each on its own: `(what, outcome)`. A
/// successful read is summarised by its `Debug` text (attachment bytes by
/// their SHA-256), so it can be compared with the untouched vault's.
fn reads(vault: &Vault, ids: &Ids) -> Vec<(String, Result<String, VaultError>)> {
    fn dbg<T: std::fmt::Debug>(r: Result<T, VaultError>) -> Result<String, VaultError> {
        r.map(|v| format!("{v:?}"))
    }
    let hash =
        |r: Result<Zeroizing<Vec<u8>>, VaultError>| r.map(|b| format!("{:?}", digest(&SHA256, &b)));
    let mut out = vec![
        ("list_profiles".to_owned(), dbg(vault.list_profiles())),
        ("list_documents".to_owned(), dbg(vault.list_documents(None))),
        (
            "search_documents".to_owned(),
            dbg(vault.search_documents(None, "le van tam")),
        ),
        (
            "expiry_reminders".to_owned(),
            dbg(vault.expiry_reminders(time::macros::date!(2026 - 12 - 01), 36_500)),
        ),
        (
            "list_applications".to_owned(),
            dbg(vault.list_applications()),
        ),
        (
            "pending_applications".to_owned(),
            dbg(vault.pending_applications()),
        ),
        ("access_log".to_owned(), dbg(vault.access_log())),
    ];
    for p in &ids.profiles {
        out.push((
            format!("list_documents {p}"),
            dbg(vault.list_documents(Some(p))),
        ));
        out.push((format!("credentials {p}"), dbg(vault.credentials(p))));
    }
    for name in &ids.device_values {
        out.push((
            format!("device_value {name}"),
            dbg(vault.device_value(name)),
        ));
    }
    for (doc, atts) in &ids.docs {
        out.push((format!("get_document {doc}"), dbg(vault.get_document(doc))));
        for a in atts {
            out.push((
                format!("attachment_bytes {a}"),
                hash(vault.attachment_bytes(a)),
            ));
            out.push((
                format!("thumbnail {a}"),
                vault.thumbnail(a).map(|t| match t {
                    Some(b) => format!("{:?}", digest(&SHA256, &b)),
                    None => "none".into(),
                }),
            ));
        }
    }
    for (kind, number) in &ids.numbers {
        out.push((
            format!("find_by_number {kind:?} {number}"),
            dbg(vault.find_by_number(*kind, number)),
        ));
    }
    for k in &ids.applications {
        out.push((
            format!("application_documents {k}"),
            dbg(vault.application_documents(k)),
        ));
        out.push((
            format!("application_history {k}"),
            dbg(vault.application_history(k)),
        ));
    }
    out
}

// ---- the harness -------------------------------------------------------------

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ids: Ids,
    baseline: Vec<(String, Result<String, VaultError>)>,
    pristine: Vec<u8>,
    /// The attachment files (`<vault>.files/`) as they were: name, bytes.
    pristine_files: Vec<(String, Vec<u8>)>,
}

/// The directory of the vault's attachment files.
fn files_dir(path: &Path) -> PathBuf {
    sidecar(path, ".files")
}

fn read_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(files_dir(path))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let ids = populate(&path);
    let vault = Vault::open(&path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    let baseline = reads(&vault, &ids);
    for (what, r) in &baseline {
        assert!(r.is_ok(), "{what} fails on the untouched vault: {r:?}");
    }
    drop(vault);
    assert!(
        !sidecar(&path, "-wal").exists(),
        "closing the vault checkpoints its WAL into the file"
    );
    let pristine = std::fs::read(&path).unwrap();
    let pristine_files = read_files(&path);
    Fixture {
        _dir: dir,
        path,
        ids,
        baseline,
        pristine,
        pristine_files,
    }
}

fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    // The attacker's writes need not be durable; this keeps the test fast.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    // Nor do they respect the schema's foreign keys.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    conn
}

fn is_clear(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::Tampered { .. } | VaultError::WrongKey | VaultError::Corrupt(_)
    )
}

/// Opens the changed vault and checks the rules: no read returns anything
/// but what it returned before, every failure is a clear error, something
/// fails, and `integrity_check` fails. Returns the integrity check's error
/// (or the error from opening).
fn assert_detected(fx: &Fixture, keys: &dyn KeyStore, what: &str) -> VaultError {
    assert_detected_except(fx, keys, what, &[])
}

/// As [`assert_detected`], except that the reads named in `may_lose` may
/// succeed with less than before (rows taken away: see
/// `moved_copied_and_renamed_rows_are_detected`); they must still return
/// nothing that was not there before.
fn assert_detected_except(
    fx: &Fixture,
    keys: &dyn KeyStore,
    what: &str,
    may_lose: &[(String, String)],
) -> VaultError {
    let vault = match Vault::open(&fx.path, keys) {
        Ok(v) => v,
        Err(e) => {
            assert!(
                is_clear(&e),
                "{what}: opening gives an unclear error: {e:?}"
            );
            return e;
        }
    };
    let now = reads(&vault, &fx.ids);
    let mut failed = 0;
    for ((read, before), (_, after)) in fx.baseline.iter().zip(&now) {
        match after {
            Ok(v) => match may_lose.iter().find(|(r, _)| r == read) {
                // The only allowed difference: the named item is gone.
                Some((_, gone)) if Some(v) != before.as_ref().ok() => {
                    let before = before.as_ref().unwrap();
                    assert!(
                        before.contains(gone.as_str()) && !v.contains(gone.as_str()),
                        "{what}: {read} changed other than by losing {gone}"
                    );
                }
                _ => assert_eq!(
                    Some(v),
                    before.as_ref().ok(),
                    "{what}: {read} returned wrong data"
                ),
            },
            // A row that is no longer there under its old id.
            Err(VaultError::NotFound { .. }) if may_lose.iter().any(|(r, _)| r == read) => {
                failed += 1;
            }
            Err(e) => {
                assert!(is_clear(e), "{what}: {read} gives an unclear error: {e:?}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "{what}: every read still succeeds");
    let e = vault
        .integrity_check()
        .expect_err(&format!("{what}: integrity_check passes"));
    assert!(is_clear(&e), "{what}: integrity_check: {e:?}");
    e
}

/// Puts the untouched file and attachment files back (opening a changed
/// vault may have swept files its changed rows no longer reference).
fn restore(fx: &Fixture) {
    let _ = std::fs::remove_file(sidecar(&fx.path, "-wal"));
    let _ = std::fs::remove_file(sidecar(&fx.path, "-shm"));
    std::fs::write(&fx.path, &fx.pristine).unwrap();
    let dir = files_dir(&fx.path);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    for (name, bytes) in &fx.pristine_files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// A sealed cell: table, column, the row's key and its value.
struct Cell {
    table: &'static str,
    column: &'static str,
    key_col: &'static str,
    key: String,
    value: Vec<u8>,
}

fn sealed_cells(conn: &Connection) -> Vec<Cell> {
    let mut out = Vec::new();
    for &(table, column, key_col, rows) in SEALED {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {key_col}, {column} FROM {table} \
                 WHERE {column} IS NOT NULL AND ({rows}) ORDER BY rowid"
            ))
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(Cell {
                    table,
                    column,
                    key_col,
                    key: r.get(0)?,
                    value: r.get(1)?,
                })
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

fn set_cell(conn: &Connection, cell: &Cell, value: impl rusqlite::ToSql) {
    let n = conn
        .execute(
            &format!(
                "UPDATE {} SET {} = ?1 WHERE {} = ?2",
                cell.table, cell.column, cell.key_col
            ),
            params![value, cell.key],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// The byte positions flipped in a sealed value of `len` bytes: all of them
/// up to 320 bytes (every profile, document, history and disclosure body,
/// attachment metadata and key wrap here); beyond, the version byte, the
/// nonce and the first 51 bytes of ciphertext, the last 48 bytes (end of
/// the ciphertext and the 16-byte tag) and 48 positions spread through the
/// rest.
fn positions(len: usize) -> Vec<usize> {
    if len <= 320 {
        return (0..len).collect();
    }
    let mut p: BTreeSet<usize> = (0..64).chain(len - 48..len).collect();
    let step = (len - 112) / 48;
    p.extend((0..48).map(|i| 64 + i * step + (i * 7919) % step.max(1)));
    p.into_iter().filter(|&i| i < len).collect()
}

/// Which bits a flip at `pos` changes: one bit, cycling, or all eight.
fn mask(pos: usize) -> u8 {
    if pos % 3 == 2 {
        0xFF
    } else {
        1 << (pos % 8)
    }
}

// ---- the tests -------------------------------------------------------------

#[test]
fn every_blob_column_is_known_sealed_or_known_plain() {
    let fx = fixture();
    let conn = raw(&fx.path);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let cols: Vec<(String, String)> = conn
            .prepare(&format!(
                "SELECT name, type FROM pragma_table_info('{table}')"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (col, ty) in cols {
            if ty.eq_ignore_ascii_case("BLOB") {
                let known = SEALED.iter().any(|&(t, c, _, _)| t == table && c == col)
                    || PLAIN_BLOBS.iter().any(|&(t, c)| t == table && c == col);
                assert!(
                    known,
                    "{table}.{col} is a BLOB column this test does not know: add it to \
                     SEALED (and populate it) or to PLAIN_BLOBS"
                );
            }
        }
    }
    // And each sealed column has at least one value to tamper with.
    let cells = sealed_cells(&conn);
    for &(t, c, _, _) in SEALED {
        assert!(
            cells.iter().any(|x| x.table == t && x.column == c),
            "{t}.{c} is empty in the fixture"
        );
    }
}

/// The `meta` table as it is: PIN failure counters change when a changed
/// PIN wrap is tried, and are put back with the flipped byte.
fn meta_rows(conn: &Connection) -> Vec<(String, String, Vec<u8>)> {
    conn.prepare("SELECT name, created_at, value FROM meta ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn put_meta(conn: &Connection, rows: &[(String, String, Vec<u8>)]) {
    let names: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
    for (name, _, _) in meta_rows(conn) {
        if !names.contains(&name.as_str()) {
            conn.execute("DELETE FROM meta WHERE name = ?1", [&name])
                .unwrap();
        }
    }
    for (name, at, value) in rows {
        conn.execute(
            "INSERT INTO meta (name, created_at, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO UPDATE SET created_at = ?2, value = ?3",
            params![name, at, value],
        )
        .unwrap();
    }
}

/// A changed PIN wrap: the keyring path never reads it (everything reads
/// as before), and the PIN no longer unlocks: `WrongPin`, the one answer
/// possible, since a changed wrap cannot be told from a wrong PIN.
fn assert_pin_wrap_refused(fx: &Fixture, what: &str) {
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline, "{what}");
    drop(vault);
    match Vault::unlock_with_pin(&fx.path, PIN) {
        Err(VaultError::WrongPin { .. }) => {}
        Err(e) => assert!(is_clear(&e), "{what}: unlock_with_pin: {e:?}"),
        Ok(_) => panic!("{what}: the PIN still unlocks"),
    }
}

#[test]
fn flipping_any_byte_of_any_sealed_value_is_detected() {
    let fx = fixture();
    let conn = raw(&fx.path);
    let cells = sealed_cells(&conn);
    let meta = meta_rows(&conn);
    let mut flips = 0;
    for cell in &cells {
        for pos in positions(cell.value.len()) {
            let mut bad = cell.value.clone();
            bad[pos] ^= mask(pos);
            set_cell(&conn, cell, &bad);
            let what = format!(
                "{}.{} of {} ({} bytes), byte {pos} ^ {:#04x}",
                cell.table,
                cell.column,
                cell.key,
                cell.value.len(),
                mask(pos)
            );
            if cell.table == "meta" && cell.key == "wrap/pin" {
                assert_pin_wrap_refused(&fx, &what);
                put_meta(&conn, &meta);
                flips += 1;
                continue;
            }
            let e = assert_detected(&fx, &KEK, &what);
            if is_key_wrap(cell.table, &cell.key) {
                assert_eq!(e, VaultError::WrongKey, "{what}");
            } else {
                assert_eq!(
                    e,
                    VaultError::Tampered {
                        table: cell.table,
                        id: cell.key.clone()
                    },
                    "{what}"
                );
            }
            set_cell(&conn, cell, &cell.value);
            flips += 1;
        }
    }
    eprintln!(
        "{flips} single-byte changes over {} sealed values",
        cells.len()
    );
    assert!(flips > 1000, "only {flips} flips");
    // Restored byte by byte: everything reads as before, the PIN unlocks.
    drop(conn);
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
    drop(vault);
    let vault = Vault::unlock_with_pin(&fx.path, PIN).unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}

#[test]
fn cut_emptied_or_retyped_sealed_values_are_detected() {
    let fx = fixture();
    let cells = {
        let conn = raw(&fx.path);
        sealed_cells(&conn)
    };
    for cell in cells {
        let len = cell.value.len();
        let variants: Vec<(&str, Value)> = vec![
            (
                "cut by one byte",
                Value::Blob(cell.value[..len - 1].to_vec()),
            ),
            ("cut to the header", Value::Blob(cell.value[..13].to_vec())),
            ("emptied", Value::Blob(Vec::new())),
            (
                "one byte longer",
                Value::Blob([&cell.value[..], &[0]].concat()),
            ),
            (
                "stored as text",
                Value::Text(String::from_utf8_lossy(&cell.value).into_owned()),
            ),
            ("stored as an integer", Value::Integer(1)),
        ];
        for (how, v) in variants {
            let conn = raw(&fx.path);
            set_cell(&conn, &cell, v);
            drop(conn);
            let what = format!("{}.{} of {} {how}", cell.table, cell.column, cell.key);
            if cell.table == "meta" && cell.key == "wrap/pin" {
                assert_pin_wrap_refused(&fx, &what);
            } else {
                assert_detected(&fx, &KEK, &what);
            }
            restore(&fx);
        }
    }
}

/// A cell named by `(table, column, the row's key)`.
type Place<'a> = (&'a str, &'a str, &'a str);
/// `(read, item)`: reads that may come back without `item` (or NotFound).
type Lost = Vec<(String, String)>;

/// Swaps the values of two cells.
fn swap(fx: &Fixture, a: Place, b: Place) {
    let conn = raw(&fx.path);
    let get = |(t, c, id): Place| -> Vec<u8> {
        let key = key_column(t);
        conn.query_row(
            &format!("SELECT {c} FROM {t} WHERE {key} = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (va, vb) = (get(a), get(b));
    assert_ne!(va, vb);
    let put = |(t, c, id): Place, v: &[u8]| {
        let key = key_column(t);
        let n = conn
            .execute(
                &format!("UPDATE {t} SET {c} = ?1 WHERE {key} = ?2"),
                params![v, id],
            )
            .unwrap();
        assert_eq!(n, 1, "{t}.{c} {id}");
    };
    put(a, &vb);
    put(b, &va);
}

fn key_column(table: &str) -> &'static str {
    SEALED
        .iter()
        .find(|&&(t, _, _, _)| t == table)
        .map(|&(_, _, k, _)| k)
        .unwrap()
}

#[test]
fn swapped_ciphertexts_are_detected() {
    let fx = fixture();
    let (d0, a0) = (&fx.ids.docs[0].0, &fx.ids.docs[0].1);
    let (d1, a1) = (&fx.ids.docs[1].0, &fx.ids.docs[1].1);
    let d2 = &fx.ids.docs[2].0;
    let (p0, p1) = (&fx.ids.applications[0], &fx.ids.applications[1]);
    let history = keys_of(&fx, "application_history");
    let disclosures = keys_of(&fx, "disclosures");
    assert!(history.len() >= 3 && disclosures.len() >= 3);
    let cases: Vec<(&str, Place, Place)> = vec![
        (
            "documents.body across rows",
            ("documents", "body", d0),
            ("documents", "body", d2),
        ),
        (
            "attachments.data within one document",
            ("attachments", "data", &a0[0]),
            ("attachments", "data", &a0[1]),
        ),
        (
            "attachments.data across documents",
            ("attachments", "data", &a0[1]),
            ("attachments", "data", &a1[0]),
        ),
        (
            "attachments.meta across rows",
            ("attachments", "meta", &a0[0]),
            ("attachments", "meta", &a1[0]),
        ),
        (
            "attachments.meta with .data of the same row",
            ("attachments", "meta", &a0[0]),
            ("attachments", "data", &a0[0]),
        ),
        (
            "documents.body with attachments.meta",
            ("documents", "body", d1),
            ("attachments", "meta", &a1[0]),
        ),
        (
            "applications.payload across rows",
            ("applications", "payload", p0),
            ("applications", "payload", p1),
        ),
        (
            "applications.payload with .last_error",
            ("applications", "payload", p1),
            ("applications", "last_error", p1),
        ),
        (
            "applications.receipt with documents.body",
            ("applications", "receipt", p0),
            ("documents", "body", d1),
        ),
        (
            "the key wrap with documents.body",
            ("meta", "value", "wrap/keyring"),
            ("documents", "body", d0),
        ),
        (
            "the KDF policy with a profile body",
            ("meta", "value", "kdf/policy"),
            ("profiles", "body", &fx.ids.profiles[1]),
        ),
        (
            "profiles.body across rows",
            ("profiles", "body", &fx.ids.profiles[0]),
            ("profiles", "body", &fx.ids.profiles[1]),
        ),
        (
            "attachments.thumb with .data of the same row",
            ("attachments", "thumb", &a0[0]),
            ("attachments", "data", &a0[0]),
        ),
        (
            "application_history.body across rows",
            ("application_history", "body", &history[0]),
            ("application_history", "body", &history[1]),
        ),
        (
            "disclosures.body across rows",
            ("disclosures", "body", &disclosures[0]),
            ("disclosures", "body", &disclosures[1]),
        ),
        (
            "disclosures.body with application_history.body",
            ("disclosures", "body", &disclosures[2]),
            ("application_history", "body", &history[2]),
        ),
        (
            "credentials.body across profiles",
            ("credentials", "body", &fx.ids.profiles[0]),
            ("credentials", "body", &fx.ids.profiles[1]),
        ),
        (
            "credentials.body with a profile body",
            ("credentials", "body", &fx.ids.profiles[1]),
            ("profiles", "body", &fx.ids.profiles[1]),
        ),
        (
            "device_values.value across names",
            ("device_values", "value", &fx.ids.device_values[0]),
            ("device_values", "value", &fx.ids.device_values[1]),
        ),
        (
            "a device value with a credential set",
            ("device_values", "value", &fx.ids.device_values[0]),
            ("credentials", "body", &fx.ids.profiles[0]),
        ),
    ];
    for (what, a, b) in cases {
        swap(&fx, a, b);
        assert_detected(&fx, &KEK, what);
        restore(&fx);
    }
}

/// The keys of a table's rows, oldest first.
fn keys_of(fx: &Fixture, table: &str) -> Vec<String> {
    let conn = raw(&fx.path);
    let key = key_column(table);
    let keys = conn
        .prepare(&format!("SELECT {key} FROM {table} ORDER BY rowid"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    keys
}

#[test]
fn swapped_number_lookups_never_return_the_other_document() {
    let fx = fixture();
    let (d0, d2) = (&fx.ids.docs[0].0, &fx.ids.docs[2].0);
    let conn = raw(&fx.path);
    let hash = |id: &str| -> Vec<u8> {
        conn.query_row(
            "SELECT number_hash FROM documents WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (h0, h2) = (hash(d0), hash(d2));
    conn.execute(
        "UPDATE documents SET number_hash = NULL WHERE id = ?1",
        [d0],
    )
    .unwrap();
    conn.execute(
        "UPDATE documents SET number_hash = ?1 WHERE id = ?2",
        params![h0, d2],
    )
    .unwrap();
    conn.execute(
        "UPDATE documents SET number_hash = ?1 WHERE id = ?2",
        params![h2, d0],
    )
    .unwrap();
    drop(conn);
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    for (kind, number) in &fx.ids.numbers {
        match vault.find_by_number(*kind, number) {
            Ok(Some(doc)) if doc.kind == *kind && doc.number() == number => {}
            Ok(Some(doc)) => panic!(
                "find_by_number({kind:?}, {number}) returned another document: {:?} {}",
                doc.kind,
                doc.number()
            ),
            // The hash matched a document whose sealed kind and number are
            // not the ones asked for.
            Err(VaultError::Tampered { table, .. }) => assert_eq!(table, "documents"),
            other => panic!("find_by_number({kind:?}, {number}): {other:?}"),
        }
    }
    // Nothing else changed: every other read is as before.
    for ((read, before), (_, after)) in fx.baseline.iter().zip(reads(&vault, &fx.ids)) {
        if !read.starts_with("find_by_number") {
            assert_eq!(&after, before, "{read}");
        }
    }
}

#[test]
fn moved_copied_and_renamed_rows_are_detected() {
    let fx = fixture();
    let (d0, a0) = (&fx.ids.docs[0].0, &fx.ids.docs[0].1);
    let (d1, a1) = (&fx.ids.docs[1].0, &fx.ids.docs[1].1);
    let d2 = &fx.ids.docs[2].0;
    let none = Vec::new;
    let cases: Vec<(String, String, Lost)> = vec![
        (
            "an attachment copied under a new id".into(),
            format!(
                "INSERT INTO attachments (id, document_id, created_at, meta, data, thumb) \
                 SELECT 'aaaaaaaa-0000-4000-8000-000000000000', document_id, created_at, \
                 meta, data, thumb FROM attachments WHERE id = '{}'",
                a1[0]
            ),
            none(),
        ),
        (
            "a document renamed".into(),
            format!(
                "UPDATE documents SET id = 'bbbbbbbb-0000-4000-8000-000000000000' WHERE id = '{d2}'"
            ),
            vec![(format!("get_document {d2}"), d2.clone())],
        ),
        (
            "a document copied under a new id".into(),
            format!(
                "INSERT INTO documents (id, profile_id, created_at, updated_at, body) \
                 SELECT 'cccccccc-0000-4000-8000-000000000000', profile_id, created_at, \
                 updated_at, body FROM documents WHERE id = '{d0}'"
            ),
            none(),
        ),
        (
            "a document moved to another profile".into(),
            format!(
                "UPDATE documents SET profile_id = '{}' WHERE id = '{d2}'",
                fx.ids.profiles[1]
            ),
            none(),
        ),
        (
            "a profile renamed".into(),
            format!(
                "UPDATE profiles SET id = 'dddddddd-0000-4000-8000-000000000000' WHERE id = '{}'",
                fx.ids.profiles[1]
            ),
            vec![
                (format!("list_documents {}", fx.ids.profiles[1]), d1.clone()),
                (
                    format!("credentials {}", fx.ids.profiles[1]),
                    fx.ids.profiles[1].clone(),
                ),
            ],
        ),
        (
            "a credential set moved to another profile".into(),
            format!(
                "DELETE FROM credentials WHERE profile_id = '{p0}'; \
                 UPDATE credentials SET profile_id = '{p0}' WHERE profile_id = '{p1}'",
                p0 = fx.ids.profiles[0],
                p1 = fx.ids.profiles[1]
            ),
            // The child's set is gone from the child (allowed: rows taken
            // away are out of scope), never shown as the citizen's.
            vec![(
                format!("credentials {}", fx.ids.profiles[1]),
                "Some".to_owned(),
            )],
        ),
        (
            "a device value renamed".into(),
            format!(
                "DELETE FROM device_values WHERE name = '{a}'; \
                 UPDATE device_values SET name = '{a}' WHERE name = '{b}'",
                a = fx.ids.device_values[0],
                b = fx.ids.device_values[1]
            ),
            vec![(
                format!("device_value {}", fx.ids.device_values[1]),
                "Some".to_owned(),
            )],
        ),
        (
            "an application renamed".into(),
            format!(
                "UPDATE applications SET idempotency_key = 'app-other' WHERE idempotency_key = '{}'",
                fx.ids.applications[0]
            ),
            none(),
        ),
    ];
    for (what, sql, may_lose) in cases {
        let conn = raw(&fx.path);
        conn.execute_batch(&sql).unwrap();
        assert_eq!(conn.changes(), 1, "{what}");
        drop(conn);
        assert_detected_except(&fx, &KEK, &what, &may_lose);
        restore(&fx);
    }

    // An attachment moved to another document: the source's sealed list
    // still names it (its `get_document` fails: a row is missing), and
    // where it lands everything fails.
    for (moved, from, to) in [(&a0[0], d0, d1), (&a1[0], d1, d2)] {
        let conn = raw(&fx.path);
        let n = conn
            .execute(
                "UPDATE attachments SET document_id = ?1 WHERE id = ?2",
                [to, moved],
            )
            .unwrap();
        assert_eq!(n, 1);
        drop(conn);
        let what = format!("attachment {moved} moved from document {from} to {to}");
        let e = assert_detected(&fx, &KEK, &what);
        assert_eq!(
            e,
            VaultError::Tampered {
                table: "attachments",
                id: moved.clone()
            },
            "{what}"
        );
        let vault = Vault::open(&fx.path, &KEK).unwrap();
        assert!(matches!(
            vault.get_document(to),
            Err(VaultError::Tampered { .. })
        ));
        assert!(matches!(
            vault.get_document(from),
            Err(VaultError::Tampered { .. })
        ));
        assert!(matches!(
            vault.attachment_bytes(moved),
            Err(VaultError::Tampered { .. })
        ));
        drop(vault);
        restore(&fx);
    }
}

#[test]
fn wrong_missing_or_foreign_keys_are_refused_and_change_nothing() {
    let fx = fixture();
    let wrong = FixedKek([0x6C; 32]);
    assert_eq!(
        Vault::open(&fx.path, &wrong).unwrap_err(),
        VaultError::WrongKey
    );
    for len in [0, 16, 31, 33, 64] {
        assert_eq!(
            Vault::open(&fx.path, &RawKey(vec![0x6B; len])).unwrap_err(),
            VaultError::WrongKey,
            "a {len}-byte KEK"
        );
    }
    let empty = MemoryKeyStore::new();
    assert_eq!(
        Vault::open(&fx.path, &empty).unwrap_err(),
        VaultError::KeyMissing
    );
    assert_eq!(empty.load().unwrap(), None, "no key was made for it");
    assert_eq!(
        std::fs::read(&fx.path).unwrap(),
        fx.pristine,
        "file unchanged"
    );
    assert!(!sidecar(&fx.path, "-wal").exists());

    // The key wrap of another vault under the same KEK: it unwraps (to the
    // other vault's key), so every record must fail, not decrypt to junk.
    let other_dir = tempfile::tempdir().unwrap();
    let other_path = other_dir.path().join("other.sqlite3");
    drop(Vault::open(&other_path, &KEK).unwrap());
    let other_wrap: Vec<u8> = raw(&other_path)
        .query_row(
            "SELECT value FROM meta WHERE name = 'wrap/keyring'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let conn = raw(&fx.path);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'wrap/keyring'",
        [&other_wrap],
    )
    .unwrap();
    drop(conn);
    let e = assert_detected(&fx, &KEK, "the key wrap of another vault");
    assert!(matches!(e, VaultError::Tampered { .. }), "{e:?}");
    restore(&fx);

    // A wrong PIN is refused (and counted); the right one still unlocks.
    assert!(
        matches!(
            Vault::unlock_with_pin(&fx.path, "739185"),
            Err(VaultError::WrongPin { .. })
        ),
        "a wrong PIN"
    );
    let vault = Vault::unlock_with_pin(&fx.path, PIN).unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
    drop(vault);

    // And after all that, the right key still opens everything.
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}

#[test]
fn changed_plaintext_links_and_times_are_detected() {
    let fx = fixture();
    let (d0, a0) = (&fx.ids.docs[0].0, &fx.ids.docs[0].1);
    let d1 = &fx.ids.docs[1].0;
    let d2 = &fx.ids.docs[2].0;
    let (p0, p1) = (&fx.ids.applications[0], &fx.ids.applications[1]);
    let child = &fx.ids.profiles[1];
    let history = keys_of(&fx, "application_history");
    let disclosures = keys_of(&fx, "disclosures");
    let then = "2020-01-01T00:00:00.000000Z";
    let none = Vec::new;
    let cases: Vec<(String, String, Lost)> = vec![
        (
            "a link added to an application (tag copied)".into(),
            format!(
                "INSERT INTO application_documents (idempotency_key, document_id, tag) \
                 SELECT idempotency_key, '{d2}', tag FROM application_documents \
                 WHERE idempotency_key = '{p0}'"
            ),
            none(),
        ),
        (
            "a link pointed at another document".into(),
            format!(
                "UPDATE application_documents SET document_id = '{d2}' \
                 WHERE idempotency_key = '{p0}'"
            ),
            none(),
        ),
        (
            "a link's tag emptied".into(),
            format!("UPDATE application_documents SET tag = x'' WHERE idempotency_key = '{p1}'"),
            none(),
        ),
        (
            "a document re-dated (updated_at)".into(),
            format!("UPDATE documents SET updated_at = '{then}' WHERE id = '{d0}'"),
            none(),
        ),
        (
            "a document re-dated (created_at)".into(),
            format!("UPDATE documents SET created_at = '{then}' WHERE id = '{d2}'"),
            none(),
        ),
        (
            "a document's profile cleared".into(),
            format!("UPDATE documents SET profile_id = NULL WHERE id = '{d0}'"),
            vec![("list_documents self".to_owned(), d0.clone())],
        ),
        (
            "an attachment re-dated".into(),
            format!(
                "UPDATE attachments SET created_at = '{then}' WHERE id = '{}'",
                a0[0]
            ),
            none(),
        ),
        (
            "an attachment row deleted".into(),
            format!("DELETE FROM attachments WHERE id = '{}'", a0[1]),
            // Its own reads find no such attachment; its document's fail.
            vec![
                (format!("attachment_bytes {}", a0[1]), a0[1].clone()),
                (format!("thumbnail {}", a0[1]), a0[1].clone()),
            ],
        ),
        (
            "a profile re-dated".into(),
            format!("UPDATE profiles SET created_at = '{then}' WHERE id = '{child}'"),
            none(),
        ),
        (
            "an access-log entry re-dated".into(),
            format!(
                "UPDATE disclosures SET at = '{then}' WHERE id = '{}'",
                disclosures[0]
            ),
            none(),
        ),
        (
            "a history entry re-dated".into(),
            format!(
                "UPDATE application_history SET at = '{then}' WHERE id = '{}'",
                history[0]
            ),
            none(),
        ),
        (
            "a number hash moved to a document without a number".into(),
            format!(
                "CREATE TEMP TABLE h AS SELECT number_hash AS v FROM documents \
                 WHERE id = '{d0}'; \
                 UPDATE documents SET number_hash = NULL WHERE id = '{d0}'; \
                 UPDATE documents SET number_hash = (SELECT v FROM h) WHERE id = '{d1}'"
            ),
            none(),
        ),
    ];
    for (what, sql, may_lose) in cases {
        let conn = raw(&fx.path);
        conn.execute_batch(&sql).unwrap();
        assert!(conn.changes() >= 1, "{what}: nothing changed");
        drop(conn);
        assert_detected_except(&fx, &KEK, &what, &may_lose);
        restore(&fx);
    }
}

#[test]
fn non_blob_key_material_is_a_clear_error() {
    let fx = fixture();
    for name in ["wrap/keyring", "kdf/policy"] {
        for v in [Value::Integer(7), Value::Real(1.5), Value::Text("x".into())] {
            let conn = raw(&fx.path);
            conn.execute(
                "UPDATE meta SET value = ?1 WHERE name = ?2",
                params![v, name],
            )
            .unwrap();
            drop(conn);
            let e = Vault::open(&fx.path, &KEK).unwrap_err();
            assert!(is_clear(&e), "{name} as {v:?}: {e:?}");
            restore(&fx);
        }
    }
    let conn = raw(&fx.path);
    conn.execute("UPDATE meta SET value = 7 WHERE name = 'wrap/pin'", [])
        .unwrap();
    drop(conn);
    match Vault::unlock_with_pin(&fx.path, PIN) {
        Err(e) => assert!(is_clear(&e), "wrap/pin as an integer: {e:?}"),
        Ok(_) => panic!("wrap/pin as an integer unlocks"),
    }
    // The keyring path does not need it, and still reads everything.
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}

// ---- attachment files -----------------------------------------------------

/// `(attachment id, column, file name)` of every attachment file.
fn attachment_files(fx: &Fixture) -> Vec<(String, &'static str, String)> {
    let conn = raw(&fx.path);
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT id, data_file, thumb_file FROM attachments ORDER BY rowid")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let id: String = r.get(0).unwrap();
        out.push((id.clone(), "data", r.get::<_, String>(1).unwrap()));
        if let Some(t) = r.get::<_, Option<String>>(2).unwrap() {
            out.push((id, "thumb", t));
        }
    }
    out
}

/// Byte positions changed in an attachment file of `len` bytes: the whole
/// 21-byte header, the first ciphertext bytes, both sides of every chunk
/// boundary (each chunk is 65,536 + 16 bytes), spread points, the last tag.
fn file_positions(len: usize) -> Vec<usize> {
    const H: usize = 21;
    const C: usize = 65_536 + 16;
    let mut p: BTreeSet<usize> = (0..H + 3).collect();
    let mut b = H + C;
    while b < len {
        p.extend([b - 17, b - 1, b, b + 1]);
        b += C;
    }
    p.extend([len / 3, len / 2, (2 * len) / 3]);
    p.extend(len.saturating_sub(17)..len);
    p.into_iter().filter(|&i| i < len).collect()
}

#[test]
fn every_attachment_lives_in_a_sealed_file_and_none_is_left_over() {
    let fx = fixture();
    let files = attachment_files(&fx);
    let on_disk: BTreeSet<String> = fx.pristine_files.iter().map(|(n, _)| n.clone()).collect();
    let referenced: BTreeSet<String> = files.iter().map(|(_, _, n)| n.clone()).collect();
    assert_eq!(on_disk, referenced, "exactly the referenced files");
    let atts: usize = fx.ids.docs.iter().map(|(_, a)| a.len()).sum();
    assert!(files.len() > atts, "data files plus some thumbnails");
    // No attachment byte sits in SQLite any more: the sealed cells are
    // small references.
    let conn = raw(&fx.path);
    let biggest = common::largest_attachment_cell(&conn);
    assert!(biggest < 200, "a {biggest}-byte cell");
}

#[test]
fn flipped_bytes_in_attachment_files_are_detected() {
    let fx = fixture();
    let dir = files_dir(&fx.path);
    let mut flips = 0;
    for (att, col, name) in attachment_files(&fx) {
        let path = dir.join(&name);
        let pristine = std::fs::read(&path).unwrap();
        for pos in file_positions(pristine.len()) {
            let mut bad = pristine.clone();
            bad[pos] ^= mask(pos);
            std::fs::write(&path, &bad).unwrap();
            let what = format!("{col} file of {att} ({} bytes), byte {pos}", pristine.len());
            let e = assert_detected(&fx, &KEK, &what);
            assert_eq!(
                e,
                VaultError::Tampered {
                    table: "attachments",
                    id: att.clone()
                },
                "{what}"
            );
            flips += 1;
        }
        std::fs::write(&path, &pristine).unwrap();
    }
    eprintln!("{flips} single-byte changes in attachment files");
    assert!(flips > 100, "only {flips}");
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}

#[test]
fn cut_extended_swapped_or_missing_attachment_files_are_detected() {
    let fx = fixture();
    let dir = files_dir(&fx.path);
    let files = attachment_files(&fx);
    // Cut or extended.
    for (att, col, name) in &files {
        let path = dir.join(name);
        let pristine = std::fs::read(&path).unwrap();
        let n = pristine.len();
        let mut variants: Vec<(String, Vec<u8>)> = vec![
            ("cut by one byte".into(), pristine[..n - 1].to_vec()),
            ("cut by a tag".into(), pristine[..n - 16].to_vec()),
            ("cut to the header".into(), pristine[..21].to_vec()),
            ("emptied".into(), Vec::new()),
            ("one byte longer".into(), [&pristine[..], &[0]].concat()),
            (
                "a chunk longer".into(),
                [&pristine[..], &pristine[21..n.min(21 + 65_552)]].concat(),
            ),
        ];
        if n > 21 + 2 * 65_552 {
            variants.push((
                "cut at a chunk boundary".into(),
                pristine[..21 + 65_552].to_vec(),
            ));
        }
        for (how, bytes) in variants {
            std::fs::write(&path, &bytes).unwrap();
            let what = format!("{col} file of {att} {how}");
            let e = assert_detected(&fx, &KEK, &what);
            assert_eq!(
                e,
                VaultError::Tampered {
                    table: "attachments",
                    id: att.clone()
                },
                "{what}"
            );
        }
        std::fs::write(&path, &pristine).unwrap();
    }
    // Swapped between attachments (same document, across documents) and
    // between an attachment's data and its thumbnail: other keys, never
    // the other's bytes.
    let data = |i: usize| files.iter().filter(|f| f.1 == "data").nth(i).unwrap();
    let thumb = files.iter().find(|f| f.1 == "thumb").unwrap();
    let data_of_thumb = files
        .iter()
        .find(|f| f.1 == "data" && f.0 == thumb.0)
        .unwrap();
    let pairs = [
        ("data files of one document", data(0), data(1)),
        ("data files across documents", data(1), data(2)),
        ("a data file with its thumbnail", data_of_thumb, thumb),
    ];
    for (what, a, b) in pairs {
        let (pa, pb) = (dir.join(&a.2), dir.join(&b.2));
        let (ba, bb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        std::fs::write(&pa, &bb).unwrap();
        std::fs::write(&pb, &ba).unwrap();
        let e = assert_detected(&fx, &KEK, what);
        assert!(
            matches!(
                e,
                VaultError::Tampered {
                    table: "attachments",
                    ..
                }
            ),
            "{what}: {e:?}"
        );
        restore(&fx);
    }
    // The rows' file-name columns swapped, or pointed elsewhere.
    let (a0, a1) = (&data(0).0, &data(1).0);
    let cases = [
        format!(
            "UPDATE attachments SET data_file = CASE id WHEN '{a0}' THEN '{n1}' ELSE '{n0}' END \
             WHERE id IN ('{a0}', '{a1}')",
            n0 = data(0).2,
            n1 = data(1).2
        ),
        format!("UPDATE attachments SET data_file = '../../vault.sqlite3' WHERE id = '{a0}'"),
        format!("UPDATE attachments SET data_file = NULL WHERE id = '{a0}'"),
        format!(
            "UPDATE attachments SET thumb_file = data_file WHERE id = '{}'",
            thumb.0
        ),
    ];
    for sql in cases {
        let conn = raw(&fx.path);
        conn.execute_batch(&sql).unwrap();
        assert!(conn.changes() >= 1, "{sql}");
        drop(conn);
        let e = assert_detected(&fx, &KEK, &sql);
        assert!(
            matches!(
                e,
                VaultError::Tampered {
                    table: "attachments",
                    ..
                }
            ),
            "{sql}: {e:?}"
        );
        restore(&fx);
    }
    // Missing: a clear error naming the attachment, from the read and
    // from the integrity check.
    for (att, col, name) in [data(2), thumb] {
        std::fs::remove_file(dir.join(name)).unwrap();
        let what = format!("{col} file of {att} missing");
        let e = assert_detected(&fx, &KEK, &what);
        match &e {
            VaultError::Corrupt(m) => {
                assert!(m.contains(att.as_str()) && m.contains("missing"), "{m}")
            }
            other => panic!("{what}: {other:?}"),
        }
        let vault = Vault::open(&fx.path, &KEK).unwrap();
        let read = if *col == "data" {
            vault.attachment_bytes(att).map(drop)
        } else {
            vault.thumbnail(att).map(drop)
        };
        assert_eq!(read.unwrap_err().kind(), "corrupt");
        drop(vault);
        restore(&fx);
    }
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}

#[test]
fn stray_and_temporary_files_are_swept_and_foreign_files_kept() {
    let fx = fixture();
    let dir = files_dir(&fx.path);
    let stray = "0123456789abcdef0123456789abcdef.cdsf";
    let tmp = "fedcba9876543210fedcba9876543210.cdsf.tmp";
    std::fs::write(dir.join(stray), b"left by a crash").unwrap();
    std::fs::write(dir.join(tmp), b"half written").unwrap();
    std::fs::write(dir.join("README.txt"), b"not ours").unwrap();
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    assert!(!dir.join(stray).exists());
    assert!(!dir.join(tmp).exists());
    assert!(dir.join("README.txt").exists(), "only our names are swept");
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}
