//! Migration 4: attachments move out of SQLite into sealed files.

use ring::rand::SystemRandom;
use rusqlite::{params, Connection};

use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::{text, VaultError, T_ATTACHMENTS};

/// Migration 4: every attachment's inline `data` and `thumb` (sealed with
/// the place labels `data` / `thumb`) become files, and the cells sealed
/// references to them. Files are written (and fsynced, with their
/// directory) before the migration's transaction commits; a crash before
/// the commit leaves the rows inline and the files unreferenced, so the
/// next open migrates again and its sweep removes the old files. One
/// attachment in memory at a time.
pub(super) fn attachments_to_files(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    files: &FileStore,
    written: &mut Pending<'_>,
) -> Result<(), VaultError> {
    let mut ids: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, document_id FROM attachments ORDER BY rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            ids.push((text(r, 0)?, text(r, 1)?));
        }
    }
    for (id, doc) in ids {
        for (col, label) in [("data", DATA_REF), ("thumb", THUMB_REF)] {
            let inline: Option<Vec<u8>> = conn
                .query_row(
                    &format!("SELECT {col} FROM attachments WHERE id = ?1"),
                    [&id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let Some(inline) = inline else { continue };
            let plain = key.open_owned(
                &Place::new(T_ATTACHMENTS, &id, col).with_parent(&doc),
                inline,
            )?;
            let w = files.write(
                key,
                rng,
                &Place::new(T_ATTACHMENTS, &id, label).with_parent(&doc),
                &plain,
            )?;
            written.push(&w.name);
            conn.execute(
                &format!("UPDATE attachments SET {col} = ?2, {col}_file = ?3 WHERE id = ?1"),
                params![id, w.sealed_ref, w.name],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}
