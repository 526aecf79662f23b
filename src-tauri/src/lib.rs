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
include!("command_names.rs");

use cds_view::{
    ActivateInput, CameraAvailabilityView, CameraView, CapturedPhotoView, MyQrView, PhotoView,
    QrCodeView, QrDisclosure, ScanImageInput, ScanResultView, TrustStatusView,
};
use cds_view::{
    AppStatus, ApplicationView, AttachmentView, BackupInput, BackupOp, BackupProgress,
    BackupSummaryView, DisclosureView, DocumentInput, DocumentSummaryView, DocumentView, ErrorKind,
    ExpiryReminderView, IpcError, NewAttachmentInput, NewDocumentInput, ProfileInput, ProfileView,
    ServiceInfo, SubmitInput, SyncReport,
};
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

#[tauri::command]
async fn app_status(core: Core<'_>) -> Result<AppStatus, IpcError> {
    blocking(&core, |c| Ok(c.status())).await
}

#[tauri::command]
async fn create_vault_with_pin(core: Core<'_>, pin: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.create_vault_with_pin(&pin)).await
}

#[tauri::command]
async fn unlock_vault(core: Core<'_>, pin: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.unlock(&pin)).await
}

#[tauri::command]
async fn lock_vault(core: Core<'_>) -> Result<(), IpcError> {
    blocking(&core, |c| c.lock_vault()).await
}

#[tauri::command]
async fn set_pin(core: Core<'_>, pin: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.set_pin(&pin)).await
}

#[tauri::command]
async fn change_pin(core: Core<'_>, old_pin: String, new_pin: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.change_pin(&old_pin, &new_pin)).await
}

#[tauri::command]
async fn list_profiles(core: Core<'_>) -> Result<Vec<ProfileView>, IpcError> {
    blocking(&core, |c| c.list_profiles()).await
}

#[tauri::command]
async fn add_profile(core: Core<'_>, input: ProfileInput) -> Result<ProfileView, IpcError> {
    blocking(&core, move |c| c.add_profile(input)).await
}

#[tauri::command]
async fn update_profile(
    core: Core<'_>,
    id: String,
    input: ProfileInput,
) -> Result<ProfileView, IpcError> {
    blocking(&core, move |c| c.update_profile(&id, input)).await
}

#[tauri::command]
async fn delete_profile(core: Core<'_>, id: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.delete_profile(&id)).await
}

#[tauri::command]
async fn list_documents(
    core: Core<'_>,
    profile_id: Option<String>,
) -> Result<Vec<DocumentSummaryView>, IpcError> {
    blocking(&core, move |c| c.list_documents(profile_id.as_deref())).await
}

#[tauri::command]
async fn search_documents(
    core: Core<'_>,
    profile_id: Option<String>,
    query: String,
) -> Result<Vec<DocumentSummaryView>, IpcError> {
    blocking(&core, move |c| {
        c.search_documents(profile_id.as_deref(), &query)
    })
    .await
}

#[tauri::command]
async fn get_document(core: Core<'_>, id: String) -> Result<DocumentView, IpcError> {
    blocking(&core, move |c| c.get_document(&id)).await
}

#[tauri::command]
async fn add_document(core: Core<'_>, input: NewDocumentInput) -> Result<DocumentView, IpcError> {
    blocking(&core, move |c| c.add_document(input)).await
}

#[tauri::command]
async fn update_document(
    core: Core<'_>,
    id: String,
    input: DocumentInput,
) -> Result<DocumentView, IpcError> {
    blocking(&core, move |c| c.update_document(&id, input)).await
}

#[tauri::command]
async fn delete_document(core: Core<'_>, id: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.delete_document(&id)).await
}

#[tauri::command]
async fn add_attachment(
    core: Core<'_>,
    document_id: String,
    input: NewAttachmentInput,
) -> Result<AttachmentView, IpcError> {
    blocking(&core, move |c| c.add_attachment(&document_id, input)).await
}

