//! Taking a photo of a document: a live preview, then one still.

use crate::session::preview_jpeg;
use crate::worker::{catching, Worker};
use crate::{CameraError, FrameSource};
use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::PREVIEW_INTERVAL;

/// JPEG quality of a taken photo: high enough that the small print on a
/// paper stays readable, about 250 KB for a 1920x1080 frame.
pub const PHOTO_QUALITY: u8 = 90;

/// What a [`PhotoSession`] shows so far (cloned out by
/// [`PhotoSession::status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoStatus {
    /// Frames taken from the camera.
    pub frames: u64,
    /// Size of the newest frame: the size the photo will have.
    pub width: u32,
    pub height: u32,
    /// The newest frame, small, as JPEG, for the viewfinder.
    pub preview_jpeg: Option<Vec<u8>>,
    /// Why the camera stopped: ([`CameraError::kind`], message).
    pub error: Option<(&'static str, String)>,
    /// The capture thread has ended (error, source ended, or stop).
    pub finished: bool,
}

/// A photo taken by [`PhotoSession::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Default)]
struct State {
    status: PhotoStatus,
    /// The newest full-size frame: what [`PhotoSession::take`] encodes.
    /// Shared, so taking a photo does not copy 6 MB under the lock.
    newest: Option<Arc<RgbImage>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    /// Every update is a few field stores, so a poisoned lock still holds
    /// a consistent state.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A camera open for a photo: a thread pulls colour frames
/// ([`FrameSource::next_photo`]) and keeps only the newest, with a small
/// preview refreshed every [`PREVIEW_INTERVAL`]; [`PhotoSession::take`]
/// encodes the newest frame as JPEG. Nothing queues: the session holds at
/// most one frame. Stopping (or dropping) joins the thread and frees the
/// camera.
pub struct PhotoSession {
    shared: Arc<Shared>,
    worker: Worker,
    source_name: String,
}

impl PhotoSession {
    /// Starts the preview of `source` on a new thread.
    pub fn start(source: Box<dyn FrameSource>) -> Result<PhotoSession, CameraError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let source_name = source.describe();
        let state = Arc::clone(&shared);
        let worker = Worker::spawn("cds-camera-photo", move |stop| {
            let error = catching("photo", || capture_loop(source, &state, stop));
            let mut s = state.lock();
            if s.status.error.is_none() {
                s.status.error = error;
            }
            s.status.finished = true;
            drop(s);
            state.changed.notify_all();
        })?;
        Ok(PhotoSession {
            shared,
            worker,
            source_name,
        })
    }

    /// A snapshot of the status.
    pub fn status(&self) -> PhotoStatus {
        self.shared.lock().status.clone()
    }

    /// Blocks until a frame has arrived (or the session ended, or `timeout`
    /// passed) and returns the status then.
    pub fn wait_for_frame(&self, timeout: Duration) -> PhotoStatus {
        let guard = self.shared.lock();
        let (guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, timeout, |s| s.newest.is_none() && !s.status.finished)
            .unwrap_or_else(|p| p.into_inner());
        guard.status.clone()
    }

    /// The newest frame as a JPEG photo. The camera keeps running (the
    /// citizen may take another); [`PhotoSession::stop`] frees it.
    pub fn take(&self) -> Result<Photo, CameraError> {
        let (newest, error) = {
            let s = self.shared.lock();
            (s.newest.clone(), s.status.error.clone())
        };
        let Some(frame) = newest else {
            return Err(match error {
                Some((_, message)) => CameraError::Device(message),
                None => CameraError::NotReady,
            });
        };
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, PHOTO_QUALITY)
            .encode_image(frame.as_ref())
            .map_err(|e| CameraError::Preview(e.to_string()))?;
        Ok(Photo {
            jpeg,
            width: frame.width(),
            height: frame.height(),
        })
    }

    /// The source's description, taken when the session started.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Stops the camera and waits for the thread (at most one frame).
    pub fn stop(mut self) -> PhotoStatus {
        self.worker.stop();
        self.status()
    }
}

fn capture_loop(
    mut source: Box<dyn FrameSource>,
    shared: &Shared,
    stop: &AtomicBool,
) -> Result<(), CameraError> {
    let mut last_preview: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(frame) = source.next_photo()? else {
            return Ok(());
        };
        if frame.width() == 0 || frame.height() == 0 {
            return Err(CameraError::InvalidFrame(
                "the camera sent an empty frame".into(),
            ));
        }
        let preview = if last_preview.is_none_or(|t| t.elapsed() >= PREVIEW_INTERVAL) {
            last_preview = Some(Instant::now());
            // A preview that fails to encode only costs the viewfinder one
            // image; the frame can still be taken.
            preview_jpeg(&frame).ok()
        } else {
            None
        };
        let mut s = shared.lock();
        s.status.frames += 1;
        s.status.width = frame.width();
        s.status.height = frame.height();
        if preview.is_some() {
            s.status.preview_jpeg = preview;
        }
        s.newest = Some(Arc::new(frame));
        drop(s);
        shared.changed.notify_all();
    }
    Ok(())
}
