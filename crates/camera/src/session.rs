//! The background scan: pull frames, decode them, publish a status.

use crate::worker::{catching, Worker};
use crate::{CameraError, Frame, FrameSource};
use cds_qr::scan::Pipeline;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage, ImageBuffer, Pixel, PixelWithColorType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The preview is at most this wide (a phone-sized viewfinder; a 640x480
/// frame shrinks to about 20 KB of JPEG).
pub const PREVIEW_MAX_WIDTH: u32 = 480;
/// The preview is refreshed at most this often: about 7 images a second is
/// enough to aim the camera and keeps JPEG encoding off the decode path.
pub const PREVIEW_INTERVAL: Duration = Duration::from_millis(150);
/// JPEG quality of the preview: it is only for aiming.
const PREVIEW_QUALITY: u8 = 70;

/// What a [`ScanSession`] has done so far. Cloned out of the session by
/// [`ScanSession::status`], so the UI can poll it from any thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStatus {
    /// Frames taken from the source and decoded.
    pub frames: u64,
    /// The text of the first QR code read; the session ends at it.
    pub found: Option<String>,
    /// The latest frame, at most [`PREVIEW_MAX_WIDTH`] wide, as JPEG;
    /// refreshed at most every [`PREVIEW_INTERVAL`].
    pub preview_jpeg: Option<Vec<u8>>,
    /// Why the session ended early: ([`CameraError::kind`], message).
    pub error: Option<(&'static str, String)>,
    /// The session thread has ended (code found, source ended, error or
    /// stop). Nothing changes after this.
    pub finished: bool,
}

struct Shared {
    status: Mutex<ScanStatus>,
    changed: Condvar,
}

impl Shared {
    /// A panic while the lock was held cannot leave the status half
    /// written (every update is a few field stores), so a poisoned lock is
    /// still safe to read and must not take the UI down with it.
    fn lock(&self) -> MutexGuard<'_, ScanStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut ScanStatus)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

/// A scan running on its own thread: it pulls frames from a
/// [`FrameSource`], decodes each with `cds_qr::scan::Pipeline::camera()`
/// and stops at the first QR code that holds text.
///
/// **Frames do not pile up.** The thread takes the next frame only when it
/// is done with the previous one, so the session never holds more than one
/// frame and never queues. Dropping stale frames is the live source's job,
/// because only it knows the clock: [`crate::NokhwaCamera`] keeps just the
/// newest captured frame and overwrites it, so when decoding is slower
/// than capture the session decodes the newest frame and the ones in
/// between are skipped. A list of decoded frames ([`crate::ImageFrames`])
/// has no clock, so every one of its frames is decoded.
///
/// [`ScanSession::stop`] (and dropping the session) sets a flag checked
/// before every frame and joins the thread: it returns after at most the
/// frame being read and decoded.
pub struct ScanSession {
    shared: Arc<Shared>,
    worker: Worker,
    source_name: String,
}

impl std::fmt::Debug for ScanSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSession")
            .field("source", &self.source_name)
            .field("status", &self.status())
            .finish()
    }
}

impl ScanSession {
    /// Starts scanning `source` on a new thread.
    pub fn start(source: Box<dyn FrameSource>) -> Result<ScanSession, CameraError> {
        let shared = Arc::new(Shared {
            status: Mutex::new(ScanStatus::default()),
            changed: Condvar::new(),
        });
        let source_name = source.describe();
        let state = Arc::clone(&shared);
        let worker = Worker::spawn("cds-camera-scan", move |stop| {
            let error = catching("scan", || scan_loop(source, &state, stop));
            state.update(|s| {
                if s.error.is_none() {
                    s.error = error;
                }
                s.finished = true;
            });
        })?;
        Ok(ScanSession {
            shared,
            worker,
            source_name,
        })
    }

    /// A snapshot of the status (one lock, one clone).
    pub fn status(&self) -> ScanStatus {
        self.shared.lock().clone()
    }

    /// Blocks until the session has finished or `timeout` has passed, and
    /// returns the status then (check `finished`). For callers that have no
    /// UI loop to poll from.
    pub fn wait(&self, timeout: Duration) -> ScanStatus {
        let guard = self.shared.lock();
        let (guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, timeout, |s| !s.finished)
            .unwrap_or_else(|p| p.into_inner());
        guard.clone()
    }

    /// The source's description, taken when the session started.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Stops the scan and waits for its thread (at most the frame in hand).
    /// Returns the final status.
    pub fn stop(mut self) -> ScanStatus {
        self.worker.stop();
        self.status()
    }
}

