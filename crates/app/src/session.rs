//! The vault session: where the vault is (open, locked, waiting for a first
//! PIN, failed) and the transitions between those states.
//!
//! A failure to open is remembered, never "fixed" by creating a new vault
//! over the old one.

use crate::error::{from_vault, is_key_trouble};
use crate::{lock, AppCore};
use cds_vault::{KeyStore, Vault, VaultError};
use cds_view::{AppStatus, ErrorKind, IpcError, VaultState};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Where the vault is.
pub(crate) enum VaultSlot {
    Open(Arc<Mutex<Vault>>),
    /// A vault file with a PIN wrap that the keyring did not open (or the
    /// citizen locked it). `why`: the keyring's error, if that is the cause.
    Locked {
        why: Option<IpcError>,
    },
    /// No vault and no keyring: a PIN creates one.
    NeedsPin {
        why: IpcError,
    },
    /// Cannot be opened; nothing is changed on disk.
    Failed(IpcError),
}

impl VaultSlot {
    pub(crate) fn log_start(&self) {
        match self {
            VaultSlot::Failed(e) => tracing::error!(error = %e, "vault could not be opened"),
            VaultSlot::Locked { why } => tracing::warn!(?why, "vault starts locked: PIN needed"),
            VaultSlot::NeedsPin { why } => tracing::warn!(error = %why, "no vault and no keyring"),
            VaultSlot::Open(_) => {}
        }
    }
}

/// Opens the vault at `path` with the key store, or decides why not.
pub(crate) fn open_slot(path: &Path, keys: &dyn KeyStore) -> VaultSlot {
    let info = match Vault::inspect(path) {
        Ok(i) => i,
        Err(e) => return VaultSlot::Failed(from_vault(e)),
    };
    match Vault::open(path, keys) {
        Ok(v) => VaultSlot::Open(Arc::new(Mutex::new(v))),
        Err(e) if is_key_trouble(&e) && info.exists && info.pin_wrap => {
            // A PIN-only vault never asks the keyring: ask it now, so the UI
            // can say whether the keyring itself is unavailable. `probe`
            // answers without handing the key out of the vault crate.
            let why = match keys.probe() {
                Err(k) => from_vault(k),
                Ok(_) => from_vault(e),
            };
            VaultSlot::Locked { why: Some(why) }
        }
        Err(e @ VaultError::Keyring(_)) if !info.exists => {
            // `open` must not have left a file behind; if it did, it is an
            // empty shell without a key wrap: never touch it.
            if path.exists() {
                VaultSlot::Failed(from_vault(e))
            } else {
                VaultSlot::NeedsPin { why: from_vault(e) }
            }
        }
        Err(e) => VaultSlot::Failed(from_vault(e)),
    }
}

impl AppCore {
    /// The open vault, or why there is none.
    pub(crate) fn vault(&self) -> Result<Arc<Mutex<Vault>>, IpcError> {
        match &*lock(&self.slot) {
            VaultSlot::Open(v) => Ok(v.clone()),
            VaultSlot::Locked { .. } | VaultSlot::NeedsPin { .. } => Err(IpcError::new(
                ErrorKind::VaultLocked,
                "the vault is locked: unlock it with your PIN",
            )),
            VaultSlot::Failed(e) => Err(IpcError::new(
                ErrorKind::VaultUnavailable,
                format!("the vault is not open: {}", e.message),
            )),
        }
    }

    /// Runs `f` on the open vault (holding its lock for `f` only).
    pub(crate) fn with_vault<R>(
        &self,
        f: impl FnOnce(&mut Vault) -> Result<R, VaultError>,
    ) -> Result<R, IpcError> {
        let v = self.vault()?;
        let mut g = lock(&v);
        f(&mut g).map_err(from_vault)
    }

