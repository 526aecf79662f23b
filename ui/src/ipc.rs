//! Typed calls to the Tauri shell's commands.
//!
//! The shell does not set `withGlobalTauri`, so there is no `window.__TAURI__`;
//! we call the internal `invoke` that Tauri 2 always injects. Pages call
//! [`call`] with a command's arguments from the catalogue
//! (`cds_view::commands`, re-exported here as [`cmd`]): the command's name
//! and its result type come from the same entry, so a page cannot call a
//! command that does not exist or misread its answer. Pages never see
//! `JsValue`s.
//!
//! Every failure becomes a [`cds_view::IpcError`]: a rejected command already
//! is one (the shell serialises it as `{kind, message}`); anything else (no
//! Tauri at all, an unknown command, a result of the wrong shape) becomes
//! `ErrorKind::Internal` with the best description we can get.

pub use cds_view::commands as cmd;
use cds_view::{Command, ErrorKind, ExpiryReminderView, IpcError};
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

/// Calls the command whose arguments these are; see the module's docs.
pub async fn call<A: Command>(args: A) -> Result<A::Output, IpcError> {
    // The shell's handlers take their arguments as one `args` object.
    #[derive(Serialize)]
    struct Payload<'a, T> {
        args: &'a T,
    }
    let value = invoke(A::NAME, to_args(&Payload { args: &args })?)
        .await
        .map_err(to_ipc_error)?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| internal(format!("unexpected answer from `{}`: {e}", A::NAME)))
}

/// Reminders counted from the device's local date (the shell only knows
/// UTC reliably).
pub async fn expiry_reminders() -> Result<Vec<ExpiryReminderView>, IpcError> {
    let (y, m, d) = crate::format::today();
    let today = Some(format!("{y:04}-{m:02}-{d:02}"));
    call(cmd::expiry_reminders::Args { today }).await
}
