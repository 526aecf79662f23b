//! The backup job: one export or import at a time, with progress the UI
//! polls.

use crate::{lock, AppCore};
use cds_view::{BackupOp, BackupProgress, BackupSummaryView, ErrorKind, IpcError};
use std::path::PathBuf;

pub(crate) fn idle() -> BackupProgress {
    BackupProgress {
        op: None,
        running: false,
        done: 0,
        total: 0,
        result: None,
    }
}

impl AppCore {
    pub fn backup_progress(&self) -> BackupProgress {
        lock(&self.backup).clone()
    }

    /// Exports (or imports) a backup, updating [`Self::backup_progress`] as
    /// it goes. Blocking: call from a worker thread.
    pub fn run_backup(
        &self,
        op: BackupOp,
        path: &str,
        passphrase: &str,
    ) -> Result<BackupSummaryView, IpcError> {
        {
            let mut p = lock(&self.backup);
            if p.running {
                return Err(IpcError::new(
                    ErrorKind::Busy,
                    "a backup or restore is already running",
                ));
            }
            *p = BackupProgress {
                op: Some(op),
                running: true,
                ..idle()
            };
        }
        let result = self.run_backup_inner(op, path, passphrase);
        let mut p = lock(&self.backup);
        p.running = false;
        if result.is_ok() {
            p.done = p.total.max(p.done);
        }
        p.result = Some(result.clone());
        result
    }

    fn run_backup_inner(
        &self,
        op: BackupOp,
        path: &str,
        passphrase: &str,
    ) -> Result<BackupSummaryView, IpcError> {
        let path = PathBuf::from(path.trim());
        if path.as_os_str().is_empty() {
            return Err(IpcError::invalid("path", "choose where the backup file is"));
        }
        if op == BackupOp::Import && !path.is_file() {
            return Err(IpcError::invalid(
                "path",
                format!("there is no file at {}", path.display()),
            ));
        }
        if op == BackupOp::Export {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    IpcError::new(
                        ErrorKind::Storage,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
            }
        }
        let mut progress = |done: u64, total: u64| {
            let mut p = lock(&self.backup);
            p.done = done;
            p.total = total;
        };
        let summary = self.with_vault(|v| match op {
            BackupOp::Export => v.export_backup(&path, passphrase, &mut progress),
            BackupOp::Import => v.import_backup(&path, passphrase, &mut progress),
        })?;
        Ok(BackupSummaryView {
            profiles: summary.profiles,
            documents: summary.documents,
            attachments: summary.attachments,
            applications: summary.applications,
            bytes: summary.bytes,
        })
    }
}
