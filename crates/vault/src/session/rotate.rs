//! Key rotation: a new vault key, every sealed value re-sealed, every
//! lookup hash and link tag recomputed, in one transaction.

use ring::rand::SystemRandom;
use rusqlite::{params, Connection, TransactionBehavior};

use super::open::M_POLICY;
use super::pin::{pin_wrap, unwrap_with_pin, M_PIN_KDF};
use crate::crypto::{Place, VaultKey, WrapSlot};
use crate::error::db;
use crate::{has_meta, seal_json, text, write_meta, Vault, VaultError, SEALED, T_META};

impl Vault {
    /// Makes a new vault key and re-encrypts every record with it (and
    /// recomputes every lookup hash), in one transaction; then re-wraps it.
    /// A vault with a PIN needs the PIN (checked and counted like an
    /// unlock; it gets a fresh salt). The keyring wrap is renewed when the
    /// vault was opened through the keyring; after a PIN unlock the KEK is
    /// not known, so the keyring wrap is removed and
    /// [`Vault::add_keyring_wrap`] must be called again.
    pub fn rotate_key(&mut self, pin: Option<&str>) -> Result<(), VaultError> {
        if self.has_pin() {
            let pin = pin.ok_or_else(|| {
                VaultError::invalid("pin", "the PIN is needed to rotate the vault key")
            })?;
            unwrap_with_pin(&self.conn, pin, self.clock.as_ref())?;
        }
        let new_key = VaultKey::generate(&self.rng)?;
        let new_lookup = new_key.lookup_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(db)?;
        for c in SEALED {
            reseal_column(&tx, c, &self.key, &new_key, &self.rng)?;
        }
        // Lookup hashes under the new lookup key.
        crate::rows::documents::rehash_all(&tx, &new_key, &new_lookup)?;
        // Link tags under the new lookup key (each checked under the old).
        crate::rows::links::retag_all(&tx, &self.lookup, &new_lookup)?;
        write_meta(
            &tx,
            M_POLICY,
            &seal_json(
                &new_key,
                &self.rng,
                &Place::new(T_META, M_POLICY, "value"),
                &self.kdf.iterations,
            )?,
        )?;
        match &self.keyring_kek {
            Some(kek) => write_meta(
                &tx,
                "wrap/keyring",
                &kek.wrap(&self.rng, &new_key, WrapSlot::Keyring)?,
            )?,
            None => {
                tx.execute("DELETE FROM meta WHERE name = 'wrap/keyring'", [])
                    .map_err(db)?;
            }
        }
        if let Some(pin) = pin.filter(|_| has_meta(&tx, "wrap/pin").unwrap_or(false)) {
            let (kdf_json, wrapped) = pin_wrap(&self.rng, &new_key, pin, self.kdf)?;
            write_meta(&tx, M_PIN_KDF, &kdf_json)?;
            write_meta(&tx, "wrap/pin", &wrapped)?;
        }
        tx.commit().map_err(db)?;
        self.key = new_key;
        self.lookup = new_lookup;
        Ok(())
    }
}

/// `f(id, parent, blob)` of [`for_each_sealed`].
pub(crate) type SealedVisitor<'a> =
    dyn FnMut(&str, Option<&str>, &[u8]) -> Result<(), VaultError> + 'a;

/// Calls `f(id, parent, blob)` for each non-NULL value of a sealed column,
/// one row at a time (attachments can be large).
pub(crate) fn for_each_sealed(
    conn: &Connection,
    c: &crate::SealedColumn,
    f: &mut SealedVisitor<'_>,
) -> Result<(), VaultError> {
    let parent = c.parent_col.unwrap_or("NULL");
    let sql = format!(
        "SELECT rowid, {id}, {parent}, {col} FROM {t} WHERE rowid > ?1 AND {col} IS NOT NULL \
         ORDER BY rowid LIMIT 1",
        id = c.id_col,
        col = c.col,
        t = c.table
    );
    let mut last: i64 = i64::MIN;
    loop {
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([last]).map_err(db)?;
        let Some(row) = rows.next().map_err(db)? else {
            return Ok(());
        };
        last = row.get(0).map_err(db)?;
        let id = text(row, 1)?;
        let parent: Option<String> = row.get(2).map_err(db)?;
        match row.get_ref(3).map_err(db)? {
            rusqlite::types::ValueRef::Blob(b) => f(&id, parent.as_deref(), b)?,
            _ => return Err(VaultError::Tampered { table: c.table, id }),
        }
    }
}

fn reseal_column(
    conn: &Connection,
    c: &crate::SealedColumn,
    old: &VaultKey,
    new: &VaultKey,
    rng: &SystemRandom,
) -> Result<(), VaultError> {
    let mut updates: Vec<(String, Vec<u8>)> = Vec::new();
    let update_sql = format!(
        "UPDATE {t} SET {col} = ?2 WHERE {id} = ?1",
        t = c.table,
        col = c.col,
        id = c.id_col
    );
    for_each_sealed(conn, c, &mut |id, parent, blob| {
        let mut place = Place::new(c.table, id, c.place_col);
        if let Some(p) = parent {
            place = place.with_parent(p);
        }
        let plain = old.open(&place, blob)?;
        let sealed = new.seal(rng, &place, &plain)?;
        // Big columns are written at once to bound memory.
        if c.col == "data" {
            conn.execute(&update_sql, params![id, sealed]).map_err(db)?;
        } else {
            updates.push((id.to_owned(), sealed));
        }
        Ok(())
    })?;
    for (id, sealed) in updates {
        conn.execute(&update_sql, params![id, sealed]).map_err(db)?;
    }
    Ok(())
}
