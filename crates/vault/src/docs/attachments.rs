//! Attachments: the photos and scans of a document, kept as sealed files
//! (see `files.rs`), with their thumbnails.

use super::*;

/// A validated attachment with its thumbnail, ready to seal.
pub(super) struct Prepared<'a> {
    pub(super) valid: ValidAttachment<'a>,
    pub(super) thumb: Option<Vec<u8>>,
}

pub(super) fn prepare(a: &NewAttachment) -> Result<Prepared<'_>, VaultError> {
    let valid = validate_attachment(a)?;
    let thumb = thumb::make_thumbnail(valid.bytes, valid.mime)?;
    Ok(Prepared { valid, thumb })
}

/// Inserts one attachment row (the caller adds `att_id` to the document's
/// sealed list in the same transaction).
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_attachment(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    (files, pending): (&FileStore, &mut Pending<'_>),
    doc_id: &str,
    att_id: &str,
    p: &Prepared<'_>,
    now: &str,
) -> Result<AttachmentMeta, VaultError> {
    let att_id = att_id.to_owned();
    let info = AttachmentInfo {
        file_name: p.valid.file_name.clone(),
        mime: p.valid.mime.to_owned(),
        size: p.valid.bytes.len() as u64,
        created_at: now.to_owned(),
    };
    let meta = crate::seal_json(
        key,
        rng,
        &Place::new(T_ATTACHMENTS, &att_id, "meta").with_parent(doc_id),
        &info,
    )?;
    let data = files.write(
        key,
        rng,
        &Place::new(T_ATTACHMENTS, &att_id, DATA_REF).with_parent(doc_id),
        p.valid.bytes,
    )?;
    pending.push(&data.name);
    let thumb = match &p.thumb {
        Some(t) => {
            let w = files.write(
                key,
                rng,
                &Place::new(T_ATTACHMENTS, &att_id, THUMB_REF).with_parent(doc_id),
                t,
            )?;
            pending.push(&w.name);
            Some(w)
        }
        None => None,
    };
    conn.execute(
        "INSERT INTO attachments \
         (id, document_id, created_at, meta, data, data_file, thumb, thumb_file) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            att_id,
            doc_id,
            now,
            meta,
            data.sealed_ref,
            data.name,
            thumb.as_ref().map(|t| &t.sealed_ref),
            thumb.as_ref().map(|t| &t.name)
        ],
    )
    .map_err(db)?;
    Ok(AttachmentMeta {
        id: att_id,
        file_name: info.file_name,
        mime: info.mime,
        size: info.size,
        has_thumbnail: p.thumb.is_some(),
        created_at: now.to_owned(),
    })
}

/// The attachment files of the rows where `col` = `value` (read before the
/// rows are deleted, removed after the delete commits).
pub(super) fn file_names(
    conn: &Connection,
    col: &str,
    value: &str,
) -> Result<Vec<String>, VaultError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT data_file, thumb_file FROM attachments WHERE {col} = ?1"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([value]).map_err(db)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        for i in 0..2 {
            if let ValueRef::Text(t) = r.get_ref(i).map_err(db)? {
                if let Ok(n) = std::str::from_utf8(t) {
                    out.push(n.to_owned());
                }
            }
        }
    }
    Ok(out)
}

/// Reads the file of an attachment column from a row holding, at `idx`,
/// the sealed reference (`data` or `thumb`) and at `idx + 1` its file-name
/// column. A NULL reference is "no such file" (a thumbnail-less
/// attachment); anything else that is not a blob is Tampered.
pub(crate) fn read_attachment_file(
    key: &VaultKey,
    files: &FileStore,
    row: &Row<'_>,
    idx: usize,
    att_id: &str,
    doc_id: &str,
    col: &'static str,
) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    let label = if col == "thumb" { THUMB_REF } else { DATA_REF };
    let place = Place::new(T_ATTACHMENTS, att_id, label).with_parent(doc_id);
    let name = col_text(row, idx + 1)?;
    match row.get_ref(idx).map_err(db)? {
        ValueRef::Null if name.is_none() => Ok(None),
        ValueRef::Blob(b) => files.read(key, &place, name.as_deref(), b).map(Some),
        _ => Err(place.tampered()),
    }
}