    pub fn status(&self) -> AppStatus {
        let (state, vault_error, open) = match &*lock(&self.slot) {
            VaultSlot::Open(v) => (VaultState::Open, None, Some(v.clone())),
            VaultSlot::Locked { .. } => (VaultState::Locked, None, None),
            VaultSlot::NeedsPin { .. } => (VaultState::NeedsPin, None, None),
            VaultSlot::Failed(e) => (VaultState::Unavailable, Some(e.clone()), None),
        };
        // The file's PIN state matters only while the vault is closed.
        let info = match &open {
            Some(_) => None,
            None => Vault::inspect(&self.vault_path).ok(),
        };
        let keyring_available = match &*lock(&self.slot) {
            VaultSlot::Locked { why: Some(e) }
            | VaultSlot::Failed(e)
            | VaultSlot::NeedsPin { why: e } => e.kind != ErrorKind::KeyringUnavailable,
            _ => true,
        };
        let (document_count, pending_count, has_pin) = match open {
            Some(v) => {
                let v = lock(&v);
                (
                    v.list_documents(None).map(|d| d.len() as u32).unwrap_or(0),
                    v.pending_applications()
                        .map(|p| p.len() as u32)
                        .unwrap_or(0),
                    v.has_pin(),
                )
            }
            None => (0, 0, info.as_ref().map(|i| i.pin_wrap).unwrap_or(false)),
        };
        AppStatus {
            vault_state: state,
            vault_error,
            has_pin,
            keyring_available,
            pin_retry_after_secs: info.map(|i| i.pin_retry_after_secs).unwrap_or(0),
            backend_url: self.backend_url.clone(),
            document_count,
            pending_count,
            last_sync_error: lock(&self.last_sync_error).clone(),
        }
    }

    /// Creates the vault protected by a PIN (no keyring on this machine).
    pub fn create_vault_with_pin(&self, pin: &str) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        if !matches!(*slot, VaultSlot::NeedsPin { .. }) {
            return Err(IpcError::new(
                ErrorKind::InvalidInput,
                "a vault already exists on this device",
            ));
        }
        let v = Vault::create(&self.vault_path, None, Some(pin)).map_err(from_vault)?;
        *slot = VaultSlot::Open(Arc::new(Mutex::new(v)));
        Ok(())
    }

    /// Unlocks a locked vault with the PIN. Wrong PINs are counted by the
    /// vault (in the file, so restarts do not reset the delay).
    pub fn unlock(&self, pin: &str) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        match &*slot {
            VaultSlot::Open(_) => return Ok(()),
            VaultSlot::Locked { .. } => {}
            VaultSlot::NeedsPin { .. } => {
                return Err(IpcError::new(ErrorKind::NoPin, "there is no vault yet"))
            }
            VaultSlot::Failed(e) => return Err(e.clone()),
        }
        let mut v = Vault::unlock_with_pin(&self.vault_path, pin).map_err(from_vault)?;
        // The keyring may be back (or never had the key): give it a wrap so
        // the next start opens without the PIN. Best effort.
        let has_keyring_wrap = Vault::inspect(&self.vault_path)
            .map(|i| i.keyring_wrap)
            .unwrap_or(true);
        if !has_keyring_wrap {
            if let Err(e) = v.add_keyring_wrap(&self.keys) {
                tracing::info!(error = %e, "keyring wrap not added");
            }
        }
        *slot = VaultSlot::Open(Arc::new(Mutex::new(v)));
        Ok(())
    }

    /// Locks the vault: the key is dropped and zeroized; the PIN opens it
    /// again. Refused without a PIN (nothing could unlock it this session).
    pub fn lock_vault(&self) -> Result<(), IpcError> {
        let mut slot = lock(&self.slot);
        let has_pin = match &*slot {
            VaultSlot::Open(v) => lock(v).has_pin(),
            _ => return Ok(()),
        };
        if !has_pin {
            return Err(IpcError::new(
                ErrorKind::NoPin,
                "set a PIN before locking the vault",
            ));
        }
        let old = std::mem::replace(&mut *slot, VaultSlot::Locked { why: None });
        if let VaultSlot::Open(arc) = old {
            // Zeroize now if nobody else holds it; otherwise it is dropped
            // (and zeroized) when the last user (a sync in flight) finishes.
            if let Ok(m) = Arc::try_unwrap(arc) {
                match m.into_inner() {
                    Ok(v) => v.lock(),
                    Err(p) => p.into_inner().lock(),
                }
            }
        }
        Ok(())
    }

    pub fn set_pin(&self, pin: &str) -> Result<(), IpcError> {
        self.with_vault(|v| v.set_pin(pin))
    }

    pub fn change_pin(&self, old: &str, new: &str) -> Result<(), IpcError> {
        self.with_vault(|v| v.change_pin(old, new))
    }
}
