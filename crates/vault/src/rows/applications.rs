//! The `applications` table (the outbox): `idempotency_key`, `created_at`,
//! `state` (`queued` / `delivered`, plaintext) and three sealed values:
//! `payload` (the [`SubmitApplication`]), `receipt` (the city's
//! [`ApplicationReceipt`], once delivered) and `last_error` (a
//! [`DeliveryFailure`], in either stored form: see [`crate::delivery`]).

use cds_api::{ApplicationReceipt, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::{params, Connection, Row};

use super::{blob, opt_blob};
use crate::crypto::{Place, VaultKey};
use crate::delivery::DeliveryFailure;
use crate::error::db;
use crate::{open_json, seal_json, text, VaultError, Zeroizing, T_APPLICATIONS};

/// The columns [`open_row`] expects, in order.
pub(crate) const COLUMNS: &str = "idempotency_key, created_at, state, payload, receipt, last_error";

pub(crate) fn payload_place(k: &str) -> Place<'_> {
    Place::new(T_APPLICATIONS, k, "payload")
}

pub(crate) fn receipt_place(k: &str) -> Place<'_> {
    Place::new(T_APPLICATIONS, k, "receipt")
}

pub(crate) fn error_place(k: &str) -> Place<'_> {
    Place::new(T_APPLICATIONS, k, "last_error")
}

/// An application row, opened.
pub(crate) struct AppRow {
    pub idempotency_key: String,
    pub created_at: String,
    pub state: String,
    pub payload: SubmitApplication,
    pub receipt: Option<ApplicationReceipt>,
    pub failure: Option<DeliveryFailure>,
    /// Bytes of the sealed values (for progress).
    pub sealed_len: usize,
}

/// Opens an application row selected as [`COLUMNS`]; each sealed value
/// is bound to this application's key, so one moved from another
/// application fails to open.
pub(crate) fn open_row(key: &VaultKey, r: &Row<'_>) -> Result<AppRow, VaultError> {
    let k = text(r, 0)?;
    let mut n = 0;
    let p_place = payload_place(&k);
    let sealed = blob(r, 3, &p_place)?;
    n += sealed.len();
    let payload: SubmitApplication = open_json(key, &p_place, sealed)?;
    let r_place = receipt_place(&k);
    let receipt = match opt_blob(r, 4, &r_place)? {
        Some(b) => {
            n += b.len();
            Some(open_json(key, &r_place, b)?)
        }
        None => None,
    };
    let e_place = error_place(&k);
    let failure = match opt_blob(r, 5, &e_place)? {
        Some(b) => {
            n += b.len();
            Some(open_failure(key, &k, b)?)
        }
        None => None,
    };
    Ok(AppRow {
        created_at: text(r, 1)?,
        state: text(r, 2)?,
        idempotency_key: k,
        payload,
        receipt,
        failure,
        sealed_len: n,
    })
}

/// Opens a sealed `last_error` value of application `k`.
pub(crate) fn open_failure(
    key: &VaultKey,
    k: &str,
    sealed: &[u8],
) -> Result<DeliveryFailure, VaultError> {
    let place = error_place(k);
    let plain = key.open(&place, sealed)?;
    DeliveryFailure::decode(&plain, &place)
}

/// Seals `failure` as application `k`'s `last_error` (the typed form).
pub(crate) fn seal_failure(
    key: &VaultKey,
    rng: &SystemRandom,
    k: &str,
    failure: &DeliveryFailure,
) -> Result<Vec<u8>, VaultError> {
    key.seal(rng, &error_place(k), &Zeroizing::new(failure.encode()?))
}

/// Inserts application `payload.idempotency_key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    created_at: &str,
    state: &str,
    payload: &SubmitApplication,
    receipt: Option<&ApplicationReceipt>,
    failure: Option<&DeliveryFailure>,
) -> Result<(), VaultError> {
    let k = payload.idempotency_key.as_str();
    let sealed_payload = seal_json(key, rng, &payload_place(k), payload)?;
    let sealed_receipt = match receipt {
        Some(r) => Some(seal_json(key, rng, &receipt_place(k), r)?),
        None => None,
    };
    let sealed_error = match failure {
        Some(f) => Some(seal_failure(key, rng, k, f)?),
        None => None,
    };
    conn.execute(
        "INSERT INTO applications \
         (idempotency_key, created_at, state, payload, receipt, last_error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            k,
            created_at,
            state,
            sealed_payload,
            sealed_receipt,
            sealed_error
        ],
    )
    .map_err(db)?;
    Ok(())
}
