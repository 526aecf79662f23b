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
//!
//! After each change the test opens the vault and tries every read the API
//! offers: each read either returns exactly what it returned before the
//! change, or fails with one of those errors; at least one read fails and
//! `integrity_check` fails. (Whole rows deleted or rolled back are out of
//! scope: the vault documents that it has no file-wide MAC.)

use cds_api::{
    Applicant, ApplicationReceipt, ApplicationStatus, DocumentKind, DocumentRef, SubmitApplication,
};
use cds_vault::{KeyStore, MemoryKeyStore, NewAttachment, NewDocument, Vault, VaultError};
use ring::digest::{digest, SHA256};
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

// ---- the vault API this test uses (the only part that follows API changes)

/// Every column that holds a sealed value (version, nonce, ciphertext, tag),
/// as `(table, column, the table's key column)`.
const SEALED: &[(&str, &str, &str)] = &[
    ("meta", "value", "name"),
    ("documents", "body", "id"),
    ("attachments", "meta", "id"),
    ("attachments", "data", "id"),
    ("applications", "payload", "idempotency_key"),
    ("applications", "receipt", "idempotency_key"),
    ("applications", "last_error", "idempotency_key"),
];

/// BLOB columns that are deliberately not sealed (none so far). A new BLOB
/// column must be added to one of the two lists, so this test covers it.
const PLAIN_BLOBS: &[(&str, &str)] = &[];

/// The `meta` rows that wrap the vault key: changing one makes the KEK fail
/// to unwrap it (`WrongKey`) rather than a record fail (`Tampered`).
fn is_key_wrap(table: &str, key: &str) -> bool {
    table == "meta" && key.starts_with("wrap/")
}

struct FixedKek([u8; 32]);

impl KeyStore for FixedKek {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(Some(Zeroizing::new(self.0.to_vec())))
    }
    fn store(&self, _secret: &[u8]) -> Result<(), VaultError> {
        Ok(())
    }
    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

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

/// A real 4x4 RGB PNG.
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
    applications: Vec<String>,
}

fn submission(key: &str) -> SubmitApplication {
    SubmitApplication {
        idempotency_key: key.into(),
        service_code: "1.001612".into(),
        applicant: Applicant {
            id_number: "079095001234".into(),
            full_name: "Lê Văn Tám".into(),
            date_of_birth: "1995-08-15".into(),
        },
        documents: vec![DocumentRef {
            kind: DocumentKind::Cccd,
            number: "079095001234".into(),
            full_name: "Lê Văn Tám".into(),
            date_of_birth: "1995-08-15".into(),
            attachment_count: 1,
        }],
        submitted_at: "2026-05-10T08:00:00Z".into(),
    }
}

