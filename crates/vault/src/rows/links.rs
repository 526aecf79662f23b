//! The `application_documents` table: which stored documents an
//! application carried. Plaintext ids, bound together by a keyed tag
//! (HMAC-SHA256 under the lookup key, domain-separated from number
//! hashes), so a link added or moved outside the app fails.

use cds_api::SubmitApplication;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

use super::documents;
use crate::crypto::{LookupKey, VaultKey};
use crate::error::db;
use crate::{text, VaultError};

/// Plaintext table of application → document links.
pub(crate) const T_LINKS: &str = "application_documents";

/// The keyed tag of the link from application `idempotency_key` to
/// document `document_id` (`application_documents.tag`).
pub(crate) fn tag(lookup: &LookupKey, idempotency_key: &str, document_id: &str) -> Vec<u8> {
    let mut data = b"cds-vault/v2/application-link\0".to_vec();
    data.extend_from_slice(idempotency_key.as_bytes());
    data.push(0);
    data.extend_from_slice(document_id.as_bytes());
    lookup.hash(&data)
}

/// Checks a link's tag cell: a blob equal to its own tag, or tampered.
fn check(
    lookup: &LookupKey,
    idempotency_key: &str,
    document_id: &str,
    cell: ValueRef<'_>,
) -> Result<(), VaultError> {
    match cell {
        ValueRef::Blob(t) if t == tag(lookup, idempotency_key, document_id) => Ok(()),
        _ => Err(VaultError::Tampered {
            table: T_LINKS,
            id: idempotency_key.to_owned(),
        }),
    }
}

/// The ids of the documents application `idempotency_key` links to, by
/// id, every tag checked.
pub(crate) fn documents_of(
    conn: &Connection,
    lookup: &LookupKey,
    idempotency_key: &str,
) -> Result<Vec<String>, VaultError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT document_id, tag FROM application_documents \
             WHERE idempotency_key = ?1 ORDER BY document_id",
        )
        .map_err(db)?;
    let mut rows = stmt.query([idempotency_key]).map_err(db)?;
    let mut ids = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        let doc = text(r, 0)?;
        check(lookup, idempotency_key, &doc, r.get_ref(1).map_err(db)?)?;
        ids.push(doc);
    }
    Ok(ids)
}

/// Links application `idempotency_key` to document `document_id` (once).
pub(crate) fn insert(
    conn: &Connection,
    lookup: &LookupKey,
    idempotency_key: &str,
    document_id: &str,
) -> Result<(), VaultError> {
    conn.execute(
        "INSERT OR IGNORE INTO application_documents (idempotency_key, document_id, tag) \
         VALUES (?1, ?2, ?3)",
        params![
            idempotency_key,
            document_id,
            tag(lookup, idempotency_key, document_id)
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// Links an application to the stored documents it carries (found by
/// keyed number hash, then checked); returns their ids.
pub(crate) fn link_documents(
    conn: &Connection,
    key: &VaultKey,
    lookup: &LookupKey,
    idempotency_key: &str,
    app: &SubmitApplication,
) -> Result<Vec<String>, VaultError> {
    let mut ids = Vec::new();
    for d in &app.documents {
        let id = documents::by_number(conn, key, lookup, d.kind, &d.number)?.map(|(id, _)| id);
        if let Some(id) = id {
            insert(conn, lookup, idempotency_key, &id)?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Key rotation: every tag checked under `old`, then rewritten under
/// `new` (in the caller's transaction).
pub(crate) fn retag_all(
    conn: &Connection,
    old: &LookupKey,
    new: &LookupKey,
) -> Result<(), VaultError> {
    let mut links: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT idempotency_key, document_id, tag FROM application_documents")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (k, doc) = (text(r, 0)?, text(r, 1)?);
            check(old, &k, &doc, r.get_ref(2).map_err(db)?)?;
            links.push((k, doc));
        }
    }
    for (k, doc) in &links {
        conn.execute(
            "UPDATE application_documents SET tag = ?3 \
             WHERE idempotency_key = ?1 AND document_id = ?2",
            params![k, doc, tag(new, k, doc)],
        )
        .map_err(db)?;
    }
    Ok(())
}
