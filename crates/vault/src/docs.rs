//! Profiles and documents.

use cds_api::DocumentKind;
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row, TransactionBehavior};
use std::collections::HashMap;
use std::sync::Arc;

use crate::crypto::{LookupKey, Place, VaultKey};
use crate::error::db;
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::keys::{AttachmentInfo, DocBody, ProfileBody};
use crate::validate::{
    lookup_form, validate_attachment, validate_document, validate_profile, ValidAttachment,
};
use crate::{
    latest_date_on_earth, new_id, now_rfc3339, number_hash, open_json, seal_json, text, thumb,
    AttachmentMeta, Document, DocumentInput, DocumentSummary, ExpiryReminder, NewAttachment,
    NewProfile, Profile, Relation, Vault, VaultError, Zeroizing, DOC_BODY, SELF_PROFILE_ID,
    T_ATTACHMENTS, T_DOCUMENTS, T_PROFILES,
};

/// The columns [`open_doc_row`] expects, in order.
pub(crate) const DOC_COLUMNS: &str = "id, profile_id, created_at, updated_at, body";

/// A plaintext column as text, `None` for NULL or any other type.
fn col_text(row: &Row<'_>, idx: usize) -> Result<Option<String>, VaultError> {
    Ok(match row.get_ref(idx).map_err(db)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_owned),
        _ => None,
    })
}

/// Opens a document row selected as [`DOC_COLUMNS`] and checks that its
/// plaintext columns (profile, timestamps) are the ones sealed in its body:
/// a document moved to another profile, or re-dated, is
/// [`VaultError::Tampered`].
pub(crate) fn open_doc_row(key: &VaultKey, r: &Row<'_>) -> Result<(String, DocBody), VaultError> {
    let id = text(r, 0)?;
    let place = Place::new(T_DOCUMENTS, &id, DOC_BODY);
    let body: DocBody = match r.get_ref(4).map_err(db)? {
        ValueRef::Blob(b) => open_json(key, &place, b)?,
        _ => return Err(place.tampered()),
    };
    let same = col_text(r, 1)?.as_deref() == Some(body.profile_id.as_str())
        && col_text(r, 2)?.as_deref() == Some(body.created_at.as_str())
        && col_text(r, 3)?.as_deref() == Some(body.updated_at.as_str());
    if !same {
        return Err(place.tampered());
    }
    Ok((id, body))
}

/// The document of `kind` with `number`, found through its keyed hash and
/// then checked: the hash column is plaintext, so the decrypted kind and
/// number must be the ones asked for ([`VaultError::Tampered`] if not).
pub(crate) fn doc_by_number(
    conn: &Connection,
    key: &VaultKey,
    lookup: &LookupKey,
    kind: DocumentKind,
    number: &str,
) -> Result<Option<(String, DocBody)>, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE number_hash = ?1"
        ))
        .map_err(db)?;
    let mut rows = stmt
        .query([number_hash(lookup, kind, number)])
        .map_err(db)?;
    let Some(r) = rows.next().map_err(db)? else {
        return Ok(None);
    };
    let (id, body) = open_doc_row(key, r)?;
    let wanted = lookup_form(number);
    let matches = body.kind == kind
        && body
            .fields
            .get("number")
            .is_some_and(|n| lookup_form(n) == wanted);
    if !matches {
        return Err(VaultError::Tampered {
            table: T_DOCUMENTS,
            id,
        });
    }
    Ok(Some((id, body)))
}

/// Re-seals document `id`'s body after `change` (which may refuse), in the
/// caller's transaction, and writes its `updated_at` column from it.
pub(crate) fn rewrite_doc_body(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    change: impl FnOnce(&mut DocBody) -> Result<(), VaultError>,
) -> Result<(), VaultError> {
    let mut body = read_doc_body(conn, key, id)?;
    change(&mut body)?;
    let sealed = seal_json(key, rng, &Place::new(T_DOCUMENTS, id, DOC_BODY), &body)?;
    conn.execute(
        "UPDATE documents SET updated_at = ?2, body = ?3 WHERE id = ?1",
        params![id, body.updated_at, sealed],
    )
    .map_err(db)?;
    Ok(())
}

/// The summary shown in lists, from a checked body.
/// Document `id`'s sealed body, opened and checked.
fn read_doc_body(conn: &Connection, key: &VaultKey, id: &str) -> Result<DocBody, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([id]).map_err(db)?;
    let r = rows
        .next()
        .map_err(db)?
        .ok_or_else(|| not_found("document", id))?;
    Ok(open_doc_row(key, r)?.1)
}

