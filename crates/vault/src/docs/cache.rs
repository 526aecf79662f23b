//! The document summary cache: what a list card shows, built once from
//! the file and kept up to date by the vault's own writes, stamped per
//! table (see "Summary cache" in the crate docs); listings and searches.

use super::*;
use cds_domain::text::Query;

pub(super) fn summary(
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
pub(super) fn summary_of(doc: &Document) -> Result<DocumentSummary, VaultError> {
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
pub(super) fn summarize(
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
    pub(super) created_at: String,
    pub(super) rowid: i64,
    /// Shared with every listing handed out: a listing is a copy of
    /// pointers, not of 10,000 × 6 strings (see `list_documents`).
    pub(super) summary: Arc<DocumentSummary>,
    /// What a search looks in, folded (see [`search_text`]).
    pub(super) folded: Box<str>,
}

/// What a search looks in: the kind's names in both languages, every field
/// value and every free field's label and value, folded (lower case, no
/// diacritics), so "giay khai sinh" finds "Giấy khai sinh".
pub(super) fn search_text(
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
    cds_domain::text::fold(&hay).into_boxed_str()
}

impl CachedDoc {
    /// List order: newest first (`created_at DESC, rowid DESC`).
    pub(super) fn order(a: &CachedDoc, b: &CachedDoc) -> std::cmp::Ordering {
        (&b.created_at, b.rowid).cmp(&(&a.created_at, a.rowid))
    }
}

/// The decrypted summaries of every document, newest first, as of a point
/// the [`SummaryStamp`] of the vault's connection read `stamp` and the
/// file was at `data_version`. Any change to a table the summaries are made
/// from (documents, attachments, profiles) not applied to the cache by the
/// write that made it (a statement the cache does not know about: import,
/// rotation, a failed write…), or a commit by another connection, makes
/// the stamp stale and the cache is rebuilt from the file: invalidate on
/// any doubt. Writes to other tables (applications, the access log, PIN
/// counters, device values) leave it: an offline delivery attempt every
/// few seconds must not throw away a 10,000-document listing.
#[derive(Debug, Default)]
pub(crate) struct DocCache {
    pub(super) stamp: u64,
    pub(super) data_version: i64,
    pub(super) docs: Vec<CachedDoc>,
}

/// Counts the row changes this connection makes to the tables document
/// summaries are made from, through SQLite's update hook: every INSERT,
/// UPDATE and DELETE of `documents`, `attachments` and `profiles` in the
/// main database (foreign-key cascades included), whichever code path ran
/// it, so no writer can forget to invalidate the cache. (SQLite skips the
/// hook only for WITHOUT ROWID tables and the truncate optimisation of a
/// `DELETE` without `WHERE`; these tables have rowids and the vault never
/// empties them that way.) Changes that roll back still count: a stale
/// stamp only costs a rebuild.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryStamp(Arc<std::sync::atomic::AtomicU64>);

/// The tables whose rows a [`DocumentSummary`] is made from.
pub(super) const SUMMARY_TABLES: [&str; 3] = [T_DOCUMENTS, T_ATTACHMENTS, T_PROFILES];

impl SummaryStamp {
    /// A counter, installed as `conn`'s update hook.
    pub(crate) fn install(conn: &Connection) -> Self {
        let stamp = SummaryStamp::default();
        let counter = Arc::clone(&stamp.0);
        conn.update_hook(Some(
            move |_: rusqlite::hooks::Action, db: &str, table: &str, _rowid: i64| {
                if db == "main" && SUMMARY_TABLES.contains(&table) {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            },
        ));
        stamp
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// `PRAGMA data_version`: changes when another connection commits.
pub(super) fn data_version(conn: &Connection) -> Result<i64, VaultError> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(db)
}

impl Vault {
    /// Whether the summary cache is built and nothing has changed since.
    pub(crate) fn cache_is_fresh(&self) -> bool {
        let cache = self.doc_cache.borrow();
        let Some(c) = cache.as_ref() else {
            return false;
        };
        c.stamp == self.summary_stamp.get()
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
                c.stamp = self.summary_stamp.get();
                c
            }),
            _ => None,
        };
        *cache = kept;
    }

    /// Replaces document `id`'s cached summary with the one of `doc`.
    pub(super) fn cache_replace(&self, fresh: bool, id: &str, doc: Result<&Document, &VaultError>) {
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
    /// matches `query` (none: all), newest first; builds the
    /// cache first if it is not fresh.
    pub(super) fn listed(
        &self,
        profile_id: Option<&str>,
        query: Option<&Query>,
    ) -> Result<Vec<Arc<DocumentSummary>>, VaultError> {
        if !self.cache_is_fresh() {
            // Stamp first: a change made while reading is then seen as stale.
            let stamp = self.summary_stamp.get();
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
                stamp,
                data_version,
                docs,
            });
        }
        let cache = self.doc_cache.borrow();
        let docs = cache.as_ref().map(|c| &c.docs[..]).unwrap_or_default();
        // Sized up front: growing a 10,000-entry vector would copy it
        // several times over.
        let mut out = Vec::with_capacity(match (profile_id, query) {
            (None, None) => docs.len(),
            _ => 0,
        });
        out.extend(
            docs.iter()
                .filter(|e| profile_id.is_none_or(|p| p == e.summary.profile_id))
                .filter(|e| query.is_none_or(|q| q.matches_folded(&e.folded)))
                .map(|e| Arc::clone(&e.summary)),
        );
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
        // Search and the services page fold the same way: cds-domain's
        // `Query` is the one rule for both.
        self.listed(profile_id, Some(&Query::new(query)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stamp counts every change to the summary tables, cascades
    /// included, and nothing else.
    #[test]
    fn the_stamp_counts_changes_to_the_summary_tables_only() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE profiles (id TEXT PRIMARY KEY);
             CREATE TABLE documents (id TEXT PRIMARY KEY,
                 profile_id TEXT REFERENCES profiles(id));
             CREATE TABLE attachments (id TEXT PRIMARY KEY,
                 document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE);
             CREATE TABLE applications (k TEXT PRIMARY KEY, last_error BLOB);",
        )
        .unwrap();
        let stamp = SummaryStamp::install(&conn);
        let changed = |sql: &str| {
            let before = stamp.get();
            conn.execute_batch(sql).unwrap();
            stamp.get() - before
        };
        assert_eq!(changed("INSERT INTO profiles VALUES ('self')"), 1);
        assert_eq!(changed("INSERT INTO documents VALUES ('d', 'self')"), 1);
        assert_eq!(
            changed("INSERT INTO attachments VALUES ('a1', 'd'), ('a2', 'd')"),
            2
        );
        assert_eq!(changed("UPDATE documents SET profile_id = 'self'"), 1);
        assert_eq!(changed("INSERT INTO applications VALUES ('k', NULL)"), 0);
        assert_eq!(changed("UPDATE applications SET last_error = x'00'"), 0);
        // The document and, by the cascade, its two attachments.
        assert_eq!(changed("DELETE FROM documents WHERE id = 'd'"), 3);
        // A rolled-back change still counts: a stale stamp only costs a
        // rebuild.
        assert_eq!(
            changed("BEGIN; INSERT INTO profiles VALUES ('p'); ROLLBACK;"),
            1
        );
    }
}
