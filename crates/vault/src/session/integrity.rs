//! The integrity check: SQLite's own checks, then every sealed value and
//! every record, the same way the readers open them, and every attachment
//! file.

use super::open::verify_file;
use super::rotate::for_each_sealed;
use crate::crypto::Place;
use crate::error::db;
use crate::{text, Vault, VaultError, SEALED, T_ATTACHMENTS, T_DOCUMENTS};

impl Vault {
    /// Checks the whole file: SQLite's `PRAGMA integrity_check` and
    /// `foreign_key_check`, then opens every sealed value (one at a time)
    /// and decodes every record. The first failure is returned:
    /// [`VaultError::Corrupt`] for SQLite-level damage,
    /// [`VaultError::Tampered`] for a record.
    pub fn integrity_check(&self) -> Result<(), VaultError> {
        let problems: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(db)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        if problems != ["ok"] {
            let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
            return Err(VaultError::Corrupt(format!(
                "SQLite integrity check failed: {}",
                shown.join("; ")
            )));
        }
        let orphans: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        if orphans != 0 {
            return Err(VaultError::Corrupt(format!(
                "{orphans} rows point at rows that do not exist"
            )));
        }
        verify_file(&self.conn)?;
        for c in SEALED {
            for_each_sealed(&self.conn, c, &mut |id, parent, blob| {
                let mut place = Place::new(c.table, id, c.place_col);
                if let Some(p) = parent {
                    place = place.with_parent(p);
                }
                self.key.open(&place, blob).map(drop)
            })?;
        }
        self.list_profiles()?;
        // Every document: its plaintext columns and attachment rows match
        // its sealed body, and its lookup hash (if any) is its own.
        for d in self.list_documents_uncached()? {
            let doc = self.get_document(&d.id)?;
            let hash: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT number_hash FROM documents WHERE id = ?1",
                    [&d.id],
                    |r| match r.get_ref(0)? {
                        rusqlite::types::ValueRef::Null => Ok(None),
                        rusqlite::types::ValueRef::Blob(b) => Ok(Some(b.to_vec())),
                        _ => Ok(Some(Vec::new())),
                    },
                )
                .map_err(db)?;
            // NULL is allowed: a v1 vault could hold a number twice, and
            // only the first keeps the lookup.
            if let Some(h) = hash {
                let own = doc
                    .fields
                    .get("number")
                    .map(|n| self.number_hash(doc.kind, n));
                if own.as_deref() != Some(&h[..]) {
                    return Err(VaultError::Tampered {
                        table: T_DOCUMENTS,
                        id: d.id,
                    });
                }
            }
        }
        for app in self.list_applications()? {
            let k = &app.submission.idempotency_key;
            self.application_documents(k)?;
            self.application_history(k)?;
        }
        self.access_log()?;
        self.check_credentials()?;
        self.check_attachment_files()?;
        Ok(())
    }
}

impl Vault {
    /// For [`Vault::integrity_check`]: every attachment's data and
    /// thumbnail file exists with the size its reference says and
    /// authenticates in full (one file in memory at a time).
    fn check_attachment_files(&self) -> Result<(), VaultError> {
        let mut last: i64 = i64::MIN;
        loop {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT rowid, id, document_id, data, data_file, thumb, thumb_file \
                     FROM attachments WHERE rowid > ?1 ORDER BY rowid LIMIT 1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([last]).map_err(db)?;
            let Some(r) = rows.next().map_err(db)? else {
                return Ok(());
            };
            last = r.get(0).map_err(db)?;
            let id = text(r, 1)?;
            let doc = text(r, 2)?;
            let read = |idx, col| {
                crate::docs::read_attachment_file(&self.key, &self.files, r, idx, &id, &doc, col)
            };
            if read(3, "data")?.is_none() {
                return Err(VaultError::Tampered {
                    table: T_ATTACHMENTS,
                    id,
                });
            }
            read(5, "thumb")?;
        }
    }
}