fn summary(
    id: String,
    body: &DocBody,
    attachments: &[AttachmentMeta],
) -> Result<DocumentSummary, VaultError> {
    summarize(
        id,
        &body.profile_id,
        body.kind,
        &body.fields,
        body.attachments.len(),
        attachments,
        &body.updated_at,
    )
}

/// The summary of a full document (same rules as [`summary`]).
fn summary_of(doc: &Document) -> Result<DocumentSummary, VaultError> {
    summarize(
        doc.id.clone(),
        &doc.profile_id,
        doc.kind,
        &doc.fields,
        doc.attachments.len(),
        &doc.attachments,
        &doc.updated_at,
    )
}

/// What a list card shows, from a document's parts: `listed` is how many
/// attachments its body lists, `attachments` their metadata (empty when
/// the caller did not need to read it because there are none).
fn summarize(
    id: String,
    profile_id: &str,
    kind: DocumentKind,
    fields: &std::collections::BTreeMap<String, String>,
    listed: usize,
    attachments: &[AttachmentMeta],
    updated_at: &str,
) -> Result<DocumentSummary, VaultError> {
    Ok(DocumentSummary {
        profile_id: profile_id.to_owned(),
        kind,
        title: fields
            .get("full_name")
            .or_else(|| fields.get("title"))
            .cloned()
            .unwrap_or_default(),
        number: fields.get("number").cloned().unwrap_or_default(),
        expiry_date: fields.get("expiry_date").cloned(),
        date_of_birth: fields.get("date_of_birth").cloned(),
        attachment_count: u32::try_from(listed).map_err(|_| {
            VaultError::Corrupt(format!("document {id} lists too many attachments"))
        })?,
        thumbnail_id: attachments
            .iter()
            .find(|a| a.has_thumbnail)
            .map(|a| a.id.clone()),
        has_pdf: attachments.iter().any(|a| a.mime == "application/pdf"),
        updated_at: updated_at.to_owned(),
        id,
    })
}

/// One listed document in the summary cache, with what orders the list.
#[derive(Debug, Clone)]
pub(crate) struct CachedDoc {
    created_at: String,
    rowid: i64,
    /// Shared with every listing handed out: a listing is a copy of
    /// pointers, not of 10,000 × 6 strings (see `list_documents`).
    summary: Arc<DocumentSummary>,
    /// What a search looks in, folded (see [`search_text`]).
    folded: Box<str>,
}

/// What a search looks in: the kind's names in both languages, every field
/// value and every free field's label and value, folded (lower case, no
/// diacritics), so "giay khai sinh" finds "Giấy khai sinh".
fn search_text(
    kind: DocumentKind,
    fields: &std::collections::BTreeMap<String, String>,
    custom_fields: &[(String, String)],
) -> Box<str> {
    let mut hay = format!("{} {} ", kind.label_vi(), kind.label_en());
    for v in fields.values() {
        hay.push_str(v);
        hay.push(' ');
    }
    for (l, v) in custom_fields {
        hay.push_str(l);
        hay.push(' ');
        hay.push_str(v);
        hay.push(' ');
    }
    crate::text::fold(&hay).into_boxed_str()
}

impl CachedDoc {
    /// List order: newest first (`created_at DESC, rowid DESC`).
    fn order(a: &CachedDoc, b: &CachedDoc) -> std::cmp::Ordering {
        (&b.created_at, b.rowid).cmp(&(&a.created_at, a.rowid))
    }
}

/// The decrypted summaries of every document, newest first, as of a point
/// the vault's own connection had made `total_changes` changes and the file
/// was at `data_version`. Any change not applied to the cache by the write
/// that made it (a statement of this connection the cache does not know
/// about, or a commit by another connection) makes the stamp stale and the
/// cache is rebuilt from the file: invalidate on any doubt.
#[derive(Debug, Default)]
pub(crate) struct DocCache {
    total_changes: u64,
    data_version: i64,
    docs: Vec<CachedDoc>,
}

/// A validated attachment with its thumbnail, ready to seal.
struct Prepared<'a> {
    valid: ValidAttachment<'a>,
    thumb: Option<Vec<u8>>,
}

fn prepare(a: &NewAttachment) -> Result<Prepared<'_>, VaultError> {
    let valid = validate_attachment(a)?;
    let thumb = thumb::make_thumbnail(valid.bytes, valid.mime)?;
    Ok(Prepared { valid, thumb })
}

/// `PRAGMA data_version`: changes when another connection commits.
fn data_version(conn: &Connection) -> Result<i64, VaultError> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(db)
}

fn not_found(what: &'static str, id: &str) -> VaultError {
    VaultError::NotFound {
        what,
        id: id.to_owned(),
    }
}

