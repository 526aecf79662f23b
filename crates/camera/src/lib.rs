//! The camera for Công dân số: scanning QR codes and taking photos of
//! documents.
//!
//! # The interface, and why the camera sits behind it
//!
//! Camera access differs per platform. On a phone the platform scanner
//! (Android's ML Kit / CameraX, iOS's AVFoundation/VisionKit) already finds
//! and decodes codes and owns the viewfinder, so a mobile build either
//! receives decoded text directly, or hands over grey frames through a
//! bridge. On the desktop nothing like that exists, so the app captures
//! webcam frames itself with [nokhwa](https://docs.rs/nokhwa) (feature
//! `nokhwa`, on by default) and decodes them with `cds-qr`.
//!
//! Both meet at one small trait, [`FrameSource`]: "give me the next grey
//! [`Frame`], or `None` when you are done". [`ScanSession`] runs the scan
//! over any source on its own thread, and the app only ever sees a
//! [`ScanStatus`] (frames seen, the text found, a small JPEG preview for
//! the viewfinder, an error). [`PhotoSession`] does the same for a photo
//! of a paper: a colour preview ([`FrameSource::next_photo`]) and
//! [`PhotoSession::take`], which encodes the newest frame as JPEG. Sources:
//!
//! - [`NokhwaCamera`] — a desktop webcam (feature `nokhwa`); find cameras
//!   with [`list_cameras`].
//! - [`ImageFrames`] — a list of images, files or frames already decoded:
//!   the tests' source, and the shape a mobile bridge that passes platform
//!   frames takes.
//! - [`VirtualCamera`] — image files played in a loop at a camera's frame
//!   rate: the camera of a machine that has none (demos, end-to-end tests).
//!
//! Without the `nokhwa` feature (mobile, wasm) [`list_cameras`] returns
//! [`CameraError::Unsupported`] and no native camera code is built.
//!
//! # Testing without a camera
//!
//! CI machines (and the development machine this was written on) have no
//! camera: nokhwa lists none. So everything above the device is tested on
//! decoded frames from photos (`crates/qr/tests/photos`) through
//! [`ImageFrames`] and small test sources; only opening a device is left to
//! a machine with a webcam. The tests still check that a missing camera is
//! a clean [`CameraError::NotFound`], not a panic.
//!
//! ```no_run
//! use cds_camera::{ImageFrames, ScanSession};
//! use std::time::Duration;
//!
//! let source = ImageFrames::from_paths(["code.png"]);
//! let session = ScanSession::start(Box::new(source))?;
//! let status = session.wait(Duration::from_secs(10));
//! println!("{:?}", status.found);
//! # Ok::<(), cds_camera::CameraError>(())
//! ```

mod error;
mod frame;
mod photo;
mod session;
mod source;
mod worker;

#[cfg(feature = "nokhwa")]
mod desktop;

pub use error::CameraError;
pub use frame::Frame;
pub use photo::{Photo, PhotoSession, PhotoStatus, PHOTO_QUALITY};
pub use session::{decode_frame, ScanSession, ScanStatus, PREVIEW_INTERVAL, PREVIEW_MAX_WIDTH};
pub use source::{FrameSource, ImageFrames, VirtualCamera, PHOTO_MAX_PIXELS};

#[cfg(feature = "nokhwa")]
pub use desktop::{
    list_cameras, NokhwaCamera, PHOTO_HEIGHT, PHOTO_WIDTH, WANTED_HEIGHT, WANTED_WIDTH,
};

/// What a camera is opened for: the format chosen differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reading QR codes: about 640x480, fast to decode.
    Scan,
    /// A photo of a document: the sharpest format that still previews
    /// smoothly (up to 1920x1080).
    Photo,
}

/// A camera the platform reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// What to pass to `NokhwaCamera::open`.
    pub index: u32,
    /// The name the system gives it ("Integrated Camera").
    pub name: String,
}

/// Without the `nokhwa` feature there is no native camera support: the
/// platform (a phone's scanner) supplies frames or text instead.
#[cfg(not(feature = "nokhwa"))]
pub fn list_cameras() -> Result<Vec<CameraInfo>, CameraError> {
    Err(CameraError::Unsupported(
        "built without the `nokhwa` feature; use the platform scanner".into(),
    ))
}
