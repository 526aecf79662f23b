//! The vault on a real, small, full file system (not a simulated writer).
//!
//! Each test here is a *parent* that starts `unshare --user
//! --map-root-user --mount`, which mounts a small tmpfs on a fresh
//! temporary directory in a private mount namespace and then runs this
//! very test binary again with `--exact <child test> --nocapture` and
//! `CDS_FULL_DISK_CHILD=<mount point>`. The *child* test body runs inside
//! the namespace, on the tmpfs, and prints one result line
//! (`FULL_DISK_RESULT ok …`) when every check passed; the parent asserts
//! the child's exit status and that line. The mount (and everything on
//! it) disappears with the namespace when the child exits.
//!
//! The child tests return at once, passing, when `CDS_FULL_DISK_CHILD` is
//! not set: that is how they run in an ordinary `cargo test`, where they
//! check nothing themselves.
//!
//! If `unshare` is missing or the tmpfs cannot be mounted (no user
//! namespaces), the parent **fails** with a message saying so: this test
//! is never skipped silently.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_api::DocumentKind;
use cds_vault::{DocumentInput, NewAttachment, Vault, VaultError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;
use common::{copy_fixture, fixture_kek, sidecar, user_version};

const CHILD_ENV: &str = "CDS_FULL_DISK_CHILD";
const RESULT: &str = "FULL_DISK_RESULT ok";
const PIN: &str = "482915";
const PASSPHRASE: &str = "correct horse battery staple";

// ---- the parent side ------------------------------------------------------

/// Runs the child test `child` of this binary inside a new user and mount
/// namespace with a `size` tmpfs mounted on a fresh temporary directory,
/// and returns its result line. Panics (fails the calling test) if
/// `unshare` is missing, the mount fails, or the child fails.
fn run_on_tmpfs(child: &str, size: &str) -> String {
    let mount_point = tempfile::tempdir().expect("a temporary directory");
    let exe = std::env::current_exe().expect("the test binary's path");
    // The mount point and the binary are passed as positional parameters,
    // never spliced into the script. `exec` only runs if `mount` worked,
    // so the child never writes to the real disk.
    let script = format!(
        "mount -t tmpfs -o size={size},mode=0700 cds-full-disk \"$1\" || exit 97; \
         exec \"$2\" --exact {child} --nocapture --test-threads=1"
    );
    let started = Instant::now();
    let out = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(mount_point.path())
        .arg(&exe)
        .env(CHILD_ENV, mount_point.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `unshare` ({e}): this test needs util-linux's `unshare` \
                 and unprivileged user namespaces to mount a small tmpfs; it is not skipped"
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(97) || (!out.status.success() && stdout.is_empty()) {
        panic!(
            "could not mount a tmpfs in a new user/mount namespace \
             (`unshare --user --map-root-user --mount` then `mount -t tmpfs`), \
             status {}; this test needs user namespaces and is not skipped.\n\
             stderr:\n{stderr}",
            out.status
        );
    }
    assert!(
        out.status.success(),
        "the child `{child}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with(RESULT))
        .unwrap_or_else(|| {
            panic!(
                "the child `{child}` exited successfully but printed no result line; \
                 did it run at all?\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            )
        })
        .to_owned();
    // Shown with `--nocapture`: what the child saw on the way.
    eprintln!(
        "--- {child} (stdout)\n{stdout}--- {:.1?}",
        started.elapsed()
    );
    line
}

#[test]
fn a_real_full_disk_is_disk_full_and_loses_nothing() {
    let line = run_on_tmpfs("child_fills_the_disk", "6m");
    assert!(line.contains("writes="), "{line}");
}

#[test]
fn migrating_an_old_vault_on_a_nearly_full_disk_never_breaks_it() {
    let line = run_on_tmpfs("child_migrates_on_a_nearly_full_disk", "2m");
    assert!(line.contains("opened="), "{line}");
}

// ---- helpers of the child side ---------------------------------------------

/// The tmpfs the parent mounted, or `None` when not run by the parent.
/// Refuses to go on unless the directory really is a tmpfs mount point,
/// so a child never fills a real disk.
fn child_mount() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(CHILD_ENV)?);
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("/proc/self/mounts");
    let canonical = std::fs::canonicalize(&dir).expect("the mount point");
    let is_tmpfs = mounts.lines().any(|l| {
        let mut f = l.split(' ');
        let (_, target, fstype) = (f.next(), f.next(), f.next());
        fstype == Some("tmpfs") && target.map(Path::new) == Some(canonical.as_path())
    });
    assert!(
        is_tmpfs,
        "{} is not a tmpfs mount point; refusing to fill it",
        dir.display()
    );
    // The harness printed `test … ... ` without a newline.
    println!();
    Some(canonical)
}

/// A pseudo-random payload behind a PDF signature, a pure function of
/// `seed` and `len`, so what a write stored can be recomputed.
fn pdf(seed: u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    v.extend_from_slice(b"%PDF-1.7\n");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len.max(9));
    v
}

fn attachment(seed: u64, len: usize) -> NewAttachment {
    NewAttachment {
        file_name: format!("scan-{seed}.pdf"),
        mime: "application/pdf".into(),
        bytes: pdf(seed, len),
    }
}

fn other_doc(title: &str) -> DocumentInput {
    DocumentInput {
        profile_id: "self".into(),
        kind: DocumentKind::Other,
        fields: BTreeMap::from([("title".to_owned(), title.to_owned())]),
        custom_fields: vec![],
    }
}

/// Names in `<vault>.files/`: `(sealed files, temporary files)`.
fn files_on_disk(vault: &Path) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut temps = Vec::new();
    let Ok(dir) = std::fs::read_dir(sidecar(vault, ".files")) else {
        return (files, temps);
    };
    for e in dir {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".tmp") {
            temps.push(name);
        } else {
            files.push(name);
        }
    }
    files.sort();
    (files, temps)
}

