//! Export: streaming every exportable record of one snapshot into a new
//! backup file, written under a temporary name and renamed into place, and
//! logged in the access log.

use super::*;

// ---- export --------------------------------------------------------------

/// What an export wrote, for the summary and the access log.
pub(super) struct Exported {
    counts: Counts,
    /// (id, kind, number) of every document, for the access-log entry.
    documents: Vec<(String, DocumentKind, String)>,
}

/// A writer that reports a full disk after `left` bytes (tests of the
/// failure path use it; `None` passes everything through).
pub(super) struct Limited<W> {
    inner: W,
    left: Option<u64>,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(left) = &mut self.left {
            if *left < buf.len() as u64 {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            *left -= buf.len() as u64;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(super) fn tmp_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".tmp");
    PathBuf::from(p)
}

/// `path` as an absolute path with its directory resolved (the file
/// itself need not exist).
pub(super) fn resolved(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

impl Vault {
    /// Writes the whole vault (profiles, documents with their fields,
    /// attachments with their thumbnails, applications with their history
    /// and document links, and the access log) to one encrypted backup file
    /// at `dest`, protected by `passphrase` (at least 8 characters; it is
    /// independent of the PIN and of the vault key). The format is in the
    /// crate documentation.
    ///
    /// The file is written as `dest` + `.tmp` in the same directory,
    /// flushed to disk and renamed over `dest`, so `dest` is either the
    /// complete backup or untouched; on any failure (a full disk is
    /// [`VaultError::DiskFull`]) the temporary file is removed. The export
    /// is logged in the access log (channel [`DisclosureChannel::Backup`]);
    /// if that fails the new file is removed too.
    ///
    /// `progress(done, total)` is called as records are written, in bytes
    /// of the vault's encrypted records (monotonic, ending with
    /// `done == total`). The summary counts what the file holds; `bytes`
    /// is its size. Attachments are streamed one at a time.
    pub fn export_backup(
        &mut self,
        dest: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        self.export_backup_limited(dest, passphrase, progress, None)
    }

    pub(super) fn export_backup_limited(
        &mut self,
        dest: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
        disk_left: Option<u64>,
    ) -> Result<BackupSummary, VaultError> {
        check_backup_passphrase(passphrase)?;
        let tmp = tmp_path(dest);
        self.refuse_vault_paths(dest)?;
        self.refuse_vault_paths(&tmp)?;
        let written = self.write_backup_file(&tmp, passphrase, progress, disk_left);
        let (exported, bytes) = match written {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(
                format_args!("cannot move the backup to {}", dest.display()),
                e,
            ));
        }
        sync_parent_dir(dest);
        if let Err(e) = self.log_backup(dest, &exported) {
            // Nothing leaves the vault unlogged.
            let _ = std::fs::remove_file(dest);
            return Err(e);
        }
        let c = exported.counts;
        Ok(BackupSummary {
            profiles: c.profiles,
            documents: c.documents,
            attachments: c.attachments,
            applications: c.applications,
            disclosures: c.disclosures,
            skipped_documents: 0,
            bytes,
        })
    }

    /// Refuses to write a backup over the vault's own files.
    fn refuse_vault_paths(&self, p: &Path) -> Result<(), VaultError> {
        let (Some(p), Some(vault)) = (resolved(p), resolved(&self.path)) else {
            return Ok(());
        };
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut v = vault.as_os_str().to_owned();
            v.push(suffix);
            if p.as_os_str() == v {
                return Err(VaultError::invalid(
                    "path",
                    "the backup cannot be written over the vault itself",
                ));
            }
        }
        Ok(())
    }

    fn write_backup_file(
        &self,
        tmp: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
        disk_left: Option<u64>,
    ) -> Result<(Exported, u64), VaultError> {
        let salt = random_salt(&self.rng)?;
        let iterations = self.kdf.iterations();
        let key = BackupKey::derive(passphrase, &salt, iterations)?;
        let header = Header::new(iterations, salt, &key.check_value())?;
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts
            .open(tmp)
            .map_err(|e| io(format_args!("cannot create {}", tmp.display()), e))?;
        let mut out = BufWriter::with_capacity(
            CHUNK_SIZE + TAG_LEN,
            Limited {
                inner: file,
                left: disk_left,
            },
        );
        out.write_all(&header.bytes)
            .map_err(|e| io("cannot write the backup file", e))?;
        let mut w = ChunkWriter::new(out, &key, header.hash);
        let exported = self.write_records(&mut w, progress)?;
        let (out, body_len) = w.finish()?;
        let limited = out
            .into_inner()
            .map_err(|e| io("cannot write the backup file", e.into_error()))?;
        limited
            .inner
            .sync_all()
            .map_err(|e| io("cannot flush the backup file to disk", e))?;
        Ok((exported, HEADER_LEN as u64 + body_len))
    }

