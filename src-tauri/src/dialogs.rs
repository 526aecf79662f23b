//! The desktop's own file dialogs (GTK on Linux, through `rfd`), for the
//! backup's file: where to save it, which one to open.
//!
//! Called from the shell, not granted to the web view: the UI can ask "let
//! the citizen choose a backup file" and gets a path back, but cannot open
//! dialogs (or read files) of its own choosing. Least privilege, as in
//! tauri-apps/plugins-workspace's capability model.

use cds_view::BackupOp;
use std::path::{Path, PathBuf};

/// The backup file's extension (see `default_backup_path`).
pub const BACKUP_EXTENSION: &str = "cdsbackup";

/// Shows the dialog for `op`, starting at `start` (the path in the form).
/// `None`: the citizen cancelled. Blocks until the dialog closes: call it
/// off the main thread (rfd runs GTK's side on its own GTK thread).
pub fn choose_backup(op: BackupOp, start: &Path) -> Option<PathBuf> {
    let mut dialog = rfd::FileDialog::new().add_filter(
        "Bản sao lưu Công dân số / Công dân số backup",
        &[BACKUP_EXTENSION],
    );
    if let Some(dir) = start.parent().filter(|d| d.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    match op {
        BackupOp::Export => {
            if let Some(name) = start.file_name().and_then(|n| n.to_str()) {
                dialog = dialog.set_file_name(name);
            }
            dialog
                .set_title("Lưu bản sao lưu / Save the backup")
                .save_file()
                .map(with_backup_extension)
        }
        BackupOp::Import => dialog
            .set_title("Chọn bản sao lưu / Choose a backup")
            .pick_file(),
    }
}

/// A name typed without an extension gets the backup's, so the file is
/// recognisable (and offered by the import dialog's filter) later; a name
/// with any extension is the citizen's choice and kept.
pub fn with_backup_extension(mut path: PathBuf) -> PathBuf {
    if path.extension().is_none() {
        path.set_extension(BACKUP_EXTENSION);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_gets_the_backup_extension() {
        assert_eq!(
            with_backup_extension(PathBuf::from("/home/an/sao-luu")),
            PathBuf::from("/home/an/sao-luu.cdsbackup")
        );
        assert_eq!(
            with_backup_extension(PathBuf::from("/home/an/sao-luu.cdsbackup")),
            PathBuf::from("/home/an/sao-luu.cdsbackup")
        );
        // Another extension is the citizen's choice.
        assert_eq!(
            with_backup_extension(PathBuf::from("/media/usb/ban-sao.bak")),
            PathBuf::from("/media/usb/ban-sao.bak")
        );
    }
}
