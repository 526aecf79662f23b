//! The `disclosures` table (the access log): `id`, `at` (plaintext; it
//! orders the log) and the sealed [`SealedDisclosure`] (place
//! `disclosures/<id>/body`), whose `at` must equal the row's.

use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use super::blob;
use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::{new_id, open_json, seal_json, text, DisclosureChannel, VaultError, T_DISCLOSURES};

/// The columns [`open_row`] expects, in order.
pub(crate) const COLUMNS: &str = "id, at, body";

/// An access-log entry's content (also the backup's record of it).
#[derive(Serialize, Deserialize)]
pub(crate) struct DisclosureBody {
    pub channel: DisclosureChannel,
    pub recipient: String,
    pub purpose: String,
    pub legal_basis: String,
    pub document_ids: Vec<String>,
    pub summary: String,
}

/// Sealed body of an access-log entry (`disclosures.body`): the content and
/// its time, which must equal the plaintext `at` column (it orders the log).
#[derive(Serialize, Deserialize)]
pub(crate) struct SealedDisclosure {
    pub at: String,
    #[serde(flatten)]
    pub body: DisclosureBody,
}

fn place(id: &str) -> Place<'_> {
    Place::new(T_DISCLOSURES, id, "body")
}

/// Logs `body` at `at` under a new id, which it returns.
pub(crate) fn add(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    at: &str,
    body: DisclosureBody,
) -> Result<String, VaultError> {
    let id = new_id();
    insert(conn, key, rng, &id, at, body)?;
    Ok(id)
}

/// Inserts the entry `id` (its `at` is sealed with it).
pub(crate) fn insert(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    at: &str,
    body: DisclosureBody,
) -> Result<(), VaultError> {
    let sealed = seal_json(
        key,
        rng,
        &place(id),
        &SealedDisclosure {
            at: at.to_owned(),
            body,
        },
    )?;
    conn.execute(
        "INSERT INTO disclosures (id, at, body) VALUES (?1, ?2, ?3)",
        params![id, at, sealed],
    )
    .map_err(db)?;
    Ok(())
}

/// Opens an access-log row selected as [`COLUMNS`]: its id, the entry
/// and the sealed size. An entry whose sealed time is not the row's (a
/// re-dated entry) is tampered.
pub(crate) fn open_row(
    key: &VaultKey,
    r: &Row<'_>,
) -> Result<(String, SealedDisclosure, usize), VaultError> {
    let id = text(r, 0)?;
    let place = place(&id);
    let sealed = blob(r, 2, &place)?;
    let entry: SealedDisclosure = open_json(key, &place, sealed)?;
    match r.get_ref(1).map_err(db)? {
        ValueRef::Text(t) if t == entry.at.as_bytes() => {}
        _ => return Err(place.tampered()),
    }
    let n = sealed.len();
    Ok((id, entry, n))
}
