//! The owners of the sealed tables: for each table, its row layout, the
//! `Place` labels its values are sealed under, the sealed body type and the
//! checks that bind the plaintext columns to the sealed values. Every path
//! that touches a table (the public API, backup export and import, key
//! rotation, the integrity check, the migrations) goes through its module.

use rusqlite::types::ValueRef;
use rusqlite::Row;

use crate::crypto::Place;
use crate::error::db;
use crate::VaultError;

pub(crate) mod applications;
pub(crate) mod attachments;
pub(crate) mod disclosures;
pub(crate) mod documents;
pub(crate) mod history;
pub(crate) mod links;
pub(crate) mod profiles;

/// A plaintext column as text, `None` for NULL or any other type.
pub(crate) fn col_text(row: &Row<'_>, idx: usize) -> Result<Option<String>, VaultError> {
    Ok(match row.get_ref(idx).map_err(db)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_owned),
        _ => None,
    })
}

/// The sealed blob in column `idx`; any other type cannot be ours:
/// tampered.
pub(crate) fn blob<'r>(
    row: &'r Row<'_>,
    idx: usize,
    place: &Place<'_>,
) -> Result<&'r [u8], VaultError> {
    match row.get_ref(idx).map_err(db)? {
        ValueRef::Blob(b) => Ok(b),
        _ => Err(place.tampered()),
    }
}

/// [`blob`], or `None` for NULL.
pub(crate) fn opt_blob<'r>(
    row: &'r Row<'_>,
    idx: usize,
    place: &Place<'_>,
) -> Result<Option<&'r [u8]>, VaultError> {
    match row.get_ref(idx).map_err(db)? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(b)),
        _ => Err(place.tampered()),
    }
}
