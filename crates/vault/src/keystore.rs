//! Where the key-encryption key (KEK) lives: the [`KeyStore`] trait, the OS
//! keyring ([`OsKeyring`]) and an in-memory store ([`MemoryKeyStore`]).

use std::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

use crate::error::VaultError;

/// What [`KeyStore::probe`] finds: whether the store holds a key. A store
/// that cannot be reached at all is the error [`VaultError::Keyring`]
/// ("keyring unavailable"), so the three answers stay apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPresence {
    /// The store answered and holds an entry (its bytes stay inside).
    Present,
    /// The store answered and has no entry ("key missing").
    Missing,
}

/// Holds one secret: the vault's key-encryption key.
///
/// Implementations must not log or `Debug`-print the secret.
pub trait KeyStore: Send + Sync {
    /// The stored secret, or `None` when there is no entry.
    ///
    /// Callers outside this crate that only need to know whether the store
    /// works and holds a key use [`KeyStore::probe`], which never hands the
    /// key out.
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError>;
    /// Asks the store whether it holds a key, without returning it:
    /// `Err(VaultError::Keyring)` when the store cannot be used (no
    /// Secret Service, a locked keyring), `Ok(Missing)` when it answers
    /// but has no entry, `Ok(Present)` otherwise. The secret read to find
    /// out is zeroized here, inside the vault crate.
    fn probe(&self) -> Result<KeyPresence, VaultError> {
        Ok(match self.load()? {
            Some(_secret) => KeyPresence::Present,
            None => KeyPresence::Missing,
        })
    }
    /// Stores (or replaces) the secret.
    fn store(&self, secret: &[u8]) -> Result<(), VaultError>;
    /// Removes the entry; succeeds when there is none.
    fn delete(&self) -> Result<(), VaultError>;
}

/// The platform's credential store through the `keyring` crate: Secret
/// Service on Linux (the workspace enables only that backend; other
/// platforms need their `keyring` feature to be turned on).
///
/// `store` reads the secret back and fails unless it gets the same bytes:
/// some backends report success and then lose the entry, and a vault whose
/// KEK was silently lost could never be opened again.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
    account: String,
}

impl OsKeyring {
    /// An entry named by `service` (e.g. `"vn.congdanso.app"`) and `account`
    /// (e.g. `"vault-kek"`). Nothing is contacted until the first call.
    pub fn new(service: &str, account: &str) -> Self {
        OsKeyring {
            service: service.to_owned(),
            account: account.to_owned(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, VaultError> {
        keyring::Entry::new(&self.service, &self.account).map_err(|e| self.failure("open", &e))
    }

    fn failure(&self, action: &str, e: &keyring::Error) -> VaultError {
        VaultError::Keyring(format!(
            "cannot {action} the keyring entry {}/{}: {e}",
            self.service, self.account
        ))
    }
}

impl KeyStore for OsKeyring {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        match self.entry()?.get_secret() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.failure("read", &e)),
        }
    }

    fn store(&self, secret: &[u8]) -> Result<(), VaultError> {
        self.entry()?
            .set_secret(secret)
            .map_err(|e| self.failure("write", &e))?;
        // Read back through a fresh entry, the way the next start will.
        match self.load()? {
            Some(back) if back.as_slice() == secret => Ok(()),
            Some(_) => Err(VaultError::Keyring(format!(
                "the keyring entry {}/{} reads back different bytes than were written",
                self.service, self.account
            ))),
            None => Err(VaultError::Keyring(format!(
                "the keyring accepted the entry {}/{} but does not keep it \
                 (is a persistent keyring unlocked?)",
                self.service, self.account
            ))),
        }
    }

    fn delete(&self) -> Result<(), VaultError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.failure("delete", &e)),
        }
    }
}

/// A key store that keeps the secret in process memory (zeroized on drop
/// and on replace). For tests, and for the in-process backup tool, which
/// holds a KEK it was handed rather than one from the OS keyring. It is
/// not persistent: a vault created with it can only be reopened while the
/// same `MemoryKeyStore` (or a copy of its secret) is around.
#[derive(Default)]
pub struct MemoryKeyStore {
    secret: Mutex<Option<Zeroizing<Vec<u8>>>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Zeroizing<Vec<u8>>>> {
        // The value is replaced whole, so a panic elsewhere cannot leave it
        // half-written: carry on with a poisoned lock.
        match self.secret.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl std::fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.lock().is_some() {
            "<redacted>"
        } else {
            "empty"
        };
        write!(f, "MemoryKeyStore({state})")
    }
}

impl KeyStore for MemoryKeyStore {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(self.lock().clone())
    }

    fn store(&self, secret: &[u8]) -> Result<(), VaultError> {
        *self.lock() = Some(Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn delete(&self) -> Result<(), VaultError> {
        *self.lock() = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_redacted_debug() {
        let s = MemoryKeyStore::new();
        assert_eq!(s.load().unwrap(), None);
        assert_eq!(format!("{s:?}"), "MemoryKeyStore(empty)");
        s.store(&[1, 2, 3]).unwrap();
        assert_eq!(
            s.load().unwrap().as_deref().map(Vec::as_slice),
            Some(&[1u8, 2, 3][..])
        );
        assert_eq!(format!("{s:?}"), "MemoryKeyStore(<redacted>)");
        s.store(&[9]).unwrap();
        assert_eq!(
            s.load().unwrap().as_deref().map(Vec::as_slice),
            Some(&[9u8][..])
        );
        s.delete().unwrap();
        s.delete().unwrap();
        assert_eq!(s.load().unwrap(), None);
    }

    /// A store that cannot be reached, like a session without Secret
    /// Service.
    struct Unreachable;

    impl KeyStore for Unreachable {
        fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
            Err(VaultError::Keyring("no Secret Service on the bus".into()))
        }
        fn store(&self, _: &[u8]) -> Result<(), VaultError> {
            Err(VaultError::Keyring("no Secret Service on the bus".into()))
        }
        fn delete(&self) -> Result<(), VaultError> {
            Err(VaultError::Keyring("no Secret Service on the bus".into()))
        }
    }

    #[test]
    fn probe_tells_unavailable_from_missing_from_present() {
        let s = MemoryKeyStore::new();
        assert_eq!(s.probe(), Ok(KeyPresence::Missing));
        s.store(&[7; 32]).unwrap();
        assert_eq!(s.probe(), Ok(KeyPresence::Present));
        let e = Unreachable.probe().unwrap_err();
        assert_eq!(e.kind(), "keyring_unavailable");
        assert!(matches!(e, VaultError::Keyring(_)));
    }
}
