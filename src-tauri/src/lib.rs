//! The Tauri 2 shell of Công dân số: IPC commands, app state and platform
//! glue. It stays thin: behaviour lives in `cds_app::AppCore` (the
//! application core, no Tauri in it); this crate only adapts it to Tauri:
//! command handlers, setup, the window, native dialogs, configuration and
//! the background driver.
//!
//! Desktop and mobile share this library; `main.rs` is the desktop entry and
//! `mobile_entry_point` the Android/iOS one.

pub mod background;
pub mod config;
#[cfg(desktop)]
pub mod dialogs;

use cds_view::commands::{self, Command};
use cds_view::{BackupOp, ErrorKind, IpcError};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

use cds_app::AppCore;

type Core<'a> = tauri::State<'a, Arc<AppCore>>;

/// Runs vault work on a worker thread: a command that waits for the vault
/// (encrypting a 20 MB photo, a backup in progress) never blocks the
/// window's main thread.
async fn blocking<R: Send + 'static>(
    core: &Core<'_>,
    f: impl FnOnce(&AppCore) -> Result<R, IpcError> + Send + 'static,
) -> Result<R, IpcError> {
    let core = core.inner().clone();
    tauri::async_runtime::spawn_blocking(move || f(&core))
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
}

// Every handler takes its command's `Args` and returns its `Output` from the
// catalogue in `cds_view::commands`, so a handler cannot drift from what the
// UI sends and expects. The two macros below write the usual shapes; the
// few handlers that need the app handle are written out with the same types.

/// A command whose work runs on a worker thread (it may wait for the vault).
macro_rules! on_worker {
    ($name:ident, |$core:ident, $args:pat_param| $body:expr) => {
        #[tauri::command]
        async fn $name(
            core: Core<'_>,
            args: commands::$name::Args,
        ) -> Result<<commands::$name::Args as Command>::Output, IpcError> {
            blocking(&core, move |$core| {
                let $args = args;
                $body
            })
            .await
        }
    };
}

/// A command that talks to the city: an async call on the runtime.
macro_rules! on_runtime {
    ($name:ident, |$core:ident, $args:pat_param| $body:expr) => {
        #[tauri::command]
        async fn $name(
            core: Core<'_>,
            args: commands::$name::Args,
        ) -> Result<<commands::$name::Args as Command>::Output, IpcError> {
            let $core = core.inner().clone();
            let $args = args;
            $body.await
        }
    };
}

on_worker!(app_status, |c, _| Ok(c.status()));
on_worker!(create_vault_with_pin, |c, a| c
    .create_vault_with_pin(&a.pin));
on_worker!(unlock_vault, |c, a| c.unlock(&a.pin));
on_worker!(lock_vault, |c, _| c.lock_vault());
on_worker!(set_pin, |c, a| c.set_pin(&a.pin));
on_worker!(change_pin, |c, a| c.change_pin(&a.old_pin, &a.new_pin));

on_worker!(list_profiles, |c, _| c.list_profiles());
on_worker!(add_profile, |c, a| c.add_profile(a.input));
on_worker!(update_profile, |c, a| c.update_profile(&a.id, a.input));
on_worker!(delete_profile, |c, a| c.delete_profile(&a.id));

on_worker!(list_documents, |c, a| c
    .list_documents(a.profile_id.as_deref()));
on_worker!(search_documents, |c, a| c
    .search_documents(a.profile_id.as_deref(), &a.query));
on_worker!(get_document, |c, a| c.get_document(&a.id));
on_worker!(add_document, |c, a| c.add_document(a.input));
on_worker!(update_document, |c, a| c.update_document(&a.id, a.input));
on_worker!(delete_document, |c, a| c.delete_document(&a.id));
on_worker!(add_attachment, |c, a| c
    .add_attachment(&a.document_id, a.input));
on_worker!(delete_attachment, |c, a| c.delete_attachment(&a.id));
on_worker!(thumbnail_data_url, |c, a| c.thumbnail_data_url(&a.id));
on_worker!(expiry_reminders, |c, a| c
    .expiry_reminders(a.today.as_deref()));
on_worker!(access_log, |c, _| c.access_log());
on_worker!(application_documents, |c, a| c
    .application_documents(&a.key));

on_worker!(export_backup, |c, a| c.run_backup(
    BackupOp::Export,
    &a.input.path,
    &a.input.passphrase
));
on_worker!(import_backup, |c, a| c.run_backup(
    BackupOp::Import,
    &a.input.path,
    &a.input.passphrase
));
// Polled by the progress bar while a backup holds the vault: it reads an
// atomic snapshot, never the vault.
on_worker!(backup_progress, |c, _| Ok(c.backup_progress()));

on_worker!(list_services, |c, _| Ok(c.list_services()));
on_worker!(list_applications, |c, _| c.list_applications());
on_runtime!(sync_now, |c, _| async move { Ok(c.sync().await) });

on_worker!(my_qr, |c, _| c.my_qr());
on_runtime!(activate_qr, |c, a| c.activate_qr(&a.input.code));
on_runtime!(refresh_qr, |c, _| c.refresh_qr());
on_runtime!(forget_qr, |c, _| c.forget_qr());
on_worker!(show_qr, |c, a| c.show_qr(a.disclosure));
// Decoding a large photo takes a while: off the main thread.
on_worker!(scan_image, |c, a| c.scan_image(a.input));
on_worker!(trust_status, |c, _| c.trust_status());
on_runtime!(update_trust, |c, _| c.update_trust());

