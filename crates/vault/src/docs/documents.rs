//! Documents: adding, editing, deleting, reading and finding them.

use super::*;

impl Vault {
    /// Validates and stores a document with its attachments, in one
    /// transaction; nothing is written if any check fails. Fields are
    /// checked against `kind.fields()` (see `validate.rs`: CCCD number
    /// rules, real dates, expiry after issue, passport format…); each
    /// attachment must be a JPEG/PNG/WebP/GIF/PDF by content
    /// ([`VaultError::UnsupportedFile`]) of at most 20 MiB
    /// ([`VaultError::TooLarge`]). A number already stored for the same
    /// kind is [`VaultError::Duplicate`].
    pub fn add_document(
        &mut self,
        doc: &DocumentInput,
        attachments: &[NewAttachment],
    ) -> Result<Document, VaultError> {
        let valid = validate_document(doc, latest_date_on_earth())?;
        self.profile(&doc.profile_id)?;
        let prepared = attachments
            .iter()
            .map(prepare)
            .collect::<Result<Vec<_>, _>>()?;
        self.check_unique(valid.kind, valid.fields.get("number"), None)?;
        let id = new_id();
        let now = now_rfc3339()?;
        let att_ids: Vec<String> = prepared.iter().map(|_| new_id()).collect();
        let body = DocBody {
            kind: valid.kind,
            fields: valid.fields,
            custom_fields: valid.custom_fields,
            profile_id: doc.profile_id.clone(),
            created_at: now.clone(),
            updated_at: now.clone(),
            attachments: att_ids.clone(),
        };
        let fresh = self.cache_is_fresh();
        // The write lock is taken before the attachment files are written
        // and held until the rows that reference them commit (the open-time
        // sweep takes it too, so it never sees a file whose row is about to
        // commit as an orphan).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut pending = Pending::new(&self.files);
        let rowid = doc_rows::insert(&tx, &self.key, &self.rng, &self.lookup, &id, &body)?;
        for (p, att_id) in prepared.iter().zip(&att_ids) {
            let files = (&self.files, &mut pending);
            insert_attachment(&tx, &self.key, &self.rng, files, &id, att_id, p, &now)?;
        }
        tx.commit().map_err(db)?;
        pending.committed();
        let stored = self.get_document(&id);
        self.cache_apply(fresh, |docs| {
            let d = stored.as_ref().map_err(Clone::clone)?;
            let entry = CachedDoc {
                created_at: d.created_at.clone(),
                rowid,
                summary: Arc::new(summary_of(d)?),
                folded: search_text(d.kind, &d.fields, &d.custom_fields),
            };
            let at = docs.partition_point(|e| CachedDoc::order(e, &entry).is_lt());
            docs.insert(at, entry);
            Ok(())
        });
        stored
    }

    pub(super) fn check_unique(
        &self,
        kind: DocumentKind,
        number: Option<&String>,
        except: Option<&str>,
    ) -> Result<(), VaultError> {
        let Some(number) = number else { return Ok(()) };
        let other = doc_rows::by_number(&self.conn, &self.key, &self.lookup, kind, number)?;
        match other {
            Some((o, _)) if Some(o.as_str()) != except => Err(VaultError::Duplicate {
                what: "a document of this kind with this number",
            }),
            _ => Ok(()),
        }
    }

    /// Replaces a document's fields (and profile), keeping its attachments.
    pub fn update_document(
        &mut self,
        id: &str,
        doc: &DocumentInput,
    ) -> Result<Document, VaultError> {
        let valid = validate_document(doc, latest_date_on_earth())?;
        let old = self.get_document(id)?;
        self.profile(&doc.profile_id)?;
        self.check_unique(valid.kind, valid.fields.get("number"), Some(id))?;
        let now = now_rfc3339()?;
        let body = DocBody {
            kind: valid.kind,
            fields: valid.fields,
            custom_fields: valid.custom_fields,
            profile_id: doc.profile_id.clone(),
            created_at: old.created_at,
            updated_at: now,
            attachments: old.attachments.into_iter().map(|a| a.id).collect(),
        };
        let fresh = self.cache_is_fresh();
        let hash = doc_rows::own_hash(&self.lookup, &body);
        doc_rows::replace(&self.conn, &self.key, &self.rng, id, &body, hash)?;
        let stored = self.get_document(id);
        self.cache_replace(fresh, id, stored.as_ref());
        stored
    }

    /// Deletes a document and its attachments. Works on a full disk (see
    /// "Full disk" in the crate docs).
    pub fn delete_document(&mut self, id: &str) -> Result<(), VaultError> {
        self.retry_when_disk_full(|v| v.delete_document_once(id))
    }

    pub(super) fn delete_document_once(&mut self, id: &str) -> Result<(), VaultError> {
        let fresh = self.cache_is_fresh();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let names = file_names(&tx, "document_id", id)?;
        let n = tx
            .execute("DELETE FROM documents WHERE id = ?1", [id])
            .map_err(db)?;
        if n == 0 {
            return Err(not_found("document", id));
        }
        tx.commit().map_err(db)?;
        // Only once the rows are gone for good: a crash before this leaves
        // orphans for the next open's sweep, never a row without its file.
        self.files.remove(&names);
        self.cache_apply(fresh, |docs| {
            let before = docs.len();
            docs.retain(|e| e.summary.id != id);
            if docs.len() + 1 == before {
                Ok(())
            } else {
                Err(not_found("document", id))
            }
        });
        Ok(())
    }