    /// Streams every record, reading from one snapshot of the vault.
    fn write_records<W: Write>(
        &self,
        w: &mut ChunkWriter<'_, W>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Exported, VaultError> {
        // A read transaction: one consistent snapshot, never committed.
        let tx = self.conn.unchecked_transaction().map_err(db)?;
        let conn: &Connection = &tx;
        let mut total: u64 = 0;
        // Device-bound tables are not exported, so not counted; attachment
        // bytes are counted by their files' sizes below.
        for c in SEALED.iter().filter(|c| {
            !DEVICE_BOUND.contains(&c.table)
                && !(c.table == T_ATTACHMENTS && (c.col == "data" || c.col == "thumb"))
        }) {
            let sql = format!(
                "SELECT coalesce(sum(length({col})), 0) FROM {t}",
                col = c.col,
                t = c.table
            );
            let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).map_err(db)?;
            total = total.saturating_add(u64::try_from(n).unwrap_or(0));
        }
        for name in crate::files::referenced_names(conn)? {
            total = total.saturating_add(self.files.len_of(&name));
        }
        let mut done: u64 = 0;
        let mut step = |n: usize, progress: &mut dyn FnMut(u64, u64)| {
            done = done.saturating_add(n as u64).min(total);
            progress(done, total);
        };
        progress(0, total);
        let mut counts = Counts::default();
        let mut documents = Vec::new();

        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM profiles ORDER BY (id = 'self') DESC, created_at, rowid",
                profile_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (id, b, sealed_len) = profile_rows::open_row(&self.key, r)?;
            w.json_frame(
                R_PROFILE,
                &BProfile {
                    created_at: b.created_at,
                    full_name: b.full_name,
                    relation: b.relation,
                    date_of_birth: b.date_of_birth,
                    id,
                },
            )?;
            counts.profiles += 1;
            step(sealed_len, progress);
        }
        drop(rows);
        drop(stmt);

        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM documents ORDER BY created_at, rowid",
                doc_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut att_stmt = conn
            .prepare(
                "SELECT id, created_at, meta, data, data_file, thumb, thumb_file \
                 FROM attachments WHERE document_id = ?1 ORDER BY rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (id, b) = doc_rows::open_row(&self.key, r)?;
            let place = Place::new(T_DOCUMENTS, &id, DOC_BODY);
            let place_sealed = blob(r, 4, &place)?.len();
            let mut listed: Vec<&str> = b.attachments.iter().map(String::as_str).collect();
            documents.push((
                id.clone(),
                b.kind,
                b.fields.get("number").cloned().unwrap_or_default(),
            ));
            w.json_frame(
                R_DOCUMENT,
                &BDocument {
                    id: id.clone(),
                    profile_id: b.profile_id.clone(),
                    updated_at: b.updated_at.clone(),
                    created_at: b.created_at.clone(),
                    kind: b.kind,
                    fields: b.fields.clone(),
                    custom_fields: b.custom_fields.clone(),
                },
            )?;
            counts.documents += 1;
            step(place_sealed, progress);
            // One attachment in memory at a time.
            let mut atts = att_stmt.query([&id]).map_err(db)?;
            while let Some(a) = atts.next().map_err(db)? {
                // Only the rows the document's sealed body lists, each once.
                let row_id = text(a, 0)?;
                let before = listed.len();
                listed.retain(|l| *l != row_id);
                if listed.len() == before {
                    return Err(att_rows::place(&row_id, &id, "meta").tampered());
                }
                let (att_id, info, meta_len) = att_rows::open_meta(&self.key, a, &id)?;
                let at = |col| att_rows::place(&att_id, &id, col);
                // The bytes come from the attachment files, authenticated.
                let data =
                    read_attachment_file(&self.key, &self.files, a, 3, &att_id, &id, "data")?
                        .ok_or_else(|| at(DATA_REF).tampered())?;
                let thumb =
                    read_attachment_file(&self.key, &self.files, a, 5, &att_id, &id, "thumb")?;
                let json = to_json(&BAttachment {
                    id: att_id.clone(),
                    document_id: id.clone(),
                    created_at: text(a, 1)?,
                    file_name: info.file_name,
                    mime: info.mime,
                    size: data.len() as u64,
                    thumb_size: thumb.as_ref().map(|t| t.len() as u64),
                })?;
                let json_len = u32::try_from(json.len())
                    .map_err(|_| VaultError::storage("an attachment record is too large"))?;
                w.frame(
                    R_ATTACHMENT,
                    &[
                        &json_len.to_be_bytes(),
                        &json,
                        &data,
                        thumb.as_deref().map(|t| &t[..]).unwrap_or(&[]),
                    ],
                )?;
                counts.attachments += 1;
                step(
                    meta_len
                        + sealed_len(data.len())
                        + thumb.as_ref().map_or(0, |t| sealed_len(t.len())),
                    progress,
                );
            }
            drop(atts);
            if !listed.is_empty() {
                // Listed but not there.
                return Err(place.tampered());
            }
        }
        drop(rows);
        drop(stmt);
        drop(att_stmt);

        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM applications ORDER BY created_at, rowid",
                app_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let app = app_rows::open_row(&self.key, r)?;
            let k = app.idempotency_key;
            let mut n = app.sealed_len;
            let (last_error, last_error_kind) = match app.failure {
                Some(f) => (Some(f.message), f.kind),
                None => (None, None),
            };
            let mut history = Vec::new();
            for (id, change, sealed_len) in history::of_application(conn, &self.key, &k)? {
                n += sealed_len;
                history.push(BHistory { change, id });
            }
            let document_ids = links::documents_of(conn, &self.lookup, &k)?;
            w.json_frame(
                R_APPLICATION,
                &BApplication {
                    created_at: app.created_at,
                    state: app.state,
                    idempotency_key: k,
                    payload: app.payload,
                    receipt: app.receipt,
                    last_error,
                    last_error_kind,
                    document_ids,
                    history,
                },
            )?;
            counts.applications += 1;
            step(n, progress);
        }
        drop(rows);
        drop(stmt);

        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM disclosures ORDER BY at, rowid",
                disclosures::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (id, sealed_body, sealed_len) = disclosures::open_row(&self.key, r)?;
            w.json_frame(
                R_DISCLOSURE,
                &BDisclosure {
                    at: sealed_body.at,
                    id,
                    body: sealed_body.body,
                },
            )?;
            counts.disclosures += 1;
            step(sealed_len, progress);
        }
        drop(rows);
        drop(stmt);

        w.json_frame(R_END, &counts)?;
        drop(tx);
        progress(total, total);
        Ok(Exported { counts, documents })
    }

    /// The access-log entry of an export.
    fn log_backup(&mut self, dest: &Path, e: &Exported) -> Result<(), VaultError> {
        let name: String = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let mut parts: Vec<String> = e
            .documents
            .iter()
            .take(MAX_SUMMARY_ITEMS)
            .map(|(_, kind, number)| mask(*kind, number))
            .collect();
        if e.documents.len() > MAX_SUMMARY_ITEMS {
            parts.push(format!("+{} more", e.documents.len() - MAX_SUMMARY_ITEMS));
        }
        let c = e.counts;
        let summary = format!(
            "{} profiles, {} documents, {} attachments, {} applications{}{}",
            c.profiles,
            c.documents,
            c.attachments,
            c.applications,
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        );
        disclosures::add(
            &self.conn,
            &self.key,
            &self.rng,
            &now_rfc3339()?,
            DisclosureBody {
                channel: DisclosureChannel::Backup,
                recipient: format!("tệp sao lưu (backup file) {name}"),
                purpose: "encrypted backup of the whole vault".into(),
                legal_basis: "the citizen's own request".into(),
                document_ids: e.documents.iter().map(|(id, _, _)| id.clone()).collect(),
                summary,
            },
        )
        .map(drop)
    }
}

/// A backup passphrase protects a file anyone may copy: at least 8
/// characters, not blank, not one character repeated.
pub(super) fn check_backup_passphrase(p: &str) -> Result<(), VaultError> {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() < 8 {
        return Err(VaultError::WeakPin(
            "a backup passphrase needs at least 8 characters".into(),
        ));
    }
    if p.trim().is_empty() || chars.iter().all(|c| *c == chars[0]) {
        return Err(VaultError::WeakPin(
            "the backup passphrase is too easy to guess".into(),
        ));
    }
    if chars.iter().any(|c| c.is_control()) {
        return Err(VaultError::WeakPin(
            "the backup passphrase contains control characters".into(),
        ));
    }
    Ok(())
}

/// On-disk size of an attachment file of `n` plaintext bytes (progress).
pub(super) fn sealed_len(n: usize) -> usize {
    usize::try_from(crate::files::sealed_file_len(n as u64)).unwrap_or(usize::MAX)
}
