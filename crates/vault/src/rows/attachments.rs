//! The `attachments` table: `id`, `document_id`, `created_at` (plaintext),
//! the sealed metadata (place `attachments/<id>/meta`, parent the
//! document), which repeats `created_at`, and the sealed references to the
//! data and thumbnail files.

use rusqlite::Row;
use serde::{Deserialize, Serialize};

use super::{blob, col_text};
use crate::crypto::{Place, VaultKey};
use crate::{open_json, text, VaultError, T_ATTACHMENTS};

/// Sealed attachment metadata (`attachments.meta`); `created_at` must equal
/// the row's.
#[derive(Serialize, Deserialize)]
pub(crate) struct AttachmentInfo {
    pub file_name: String,
    pub mime: String,
    pub size: u64,
    pub created_at: String,
}

/// The place of attachment `id`'s sealed value `label` (`meta`, or a file
/// reference), bound to its document.
pub(crate) fn place<'a>(id: &'a str, doc_id: &'a str, label: &'static str) -> Place<'a> {
    Place::new(T_ATTACHMENTS, id, label).with_parent(doc_id)
}

/// Opens the metadata of an attachment row of document `doc_id` selected
/// with `id, created_at, meta` first: its id, metadata and sealed size. Metadata moved
/// from another attachment or document fails to open; a re-dated row
/// (sealed `created_at` not the row's) is tampered.
pub(crate) fn open_meta(
    key: &VaultKey,
    r: &Row<'_>,
    doc_id: &str,
) -> Result<(String, AttachmentInfo, usize), VaultError> {
    let id = text(r, 0)?;
    let place = place(&id, doc_id, "meta");
    let sealed = blob(r, 2, &place)?;
    let info: AttachmentInfo = open_json(key, &place, sealed)?;
    if col_text(r, 1)?.as_deref() != Some(info.created_at.as_str()) {
        return Err(place.tampered());
    }
    let n = sealed.len();
    Ok((id, info, n))
}