impl Vault {
    /// Adds one attachment to a stored document.
    pub fn add_attachment(
        &mut self,
        document_id: &str,
        a: &NewAttachment,
    ) -> Result<AttachmentMeta, VaultError> {
        self.get_document(document_id)?;
        let p = prepare(a)?;
        let now = now_rfc3339()?;
        let fresh = self.cache_is_fresh();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let att_id = new_id();
        let mut pending = Pending::new(&self.files);
        let files = (&self.files, &mut pending);
        let meta = insert_attachment(
            &tx,
            &self.key,
            &self.rng,
            files,
            document_id,
            &att_id,
            &p,
            &now,
        )?;
        doc_rows::rewrite_body(&tx, &self.key, &self.rng, document_id, |b| {
            b.attachments.push(att_id.clone());
            b.updated_at = now.clone();
            Ok(())
        })?;
        tx.commit().map_err(db)?;
        pending.committed();
        let stored = self.get_document(document_id);
        self.cache_replace(fresh, document_id, stored.as_ref());
        Ok(meta)
    }

    /// Deletes one attachment. Works on a full disk (see "Full disk" in the
    /// crate docs).
    pub fn delete_attachment(&mut self, attachment_id: &str) -> Result<(), VaultError> {
        self.retry_when_disk_full(|v| v.delete_attachment_once(attachment_id))
    }

    /// Runs `delete` and, if it failed because the disk is full, empties
    /// the WAL and runs it once more.
    ///
    /// Deleting is how the citizen makes room on a full disk, but even a
    /// delete needs a little space: its commit appends a few pages to the
    /// WAL, which only starts over after a checkpoint (SQLite's automatic
    /// one runs every ~1000 pages), so on a full disk it cannot grow and
    /// the delete fails with [`VaultError::DiskFull`] (seen on a real full
    /// tmpfs, `tests/full_disk.rs`). A `TRUNCATE` checkpoint copies the
    /// WAL into the database and cuts the WAL file to zero bytes, giving
    /// its space back. The failed attempt rolled back completely (files
    /// are removed only after a commit), so running it again is safe. If
    /// the checkpoint cannot complete either, the second attempt reports
    /// the same error.
    pub(super) fn retry_when_disk_full(
        &mut self,
        delete: impl Fn(&mut Self) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        match delete(self) {
            Err(VaultError::DiskFull) => {
                // Its own failure is the retry's: nothing to report here.
                let _ = crate::schema::checkpoint_truncate(&self.conn);
                delete(self)
            }
            other => other,
        }
    }

    pub(super) fn delete_attachment_once(&mut self, attachment_id: &str) -> Result<(), VaultError> {
        let fresh = self.cache_is_fresh();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let doc_id: String = {
            let mut stmt = tx
                .prepare("SELECT document_id FROM attachments WHERE id = ?1")
                .map_err(db)?;
            let mut rows = stmt.query([attachment_id]).map_err(db)?;
            let r = rows
                .next()
                .map_err(db)?
                .ok_or_else(|| not_found("attachment", attachment_id))?;
            col_text(r, 0)?.ok_or_else(|| VaultError::Tampered {
                table: T_ATTACHMENTS,
                id: attachment_id.to_owned(),
            })?
        };
        doc_rows::rewrite_body(&tx, &self.key, &self.rng, &doc_id, |b| {
            let before = b.attachments.len();
            b.attachments.retain(|a| a != attachment_id);
            if b.attachments.len() == before {
                // The row names a document that does not list it: moved.
                return Err(VaultError::Tampered {
                    table: T_ATTACHMENTS,
                    id: attachment_id.to_owned(),
                });
            }
            Ok(())
        })?;
        let names = file_names(&tx, "id", attachment_id)?;
        tx.execute("DELETE FROM attachments WHERE id = ?1", [attachment_id])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        // After the commit (see `delete_document`).
        self.files.remove(&names);
        let stored = self.get_document(&doc_id);
        self.cache_replace(fresh, &doc_id, stored.as_ref());
        Ok(())
    }

    /// The decrypted bytes of one attachment.
    pub fn attachment_bytes(&self, attachment_id: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.attachment_column(attachment_id, "data")?
            .ok_or_else(|| not_found("attachment", attachment_id))
    }

    /// The attachment's JPEG thumbnail (longest side 320 px); `None` for a
    /// PDF or an image that could not be decoded.
    pub fn thumbnail(&self, attachment_id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        self.attachment_column(attachment_id, "thumb")
    }

    pub(super) fn attachment_column(
        &self,
        attachment_id: &str,
        col: &'static str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        let sql = format!("SELECT document_id, {col}, {col}_file FROM attachments WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([attachment_id]).map_err(db)?;
        let row = rows
            .next()
            .map_err(db)?
            .ok_or_else(|| not_found("attachment", attachment_id))?;
        let doc_id = text(row, 0)?;
        read_attachment_file(&self.key, &self.files, row, 1, attachment_id, &doc_id, col)
    }
}