fn scan_loop(
    mut source: Box<dyn FrameSource>,
    shared: &Shared,
    stop: &AtomicBool,
) -> Result<(), CameraError> {
    let pipeline = Pipeline::camera();
    let mut last_preview: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(frame) = source.next_frame()? else {
            return Ok(());
        };
        let gray = frame.into_gray_image()?;
        let texts = decode_gray(&pipeline, &gray)?;
        let preview = if last_preview.is_none_or(|t| t.elapsed() >= PREVIEW_INTERVAL) {
            last_preview = Some(Instant::now());
            // A preview that fails to encode only costs the viewfinder an
            // image; the scan itself goes on.
            preview_jpeg(&gray).ok()
        } else {
            None
        };
        let found = texts.into_iter().next();
        let done = found.is_some();
        shared.update(|s| {
            s.frames += 1;
            if preview.is_some() {
                s.preview_jpeg = preview;
            }
            if s.found.is_none() {
                s.found = found;
            }
        });
        if done {
            return Ok(());
        }
    }
    Ok(())
}

/// Decodes every QR code in one frame and returns the texts (empty when
/// there is none, or when the only codes hold binary data, which the app
/// cannot use). Frames larger than `cds_qr::scan::WORK_PIXELS` are reduced
/// first.
pub fn decode_frame(frame: &Frame) -> Result<Vec<String>, CameraError> {
    let gray = frame.to_gray_image()?;
    decode_gray(&Pipeline::camera(), &gray)
}

fn decode_gray(pipeline: &Pipeline, gray: &GrayImage) -> Result<Vec<String>, CameraError> {
    let pixels = u64::from(gray.width()) * u64::from(gray.height());
    let reduced;
    let gray = if pixels > u64::from(cds_qr::scan::WORK_PIXELS) {
        reduced = cds_qr::scan::to_work_gray(
            &DynamicImage::ImageLuma8(gray.clone()),
            cds_qr::scan::WORK_PIXELS,
        );
        &reduced
    } else {
        gray
    };
    match pipeline.scan_gray(gray) {
        Ok(symbols) => Ok(symbols.into_iter().filter_map(|s| s.text).collect()),
        Err(cds_qr::QrError::NoQrCode { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The frame (grey or colour) at most [`PREVIEW_MAX_WIDTH`] wide, as JPEG.
pub(crate) fn preview_jpeg<P>(frame: &ImageBuffer<P, Vec<u8>>) -> Result<Vec<u8>, CameraError>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType + 'static,
{
    let (w, h) = frame.dimensions();
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, PREVIEW_QUALITY);
    let encoded = if w > PREVIEW_MAX_WIDTH {
        let nh = ((u64::from(h) * u64::from(PREVIEW_MAX_WIDTH)) / u64::from(w)).max(1);
        let nh = u32::try_from(nh).unwrap_or(u32::MAX);
        // `thumbnail` averages the source pixels: fast, and no aliasing.
        let small = image::imageops::thumbnail(frame, PREVIEW_MAX_WIDTH, nh);
        encoder.encode_image(&small)
    } else {
        encoder.encode_image(frame)
    };
    encoded.map_err(|e| CameraError::Preview(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn preview_is_narrowed_and_keeps_the_aspect_ratio() {
        let g = GrayImage::from_fn(1280, 720, |x, _| Luma([(x % 256) as u8]));
        let jpeg = preview_jpeg(&g).unwrap();
        let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (480, 270));
    }

    #[test]
    fn small_frames_keep_their_size_in_the_preview() {
        let g = GrayImage::from_pixel(320, 240, Luma([128]));
        let img = image::load_from_memory(&preview_jpeg(&g).unwrap()).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
    }

    #[test]
    fn blank_frame_decodes_to_nothing() {
        let f = Frame::new(64, 64, vec![255; 64 * 64]).unwrap();
        assert_eq!(decode_frame(&f).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn generated_code_is_read_from_a_frame() {
        let code = qrcode::QrCode::new(b"CDS camera test").unwrap();
        let img = code.render::<Luma<u8>>().min_dimensions(200, 200).build();
        let f = Frame::from_gray(img);
        assert_eq!(
            decode_frame(&f).unwrap(),
            vec!["CDS camera test".to_string()]
        );
    }

    #[test]
    fn malformed_frame_is_an_error() {
        let f = Frame {
            width: 8,
            height: 8,
            luma: vec![0; 7],
        };
        assert_eq!(decode_frame(&f).unwrap_err().kind(), "invalid_frame");
    }
}