#[tauri::command]
async fn delete_attachment(core: Core<'_>, id: String) -> Result<(), IpcError> {
    blocking(&core, move |c| c.delete_attachment(&id)).await
}

#[tauri::command]
async fn thumbnail_data_url(core: Core<'_>, id: String) -> Result<Option<String>, IpcError> {
    blocking(&core, move |c| c.thumbnail_data_url(&id)).await
}

#[tauri::command]
async fn expiry_reminders(
    core: Core<'_>,
    today: Option<String>,
) -> Result<Vec<ExpiryReminderView>, IpcError> {
    blocking(&core, move |c| c.expiry_reminders(today.as_deref())).await
}

#[tauri::command]
async fn access_log(core: Core<'_>) -> Result<Vec<DisclosureView>, IpcError> {
    blocking(&core, |c| c.access_log()).await
}

#[tauri::command]
async fn application_documents(
    core: Core<'_>,
    key: String,
) -> Result<Vec<DocumentSummaryView>, IpcError> {
    blocking(&core, move |c| c.application_documents(&key)).await
}

/// Where a new backup goes unless the citizen types another path: their
/// Documents folder (or Downloads, or home), with today's date in the name.
#[tauri::command]
fn default_backup_path(app: tauri::AppHandle) -> String {
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
async fn export_backup(core: Core<'_>, input: BackupInput) -> Result<BackupSummaryView, IpcError> {
    blocking(&core, move |c| {
        c.run_backup(BackupOp::Export, &input.path, &input.passphrase)
    })
    .await
}

#[tauri::command]
async fn import_backup(core: Core<'_>, input: BackupInput) -> Result<BackupSummaryView, IpcError> {
    blocking(&core, move |c| {
        c.run_backup(BackupOp::Import, &input.path, &input.passphrase)
    })
    .await
}

/// Polled by the backup screen's progress bar while a backup runs.
#[tauri::command]
fn backup_progress(core: Core<'_>) -> BackupProgress {
    core.backup_progress()
}

#[tauri::command]
fn list_services(core: Core<'_>) -> Vec<ServiceInfo> {
    core.list_services()
}

#[tauri::command]
async fn submit_application(
    core: Core<'_>,
    input: SubmitInput,
) -> Result<ApplicationView, IpcError> {
    let view = blocking(&core, move |c| c.submit_application(input)).await?;
    // Try to deliver at once; if the city is unreachable it stays queued and
    // the background tick retries.
    let core = core.inner().clone();
    tauri::async_runtime::spawn(async move {
        core.sync().await;
    });
    Ok(view)
}

#[tauri::command]
async fn list_applications(core: Core<'_>) -> Result<Vec<ApplicationView>, IpcError> {
    blocking(&core, |c| c.list_applications()).await
}

#[tauri::command]
async fn sync_now(core: Core<'_>) -> Result<SyncReport, IpcError> {
    Ok(core.inner().clone().sync().await)
}

#[tauri::command]
async fn my_qr(core: Core<'_>) -> Result<MyQrView, IpcError> {
    blocking(&core, |c| c.my_qr()).await
}

#[tauri::command]
async fn activate_qr(core: Core<'_>, input: ActivateInput) -> Result<MyQrView, IpcError> {
    core.inner().clone().activate_qr(&input.code).await
}

#[tauri::command]
async fn refresh_qr(core: Core<'_>) -> Result<MyQrView, IpcError> {
    core.inner().clone().refresh_qr().await
}

#[tauri::command]
async fn forget_qr(core: Core<'_>) -> Result<(), IpcError> {
    core.inner().clone().forget_qr().await
}

#[tauri::command]
async fn show_qr(core: Core<'_>, disclosure: QrDisclosure) -> Result<QrCodeView, IpcError> {
    blocking(&core, move |c| c.show_qr(disclosure)).await
}

#[tauri::command]
async fn scan_image(core: Core<'_>, input: ScanImageInput) -> Result<ScanResultView, IpcError> {
    // Decoding a large photo takes a while: off the main thread.
    blocking(&core, move |c| c.scan_image(input)).await
}

#[tauri::command]
async fn trust_status(core: Core<'_>) -> Result<TrustStatusView, IpcError> {
    blocking(&core, |c| c.trust_status()).await
}

#[tauri::command]
async fn update_trust(core: Core<'_>) -> Result<TrustStatusView, IpcError> {
    core.inner().clone().update_trust().await
}

#[tauri::command]
async fn camera_start(core: Core<'_>) -> Result<CameraView, IpcError> {
    blocking(&core, |c| c.camera_start()).await
}

#[tauri::command]
async fn camera_status(core: Core<'_>) -> Result<CameraView, IpcError> {
    blocking(&core, |c| Ok(c.camera_view())).await
}

#[tauri::command]
async fn camera_stop(core: Core<'_>) -> Result<(), IpcError> {
    blocking(&core, |c| {
        c.camera_stop();
        Ok(())
    })
    .await
}

#[tauri::command]
async fn camera_available(core: Core<'_>) -> Result<CameraAvailabilityView, IpcError> {
    // Listing cameras asks the OS (V4L2 device nodes): off the main thread.
    blocking(&core, |c| Ok(c.camera_availability())).await
}

#[tauri::command]
async fn photo_start(core: Core<'_>) -> Result<PhotoView, IpcError> {
    blocking(&core, |c| c.photo_start()).await
}

#[tauri::command]
async fn photo_status(core: Core<'_>) -> Result<PhotoView, IpcError> {
    blocking(&core, |c| Ok(c.photo_view())).await
}

#[tauri::command]
async fn photo_take(core: Core<'_>) -> Result<CapturedPhotoView, IpcError> {
    // JPEG encoding of a Full HD frame takes tens of milliseconds.
    blocking(&core, |c| c.photo_take()).await
}

/// Lets the citizen choose the backup file with the desktop's own dialog:
/// where to save it (export) or which one to open (import), starting from
/// `current`, the path in the form (or the default). `None`: cancelled.
#[tauri::command]
async fn choose_backup_file(
    app: tauri::AppHandle,
    op: BackupOp,
    current: String,
) -> Result<Option<String>, IpcError> {
    #[cfg(desktop)]
    {
        let start = if current.trim().is_empty() {
            default_backup_path(app)
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
        .invoke_handler(tauri::generate_handler![
            app_status,
            create_vault_with_pin,
            unlock_vault,
            lock_vault,
            set_pin,
            change_pin,
            list_profiles,
            add_profile,
            update_profile,
            delete_profile,
            list_documents,
            search_documents,
            get_document,
            add_document,
            update_document,
            delete_document,
            add_attachment,
            delete_attachment,
            thumbnail_data_url,
            expiry_reminders,
            access_log,
            application_documents,
            default_backup_path,
            export_backup,
            import_backup,
            backup_progress,
            list_services,
            submit_application,
            list_applications,
            sync_now,
            my_qr,
            activate_qr,
            refresh_qr,
            forget_qr,
            show_qr,
            scan_image,
            trust_status,
            update_trust,
            camera_start,
            camera_status,
            camera_stop,
            camera_available,
            photo_start,
            photo_status,
            photo_take,
            choose_backup_file,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("cong-dan-so: the window could not be started: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::COMMANDS;

    #[test]
    fn capability_grants_every_command_and_nothing_else() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let mut granted: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        granted.sort();
        let mut expected: Vec<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        expected.sort();
        assert_eq!(granted, expected);
        let handler_src = include_str!("lib.rs");
        for c in COMMANDS {
            assert!(
                handler_src.contains(&format!("fn {c}(")),
                "command {c} has no handler"
            );
        }
    }
}
