//! The Tauri 2 shell of Công dân số: IPC commands, app state and platform
//! glue. It stays thin: behaviour lives in [`core::AppCore`] and in the
//! library crates (`cds-vault`, `cds-sync`); this file only adapts them to
//! Tauri.
//!
//! Desktop and mobile share this library; `main.rs` is the desktop entry and
//! `mobile_entry_point` the Android/iOS one.

pub mod config;
pub mod core;
include!("command_names.rs");

use cds_view::{
    AppStatus, ApplicationView, DocumentView, IpcError, NewDocumentInput, ServiceInfo,
    SubmitInput, SyncReport,
};
use std::sync::Arc;
use std::time::Duration;
use tauri::Manager;

use crate::core::AppCore;

/// How often the background sync looks at the outbox.
const SYNC_TICK: Duration = Duration::from_secs(5);

type Core<'a> = tauri::State<'a, Arc<AppCore>>;

#[tauri::command]
fn app_status(core: Core<'_>) -> AppStatus {
    core.status()
}

#[tauri::command]
fn list_documents(core: Core<'_>) -> Result<Vec<DocumentView>, IpcError> {
    core.list_documents()
}

#[tauri::command]
async fn add_document(core: Core<'_>, input: NewDocumentInput) -> Result<DocumentView, IpcError> {
    // Encryption of a 20 MB photo takes a moment: keep it off the UI thread.
    let core = core.inner().clone();
    tauri::async_runtime::spawn_blocking(move || core.add_document(input))
        .await
        .map_err(|e| IpcError::new(cds_view::ErrorKind::Internal, e.to_string()))?
}

#[tauri::command]
async fn attachment_data_url(core: Core<'_>, id: String) -> Result<String, IpcError> {
    let core = core.inner().clone();
    tauri::async_runtime::spawn_blocking(move || core.attachment_data_url(&id))
        .await
        .map_err(|e| IpcError::new(cds_view::ErrorKind::Internal, e.to_string()))?
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
    let core = core.inner().clone();
    let view = core.submit_application(input)?;
    // Try to deliver at once; if the city is unreachable it stays queued and
    // the background tick retries.
    tauri::async_runtime::spawn(async move {
        core.sync().await;
    });
    Ok(view)
}

#[tauri::command]
fn list_applications(core: Core<'_>) -> Result<Vec<ApplicationView>, IpcError> {
    core.list_applications()
}

#[tauri::command]
async fn sync_now(core: Core<'_>) -> Result<SyncReport, IpcError> {
    Ok(core.inner().clone().sync().await)
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
                "usage: cong-dan-so [--data-dir DIR] [--backend-url URL] [--ca-cert PEM] [--keyring-service NAME]"
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
            let core = Arc::new(AppCore::start(&cfg, &data_dir));
            app.manage(core.clone());
            tauri::async_runtime::spawn(async move {
                loop {
                    tokio::time::sleep(SYNC_TICK).await;
                    if core.has_pending() {
                        core.sync().await;
                    }
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_status,
            list_documents,
            add_document,
            attachment_data_url,
            list_services,
            submit_application,
            list_applications,
            sync_now,
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
