//! Device-bound values: the citizen's signed QR credentials (one sealed set
//! per profile) and small named device values (the credential refresh
//! token, the cached trust list, the cached signed revocation list).
//!
//! Both are sealed with the vault key like every other record (associated
//! data `cds-vault/v1|credentials|<profile id>|body` and
//! `cds-vault/v1|device_values|<name>|value`), so a value copied to another
//! row, or two rows' values swapped, is [`VaultError::Tampered`]. They are
//! **device-bound**: backups neither export nor import them (a credential
//! or a refresh token restored on another device would be a copy of a
//! device secret; the app fetches fresh ones instead). Key rotation re-seals
//! them and [`Vault::integrity_check`] opens them.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::crypto::Place;
use crate::error::db;
use crate::{Vault, VaultError, Zeroizing};

pub(crate) const T_CREDENTIALS: &str = "credentials";
pub(crate) const T_DEVICE_VALUES: &str = "device_values";
/// Place label of a sealed credential set (its layout version is part of
/// the label, like documents' `body/v2`).
pub(crate) const CRED_BODY: &str = "set/v1";
/// Place label of a sealed device value.
pub(crate) const DEVICE_VALUE: &str = "value";

/// Most credentials in one set (one per disclosure level today).
pub const MAX_CREDENTIALS_PER_SET: usize = 16;
/// Longest credential payload (`CDS1:…`), in bytes: more than any QR code
/// holds.
pub const MAX_CREDENTIAL_TEXT_BYTES: usize = 8 * 1024;
/// Largest device value (a cached trust or revocation list), in bytes.
pub const MAX_DEVICE_VALUE_BYTES: usize = 1024 * 1024;

/// One signed QR credential as issued to this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// `"full"`, `"over18"` or `"name_only"`.
    pub disclosure: String,
    pub credential_id: String,
    /// The QR payload, `"CDS1:..."`.
    pub text: String,
    /// RFC 3339 UTC.
    pub not_before: String,
    /// RFC 3339 UTC.
    pub not_after: String,
}

/// A profile's whole set of credentials, replaced as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSet {
    pub profile_id: String,
    /// The 12-digit number the credentials are about.
    pub subject_number: String,
    pub full_name: String,
    pub credentials: Vec<StoredCredential>,
    /// RFC 3339 UTC.
    pub fetched_at: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> VaultError {
    VaultError::invalid(field, reason)
}

fn check_rfc3339(field: &'static str, s: &str) -> Result<(), VaultError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(drop)
        .map_err(|_| invalid(field, "not an RFC 3339 date and time"))
}

/// Short single-line text without control characters.
fn check_line(field: &'static str, s: &str, max_bytes: usize) -> Result<(), VaultError> {
    if s.is_empty() || s.len() > max_bytes {
        return Err(invalid(field, format!("must be 1 to {max_bytes} bytes")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Checks a set before it is sealed: what is stored must be what the shell
/// can show and the scanner can read back.
fn validate_set(set: &CredentialSet) -> Result<(), VaultError> {
    if set.subject_number.len() != 12 || !set.subject_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("subject_number", "must be exactly 12 digits"));
    }
    check_line(
        "full_name",
        &set.full_name,
        crate::MAX_NAME_CHARS * 4, // UTF-8: at most 4 bytes a character
    )?;
    check_rfc3339("fetched_at", &set.fetched_at)?;
    if set.credentials.len() > MAX_CREDENTIALS_PER_SET {
        return Err(invalid(
            "credentials",
            format!("at most {MAX_CREDENTIALS_PER_SET} credentials in a set"),
        ));
    }
    for c in &set.credentials {
        if !matches!(c.disclosure.as_str(), "full" | "over18" | "name_only") {
            return Err(invalid(
                "disclosure",
                "must be \"full\", \"over18\" or \"name_only\"",
            ));
        }
        check_line("credential_id", &c.credential_id, 128)?;
        check_line("text", &c.text, MAX_CREDENTIAL_TEXT_BYTES)?;
        if !c.text.starts_with("CDS1:") {
            return Err(invalid(
                "text",
                "a credential payload starts with \"CDS1:\"",
            ));
        }
        check_rfc3339("not_before", &c.not_before)?;
        check_rfc3339("not_after", &c.not_after)?;
    }
    Ok(())
}

/// A device value name: 1..=64 characters of `[a-z0-9/_.-]`. Names are
/// chosen by the app, never by the user; the rule keeps them usable as
/// associated data and log text without escaping.
pub(crate) fn check_device_value_name(name: &str) -> Result<(), VaultError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'/' | b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            "a device value name is 1 to 64 characters of a-z, 0-9, /, _, . and -",
        ))
    }
}