/// Three documents (two with attachments, one a few hundred KiB), one
/// delivered application and one that failed to deliver.
fn populate(vault: &mut Vault) -> Ids {
    let mut docs = Vec::new();
    let inputs = [
        (
            DocumentKind::Cccd,
            "079095001234",
            "Lê Văn Tám",
            vec![att("front.png", PNG.to_vec()), att("back.pdf", pdf(700, 1))],
        ),
        (
            DocumentKind::Passport,
            "C1234567",
            "Lê Văn Tám",
            vec![att("passport.pdf", pdf(300 * 1024, 2))],
        ),
        (
            DocumentKind::HealthInsurance,
            "HS4797900123456",
            "Lê Thị Hoa",
            vec![],
        ),
    ];
    for (kind, number, name, attachments) in inputs {
        let d = vault
            .add_document(&NewDocument {
                kind,
                number: number.into(),
                full_name: name.into(),
                date_of_birth: "1995-08-15".into(),
                attachments,
            })
            .unwrap();
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
        .record_delivery_error(keys[1], "503 Service Unavailable: thử lại sau")
        .unwrap();
    Ids {
        docs,
        applications: keys.iter().map(|k| k.to_string()).collect(),
    }
}

/// Every read the API offers, each on its own: `(what, outcome)`. A
/// successful read is summarised by its `Debug` text (attachment bytes by
/// their SHA-256), so it can be compared with the untouched vault's.
fn reads(vault: &Vault, ids: &Ids) -> Vec<(String, Result<String, VaultError>)> {
    let mut out = Vec::new();
    out.push((
        "list_documents".into(),
        vault.list_documents().map(|d| format!("{d:?}")),
    ));
    for (doc, atts) in &ids.docs {
        out.push((
            format!("get_document {doc}"),
            vault.get_document(doc).map(|d| format!("{d:?}")),
        ));
        for a in atts {
            out.push((
                format!("attachment_bytes {a}"),
                vault
                    .attachment_bytes(a)
                    .map(|b| format!("{:?}", digest(&SHA256, &b))),
            ));
        }
    }
    out.push((
        "list_applications".into(),
        vault.list_applications().map(|a| format!("{a:?}")),
    ));
    out.push((
        "pending_applications".into(),
        vault.pending_applications().map(|a| format!("{a:?}")),
    ));
    let _ = &ids.applications;
    out
}

// ---- the harness -------------------------------------------------------------

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ids: Ids,
    baseline: Vec<(String, Result<String, VaultError>)>,
    pristine: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sqlite3");
    let mut vault = Vault::open(&path, &KEK).unwrap();
    let ids = populate(&mut vault);
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
    Fixture {
        _dir: dir,
        path,
        ids,
        baseline,
        pristine,
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    // The attacker's writes need not be durable; this keeps the test fast.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
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

/// Puts the untouched file back and checks it reads as before.
fn restore(fx: &Fixture) {
    let _ = std::fs::remove_file(sidecar(&fx.path, "-wal"));
    let _ = std::fs::remove_file(sidecar(&fx.path, "-shm"));
    std::fs::write(&fx.path, &fx.pristine).unwrap();
}

/// A sealed cell: table, column, the row's key, its rowid and value.
struct Cell {
    table: &'static str,
    column: &'static str,
    key: String,
    rowid: i64,
    value: Vec<u8>,
}

fn sealed_cells(conn: &Connection) -> Vec<Cell> {
    let mut out = Vec::new();
    for &(table, column, key_col) in SEALED {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT rowid, {key_col}, {column} FROM {table} WHERE {column} IS NOT NULL \
                 ORDER BY rowid"
            ))
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(Cell {
                    table,
                    column,
                    rowid: r.get(0)?,
                    key: r.get(1)?,
                    value: r.get(2)?,
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
                "UPDATE {} SET {} = ?1 WHERE rowid = ?2",
                cell.table, cell.column
            ),
            params![value, cell.rowid],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// The byte positions flipped in a sealed value of `len` bytes: all of them
/// up to 4 KiB; beyond, the header and first 4 KiB, the last 1 KiB (end of
/// the ciphertext and the tag) and 256 positions spread through the rest.
fn positions(len: usize) -> Vec<usize> {
    if len <= 4096 {
        return (0..len).collect();
    }
    let mut p: BTreeSet<usize> = (0..4096).chain(len - 1024..len).collect();
    let step = (len - 5120) / 256;
    p.extend((0..256).map(|i| 4096 + i * step + (i * 7919) % step.max(1)));
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
                let known = SEALED.iter().any(|&(t, c, _)| t == table && c == col)
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
    for &(t, c, _) in SEALED {
        assert!(
            cells.iter().any(|x| x.table == t && x.column == c),
            "{t}.{c} is empty in the fixture"
        );
    }
}

#[test]
fn flipping_any_byte_of_any_sealed_value_is_detected() {
    let fx = fixture();
    let conn = raw(&fx.path);
    let cells = sealed_cells(&conn);
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
    assert!(flips > 1000, "only {flips} flips");
    // Restored byte by byte: everything reads as before.
    drop(conn);
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
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
            assert_detected(&fx, &KEK, &what);
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
        .find(|&&(t, _, _)| t == table)
        .map(|&(_, _, k)| k)
        .unwrap()
}

#[test]
fn swapped_ciphertexts_are_detected() {
    let fx = fixture();
    let (d0, a0) = (&fx.ids.docs[0].0, &fx.ids.docs[0].1);
    let (d1, a1) = (&fx.ids.docs[1].0, &fx.ids.docs[1].1);
    let d2 = &fx.ids.docs[2].0;
    let (p0, p1) = (&fx.ids.applications[0], &fx.ids.applications[1]);
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
    ];
    for (what, a, b) in cases {
        swap(&fx, a, b);
        assert_detected(&fx, &KEK, what);
        restore(&fx);
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
                "INSERT INTO attachments SELECT 'aaaaaaaa-0000-4000-8000-000000000000', \
                 document_id, created_at, meta, data FROM attachments WHERE id = '{}'",
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
                "INSERT INTO documents SELECT 'cccccccc-0000-4000-8000-000000000000', \
                 created_at, body FROM documents WHERE id = '{d0}'"
            ),
            none(),
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
        assert_eq!(conn.execute(&sql, []).unwrap(), 1, "{what}");
        drop(conn);
        assert_detected_except(&fx, &KEK, &what, &may_lose);
        restore(&fx);
    }

    // Taking an attachment away from its document looks, from that
    // document, like a deleted row, which the vault does not claim to
    // detect (no file-wide MAC, no sealed list of a document's attachments):
    // `get_document` of the source lists one attachment fewer. Where it
    // lands, everything fails.
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
        let may_lose = [(format!("get_document {from}"), moved.clone())];
        let e = assert_detected_except(&fx, &KEK, &what, &may_lose);
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

    // And after all that, the right key still opens everything.
    let vault = Vault::open(&fx.path, &KEK).unwrap();
    vault.integrity_check().unwrap();
    assert_eq!(reads(&vault, &fx.ids), fx.baseline);
}
