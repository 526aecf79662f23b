//! Desktop webcams through nokhwa (feature `nokhwa`).

use crate::{CameraError, CameraInfo, Frame, FrameSource, Purpose};
use image::RgbImage;
use nokhwa::pixel_format::{LumaFormat, RgbFormat};
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};
use nokhwa::{Buffer, Camera, FormatDecoder, NokhwaError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// The resolution asked for: enough for a QR code held in front of a
/// laptop camera, small enough to decode in a few milliseconds.
pub const WANTED_WIDTH: u32 = 640;
/// See [`WANTED_WIDTH`].
pub const WANTED_HEIGHT: u32 = 480;
/// The resolution asked for a photo of a document: Full HD reads the small
/// print of an A4 page and still previews at a webcam's usual 30 fps.
pub const PHOTO_WIDTH: u32 = 1920;
/// See [`PHOTO_WIDTH`].
pub const PHOTO_HEIGHT: u32 = 1080;
const WANTED_FPS: u32 = 30;
/// A camera that delivers nothing for this long is reported as stalled
/// rather than blocking the scan forever.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// Opening a camera (and, on macOS, the permission prompt) may take a while.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The cameras the platform reports. Empty, not an error, on a machine
/// without a camera.
pub fn list_cameras() -> Result<Vec<CameraInfo>, CameraError> {
    ensure_permission()?;
    let infos = nokhwa::query(ApiBackend::Auto).map_err(device_error)?;
    Ok(infos
        .iter()
        .filter_map(|i| {
            // Backends that name devices by string (not number) cannot be
            // opened by index: leave them out rather than misnumber them.
            let index = i.index().as_index().ok()?;
            Some(CameraInfo {
                index,
                name: i.human_name(),
            })
        })
        .collect())
}

/// macOS asks the user for camera access once; nokhwa requires this before
/// anything else there. Elsewhere there is nothing to do.
#[cfg(target_os = "macos")]
fn ensure_permission() -> Result<(), CameraError> {
    if nokhwa::nokhwa_check() {
        return Ok(());
    }
    let (tx, rx) = mpsc::channel();
    nokhwa::nokhwa_initialize(move |granted| {
        // The receiver may be gone after a timeout; nothing to tell then.
        let _ = tx.send(granted);
    });
    match rx.recv_timeout(OPEN_TIMEOUT) {
        Ok(true) => Ok(()),
        Ok(false) => Err(CameraError::Device("camera access was denied".into())),
        Err(_) => Err(CameraError::Device(
            "no answer to the camera access request".into(),
        )),
    }
}

#[cfg(not(target_os = "macos"))]
fn ensure_permission() -> Result<(), CameraError> {
    Ok(())
}

fn device_error(e: NokhwaError) -> CameraError {
    match e {
        NokhwaError::UnsupportedOperationError(_) | NokhwaError::NotImplementedError(_) => {
            CameraError::Unsupported(e.to_string())
        }
        other => CameraError::Device(other.to_string()),
    }
}

/// Rank of a pixel format: cheapest to turn into grey first.
fn format_cost(f: FrameFormat) -> u8 {
    match f {
        FrameFormat::GRAY => 0,
        FrameFormat::YUYV => 1,
        FrameFormat::NV12 => 2,
        FrameFormat::MJPEG => 3,
        FrameFormat::RAWRGB | FrameFormat::RAWBGR => 4,
    }
}

/// The format closest to the purpose's resolution (640x480 to scan,
/// 1920x1080 for a photo) at 30 fps among those nokhwa can decode for it
/// (grey to scan, colour for a photo). Chosen here rather than with
/// `RequestedFormatType::Closest`, which gives up when the camera lacks
/// the exact resolution asked for.
pub(crate) fn pick_format(formats: &[CameraFormat], purpose: Purpose) -> Option<CameraFormat> {
    let (ww, wh, usable) = match purpose {
        Purpose::Scan => (WANTED_WIDTH, WANTED_HEIGHT, LumaFormat::FORMATS),
        Purpose::Photo => (PHOTO_WIDTH, PHOTO_HEIGHT, RgbFormat::FORMATS),
    };
    formats
        .iter()
        .filter(|f| usable.contains(&f.format()))
        .min_by_key(|f| {
            let dw = i64::from(f.width()) - i64::from(ww);
            let dh = i64::from(f.height()) - i64::from(wh);
            // Frames below 15 fps make aiming painful: rank them after
            // every usable rate, whatever their resolution.
            let slow = f.frame_rate() < 15;
            let dfps = (i64::from(f.frame_rate()) - i64::from(WANTED_FPS)).abs();
            (slow, dw * dw + dh * dh, dfps, format_cost(f.format()))
        })
        .copied()
}

/// What the capture thread leaves for [`NokhwaCamera::next_frame`].
#[derive(Default)]
struct Slot {
    /// Only the newest raw frame: a new capture overwrites an unread one.
    frame: Option<Buffer>,
    error: Option<CameraError>,
    ended: bool,
    dropped: u64,
}

struct Shared {
    slot: Mutex<Slot>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The slot is a few plain fields; a poisoned lock still holds a
        // consistent value.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A desktop webcam as a [`FrameSource`].
///
/// A capture thread owns the nokhwa `Camera` (it is not `Send` on every
/// backend, so it never leaves the thread that opened it) and keeps only
/// the newest raw frame; [`FrameSource::next_frame`] takes that frame and
/// turns it into grey. Frames captured while the consumer is busy replace
/// each other, so a slow decoder always gets the newest frame and nothing
/// queues. Dropping the camera stops the thread and closes the device.
pub struct NokhwaCamera {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    description: String,
}

impl NokhwaCamera {
    /// Opens camera `index` (as in [`list_cameras`]) to scan codes, at the
    /// format closest to 640x480. An index the platform does not list is
    /// [`CameraError::NotFound`].
    pub fn open(index: u32) -> Result<NokhwaCamera, CameraError> {
        NokhwaCamera::open_for(index, Purpose::Scan)
    }

    /// Opens camera `index` at the format that suits `purpose`.
    pub fn open_for(index: u32, purpose: Purpose) -> Result<NokhwaCamera, CameraError> {
        ensure_permission()?;
        // Ask the platform first, so a missing camera is a clear NotFound
        // instead of whatever a backend says about a missing device node.
        // Some backends cannot list; then opening is the only test.
        let name = match list_cameras() {
            Ok(cams) => match cams.into_iter().find(|c| c.index == index) {
                Some(c) => c.name,
                None => {
                    return Err(CameraError::NotFound {
                        index,
                        reason: "the system lists no camera with this index".into(),
                    })
                }
            },
            Err(_) => format!("camera {index}"),
        };
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let (opened_tx, opened_rx) = mpsc::channel();
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("cds-camera-capture-{index}"))
            .spawn(move || capture(index, purpose, &worker, &opened_tx))
            .map_err(|e| CameraError::Thread(e.to_string()))?;
        let mut camera = NokhwaCamera {
            shared,
            thread: Some(thread),
            description: String::new(),
        };
        // On failure `camera` is dropped here, which stops and joins the
        // thread.
        let format = match opened_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(format)) => format,
            Ok(Err(e)) => return Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(CameraError::Device(format!(
                    "camera {index} did not open within {} s",
                    OPEN_TIMEOUT.as_secs()
                )))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(CameraError::Thread(
                    "the capture thread ended while opening the camera".into(),
                ))
            }
        };
        camera.description = format!("camera {index}: {name} ({format})");
        Ok(camera)
    }

    /// Frames captured but replaced by a newer one before they were read.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.lock().dropped
    }
}

