use crate::{BackupSummary, Vault, VaultError};
use std::path::Path;
impl Vault {
    /// Not yet implemented.
    pub fn export_backup(
        &mut self,
        _dest: &Path,
        _passphrase: &str,
        _progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        Err(VaultError::storage("backup export is not implemented yet"))
    }
    /// Not yet implemented.
    pub fn import_backup(
        &mut self,
        _src: &Path,
        _passphrase: &str,
        _progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        Err(VaultError::storage("backup import is not implemented yet"))
    }
}
