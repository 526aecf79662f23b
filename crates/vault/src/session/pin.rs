//! The PIN (or passphrase) wrap: its KDF parameters, setting and changing
//! it, and the back-off after wrong PINs, measured on the vault's clock.

use cds_domain::Clock;
use ring::rand::SystemRandom;
use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::crypto::{random_salt, Kek, VaultKey, WrapSlot, SALT_LEN};
use crate::error::db;
use crate::{has_meta, read_meta, validate, write_meta, KdfParams, Vault, VaultError};

pub(crate) const M_PIN_KDF: &str = "kdf/pin";
pub(crate) const M_FAILURES: &str = "pin/failures";
pub(crate) const M_LAST_FAILURE: &str = "pin/last_failure";

/// Plaintext PBKDF2 parameters of the PIN wrap (`meta` `kdf/pin`).
#[derive(Serialize, Deserialize)]
struct PinKdf {
    alg: String,
    iterations: u32,
    salt: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seconds since 1970 on `clock` (0 before it: a clock set that far back
/// only shortens no wait, since every stored failure time is later).
fn unix_now(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.now().unix_timestamp()).unwrap_or(0)
}

/// Seconds to wait after `failures` consecutive wrong PINs.
pub(crate) fn pin_delay(failures: u64) -> u64 {
    if failures < 4 {
        0
    } else {
        let exp = (failures - 4).min(20) as u32;
        (30u64 << exp).min(3600)
    }
}

/// A plaintext counter; one of another type reads as 0 (the counters are
/// not protected anyway: deleting them has the same effect).
fn meta_u64(conn: &Connection, name: &str) -> Result<u64, VaultError> {
    let value = match read_meta(conn, name) {
        Err(VaultError::Corrupt(_)) => None,
        other => other?,
    };
    Ok(value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Seconds until a PIN attempt is allowed.
pub(crate) fn pin_wait(conn: &Connection, clock: &dyn Clock) -> Result<u64, VaultError> {
    let failures = meta_u64(conn, M_FAILURES)?;
    let last = meta_u64(conn, M_LAST_FAILURE)?;
    Ok((last.saturating_add(pin_delay(failures))).saturating_sub(unix_now(clock)))
}

/// Counts a wrong PIN and returns the error to report.
fn pin_failed(conn: &Connection, clock: &dyn Clock) -> VaultError {
    let failures = meta_u64(conn, M_FAILURES).unwrap_or(0) + 1;
    let written = write_meta(conn, M_FAILURES, failures.to_string().as_bytes())
        .and_then(|()| write_meta(conn, M_LAST_FAILURE, unix_now(clock).to_string().as_bytes()));
    match written {
        Ok(()) => VaultError::WrongPin {
            retry_after_secs: pin_delay(failures),
        },
        Err(e) => e,
    }
}

pub(crate) fn pin_reset(conn: &Connection) -> Result<(), VaultError> {
    conn.execute(
        "DELETE FROM meta WHERE name IN (?1, ?2)",
        params![M_FAILURES, M_LAST_FAILURE],
    )
    .map_err(db)?;
    Ok(())
}

/// The PIN wrap and its slot, if the vault has one.
fn read_pin_wrap(conn: &Connection) -> Result<Option<(WrapSlot, Vec<u8>)>, VaultError> {
    let Some(wrapped) = read_meta(conn, "wrap/pin")? else {
        return Ok(None);
    };
    let raw = read_meta(conn, M_PIN_KDF)?
        .ok_or_else(|| VaultError::Corrupt("the PIN wrap has no KDF parameters".into()))?;
    let kdf: PinKdf = serde_json::from_slice(&raw)
        .map_err(|_| VaultError::Corrupt("the PIN KDF parameters are unreadable".into()))?;
    let salt: [u8; SALT_LEN] = unhex(&kdf.salt)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| VaultError::Corrupt("the PIN KDF salt is unreadable".into()))?;
    if kdf.alg != "pbkdf2-hmac-sha256" || kdf.iterations == 0 {
        return Err(VaultError::Corrupt(format!(
            "unknown PIN KDF {} with {} iterations",
            kdf.alg, kdf.iterations
        )));
    }
    Ok(Some((
        WrapSlot::Pin {
            iterations: kdf.iterations,
            salt,
        },
        wrapped,
    )))
}

/// Tries `pin` against the PIN wrap, counting failures and honouring the
/// delay.
pub(crate) fn unwrap_with_pin(
    conn: &Connection,
    pin: &str,
    clock: &dyn Clock,
) -> Result<VaultKey, VaultError> {
    let (slot, wrapped) = read_pin_wrap(conn)?.ok_or(VaultError::NoPin)?;
    let wait = pin_wait(conn, clock)?;
    if wait > 0 {
        return Err(VaultError::PinLocked {
            retry_after_secs: wait,
        });
    }
    let WrapSlot::Pin { iterations, salt } = slot else {
        return Err(VaultError::NoPin);
    };
    let kek = Kek::from_pin(pin, &salt, iterations)?;
    match kek.unwrap_key(&wrapped, slot) {
        Ok(key) => {
            pin_reset(conn)?;
            Ok(key)
        }
        Err(_) => Err(pin_failed(conn, clock)),
    }
}

pub(crate) fn pin_wrap(
    rng: &SystemRandom,
    key: &VaultKey,
    pin: &str,
    kdf: KdfParams,
) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
    let salt = random_salt(rng)?;
    let slot = WrapSlot::Pin {
        iterations: kdf.iterations,
        salt,
    };
    let kek = Kek::from_pin(pin, &salt, kdf.iterations)?;
    let wrapped = kek.wrap(rng, key, slot)?;
    let json = serde_json::to_vec(&PinKdf {
        alg: "pbkdf2-hmac-sha256".into(),
        iterations: kdf.iterations,
        salt: hex(&salt),
    })
    .map_err(VaultError::storage)?;
    Ok((json, wrapped))
}

impl Vault {
    /// Whether the vault has a PIN wrap.
    pub fn has_pin(&self) -> bool {
        matches!(has_meta(&self.conn, "wrap/pin"), Ok(true))
    }

    /// Adds a PIN wrap when there is none ([`VaultError::Duplicate`] if
    /// there is; use [`Vault::change_pin`]).
    pub fn set_pin(&mut self, new_pin: &str) -> Result<(), VaultError> {
        if self.has_pin() {
            return Err(VaultError::Duplicate { what: "a PIN" });
        }
        validate::check_pin_strength(new_pin)?;
        self.write_pin_wrap(new_pin)
    }

    /// Replaces the PIN after checking the old one (counted like an unlock).
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<(), VaultError> {
        unwrap_with_pin(&self.conn, old_pin, self.clock.as_ref())?;
        validate::check_pin_strength(new_pin)?;
        self.write_pin_wrap(new_pin)
    }

    fn write_pin_wrap(&mut self, pin: &str) -> Result<(), VaultError> {
        let (kdf_json, wrapped) = pin_wrap(&self.rng, &self.key, pin, self.kdf)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        write_meta(&tx, M_PIN_KDF, &kdf_json)?;
        write_meta(&tx, "wrap/pin", &wrapped)?;
        pin_reset(&tx)?;
        tx.commit().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_delay_grows_from_the_fourth_failure_and_is_capped() {
        assert_eq!(
            (0..=10).map(pin_delay).collect::<Vec<_>>(),
            [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920]
        );
        assert_eq!(pin_delay(11), 3600);
        assert_eq!(pin_delay(1000), 3600);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xAB, 0xFF])),
            Some(vec![0, 1, 0xAB, 0xFF])
        );
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
