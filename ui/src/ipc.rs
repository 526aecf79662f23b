//! Typed calls to the Tauri shell's commands.
//!
//! The shell does not set `withGlobalTauri`, so there is no `window.__TAURI__`;
//! we call the internal `invoke` that Tauri 2 always injects. Each command has
//! a typed async wrapper here; pages never see `JsValue`s.
//!
//! Every failure becomes a [`cds_view::IpcError`]: a rejected command already
//! is one (the shell serialises it as `{kind, message}`); anything else (no
//! Tauri at all, an unknown command, a result of the wrong shape) becomes
//! `ErrorKind::Internal` with the best description we can get.

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
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI_INTERNALS__.invoke(cmd, args)`: a promise of the
    /// command's result. `catch` turns a rejection (or a missing
    /// `__TAURI_INTERNALS__`) into `Err` instead of a JS exception.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

fn internal(message: impl Into<String>) -> IpcError {
    IpcError::new(ErrorKind::Internal, message)
}

/// Serialises command arguments. Maps become plain objects (not JS `Map`s),
/// which is what Tauri's JSON bridge expects.
fn to_args<T: Serialize>(args: &T) -> Result<JsValue, IpcError> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    args.serialize(&serializer)
        .map_err(|e| internal(format!("could not encode the arguments: {e}")))
}

/// Turns whatever a rejected promise carried into an [`IpcError`].
fn to_ipc_error(err: JsValue) -> IpcError {
    if let Ok(e) = serde_wasm_bindgen::from_value::<IpcError>(err.clone()) {
        return e;
    }
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        return internal(String::from(e.message()));
    }
    if let Some(s) = err.as_string() {
        return internal(s);
    }
    let shown = js_sys::JSON::stringify(&err)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "unknown error".to_owned());
    internal(shown)
}

async fn call<R: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<R, IpcError> {
    let value = invoke(cmd, args).await.map_err(to_ipc_error)?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| internal(format!("unexpected answer from `{cmd}`: {e}")))
}

/// Commands without arguments still get an (empty) object.
fn no_args() -> JsValue {
    js_sys::Object::new().into()
}

#[derive(Serialize)]
struct InputArg<'a, T> {
    input: &'a T,
}

#[derive(Serialize)]
struct IdArg<'a> {
    id: &'a str,
}

pub async fn app_status() -> Result<AppStatus, IpcError> {
    call("app_status", no_args()).await
}

/// Documents of one profile (all when `None`).
pub async fn list_documents(
    profile_id: Option<&str>,
) -> Result<Vec<DocumentSummaryView>, IpcError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct A<'a> {
        profile_id: Option<&'a str>,
    }
    call("list_documents", to_args(&A { profile_id })?).await
}

/// Diacritics- and case-insensitive search (done by the vault).
pub async fn search_documents(
    profile_id: Option<&str>,
    query: &str,
) -> Result<Vec<DocumentSummaryView>, IpcError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct A<'a> {
        profile_id: Option<&'a str>,
        query: &'a str,
    }
    call("search_documents", to_args(&A { profile_id, query })?).await
}

pub async fn get_document(id: &str) -> Result<DocumentView, IpcError> {
    call("get_document", to_args(&IdArg { id })?).await
}

pub async fn add_document(input: &NewDocumentInput) -> Result<DocumentView, IpcError> {
    call("add_document", to_args(&InputArg { input })?).await
}

pub async fn update_document(id: &str, input: &DocumentInput) -> Result<DocumentView, IpcError> {
    #[derive(Serialize)]
    struct A<'a> {
        id: &'a str,
        input: &'a DocumentInput,
    }
    call("update_document", to_args(&A { id, input })?).await
}

pub async fn delete_document(id: &str) -> Result<(), IpcError> {
    call("delete_document", to_args(&IdArg { id })?).await
}

pub async fn add_attachment(
    document_id: &str,
    input: &NewAttachmentInput,
) -> Result<AttachmentView, IpcError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct A<'a> {
        document_id: &'a str,
        input: &'a NewAttachmentInput,
    }
    call("add_attachment", to_args(&A { document_id, input })?).await
}

pub async fn delete_attachment(id: &str) -> Result<(), IpcError> {
    call("delete_attachment", to_args(&IdArg { id })?).await
}

/// A `data:` URL of an attachment's JPEG thumbnail, for an `<img src>`.
pub async fn thumbnail_data_url(id: &str) -> Result<Option<String>, IpcError> {
    call("thumbnail_data_url", to_args(&IdArg { id })?).await
}

/// Reminders counted from the device's local date (the shell only knows
/// UTC reliably).
pub async fn expiry_reminders() -> Result<Vec<ExpiryReminderView>, IpcError> {
    #[derive(Serialize)]
    struct A {
        today: String,
    }
    let (y, m, d) = crate::format::today();
    let today = format!("{y:04}-{m:02}-{d:02}");
    call("expiry_reminders", to_args(&A { today })?).await
}

pub async fn access_log() -> Result<Vec<DisclosureView>, IpcError> {
    call("access_log", no_args()).await
}

pub async fn application_documents(key: &str) -> Result<Vec<DocumentSummaryView>, IpcError> {
    #[derive(Serialize)]
    struct A<'a> {
        key: &'a str,
    }
    call("application_documents", to_args(&A { key })?).await
}

// ---- profiles ----

pub async fn list_profiles() -> Result<Vec<ProfileView>, IpcError> {
    call("list_profiles", no_args()).await
}

pub async fn add_profile(input: &ProfileInput) -> Result<ProfileView, IpcError> {
    call("add_profile", to_args(&InputArg { input })?).await
}

pub async fn update_profile(id: &str, input: &ProfileInput) -> Result<ProfileView, IpcError> {
    #[derive(Serialize)]
    struct A<'a> {
        id: &'a str,
        input: &'a ProfileInput,
    }
    call("update_profile", to_args(&A { id, input })?).await
}

pub async fn delete_profile(id: &str) -> Result<(), IpcError> {
    call("delete_profile", to_args(&IdArg { id })?).await
}

// ---- PIN and lock ----

#[derive(Serialize)]
struct PinArg<'a> {
    pin: &'a str,
}

pub async fn create_vault_with_pin(pin: &str) -> Result<(), IpcError> {
    call("create_vault_with_pin", to_args(&PinArg { pin })?).await
}

pub async fn unlock_vault(pin: &str) -> Result<(), IpcError> {
    call("unlock_vault", to_args(&PinArg { pin })?).await
}

pub async fn lock_vault() -> Result<(), IpcError> {
    call("lock_vault", no_args()).await
}

pub async fn set_pin(pin: &str) -> Result<(), IpcError> {
    call("set_pin", to_args(&PinArg { pin })?).await
}

pub async fn change_pin(old_pin: &str, new_pin: &str) -> Result<(), IpcError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct A<'a> {
        old_pin: &'a str,
        new_pin: &'a str,
    }
    call("change_pin", to_args(&A { old_pin, new_pin })?).await
}

// ---- backup ----

pub async fn default_backup_path() -> Result<String, IpcError> {
    call("default_backup_path", no_args()).await
}

pub async fn export_backup(input: &BackupInput) -> Result<BackupSummaryView, IpcError> {
    call("export_backup", to_args(&InputArg { input })?).await
}

pub async fn import_backup(input: &BackupInput) -> Result<BackupSummaryView, IpcError> {
    call("import_backup", to_args(&InputArg { input })?).await
}

pub async fn backup_progress() -> Result<BackupProgress, IpcError> {
    call("backup_progress", no_args()).await
}

/// The catalogue; works offline from the shell's cached copy.
pub async fn list_services() -> Result<Vec<ServiceInfo>, IpcError> {
    call("list_services", no_args()).await
}

pub async fn submit_application(input: &SubmitInput) -> Result<ApplicationView, IpcError> {
    call("submit_application", to_args(&InputArg { input })?).await
}

pub async fn list_applications() -> Result<Vec<ApplicationView>, IpcError> {
    call("list_applications", no_args()).await
}

pub async fn sync_now() -> Result<SyncReport, IpcError> {
    call("sync_now", no_args()).await
}

// ---- citizen QR, scanning, officer check ----

pub async fn my_qr() -> Result<MyQrView, IpcError> {
    call("my_qr", no_args()).await
}

pub async fn activate_qr(code: &str) -> Result<MyQrView, IpcError> {
    let input = ActivateInput {
        code: code.to_owned(),
    };
    call("activate_qr", to_args(&InputArg { input: &input })?).await
}

pub async fn refresh_qr() -> Result<MyQrView, IpcError> {
    call("refresh_qr", no_args()).await
}

pub async fn forget_qr() -> Result<(), IpcError> {
    call("forget_qr", no_args()).await
}

pub async fn show_qr(disclosure: QrDisclosure) -> Result<QrCodeView, IpcError> {
    #[derive(Serialize)]
    struct A {
        disclosure: QrDisclosure,
    }
    call("show_qr", to_args(&A { disclosure })?).await
}

pub async fn scan_image(input: &ScanImageInput) -> Result<ScanResultView, IpcError> {
    call("scan_image", to_args(&InputArg { input })?).await
}

pub async fn trust_status() -> Result<TrustStatusView, IpcError> {
    call("trust_status", no_args()).await
}

pub async fn update_trust() -> Result<TrustStatusView, IpcError> {
    call("update_trust", no_args()).await
}

pub async fn camera_start() -> Result<CameraView, IpcError> {
    call("camera_start", no_args()).await
}

pub async fn camera_status() -> Result<CameraView, IpcError> {
    call("camera_status", no_args()).await
}

pub async fn camera_stop() -> Result<(), IpcError> {
    call("camera_stop", no_args()).await
}

pub async fn camera_available() -> Result<CameraAvailabilityView, IpcError> {
    call("camera_available", no_args()).await
}

pub async fn photo_start() -> Result<PhotoView, IpcError> {
    call("photo_start", no_args()).await
}

pub async fn photo_status() -> Result<PhotoView, IpcError> {
    call("photo_status", no_args()).await
}

pub async fn photo_take() -> Result<CapturedPhotoView, IpcError> {
    call("photo_take", no_args()).await
}

/// The desktop's file dialog for the backup file; `None`: cancelled.
pub async fn choose_backup_file(op: BackupOp, current: &str) -> Result<Option<String>, IpcError> {
    #[derive(Serialize)]
    struct A<'a> {
        op: BackupOp,
        current: &'a str,
    }
    call("choose_backup_file", to_args(&A { op, current })?).await
}