impl Vault {
    /// Errors with [`VaultError::NotFound`] unless profile `id` exists.
    fn require_profile(&self, id: &str) -> Result<(), VaultError> {
        let found = self
            .conn
            .query_row("SELECT 1 FROM profiles WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map_err(db)?;
        found.ok_or_else(|| VaultError::NotFound {
            what: "profile",
            id: id.to_owned(),
        })
    }

    /// Replaces the profile's whole set atomically. Unknown profile →
    /// [`VaultError::NotFound`]; a set that does not pass the checks
    /// (disclosure level, 12-digit subject number, RFC 3339 times, a
    /// `CDS1:` payload, sizes) → [`VaultError::Invalid`], nothing written.
    /// Device-bound: never included in backups.
    pub fn store_credentials(&mut self, set: &CredentialSet) -> Result<(), VaultError> {
        validate_set(set)?;
        let place = Place::new(T_CREDENTIALS, &set.profile_id, CRED_BODY);
        let sealed = self.seal_json(&place, set)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        // Checked inside the transaction: a profile deleted meanwhile by
        // another connection cannot leave a set behind.
        let exists = tx
            .query_row(
                "SELECT 1 FROM profiles WHERE id = ?1",
                [&set.profile_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(db)?;
        if exists.is_none() {
            return Err(VaultError::NotFound {
                what: "profile",
                id: set.profile_id.clone(),
            });
        }
        tx.execute(
            "INSERT INTO credentials (profile_id, body) VALUES (?1, ?2) \
             ON CONFLICT(profile_id) DO UPDATE SET body = excluded.body",
            params![set.profile_id, sealed],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// The profile's credential set, `None` if none is stored. Unknown
    /// profile → [`VaultError::NotFound`]; a set that fails authentication
    /// (changed, or moved from another profile) → [`VaultError::Tampered`].
    pub fn credentials(&self, profile_id: &str) -> Result<Option<CredentialSet>, VaultError> {
        self.require_profile(profile_id)?;
        let sealed: Option<rusqlite::types::Value> = self
            .conn
            .query_row(
                "SELECT body FROM credentials WHERE profile_id = ?1",
                [profile_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let place = Place::new(T_CREDENTIALS, profile_id, CRED_BODY);
        let set: CredentialSet = match sealed {
            None => return Ok(None),
            Some(rusqlite::types::Value::Blob(b)) => crate::open_json(&self.key, &place, &b)?,
            Some(_) => return Err(place.tampered()),
        };
        // The associated data already binds the row; this also catches a
        // set sealed for another profile by a buggy writer.
        if set.profile_id != profile_id {
            return Err(place.tampered());
        }
        Ok(Some(set))
    }

    /// Deletes the profile's credential set (nothing to delete is fine).
    /// Unknown profile → [`VaultError::NotFound`]. Deleting a profile
    /// deletes its set too.
    pub fn delete_credentials(&mut self, profile_id: &str) -> Result<(), VaultError> {
        self.require_profile(profile_id)?;
        self.conn
            .execute(
                "DELETE FROM credentials WHERE profile_id = ?1",
                [profile_id],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Small device-bound secrets and caches (credential refresh token,
    /// cached trust list, cached signed revocation list). Name: 1..=64
    /// chars of `[a-z0-9/_.-]`, else [`VaultError::Invalid`]; at most
    /// [`MAX_DEVICE_VALUE_BYTES`] ([`VaultError::TooLarge`]). Replaces any
    /// value of that name. Never included in backups.
    pub fn set_device_value(&mut self, name: &str, value: &[u8]) -> Result<(), VaultError> {
        check_device_value_name(name)?;
        if value.len() > MAX_DEVICE_VALUE_BYTES {
            return Err(VaultError::TooLarge {
                max: MAX_DEVICE_VALUE_BYTES as u64,
            });
        }
        let sealed = self.key.seal(
            &self.rng,
            &Place::new(T_DEVICE_VALUES, name, DEVICE_VALUE),
            value,
        )?;
        self.conn
            .execute(
                "INSERT INTO device_values (name, value) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, sealed],
            )
            .map_err(db)?;
        Ok(())
    }

    /// The device value `name`, `None` if not set. A value that fails
    /// authentication is [`VaultError::Tampered`].
    pub fn device_value(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        check_device_value_name(name)?;
        let sealed: Option<rusqlite::types::Value> = self
            .conn
            .query_row(
                "SELECT value FROM device_values WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let place = Place::new(T_DEVICE_VALUES, name, DEVICE_VALUE);
        match sealed {
            None => Ok(None),
            Some(rusqlite::types::Value::Blob(b)) => self.key.open_owned(&place, b).map(Some),
            Some(_) => Err(place.tampered()),
        }
    }

    /// Deletes the device value `name` (nothing to delete is fine).
    pub fn delete_device_value(&mut self, name: &str) -> Result<(), VaultError> {
        check_device_value_name(name)?;
        self.conn
            .execute("DELETE FROM device_values WHERE name = ?1", [name])
            .map_err(db)?;
        Ok(())
    }

    /// For [`Vault::integrity_check`]: every stored set decodes and belongs
    /// to its row's profile, which exists. (Each sealed value itself is
    /// opened by the generic pass over every sealed column.)
    pub(crate) fn check_credentials(&self) -> Result<(), VaultError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT profile_id FROM credentials ORDER BY rowid")
                .map_err(db)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        for id in ids {
            match self.credentials(&id) {
                Ok(_) => {}
                // A set whose profile is gone: only a change outside the
                // app can do that (the foreign key cascades).
                Err(VaultError::NotFound { .. }) => {
                    return Err(VaultError::Tampered {
                        table: T_CREDENTIALS,
                        id,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_value_names_follow_the_documented_rule() {
        for ok in [
            "a",
            "trust/list.v1",
            "refresh_token",
            "x-1",
            &"a".repeat(64),
        ] {
            assert!(check_device_value_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a b", "é", "a|b", "a\n", &"a".repeat(65)] {
            assert_eq!(
                check_device_value_name(bad).unwrap_err().kind(),
                "invalid_input",
                "{bad:?}"
            );
        }
    }
}