impl Vault {
    // ---- profiles -------------------------------------------------------

    /// Every profile, the citizen's own (`self`) first, then by creation.
    pub fn list_profiles(&self) -> Result<Vec<Profile>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, created_at, body FROM profiles \
                 ORDER BY (id = 'self') DESC, created_at, rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let id = text(r, 0)?;
            let place = Place::new(T_PROFILES, &id, "body");
            let body: ProfileBody = self.open_json_cell(r, 2, &place)?;
            if col_text(r, 1)?.as_deref() != Some(body.created_at.as_str()) {
                return Err(place.tampered());
            }
            out.push(Profile {
                id,
                full_name: body.full_name,
                relation: body.relation,
                date_of_birth: body.date_of_birth,
                created_at: body.created_at,
            });
        }
        Ok(out)
    }

    fn profile(&self, id: &str) -> Result<Profile, VaultError> {
        self.list_profiles()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("profile", id))
    }

    /// Adds a family member (relation must not be `self`: there is one
    /// citizen per vault).
    pub fn add_profile(&mut self, p: &NewProfile) -> Result<Profile, VaultError> {
        let p = validate_profile(p, latest_date_on_earth())?;
        if p.relation == Relation::SelfPerson {
            return Err(VaultError::Duplicate {
                what: "the citizen's own profile",
            });
        }
        let id = new_id();
        let created_at = now_rfc3339()?;
        let fresh = self.cache_is_fresh();
        let body = self.seal_json(
            &Place::new(T_PROFILES, &id, "body"),
            &ProfileBody {
                full_name: p.full_name.clone(),
                relation: p.relation,
                date_of_birth: p.date_of_birth.clone(),
                created_at: created_at.clone(),
            },
        )?;
        self.conn
            .execute(
                "INSERT INTO profiles (id, created_at, body) VALUES (?1, ?2, ?3)",
                params![id, created_at, body],
            )
            .map_err(db)?;
        // Summaries do not depend on profile bodies: the cache stays.
        self.cache_apply(fresh, |_| Ok(()));
        Ok(Profile {
            id,
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at,
        })
    }

    /// Changes a profile. The `self` profile keeps relation `self`; no
    /// other profile may take it.
    pub fn update_profile(&mut self, id: &str, p: &NewProfile) -> Result<Profile, VaultError> {
        let old = self.profile(id)?;
        let p = validate_profile(p, latest_date_on_earth())?;
        let is_self = id == SELF_PROFILE_ID;
        if is_self != (p.relation == Relation::SelfPerson) {
            return Err(VaultError::invalid(
                "relation",
                "only the citizen's own profile has relation \"self\"",
            ));
        }
        let body = self.seal_json(
            &Place::new(T_PROFILES, id, "body"),
            &ProfileBody {
                full_name: p.full_name.clone(),
                relation: p.relation,
                date_of_birth: p.date_of_birth.clone(),
                created_at: old.created_at.clone(),
            },
        )?;
        let fresh = self.cache_is_fresh();
        self.conn
            .execute(
                "UPDATE profiles SET body = ?2 WHERE id = ?1",
                params![id, body],
            )
            .map_err(db)?;
        self.cache_apply(fresh, |_| Ok(()));
        Ok(Profile {
            id: id.to_owned(),
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at: old.created_at,
        })
    }

    /// Deletes a family member's profile. Refuses `self` and a profile that
    /// still has documents ([`VaultError::Invalid`]).
    pub fn delete_profile(&mut self, id: &str) -> Result<(), VaultError> {
        if id == SELF_PROFILE_ID {
            return Err(VaultError::invalid(
                "profile_id",
                "the citizen's own profile cannot be deleted",
            ));
        }
        self.profile(id)?;
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM documents WHERE profile_id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(db)?;
        if n > 0 {
            return Err(VaultError::invalid(
                "profile_id",
                format!("the profile still has {n} documents; delete or move them first"),
            ));
        }
        let fresh = self.cache_is_fresh();
        self.conn
            .execute("DELETE FROM profiles WHERE id = ?1", [id])
            .map_err(db)?;
        // Only a profile without documents is deleted.
        self.cache_apply(fresh, |_| Ok(()));
        Ok(())
    }

    // ---- documents ------------------------------------------------------

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
        let hash = valid
            .fields
            .get("number")
            .map(|n| self.number_hash(valid.kind, n));
        self.check_unique(valid.kind, valid.fields.get("number"), None)?;
        let id = new_id();
        let now = now_rfc3339()?;
        let att_ids: Vec<String> = prepared.iter().map(|_| new_id()).collect();
        let body = self.seal_json(
            &Place::new(T_DOCUMENTS, &id, DOC_BODY),
            &DocBody {
                kind: valid.kind,
                fields: valid.fields,
                custom_fields: valid.custom_fields,
                profile_id: doc.profile_id.clone(),
                created_at: now.clone(),
                updated_at: now.clone(),
                attachments: att_ids.clone(),
            },
        )?;
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
        tx.execute(
            "INSERT INTO documents (id, profile_id, created_at, updated_at, number_hash, body) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
            params![id, doc.profile_id, now, hash, body],
        )
        .map_err(db)?;
        let rowid = tx.last_insert_rowid();
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

    /// Whether the summary cache is built and nothing has changed since.
    pub(crate) fn cache_is_fresh(&self) -> bool {
        let cache = self.doc_cache.borrow();
        let Some(c) = cache.as_ref() else {
            return false;
        };
        c.total_changes == self.conn.total_changes()
            && data_version(&self.conn).is_ok_and(|v| v == c.data_version)
    }

    /// After a write that was made while the cache was `fresh`, brings the
    /// cache up to date with `edit` (only this vault's own changes, so the
    /// stamp's `data_version` is kept: another connection's commit still
    /// invalidates). A cache that was not fresh, or an edit that fails, is
    /// dropped and rebuilt on the next listing.
    pub(crate) fn cache_apply(
        &self,
        fresh: bool,
        edit: impl FnOnce(&mut Vec<CachedDoc>) -> Result<(), VaultError>,
    ) {
        let mut cache = self.doc_cache.borrow_mut();
        let kept = match cache.take() {
            Some(mut c) if fresh => edit(&mut c.docs).ok().map(|()| {
                c.total_changes = self.conn.total_changes();
                c
            }),
            _ => None,
        };
        *cache = kept;
    }

    /// Replaces document `id`'s cached summary with the one of `doc`.
    fn cache_replace(&self, fresh: bool, id: &str, doc: Result<&Document, &VaultError>) {
        self.cache_apply(fresh, |docs| {
            let d = doc.map_err(Clone::clone)?;
            let e = docs
                .iter_mut()
                .find(|e| e.summary.id == id)
                .ok_or_else(|| not_found("document", id))?;
            if e.created_at != d.created_at {
                return Err(not_found("document", id));
            }
            e.summary = Arc::new(summary_of(d)?);
            e.folded = search_text(d.kind, &d.fields, &d.custom_fields);
            Ok(())
        });
    }

    fn check_unique(
        &self,
        kind: DocumentKind,
        number: Option<&String>,
        except: Option<&str>,
    ) -> Result<(), VaultError> {
        let Some(number) = number else { return Ok(()) };
        let other = doc_by_number(&self.conn, &self.key, &self.lookup, kind, number)?;
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
        let hash = valid
            .fields
            .get("number")
            .map(|n| self.number_hash(valid.kind, n));
        self.check_unique(valid.kind, valid.fields.get("number"), Some(id))?;
        let now = now_rfc3339()?;
        let body = self.seal_json(
            &Place::new(T_DOCUMENTS, id, DOC_BODY),
            &DocBody {
                kind: valid.kind,
                fields: valid.fields,
                custom_fields: valid.custom_fields,
                profile_id: doc.profile_id.clone(),
                created_at: old.created_at,
                updated_at: now.clone(),
                attachments: old.attachments.into_iter().map(|a| a.id).collect(),
            },
        )?;
        let fresh = self.cache_is_fresh();
        self.conn
            .execute(
                "UPDATE documents SET profile_id = ?2, updated_at = ?3, number_hash = ?4, \
                 body = ?5 WHERE id = ?1",
                params![id, doc.profile_id, now, hash, body],
            )
            .map_err(db)?;
        let stored = self.get_document(id);
        self.cache_replace(fresh, id, stored.as_ref());
        stored
    }

    /// Deletes a document and its attachments. Works on a full disk (see
    /// "Full disk" in the crate docs).
    pub fn delete_document(&mut self, id: &str) -> Result<(), VaultError> {
        self.retry_when_disk_full(|v| v.delete_document_once(id))
    }

    fn delete_document_once(&mut self, id: &str) -> Result<(), VaultError> {
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
        rewrite_doc_body(&tx, &self.key, &self.rng, document_id, |b| {
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
    fn retry_when_disk_full(
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

    fn delete_attachment_once(&mut self, attachment_id: &str) -> Result<(), VaultError> {
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
        rewrite_doc_body(&tx, &self.key, &self.rng, &doc_id, |b| {
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

    /// Documents (of one profile, or all), newest first.
    ///
    /// Served from the summary cache (see the crate docs, "Summary cache"):
    /// the first call after opening (or after a change the cache could not
    /// follow) decrypts and checks every document; later calls copy
    /// pointers to the cached summaries. The summaries are immutable
    /// snapshots, shared (`Arc`) rather than cloned: cloning 10,000
    /// summaries meant 60,000 string allocations, about 6 ms on an idle
    /// machine and 16 ms on a busy one, for data the caller only reads.
    pub fn list_documents(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<Arc<DocumentSummary>>, VaultError> {
        self.listed(profile_id, None)
    }

    /// The cached documents of `profile_id` (or all) whose search text
    /// holds every one of `words` (none: all), newest first; builds the
    /// cache first if it is not fresh.
    fn listed(
        &self,
        profile_id: Option<&str>,
        words: Option<&[String]>,
    ) -> Result<Vec<Arc<DocumentSummary>>, VaultError> {
        if !self.cache_is_fresh() {
            // Stamp first: a change made while reading is then seen as stale.
            let total_changes = self.conn.total_changes();
            let data_version = data_version(&self.conn)?;
            let docs = self.all_documents_ordered(None)?;
            let docs = docs
                .into_iter()
                .map(|(created_at, rowid, summary, body)| CachedDoc {
                    created_at,
                    rowid,
                    folded: search_text(body.kind, &body.fields, &body.custom_fields),
                    summary: Arc::new(summary),
                })
                .collect();
            *self.doc_cache.borrow_mut() = Some(DocCache {
                total_changes,
                data_version,
                docs,
            });
        }
        let cache = self.doc_cache.borrow();
        let docs = cache.as_ref().map(|c| &c.docs[..]).unwrap_or_default();
        // Sized up front: growing a 10,000-entry vector would copy it
        // several times over.
        let mut out = Vec::with_capacity(match (profile_id, words) {
            (None, None) => docs.len(),
            _ => 0,
        });
        out.extend(
            docs.iter()
                .filter(|e| profile_id.is_none_or(|p| p == e.summary.profile_id))
                .filter(|e| words.is_none_or(|w| crate::text::contains_all(&e.folded, w)))
                .map(|e| Arc::clone(&e.summary)),
        );
        Ok(out)
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
    fn all_documents(
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
    fn all_documents_ordered(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<(String, i64, DocumentSummary, DocBody)>, VaultError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DOC_COLUMNS}, rowid FROM documents ORDER BY rowid DESC"
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let (id, body) = open_doc_row(&self.key, r)?;
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

    /// Documents whose kind, fields or free fields contain every word of
    /// `query`, ignoring case and diacritics ("giay khai sinh" finds
    /// "Giấy khai sinh", "dang" finds "Đặng"). Newest first.
    pub fn search_documents(
        &self,
        profile_id: Option<&str>,
        query: &str,
    ) -> Result<Vec<Arc<DocumentSummary>>, VaultError> {
        // Served from the summary cache, like a listing: a search per
        // keystroke must not decrypt every document again.
        self.listed(profile_id, Some(&crate::text::query_words(query)))
    }

    /// The metadata of document `id`'s attachments, in the order its sealed
    /// body lists them. The attachment rows must be exactly those listed: a
    /// missing, extra, moved or copied row is [`VaultError::Tampered`].
    fn attachments_of(&self, id: &str, body: &DocBody) -> Result<Vec<AttachmentMeta>, VaultError> {
        let mut found: HashMap<String, AttachmentMeta> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT id, created_at, meta, thumb IS NOT NULL FROM attachments \
                     WHERE document_id = ?1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([id]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                let att_id = text(r, 0)?;
                let place = Place::new(T_ATTACHMENTS, &att_id, "meta").with_parent(id);
                if !body.attachments.contains(&att_id) {
                    return Err(place.tampered());
                }
                let info: AttachmentInfo = self.open_json_cell(r, 2, &place)?;
                if col_text(r, 1)?.as_deref() != Some(info.created_at.as_str()) {
                    return Err(place.tampered());
                }
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
        let body = read_doc_body(&self.conn, &self.key, id)?;
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
        doc_by_number(&self.conn, &self.key, &self.lookup, kind, number)?
            .map(|(id, _)| self.get_document(&id))
            .transpose()
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

    fn attachment_column(
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

/// Inserts one attachment row (the caller adds `att_id` to the document's
/// sealed list in the same transaction).
#[allow(clippy::too_many_arguments)]
fn insert_attachment(
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
fn file_names(conn: &Connection, col: &str, value: &str) -> Result<Vec<String>, VaultError> {
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
