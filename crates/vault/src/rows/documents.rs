//! The `documents` table: `id`, `profile_id`, `created_at`, `updated_at`,
//! `number_hash` (plaintext) and the sealed v2 body (place
//! `documents/<id>/body/v2`), which repeats every plaintext column but the
//! hash.

use cds_api::DocumentKind;
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use super::col_text;
use crate::crypto::{LookupKey, Place, VaultKey};
use crate::error::db;
use crate::validate::lookup_form;
use crate::{number_hash, open_json, seal_json, text, VaultError, DOC_BODY, T_DOCUMENTS};

/// Sealed v2 document body (`documents.body`, place `body/v2`). Besides
/// the content it carries every plaintext column that decides what is shown
/// where (`profile_id`, `created_at`, `updated_at`), which readers check
/// against the row, and the ids of the document's attachments in the order
/// they were added, which readers check against the `attachments` rows.
#[derive(Serialize, Deserialize)]
pub(crate) struct DocBody {
    pub kind: cds_api::DocumentKind,
    pub fields: std::collections::BTreeMap<String, String>,
    pub custom_fields: Vec<(String, String)>,
    pub profile_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub attachments: Vec<String>,
}

/// The columns [`open_row`] expects, in order.
pub(crate) const COLUMNS: &str = "id, profile_id, created_at, updated_at, body";

/// Opens a document row selected as [`COLUMNS`] and checks that its
/// plaintext columns (profile, timestamps) are the ones sealed in its body:
/// a document moved to another profile, or re-dated, is
/// [`VaultError::Tampered`].
pub(crate) fn open_row(key: &VaultKey, r: &Row<'_>) -> Result<(String, DocBody), VaultError> {
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
pub(crate) fn by_number(
    conn: &Connection,
    key: &VaultKey,
    lookup: &LookupKey,
    kind: DocumentKind,
    number: &str,
) -> Result<Option<(String, DocBody)>, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM documents WHERE number_hash = ?1"
        ))
        .map_err(db)?;
    let mut rows = stmt
        .query([number_hash(lookup, kind, number)])
        .map_err(db)?;
    let Some(r) = rows.next().map_err(db)? else {
        return Ok(None);
    };
    let (id, body) = open_row(key, r)?;
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
pub(crate) fn rewrite_body(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    change: impl FnOnce(&mut DocBody) -> Result<(), VaultError>,
) -> Result<(), VaultError> {
    let mut body = read_body(conn, key, id)?;
    change(&mut body)?;
    let sealed = seal_json(key, rng, &Place::new(T_DOCUMENTS, id, DOC_BODY), &body)?;
    conn.execute(
        "UPDATE documents SET updated_at = ?2, body = ?3 WHERE id = ?1",
        params![id, body.updated_at, sealed],
    )
    .map_err(db)?;
    Ok(())
}

/// Document `id`'s sealed body, opened and checked.
pub(crate) fn read_body(
    conn: &Connection,
    key: &VaultKey,
    id: &str,
) -> Result<DocBody, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM documents WHERE id = ?1"))
        .map_err(db)?;
    let mut rows = stmt.query([id]).map_err(db)?;
    let r = rows
        .next()
        .map_err(db)?
        .ok_or_else(|| VaultError::NotFound {
            what: "document",
            id: id.to_owned(),
        })?;
    Ok(open_row(key, r)?.1)
}

/// The lookup hash of `body`'s number (kind and number), if it has one.
pub(crate) fn own_hash(lookup: &LookupKey, body: &DocBody) -> Option<Vec<u8>> {
    body.fields
        .get("number")
        .map(|n| number_hash(lookup, body.kind, n))
}

/// Inserts document `id`: its plaintext columns are taken from `body`
/// (so they match the sealed copies readers check them against) and its
/// lookup hash from `body`'s number. Returns the new rowid.
pub(crate) fn insert(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    lookup: &LookupKey,
    id: &str,
    body: &DocBody,
) -> Result<i64, VaultError> {
    let sealed = seal_json(key, rng, &Place::new(T_DOCUMENTS, id, DOC_BODY), body)?;
    conn.execute(
        "INSERT INTO documents (id, profile_id, created_at, updated_at, number_hash, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            body.profile_id,
            body.created_at,
            body.updated_at,
            own_hash(lookup, body),
            sealed
        ],
    )
    .map_err(db)?;
    Ok(conn.last_insert_rowid())
}

/// Replaces document `id`'s body and, from it, its plaintext columns and
/// lookup hash (`hash`: the one to store; [`own_hash`] unless a
/// migration keeps a duplicate number out of the lookup). Returns how
/// many rows changed.
pub(crate) fn replace(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    body: &DocBody,
    hash: Option<Vec<u8>>,
) -> Result<usize, VaultError> {
    let sealed = seal_json(key, rng, &Place::new(T_DOCUMENTS, id, DOC_BODY), body)?;
    conn.execute(
        "UPDATE documents SET profile_id = ?2, created_at = ?3, updated_at = ?4, \
         number_hash = ?5, body = ?6 WHERE id = ?1",
        params![
            id,
            body.profile_id,
            body.created_at,
            body.updated_at,
            hash,
            sealed
        ],
    )
    .map_err(db)
}

/// Key rotation: every document's lookup hash recomputed under `lookup`
/// from its body (sealed under `key`, the new vault key), in the caller's
/// transaction.
pub(crate) fn rehash_all(
    conn: &Connection,
    key: &VaultKey,
    lookup: &LookupKey,
) -> Result<(), VaultError> {
    let mut ids: Vec<String> = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT id FROM documents").map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            ids.push(text(r, 0)?);
        }
    }
    // All cleared first: the column is unique, and the new hashes must
    // not collide with old ones still in place.
    conn.execute("UPDATE documents SET number_hash = NULL", [])
        .map_err(db)?;
    for id in &ids {
        let body = read_body(conn, key, id)?;
        if let Some(h) = own_hash(lookup, &body) {
            conn.execute(
                "UPDATE documents SET number_hash = ?2 WHERE id = ?1",
                params![id, h],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}
