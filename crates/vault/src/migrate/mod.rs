//! The migrations that need the vault key (the SQL ladder itself is
//! [`crate::schema`]): v1 → v2 ([`v2`]) and the move of attachments to
//! files in v4 ([`v4_files`]), and giving the space v4 frees back.

use ring::rand::SystemRandom;
use rusqlite::Connection;

use crate::crypto::VaultKey;
use crate::error::db;
use crate::files::{FileStore, Pending};
use crate::{schema, VaultError};

mod v2;
mod v4_files;

/// The parts of migrations that need the vault key. Files written are
/// added to `written`, to be removed if the migration does not commit.
pub(crate) fn migrate_data(
    conn: &Connection,
    to: i64,
    key: &VaultKey,
    rng: &SystemRandom,
    files: &FileStore,
    written: &mut Pending<'_>,
) -> Result<(), VaultError> {
    match to {
        2 => v2::migrate_to_v2(conn, key, rng),
        schema::ATTACHMENT_FILES => v4_files::attachments_to_files(conn, key, rng, files, written),
        _ => Ok(()),
    }
}

/// Gives the space freed by migration 4 back to the file system. Moving
/// the attachment bytes out of the database leaves their pages on SQLite's
/// free list, so without this the `.db` file stays as large as it was
/// with the attachments inside (while the same bytes now also sit in
/// `<vault>.files/`).
///
/// The vault runs in WAL mode, where `VACUUM` writes the rebuilt database
/// into the WAL and the database file only shrinks when a checkpoint
/// copies it back, so: checkpoint first (the migration's own frames; this
/// also empties the WAL, leaving VACUUM the most room on a nearly full
/// disk), `VACUUM`, then checkpoint again with `TRUNCATE`, which truncates
/// the database file to its new size and the WAL to zero bytes. The last
/// checkpoint runs even if VACUUM failed, so the frames a failed VACUUM
/// wrote do not keep holding disk space in the WAL. `VACUUM` keeps the
/// rowids of these tables (each has a primary-key index), so the
/// `ORDER BY rowid` orders are unchanged.
///
/// Must run outside any transaction. Returns the first failure, for
/// tests; the open ignores it (see the caller).
pub(crate) fn reclaim_space(conn: &Connection) -> Result<(), VaultError> {
    let first = schema::checkpoint_truncate(conn);
    let vacuum = conn.execute_batch("VACUUM").map_err(db);
    let last = schema::checkpoint_truncate(conn);
    first.and(vacuum).and(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KdfParams, Vault, SELF_PROFILE_ID};

    /// `(rowid, every column as text)` of every row of every table.
    fn all_rows(conn: &Connection) -> Vec<(String, i64, String)> {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut out = Vec::new();
        for t in tables {
            let mut stmt = conn
                .prepare(&format!("SELECT rowid, * FROM {t} ORDER BY rowid"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cols: Vec<String> = (1..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok((t.clone(), r.get(0)?, cols.join("|")))
                })
                .unwrap()
                .map(Result::unwrap);
            out.extend(rows);
        }
        out
    }

    #[test]
    fn reclaiming_space_keeps_every_row_and_rowid_and_failing_is_harmless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite3");
        let keys = crate::MemoryKeyStore::new();
        let mut v = Vault::create_with_kdf(
            &path,
            Some(&keys),
            None,
            KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..6 {
            let doc = crate::DocumentInput {
                profile_id: SELF_PROFILE_ID.into(),
                kind: cds_api::DocumentKind::Other,
                fields: [("title".to_owned(), format!("doc {i}"))].into(),
                custom_fields: vec![],
            };
            let mut bytes = b"%PDF-1.7\n".to_vec();
            bytes.resize(50_000, i as u8);
            let att = crate::NewAttachment {
                file_name: "a.pdf".into(),
                mime: "application/pdf".into(),
                bytes,
            };
            ids.push(v.add_document(&doc, &[att.clone(), att]).unwrap().id);
        }
        // Holes in the rowids, and free pages.
        v.delete_document(&ids[1]).unwrap();
        v.delete_document(&ids[4]).unwrap();
        let big = vec![7u8; 200_000];
        v.set_device_value("x/big", &big).unwrap();
        v.set_device_value("x/big", b"small").unwrap();
        let before = all_rows(&v.conn);
        let free = |c: &Connection| -> i64 {
            c.query_row("PRAGMA freelist_count", [], |r| r.get(0))
                .unwrap()
        };
        assert!(free(&v.conn) > 0);

        // Inside a transaction VACUUM cannot run: an error, nothing lost.
        v.conn.execute_batch("BEGIN").unwrap();
        assert!(reclaim_space(&v.conn).is_err());
        v.conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(all_rows(&v.conn), before);

        reclaim_space(&v.conn).unwrap();
        assert_eq!(free(&v.conn), 0);
        assert_eq!(all_rows(&v.conn), before, "same rows, same rowids");
        let wal = std::fs::metadata(dir.path().join("v.sqlite3-wal")).unwrap();
        assert_eq!(wal.len(), 0, "WAL truncated");
        v.integrity_check().unwrap();
        let listed: Vec<String> = v
            .list_documents(None)
            .unwrap()
            .into_iter()
            .map(|d| d.id.clone())
            .collect();
        let newest_first: Vec<String> = [5, 3, 2, 0].map(|i| ids[i].clone()).into();
        assert_eq!(listed, newest_first);
    }
}
