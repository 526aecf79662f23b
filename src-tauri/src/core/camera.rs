//! The camera scanner behind the `camera_*` commands.
//!
//! Desktop: `cds-camera` opens the first camera through nokhwa and decodes
//! frames on its own thread; the UI polls [`view`] for a small preview and
//! the result. Mobile will hand the platform scanner's text to
//! [`AppCore::routed_view`] instead (not built yet), so this module is the
//! only place that knows about nokhwa.

use super::{data_url, lock, AppCore};
use cds_view::{CameraView, ErrorKind, IpcError};

/// A running (or finished) camera scan.
pub struct CameraRun {
    session: cds_camera::ScanSession,
    name: String,
}

/// Every camera failure leaves the citizen the same choice (pick a
/// picture instead); the message says which failure it was.
fn camera_error(e: cds_camera::CameraError) -> IpcError {
    IpcError::new(ErrorKind::CameraUnavailable, e.to_string())
}

impl AppCore {
    /// Opens the first camera and starts scanning. A scan already running
    /// is stopped first (one camera user at a time).
    pub fn camera_start(&self) -> Result<CameraView, IpcError> {
        self.camera_stop();
        let cameras = cds_camera::list_cameras().map_err(camera_error)?;
        let Some(first) = cameras.first() else {
            return Err(IpcError::new(
                ErrorKind::CameraUnavailable,
                "no camera was found on this device",
            ));
        };
        let source = open_camera(first.index)?;
        let session = cds_camera::ScanSession::start(source).map_err(camera_error)?;
        *lock(&self.qr.camera) = Some(CameraRun {
            session,
            name: first.name.clone(),
        });
        Ok(view(self))
    }

    /// Stops the camera (and frees it for other apps).
    pub fn camera_stop(&self) {
        let run = lock(&self.qr.camera).take();
        if let Some(run) = run {
            run.session.stop();
        }
    }
}

#[cfg(desktop)]
fn open_camera(index: u32) -> Result<Box<dyn cds_camera::FrameSource>, IpcError> {
    let cam = cds_camera::NokhwaCamera::open(index).map_err(camera_error)?;
    Ok(Box::new(cam))
}

#[cfg(not(desktop))]
fn open_camera(_index: u32) -> Result<Box<dyn cds_camera::FrameSource>, IpcError> {
    Err(IpcError::new(
        ErrorKind::CameraUnavailable,
        "the in-app camera is not available on this platform yet: pick a picture instead",
    ))
}

/// The scanner as the UI sees it. A found code is routed like any scan.
pub fn view(core: &AppCore) -> CameraView {
    let guard = lock(&core.qr.camera);
    let Some(run) = guard.as_ref() else {
        return CameraView {
            running: false,
            camera_name: None,
            frames: 0,
            preview_data_url: None,
            result: None,
            error: None,
        };
    };
    let st = run.session.status();
    let name = run.name.clone();
    drop(guard);
    let (result, mut error) = match &st.found {
        Some(text) => match core.routed_view(cds_qr::route(text)) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    if let Some((_, message)) = &st.error {
        error = Some(IpcError::new(ErrorKind::CameraUnavailable, message.clone()));
    }
    CameraView {
        running: !st.finished,
        camera_name: Some(name),
        frames: st.frames,
        preview_data_url: st
            .preview_jpeg
            .as_deref()
            .map(|j| data_url("image/jpeg", j)),
        result,
        error,
    }
}
