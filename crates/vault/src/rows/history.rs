//! The `application_history` table: `id`, `idempotency_key`, `at`
//! (plaintext; `at` orders the history) and the sealed [`StatusChange`]
//! (place `application_history/<id>/body`, parent the application), whose
//! `at` must equal the row's.

use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

use super::blob;
use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::{new_id, open_json, seal_json, text, StatusChange, VaultError, T_HISTORY};

/// The columns [`open_row`] expects, in order.
pub(crate) const COLUMNS: &str = "id, body, at";

fn place<'a>(id: &'a str, idempotency_key: &'a str) -> Place<'a> {
    Place::new(T_HISTORY, id, "body").with_parent(idempotency_key)
}

/// Adds a step to application `idempotency_key`'s history under a new id.
pub(crate) fn add(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    idempotency_key: &str,
    at: &str,
    status: &str,
    case_number: Option<&str>,
) -> Result<(), VaultError> {
    let change = StatusChange {
        at: at.to_owned(),
        status: status.to_owned(),
        case_number: case_number.map(str::to_owned),
    };
    insert(conn, key, rng, &new_id(), idempotency_key, &change)
}

/// Inserts the step `change` with id `id` (its `at` becomes the row's).
pub(crate) fn insert(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    id: &str,
    idempotency_key: &str,
    change: &StatusChange,
) -> Result<(), VaultError> {
    let body = seal_json(key, rng, &place(id, idempotency_key), change)?;
    conn.execute(
        "INSERT INTO application_history (id, idempotency_key, at, body) VALUES (?1, ?2, ?3, ?4)",
        params![id, idempotency_key, change.at, body],
    )
    .map_err(db)?;
    Ok(())
}

/// Opens a history row of application `idempotency_key` selected as
/// [`COLUMNS`]: its id, the step, and the sealed size. A step whose sealed
/// time is not the row's (a re-dated or reordered step) is tampered.
pub(crate) fn open_row(
    key: &VaultKey,
    r: &Row<'_>,
    idempotency_key: &str,
) -> Result<(String, StatusChange, usize), VaultError> {
    let id = text(r, 0)?;
    let place = place(&id, idempotency_key);
    let sealed = blob(r, 1, &place)?;
    let change: StatusChange = open_json(key, &place, sealed)?;
    match r.get_ref(2).map_err(db)? {
        ValueRef::Text(t) if t == change.at.as_bytes() => {}
        _ => return Err(place.tampered()),
    }
    let n = sealed.len();
    Ok((id, change, n))
}

/// The history of application `idempotency_key`, oldest first, checked.
pub(crate) fn of_application(
    conn: &Connection,
    key: &VaultKey,
    idempotency_key: &str,
) -> Result<Vec<(String, StatusChange, usize)>, VaultError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM application_history WHERE idempotency_key = ?1 \
             ORDER BY at, rowid"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([idempotency_key]).map_err(db)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        out.push(open_row(key, r, idempotency_key)?);
    }
    Ok(out)
}