fn open_camera(index: u32, purpose: Purpose) -> Result<(Camera, CameraFormat), CameraError> {
    let not_found = |e: NokhwaError| match e {
        // V4L2 reports a missing /dev/videoN this way.
        NokhwaError::OpenDeviceError(..) => CameraError::NotFound {
            index,
            reason: e.to_string(),
        },
        other => device_error(other),
    };
    let request = RequestedFormat::new::<LumaFormat>(RequestedFormatType::None);
    let mut cam = Camera::new(CameraIndex::Index(index), request).map_err(not_found)?;
    if let Ok(formats) = cam.compatible_camera_formats() {
        if let Some(best) = pick_format(&formats, purpose) {
            // A camera that refuses the better format keeps its own: it
            // still works, only slower or larger.
            let exact = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Exact(best));
            let _ = cam.set_camera_requset(exact);
        }
    }
    cam.open_stream().map_err(device_error)?;
    let format = cam.camera_format();
    Ok((cam, format))
}

fn capture(
    index: u32,
    purpose: Purpose,
    shared: &Shared,
    opened: &mpsc::Sender<Result<CameraFormat, CameraError>>,
) {
    let mut cam = match open_camera(index, purpose) {
        Ok((cam, format)) => {
            // The opener may have timed out and gone; then `Drop` has set
            // `stop` and the loop below ends at once.
            let _ = opened.send(Ok(format));
            cam
        }
        Err(e) => {
            let _ = opened.send(Err(e));
            return;
        }
    };
    while !shared.stop.load(Ordering::SeqCst) {
        let result = cam.frame();
        let mut slot = shared.lock();
        match result {
            Ok(buffer) => {
                if slot.frame.replace(buffer).is_some() {
                    slot.dropped += 1;
                }
            }
            Err(e) => {
                slot.error = Some(device_error(e));
                slot.ended = true;
                drop(slot);
                shared.ready.notify_all();
                break;
            }
        }
        drop(slot);
        shared.ready.notify_all();
    }
    // Closing can fail on an unplugged camera; the device is released when
    // `cam` drops either way.
    let _ = cam.stop_stream();
    let mut slot = shared.lock();
    slot.ended = true;
    drop(slot);
    shared.ready.notify_all();
}

