//! The camera behind the `camera_*` (QR scanner) and `photo_*` (photo of a
//! paper) commands.
//!
//! Desktop: `cds-camera` opens the first camera through nokhwa and runs it
//! on its own thread; the UI polls for a small preview and the result.
//! When the app is given image files as a virtual camera
//! (`CDS_CAMERA_FILES`), those are the camera instead, on every platform.
//! Mobile will hand the platform scanner's text to [`AppCore::routed_view`]
//! and the platform camera's photo to `add_attachment` (not built yet), so
//! this module is the only place that knows about nokhwa (the
//! `native-camera` feature).
//!
//! One camera user at a time: starting a scan stops a photo preview and
//! the other way round, since most webcams cannot be opened twice.

use crate::attachments::{data_url, MAX_ATTACHMENT_BYTES};
use crate::error::{from_camera, too_large};
use crate::{lock, AppCore};
use base64::Engine;
use cds_camera::{FrameSource, PhotoSession, Purpose, ScanSession};
use cds_view::{
    CameraAvailabilityView, CameraView, CapturedPhotoView, ErrorKind, IpcError, PhotoView,
};
use std::sync::Mutex;
use std::time::Duration;

/// The virtual camera's frame period (30 fps, like a webcam).
const VIRTUAL_FRAME: Duration = Duration::from_millis(33);

/// The camera's one user at a time: a QR scan or a photo preview. Most
/// webcams cannot be opened twice, so starting one stops the other.
#[derive(Default)]
pub struct CameraSlot {
    run: Mutex<Option<CameraRun>>,
}

/// The camera in use.
enum CameraRun {
    Scan { session: ScanSession, name: String },
    Photo { session: PhotoSession, name: String },
}

fn no_camera() -> IpcError {
    IpcError::new(
        ErrorKind::CameraUnavailable,
        "no camera was found on this device",
    )
}

impl AppCore {
    /// Whether a camera can be used, and its name.
    pub fn camera_availability(&self) -> CameraAvailabilityView {
        match self.first_camera() {
            Ok(Some((_, name))) => CameraAvailabilityView {
                available: true,
                camera_name: Some(name),
            },
            // "Cannot list" and "none listed" are the same to the citizen:
            // no camera button.
            Ok(None) | Err(_) => CameraAvailabilityView {
                available: false,
                camera_name: None,
            },
        }
    }

    /// The first camera: `(index, name)`; index 0 for the virtual camera.
    fn first_camera(&self) -> Result<Option<(u32, String)>, IpcError> {
        if !self.camera_files.is_empty() {
            return Ok(Some((
                0,
                format!(
                    "Camera ảo / virtual camera ({} tệp ảnh)",
                    self.camera_files.len()
                ),
            )));
        }
        let cameras = cds_camera::list_cameras().map_err(from_camera)?;
        Ok(cameras.into_iter().next().map(|c| (c.index, c.name)))
    }

    /// Opens the first camera for `purpose`; returns it and its name.
    fn open_first(&self, purpose: Purpose) -> Result<(Box<dyn FrameSource>, String), IpcError> {
        let (index, name) = self.first_camera()?.ok_or_else(no_camera)?;
        if !self.camera_files.is_empty() {
            let cam = cds_camera::VirtualCamera::open(&self.camera_files, VIRTUAL_FRAME)
                .map_err(from_camera)?;
            return Ok((Box::new(cam), name));
        }
        Ok((open_camera(index, purpose)?, name))
    }

    /// Opens the first camera and starts scanning. Whatever used the
    /// camera before is stopped first.
    pub fn camera_start(&self) -> Result<CameraView, IpcError> {
        self.camera_stop();
        let (source, name) = self.open_first(Purpose::Scan)?;
        let session = ScanSession::start(source).map_err(from_camera)?;
        *lock(&self.camera.run) = Some(CameraRun::Scan { session, name });
        Ok(view(self))
    }

    /// Opens the first camera for a photo of a paper and starts its
    /// preview. Whatever used the camera before is stopped first.
    pub fn photo_start(&self) -> Result<PhotoView, IpcError> {
        self.camera_stop();
        let (source, name) = self.open_first(Purpose::Photo)?;
        let session = PhotoSession::start(source).map_err(from_camera)?;
        *lock(&self.camera.run) = Some(CameraRun::Photo { session, name });
        Ok(self.photo_view())
    }