    /// Every document's summary read and checked from the file, bypassing
    /// the cache (for [`Vault::integrity_check`]).
    pub(crate) fn list_documents_uncached(&self) -> Result<Vec<DocumentSummary>, VaultError> {
        Ok(self
            .all_documents(None)?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// Summaries with their decrypted, checked bodies: one query, one
    /// small body opened per document (the attachment count comes from the
    /// sealed list, not from counting rows). Every document is opened even
    /// for one profile, and filtered by the *sealed* profile: a document
    /// moved away in the plaintext column is caught (Tampered) instead of
    /// silently missing from its owner's list.
    pub(super) fn all_documents(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<(DocumentSummary, DocBody)>, VaultError> {
        Ok(self
            .all_documents_ordered(profile_id)?
            .into_iter()
            .map(|(_, _, s, b)| (s, b))
            .collect())
    }

    /// [`Vault::all_documents`] with each document's `created_at` and rowid.
    /// Read in rowid order and sorted here: an `ORDER BY created_at` has no
    /// index and would make SQLite sort whole rows, bodies included.
    #[allow(clippy::type_complexity)]
    pub(super) fn all_documents_ordered(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<(String, i64, DocumentSummary, DocBody)>, VaultError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {}, rowid FROM documents ORDER BY rowid DESC",
                doc_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let (id, body) = doc_rows::open_row(&self.key, r)?;
            if profile_id.is_some_and(|p| p != body.profile_id) {
                continue;
            }
            let rowid: i64 = r.get(5).map_err(db)?;
            // Only documents with attachments cost a second query: the
            // card's picture and PDF mark come from the attachments'
            // sealed metadata, checked against the body's list.
            let atts = if body.attachments.is_empty() {
                Vec::new()
            } else {
                self.attachments_of(&id, &body)?
            };
            out.push((
                body.created_at.clone(),
                rowid,
                summary(id, &body, &atts)?,
                body,
            ));
        }
        // Stable and already by rowid DESC: ties keep that order.
        out.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(out)
    }

    /// The metadata of document `id`'s attachments, in the order its sealed
    /// body lists them. The attachment rows must be exactly those listed: a
    /// missing, extra, moved or copied row is [`VaultError::Tampered`].
    pub(super) fn attachments_of(
        &self,
        id: &str,
        body: &DocBody,
    ) -> Result<Vec<AttachmentMeta>, VaultError> {
        let mut found: HashMap<String, AttachmentMeta> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT id, created_at, meta, thumb IS NOT NULL FROM attachments \
                     WHERE document_id = ?1",
                    // `id, created_at, meta` first: att_rows::open_meta.
                )
                .map_err(db)?;
            let mut rows = stmt.query([id]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                // Only the rows the sealed body lists (checked before the
                // row is opened, as the export does).
                let att_id = text(r, 0)?;
                if !body.attachments.contains(&att_id) {
                    return Err(att_rows::place(&att_id, id, "meta").tampered());
                }
                let (att_id, info, _) = att_rows::open_meta(&self.key, r, id)?;
                found.insert(
                    att_id.clone(),
                    AttachmentMeta {
                        file_name: info.file_name,
                        mime: info.mime,
                        size: info.size,
                        has_thumbnail: r.get(3).map_err(db)?,
                        created_at: info.created_at,
                        id: att_id,
                    },
                );
            }
        }
        let mut attachments = Vec::with_capacity(body.attachments.len());
        for att_id in &body.attachments {
            // Listed but not there: taken away or moved to another document.
            let a = found
                .remove(att_id)
                .ok_or_else(|| Place::new(T_DOCUMENTS, id, DOC_BODY).tampered())?;
            attachments.push(a);
        }
        Ok(attachments)
    }

    /// One document with its attachments' metadata. The attachment rows
    /// must be exactly those its sealed body lists: a missing, extra, moved
    /// or copied row is [`VaultError::Tampered`].
    pub fn get_document(&self, id: &str) -> Result<Document, VaultError> {
        let body = doc_rows::read_body(&self.conn, &self.key, id)?;
        let attachments = self.attachments_of(id, &body)?;
        Ok(Document {
            id: id.to_owned(),
            profile_id: body.profile_id,
            kind: body.kind,
            fields: body.fields,
            custom_fields: body.custom_fields,
            attachments,
            created_at: body.created_at,
            updated_at: body.updated_at,
        })
    }

    /// The document of `kind` with `number` (spaces and case ignored),
    /// found through the keyed hash: the number is never stored or
    /// compared in plaintext.
    pub fn find_by_number(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> Result<Option<Document>, VaultError> {
        doc_rows::by_number(&self.conn, &self.key, &self.lookup, kind, number)?
            .map(|(id, _)| self.get_document(&id))
            .transpose()
    }

    /// Documents expiring within `within_days` of `today`, or already
    /// expired, soonest (most expired) first.
    pub fn expiry_reminders(
        &self,
        today: time::Date,
        within_days: i64,
    ) -> Result<Vec<ExpiryReminder>, VaultError> {
        let mut out = Vec::new();
        for s in self.list_documents(None)? {
            let Some(exp) = &s.expiry_date else { continue };
            let Ok(date) = crate::validate::parse_date("expiry_date", "expiry", exp) else {
                continue;
            };
            let days_left = (date - today).whole_days();
            if days_left <= within_days {
                out.push(ExpiryReminder {
                    document_id: s.id.clone(),
                    profile_id: s.profile_id.clone(),
                    kind: s.kind,
                    title: s.title.clone(),
                    expiry_date: exp.clone(),
                    days_left,
                });
            }
        }
        out.sort_by_key(|r| r.days_left);
        Ok(out)
    }
}