/// Fills the file system holding `dir` completely with the file `name`,
/// then gives back `slack` bytes (rounded to whole pages by tmpfs).
fn fill(dir: &Path, name: &str, slack: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .unwrap();
    for block in [64 * 1024, 4096, 512, 1] {
        let buf = vec![0xA5u8; block];
        loop {
            match f.write_all(&buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(slack)).unwrap();
    path
}

// ---- the children ----------------------------------------------------------

/// One write the vault reported as done: the document, its attachment if
/// it had one, and what that holds (`pdf(seed, len)`).
struct Stored {
    doc_id: String,
    att_id: Option<String>,
    seed: u64,
    len: usize,
}

fn check_all_readable(v: &Vault, stored: &[Stored], when: &str) {
    for s in stored {
        v.get_document(&s.doc_id)
            .unwrap_or_else(|e| panic!("{when}: document {} unreadable: {e}", s.doc_id));
        if let Some(a) = &s.att_id {
            let bytes = v
                .attachment_bytes(a)
                .unwrap_or_else(|e| panic!("{when}: attachment {a} unreadable: {e}"));
            assert!(
                bytes[..] == pdf(s.seed, s.len)[..],
                "{when}: attachment {a} does not read back byte for byte"
            );
        }
    }
}

/// Every sealed file in `<vault>.files/` is referenced by an attachment
/// the vault lists, and there is no temporary file.
fn check_no_stray_files(v: &Vault, path: &Path, when: &str) {
    let mut referenced = 0;
    for d in v.list_documents(None).unwrap() {
        for a in v.get_document(&d.id).unwrap().attachments {
            referenced += 1 + usize::from(a.has_thumbnail);
        }
    }
    let (files, temps) = files_on_disk(path);
    assert!(temps.is_empty(), "{when}: temporary files left: {temps:?}");
    assert_eq!(
        files.len(),
        referenced,
        "{when}: {} files for {referenced} referenced",
        files.len()
    );
}

/// Writes through the vault until the disk is full, stage by stage: for
/// each `(size, at most)` of `stages`, attachments of about `size` bytes
/// (alternately a new document with one, and one more for the last
/// document), or documents without attachments for size 0, until one
/// fails. Every failure must be `DiskFull` and leave no file behind;
/// every stage must end with one. Returns the number of failures.
fn fill_through_vault(
    v: &mut Vault,
    path: &Path,
    stored: &mut Vec<Stored>,
    seed: &mut u64,
    stages: &[(usize, usize)],
) -> usize {
    let mut failures = 0;
    for &(size, at_most) in stages {
        let mut failed = false;
        for _ in 0..at_most {
            *seed += 1;
            let seed = *seed;
            let len = size + 4099 * seed as usize;
            let title = format!("Giấy tờ {seed}");
            let last_doc = stored.last().map(|s| s.doc_id.clone());
            let result = match last_doc {
                _ if size == 0 => v
                    .add_document(&other_doc(&title), &[])
                    .map(|d| (d.id, None)),
                Some(doc) if seed.is_multiple_of(2) => v
                    .add_attachment(&doc, &attachment(seed, len))
                    .map(|a| (doc, Some(a.id))),
                _ => v
                    .add_document(&other_doc(&title), &[attachment(seed, len)])
                    .map(|d| {
                        let a = d.attachments[0].id.clone();
                        (d.id, Some(a))
                    }),
            };
            match result {
                Ok((doc_id, att_id)) => stored.push(Stored {
                    doc_id,
                    att_id,
                    seed,
                    len,
                }),
                Err(e) => {
                    println!(
                        "{size}-byte writes: full after {} writes: {e}",
                        stored.len()
                    );
                    assert_eq!(e, VaultError::DiskFull, "size {size}: {e}");
                    assert_eq!(e.kind(), "disk_full");
                    check_no_stray_files(v, path, &format!("after failing at {size}"));
                    failures += 1;
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "{size}-byte writes never filled the disk");
    }
    failures
}

/// Fills a 6 MiB tmpfs through a PIN-only vault with ~1 MiB attachments,
/// then smaller ones, then documents without attachments until not even
/// a document's rows fit (so both a failed attachment-file write and a
/// failed SQLite commit are met). Every failure must be `DiskFull` and
/// leave no file; everything acknowledged must read back byte for byte,
/// before and after reopening; a backup onto the full disk must fail
/// cleanly; and with the disk full again and the vault still open,
/// deleting an attachment must succeed and make room for a new write.
#[test]
fn child_fills_the_disk() {
    let Some(mnt) = child_mount() else { return };
    let t0 = Instant::now();
    let path = mnt.join("v.sqlite3");
    let mut v = common::fast_vault(&path, None, Some(PIN));
    let mut stored: Vec<Stored> = Vec::new();
    let mut seed = 0u64;
    let mut failures = fill_through_vault(
        &mut v,
        &path,
        &mut stored,
        &mut seed,
        &[
            (1 << 20, 40),
            (250_000, 40),
            (60_000, 100),
            (9_000, 400),
            (700, 2_000),
            (0, 5_000),
        ],
    );
    let docs: BTreeSet<&str> = stored.iter().map(|s| s.doc_id.as_str()).collect();
    let listed = v.list_documents(None).unwrap().len();
    assert_eq!(listed, docs.len(), "exactly the acknowledged documents");
    check_all_readable(&v, &stored, "on the full disk");

    // A backup onto the full disk: DiskFull, no file, vault untouched.
    let log_before = v.access_log().unwrap().len();
    let backup = mnt.join("vault.cdsbackup");
    let e = v
        .export_backup(&backup, PASSPHRASE, &mut |_, _| {})
        .unwrap_err();
    assert_eq!(e, VaultError::DiskFull, "{e}");
    assert!(!backup.exists(), "no backup file");
    assert!(!mnt.join("vault.cdsbackup.tmp").exists(), "no partial file");
    assert_eq!(v.access_log().unwrap().len(), log_before, "nothing logged");
    assert_eq!(v.list_documents(None).unwrap().len(), listed);
    check_all_readable(&v, &stored, "after the failed backup");

    // Reopen on the full disk (PIN unlock) and check the whole vault.
    drop(v);
    let mut v = Vault::unlock_with_pin(&path, PIN).unwrap();
    v.integrity_check().unwrap();
    check_all_readable(&v, &stored, "after reopening");
    check_no_stray_files(&v, &path, "after reopening");

    // Closing checkpointed the WAL and gave its space back: fill that too,
    // to the last page, with the vault left open.
    failures += fill_through_vault(
        &mut v,
        &path,
        &mut stored,
        &mut seed,
        &[(9_000, 400), (700, 2_000), (0, 5_000)],
    );

    // On that full disk, deleting a big attachment works and makes room.
    let big = stored
        .iter()
        .position(|s| s.att_id.is_some() && s.len > 1 << 20)
        .unwrap();
    let gone = stored.remove(big);
    v.delete_attachment(gone.att_id.as_deref().unwrap())
        .unwrap();
    let again = v
        .add_attachment(&gone.doc_id, &attachment(9_999, 500_000))
        .unwrap();
    stored.push(Stored {
        doc_id: gone.doc_id,
        att_id: Some(again.id),
        seed: 9_999,
        len: 500_000,
    });
    check_all_readable(&v, &stored, "after making room");
    check_no_stray_files(&v, &path, "after making room");
    v.integrity_check().unwrap();
    drop(v);
    let v = Vault::unlock_with_pin(&path, PIN).unwrap();
    v.integrity_check().unwrap();
    check_all_readable(&v, &stored, "after the last reopen");
    check_no_stray_files(&v, &path, "after the last reopen");
    println!(
        "{RESULT} writes={} failures={failures} documents={} in {:.1?}",
        stored.len(),
        v.list_documents(None).unwrap().len(),
        t0.elapsed()
    );
}

/// `PRAGMA freelist_count` of the vault file: pages SQLite holds free
/// (0 right after a VACUUM).
fn freelist_count(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap()
}

/// The migrated fixture is whole: schema 4, integrity check, its three
/// attachment files (PNG, its thumbnail, PDF) and nothing else.
fn check_migrated(v: &Vault, path: &Path, when: &str) {
    assert_eq!(user_version(path), 4, "{when}");
    v.integrity_check()
        .unwrap_or_else(|e| panic!("{when}: {e}"));
    let (files, temps) = files_on_disk(path);
    assert_eq!(
        (files.len(), temps.len()),
        (3, 0),
        "{when}: {files:?} {temps:?}"
    );
}

/// Opens copies of the schema-3 fixture (attachments inline in SQLite) on
/// a 2 MiB tmpfs filled so that only `slack` bytes are free, for `slack`
/// from 0 to 480 KiB in 16 KiB steps. The open either fails with
/// `DiskFull`, leaving the vault at schema 3 with no file of the attempt
/// behind, and then opens once the space is back; or it succeeds with
/// everything intact, whether or not the VACUUM after the migration had
/// room to run (both cases must be met: a VACUUM that fails for lack of
/// space does not fail the open).
#[test]
fn child_migrates_on_a_nearly_full_disk() {
    let Some(mnt) = child_mount() else { return };
    let t0 = Instant::now();
    let keys = fixture_kek("v3.kek.hex");
    let dir = mnt.join("m");
    let (mut refused, mut opened, mut vacuumed) = (0, 0, 0);
    for step in 0..=30u64 {
        let slack = step * 16 * 1024;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = copy_fixture("v3.sqlite3", &dir);
        let filler = fill(&mnt, "filler", slack);
        let when = format!("slack {slack}");
        match Vault::open(&path, &keys) {
            Ok(v) => {
                check_migrated(&v, &path, &when);
                let free = freelist_count(&path);
                println!("{when}: opened, {free} free pages");
                opened += 1;
                vacuumed += usize::from(free == 0);
            }
            Err(e) => {
                println!("{when}: {e}");
                assert_eq!(e, VaultError::DiskFull, "{when}: {e}");
                let (files, temps) = files_on_disk(&path);
                assert!(
                    files.is_empty() && temps.is_empty(),
                    "{when}: the failed migration left {files:?} {temps:?}"
                );
                refused += 1;
                // Space back (SQLite needs some even to read: the WAL
                // index): still schema 3, then it opens, migrates and
                // vacuums.
                std::fs::remove_file(&filler).unwrap();
                assert_eq!(user_version(&path), 3, "{when}: rolled back");
                let v = Vault::open(&path, &keys).unwrap();
                check_migrated(&v, &path, &format!("{when}, space back"));
                assert_eq!(freelist_count(&path), 0, "{when}, space back");
            }
        }
        let _ = std::fs::remove_file(&filler);
    }
    assert!(refused > 0, "the disk was never too full to migrate");
    assert!(
        opened > vacuumed && vacuumed > 0,
        "expected opens both with and without room for the VACUUM: \
         {opened} opened, {vacuumed} vacuumed"
    );
    println!(
        "{RESULT} refused={refused} opened={opened} vacuumed={vacuumed} in {:.1?}",
        t0.elapsed()
    );
}