on_worker!(camera_start, |c, _| c.camera_start());
on_worker!(camera_status, |c, _| Ok(c.camera_view()));
on_worker!(camera_stop, |c, _| {
    c.camera_stop();
    Ok(())
});
// Listing cameras asks the OS (V4L2 device nodes): off the main thread.
on_worker!(camera_available, |c, _| Ok(c.camera_availability()));
on_worker!(photo_start, |c, _| c.photo_start());
on_worker!(photo_status, |c, _| Ok(c.photo_view()));
// JPEG encoding of a Full HD frame takes tens of milliseconds.
on_worker!(photo_take, |c, _| c.photo_take());

#[tauri::command]
async fn submit_application(
    core: Core<'_>,
    args: commands::submit_application::Args,
) -> Result<<commands::submit_application::Args as Command>::Output, IpcError> {
    let view = blocking(&core, move |c| c.submit_application(args.input)).await?;
    // Try to deliver at once; if the city is unreachable it stays queued and
    // the background scheduler retries.
    let core = core.inner().clone();
    tauri::async_runtime::spawn(async move {
        core.sync().await;
    });
    Ok(view)
}

/// Where a new backup goes unless the citizen types another path: their
/// Documents folder (or Downloads, or home), with today's date in the name.
fn backup_path_default(app: &tauri::AppHandle) -> String {
    let dir = app
        .path()
        .document_dir()
        .or_else(|_| app.path().download_dir())
        .or_else(|_| app.path().home_dir())
        .unwrap_or_else(|_| PathBuf::from("."));
    let today = time::OffsetDateTime::now_utc().date();
    dir.join(format!("cong-dan-so-{today}.cdsbackup"))
        .display()
        .to_string()
}

#[tauri::command]
fn default_backup_path(
    app: tauri::AppHandle,
    args: commands::default_backup_path::Args,
) -> Result<<commands::default_backup_path::Args as Command>::Output, IpcError> {
    let commands::default_backup_path::Args {} = args;
    Ok(backup_path_default(&app))
}

/// Lets the citizen choose the backup file with the desktop's own dialog:
/// where to save it (export) or which one to open (import), starting from
/// `current`, the path in the form (or the default). `None`: cancelled.
#[tauri::command]
async fn choose_backup_file(
    app: tauri::AppHandle,
    args: commands::choose_backup_file::Args,
) -> Result<<commands::choose_backup_file::Args as Command>::Output, IpcError> {
    let commands::choose_backup_file::Args { op, current } = args;
    #[cfg(desktop)]
    {
        let start = if current.trim().is_empty() {
            backup_path_default(&app)
        } else {
            current
        };
        // The dialog blocks until it closes: never on the main thread.
        let chosen = tauri::async_runtime::spawn_blocking(move || {
            dialogs::choose_backup(op, std::path::Path::new(&start))
        })
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, format!("file dialog failed: {e}")))?;
        Ok(chosen.map(|p| p.display().to_string()))
    }
    #[cfg(not(desktop))]
    {
        let _ = (app, op, current);
        Err(IpcError::new(
            ErrorKind::Internal,
            "no file dialog on this platform yet: type the path",
        ))
    }
}

/// Starts the app. Configuration comes from flags and `CDS_*` variables
/// (see [`config`]); a bad flag is reported on stderr and the process exits.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CDS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cfg = match config::from_args_and_env(std::env::args(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cong-dan-so: {e}");
            eprintln!(
                "usage: cong-dan-so [--data-dir DIR] [--backend-url URL] [--ca-cert PEM] [--keyring-service NAME] [--camera-files A.png:B.jpg]"
            );
            std::process::exit(2);
        }
    };
    let result = tauri::Builder::default()
        .setup(move |app| {
            let data_dir = match &cfg.data_dir {
                Some(d) => d.clone(),
                None => app.path().app_data_dir()?,
            };
            let core = Arc::new(AppCore::start(&cfg.app(), &data_dir));
            app.manage(core.clone());
            tauri::async_runtime::spawn(background::drive(core));
            Ok(())
        })
        // The list comes from the catalogue: a command without a handler
        // here does not compile.
        .invoke_handler(cds_view::with_commands!(tauri::generate_handler))
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("cong-dan-so: the window could not be started: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use cds_view::COMMANDS;

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn capability_grants_every_command_and_nothing_else() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let granted: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .map(|p| {
                p.strip_prefix("allow-")
                    .unwrap_or_else(|| {
                        panic!("{p}: the main window is granted only allow-<command>")
                    })
                    .replace('-', "_")
            })
            .collect();
        let expected: Vec<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        assert_eq!(sorted(granted), sorted(expected));
    }

    /// tauri-build writes one permission file per declared command and never
    /// deletes one: a file left from a removed command is stale.
    #[test]
    fn generated_permissions_are_exactly_the_catalogue() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("permissions/autogenerated");
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let expected: Vec<String> = COMMANDS.iter().map(|c| format!("{c}.toml")).collect();
        assert_eq!(sorted(files), sorted(expected));
    }
}