    /// The photo preview as the UI sees it.
    pub fn photo_view(&self) -> PhotoView {
        let guard = lock(&self.camera.run);
        let Some(CameraRun::Photo { session, name }) = guard.as_ref() else {
            return PhotoView {
                running: false,
                camera_name: None,
                frames: 0,
                width: 0,
                height: 0,
                preview_data_url: None,
                error: None,
            };
        };
        let st = session.status();
        PhotoView {
            running: !st.finished,
            camera_name: Some(name.clone()),
            frames: st.frames,
            width: st.width,
            height: st.height,
            preview_data_url: st
                .preview_jpeg
                .as_deref()
                .map(|j| data_url("image/jpeg", j)),
            error: st
                .error
                .map(|(_, message)| IpcError::new(ErrorKind::CameraUnavailable, message)),
        }
    }

    /// Takes the photo: the newest frame as JPEG, and frees the camera.
    /// Nothing is stored: the UI adds it as an attachment (to the document
    /// being created or the one shown), so a photo the citizen does not
    /// keep leaves no trace.
    pub fn photo_take(&self) -> Result<CapturedPhotoView, IpcError> {
        // Taken out of the slot first: encoding a Full HD JPEG takes tens of
        // milliseconds, and the UI's polls must not wait on the slot's lock
        // meanwhile.
        let run = lock(&self.camera.run).take();
        let Some(CameraRun::Photo { session, name }) = run else {
            if let Some(other) = run {
                // A scan was running: it keeps running.
                *lock(&self.camera.run) = Some(other);
            }
            return Err(IpcError::new(
                ErrorKind::CameraUnavailable,
                "the camera is not open for a photo",
            ));
        };
        let photo = match session.take() {
            Ok(p) => p,
            Err(e) => {
                // No frame yet: the preview keeps running, so the citizen
                // can simply press again (unless something else has opened
                // the camera meanwhile).
                let mut slot = lock(&self.camera.run);
                if slot.is_none() {
                    *slot = Some(CameraRun::Photo { session, name });
                }
                return Err(from_camera(e));
            }
        };
        session.stop();
        if photo.jpeg.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(too_large("the photo"));
        }
        Ok(CapturedPhotoView {
            mime: "image/jpeg".into(),
            bytes: photo.jpeg.len() as u64,
            data_base64: base64::engine::general_purpose::STANDARD.encode(&photo.jpeg),
            width: photo.width,
            height: photo.height,
        })
    }

    /// The scanner as the UI sees it (polled while it runs).
    pub fn camera_view(&self) -> CameraView {
        view(self)
    }

    /// Stops the camera (and frees it for other apps).
    pub fn camera_stop(&self) {
        let run = lock(&self.camera.run).take();
        match run {
            Some(CameraRun::Scan { session, .. }) => {
                session.stop();
            }
            Some(CameraRun::Photo { session, .. }) => {
                session.stop();
            }
            None => {}
        }
    }
}

#[cfg(feature = "native-camera")]
fn open_camera(index: u32, purpose: Purpose) -> Result<Box<dyn FrameSource>, IpcError> {
    let cam = cds_camera::NokhwaCamera::open_for(index, purpose).map_err(from_camera)?;
    Ok(Box::new(cam))
}

#[cfg(not(feature = "native-camera"))]
fn open_camera(_index: u32, _purpose: Purpose) -> Result<Box<dyn FrameSource>, IpcError> {
    Err(IpcError::new(
        ErrorKind::CameraUnavailable,
        "the in-app camera is not available on this platform yet: pick a picture instead",
    ))
}

/// The scanner as the UI sees it. A found code is routed like any scan.
fn view(core: &AppCore) -> CameraView {
    let guard = lock(&core.camera.run);
    let Some(CameraRun::Scan { session, name }) = guard.as_ref() else {
        return CameraView {
            running: false,
            camera_name: None,
            frames: 0,
            preview_data_url: None,
            result: None,
            error: None,
        };
    };
    let st = session.status();
    let name = name.clone();
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