impl NokhwaCamera {
    /// Waits (at most [`FRAME_TIMEOUT`]) for the newest raw frame.
    fn next_buffer(&mut self) -> Result<Option<Buffer>, CameraError> {
        let slot = self.shared.lock();
        let (mut slot, timeout) = self
            .shared
            .ready
            .wait_timeout_while(slot, FRAME_TIMEOUT, |s| {
                s.frame.is_none() && s.error.is_none() && !s.ended
            })
            .unwrap_or_else(|p| p.into_inner());
        if let Some(buffer) = slot.frame.take() {
            return Ok(Some(buffer));
        }
        if let Some(e) = slot.error.take() {
            return Err(e);
        }
        if slot.ended {
            return Ok(None);
        }
        debug_assert!(timeout.timed_out());
        Err(CameraError::Timeout {
            seconds: FRAME_TIMEOUT.as_secs(),
        })
    }
}

impl FrameSource for NokhwaCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        let Some(buffer) = self.next_buffer()? else {
            return Ok(None);
        };
        // Decoded outside the slot's lock, so capture goes on meanwhile.
        let gray = buffer
            .decode_image::<LumaFormat>()
            .map_err(|e| CameraError::Device(e.to_string()))?;
        let (w, h) = gray.dimensions();
        Frame::new(w, h, gray.into_raw()).map(Some)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next_photo(&mut self) -> Result<Option<RgbImage>, CameraError> {
        let Some(buffer) = self.next_buffer()? else {
            return Ok(None);
        };
        let rgb = buffer
            .decode_image::<RgbFormat>()
            .map_err(|e| CameraError::Device(e.to_string()))?;
        // nokhwa returns its own `image` version's buffer; rebuild ours from
        // the raw pixels (no copy) so the two versions never have to agree.
        let (w, h) = rgb.dimensions();
        RgbImage::from_raw(w, h, rgb.into_raw())
            .map(Some)
            .ok_or_else(|| CameraError::InvalidFrame(format!("{w}x{h}: short colour frame")))
    }
}

impl Drop for NokhwaCamera {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // The thread is inside `frame()` for at most one frame period.
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nokhwa::utils::Resolution;

    fn fmt(w: u32, h: u32, f: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new(Resolution::new(w, h), f, fps)
    }

    #[test]
    fn picks_the_format_closest_to_640x480() {
        let formats = [
            fmt(1920, 1080, FrameFormat::MJPEG, 30),
            fmt(640, 480, FrameFormat::MJPEG, 30),
            fmt(640, 480, FrameFormat::YUYV, 30),
            fmt(320, 240, FrameFormat::YUYV, 30),
        ];
        assert_eq!(
            pick_format(&formats, Purpose::Scan),
            Some(fmt(640, 480, FrameFormat::YUYV, 30))
        );
    }

    #[test]
    fn photos_take_full_hd_in_colour() {
        let formats = [
            fmt(3840, 2160, FrameFormat::MJPEG, 5),
            fmt(1920, 1080, FrameFormat::GRAY, 30),
            fmt(1920, 1080, FrameFormat::MJPEG, 30),
            fmt(640, 480, FrameFormat::YUYV, 30),
        ];
        // 4K at 5 fps previews too slowly, and a grey format has no colour.
        assert_eq!(
            pick_format(&formats, Purpose::Photo),
            Some(fmt(1920, 1080, FrameFormat::MJPEG, 30))
        );
        assert_eq!(
            pick_format(&formats, Purpose::Scan),
            Some(fmt(640, 480, FrameFormat::YUYV, 30))
        );
    }

    #[test]
    fn takes_the_nearest_resolution_when_640x480_is_missing() {
        let formats = [
            fmt(1920, 1080, FrameFormat::MJPEG, 30),
            fmt(1280, 720, FrameFormat::MJPEG, 30),
        ];
        assert_eq!(
            pick_format(&formats, Purpose::Scan),
            Some(fmt(1280, 720, FrameFormat::MJPEG, 30))
        );
    }

    #[test]
    fn avoids_slow_frame_rates() {
        let formats = [
            fmt(640, 480, FrameFormat::YUYV, 5),
            fmt(1280, 720, FrameFormat::MJPEG, 30),
        ];
        assert_eq!(
            pick_format(&formats, Purpose::Scan),
            Some(fmt(1280, 720, FrameFormat::MJPEG, 30))
        );
        assert_eq!(pick_format(&[], Purpose::Scan), None);
    }
}
