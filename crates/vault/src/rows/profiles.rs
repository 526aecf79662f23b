//! The `profiles` table: `id`, `created_at` (plaintext) and the sealed
//! body (place `profiles/<id>/body`), which repeats `created_at`.

use ring::rand::SystemRandom;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use super::{blob, col_text};
use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::{open_json, seal_json, text, Relation, VaultError, T_PROFILES};

/// The columns [`open_row`] expects, in order.
pub(crate) const COLUMNS: &str = "id, created_at, body";

/// Sealed profile body (`profiles.body`); `created_at` must equal the row's.
#[derive(Serialize, Deserialize)]
pub(crate) struct ProfileBody {
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<String>,
    pub created_at: String,
}

fn place(id: &str) -> Place<'_> {
    Place::new(T_PROFILES, id, "body")
}

/// Opens a profile row selected as [`COLUMNS`]: its id, body and sealed
/// size. A profile whose sealed `created_at` is not the row's (re-dated,
/// which reorders the profiles) is tampered.
pub(crate) fn open_row(
    key: &VaultKey,
    r: &Row<'_>,
) -> Result<(String, ProfileBody, usize), VaultError> {
    let id = text(r, 0)?;
    let place = place(&id);
    let sealed = blob(r, 2, &place)?;
    let body: ProfileBody = open_json(key, &place, sealed)?;
    if col_text(r, 1)?.as_deref() != Some(body.created_at.as_str()) {
        return Err(place.tampered());
    }
    let n = sealed.len();
    Ok((id, body, n))
}

/// Profile `id`'s body, opened and checked; `None` if there is none.
pub(crate) fn read(
    conn: &Connection,
    key: &VaultKey,
    id: &str,
) -> Result<Option<ProfileBody>, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM profiles WHERE id = ?1"))
        .map_err(db)?;
    let mut rows = stmt.query([id]).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(r) => Ok(Some(open_row(key, r)?.1)),
        None => Ok(None),
    }
}

/// Inserts profile `id` (its `created_at` is the body's).
pub(crate) fn insert(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    body: &ProfileBody,
) -> Result<(), VaultError> {
    let sealed = seal_json(key, rng, &place(id), body)?;
    conn.execute(
        "INSERT INTO profiles (id, created_at, body) VALUES (?1, ?2, ?3)",
        params![id, body.created_at, sealed],
    )
    .map_err(db)?;
    Ok(())
}

/// Replaces profile `id`'s body (and `created_at`, from it); returns how
/// many rows changed (0: no such profile).
pub(crate) fn replace(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    body: &ProfileBody,
) -> Result<usize, VaultError> {
    let sealed = seal_json(key, rng, &place(id), body)?;
    conn.execute(
        "UPDATE profiles SET created_at = ?2, body = ?3 WHERE id = ?1",
        params![id, body.created_at, sealed],
    )
    .map_err(db)
}
