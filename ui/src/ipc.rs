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
    AppStatus, ApplicationView, DocumentView, ErrorKind, IpcError, NewDocumentInput, ServiceInfo,
    SubmitInput, SyncReport,
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

pub async fn list_documents() -> Result<Vec<DocumentView>, IpcError> {
    call("list_documents", no_args()).await
}

pub async fn add_document(input: &NewDocumentInput) -> Result<DocumentView, IpcError> {
    call("add_document", to_args(&InputArg { input })?).await
}

/// A `data:` URL of an attachment, for an `<img src>`.
pub async fn attachment_data_url(id: &str) -> Result<String, IpcError> {
    call("attachment_data_url", to_args(&IdArg { id })?).await
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
