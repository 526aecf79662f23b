//! Scan sessions over decoded frames: there is no camera on CI, so these
//! drive `ScanSession` through `ImageFrames` and small test sources.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_camera::{
    decode_frame, CameraError, Frame, FrameSource, ImageFrames, ScanSession, ScanStatus,
    PREVIEW_MAX_WIDTH,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Only a guard against a hung test run, never a performance claim: every
/// session here ends on its own in milliseconds.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Photos (with their expected text) that the camera pipeline reads.
const PHOTOS: &[&str] = &["qrcode-1/13.webp", "qrcode-6/15.webp"];

fn photo(rel: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../qr/tests/photos")
        .join(rel);
    let expected = std::fs::read_to_string(path.with_extension("txt")).unwrap();
    (path, expected)
}

fn blank(width: u32, height: u32) -> Frame {
    Frame::new(width, height, vec![200; (width * height) as usize]).unwrap()
}

fn finish(session: &ScanSession) -> ScanStatus {
    let status = session.wait(HANG_GUARD);
    assert!(status.finished, "session did not finish: {status:?}");
    status
}

#[test]
fn blank_frames_then_a_photo_finds_the_text() {
    for rel in PHOTOS {
        let (path, expected) = photo(rel);
        let mut source = ImageFrames::from_frames([blank(640, 480), blank(320, 240)]);
        source.push_path(&path);
        // A frame after the code must never be reached: the session stops
        // at the first code.
        source.push_path("/nonexistent/never-read.png");
        let session = ScanSession::start(Box::new(source)).unwrap();
        let status = finish(&session);
        assert_eq!(status.found.as_deref(), Some(expected.as_str()), "{rel}");
        assert_eq!(status.frames, 3, "{rel}");
        assert_eq!(status.error, None, "{rel}");
    }
}

#[test]
fn single_photo_frame_decodes_directly() {
    let (path, expected) = photo(PHOTOS[0]);
    let img = image::open(&path).unwrap();
    let texts = decode_frame(&Frame::from_image(&img)).unwrap();
    assert_eq!(texts, vec![expected]);
}

#[test]
fn source_ending_without_a_code_finishes_with_nothing_found() {
    let source = ImageFrames::from_frames([blank(100, 100), blank(200, 50)]);
    let session = ScanSession::start(Box::new(source)).unwrap();
    let status = finish(&session);
    assert_eq!(status.frames, 2);
    assert_eq!(status.found, None);
    assert_eq!(status.error, None);
}

#[test]
fn empty_source_finishes_at_once() {
    let session = ScanSession::start(Box::new(ImageFrames::new())).unwrap();
    let status = finish(&session);
    assert_eq!(status.frames, 0);
    assert_eq!(status.found, None);
    assert_eq!(status.preview_jpeg, None);
}

/// Hands over `ok` blank frames, then fails like an unplugged camera.
struct Failing {
    ok: u32,
}

impl FrameSource for Failing {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if self.ok == 0 {
            return Err(CameraError::Device("unplugged".into()));
        }
        self.ok -= 1;
        Ok(Some(blank(64, 64)))
    }

    fn describe(&self) -> String {
        "failing test source".into()
    }
}

#[test]
fn source_error_is_recorded_and_the_session_finishes() {
    let session = ScanSession::start(Box::new(Failing { ok: 2 })).unwrap();
    assert_eq!(session.source_name(), "failing test source");
    let status = finish(&session);
    assert_eq!(status.frames, 2);
    assert_eq!(status.found, None);
    let (kind, message) = status.error.unwrap();
    assert_eq!(kind, "device");
    assert!(message.contains("unplugged"), "{message}");
}

#[test]
fn unreadable_file_is_recorded_as_an_io_error() {
    let source = ImageFrames::from_paths(["/nonexistent/cds-camera/frame.png"]);
    let session = ScanSession::start(Box::new(source)).unwrap();
    let status = finish(&session);
    assert_eq!(status.error.map(|e| e.0), Some("io"));
}

/// Never ends: blank frames forever, counting how many were handed over.
struct Endless {
    served: Arc<AtomicU64>,
}

impl FrameSource for Endless {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        self.served.fetch_add(1, Ordering::SeqCst);
        Ok(Some(blank(160, 120)))
    }

    fn describe(&self) -> String {
        "endless blank frames".into()
    }
}

#[test]
fn stop_returns_with_an_endless_source() {
    let served = Arc::new(AtomicU64::new(0));
    let session = ScanSession::start(Box::new(Endless {
        served: Arc::clone(&served),
    }))
    .unwrap();
    let status = session.stop();
    // Reaching this line is the point: stop() joined the thread.
    assert!(status.finished);
    assert_eq!(status.found, None);
    assert_eq!(status.error, None);
    // The thread is gone: nothing pulls frames any more.
    let after = served.load(Ordering::SeqCst);
    assert!(status.frames <= after);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(served.load(Ordering::SeqCst), after);
}

#[test]
fn dropping_the_session_stops_it() {
    let served = Arc::new(AtomicU64::new(0));
    let session = ScanSession::start(Box::new(Endless {
        served: Arc::clone(&served),
    }))
    .unwrap();
    drop(session);
    let after = served.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(served.load(Ordering::SeqCst), after);
}

#[test]
fn preview_is_a_jpeg_at_most_480_wide() {
    let source = ImageFrames::from_frames([blank(1280, 720)]);
    let session = ScanSession::start(Box::new(source)).unwrap();
    let status = finish(&session);
    let jpeg = status.preview_jpeg.expect("a preview of the first frame");
    assert_eq!(
        image::guess_format(&jpeg).unwrap(),
        image::ImageFormat::Jpeg
    );
    let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
    assert!(img.width() <= PREVIEW_MAX_WIDTH);
    assert_eq!((img.width(), img.height()), (480, 270));
}

#[test]
fn preview_of_a_found_code_is_kept() {
    let (path, _) = photo(PHOTOS[1]);
    let session = ScanSession::start(Box::new(ImageFrames::from_paths([path]))).unwrap();
    let status = finish(&session);
    assert!(status.found.is_some());
    let jpeg = status.preview_jpeg.unwrap();
    assert!(image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).is_ok());
}

#[test]
fn malformed_frame_from_a_bridge_ends_with_an_error() {
    let bad = Frame {
        width: 10,
        height: 10,
        luma: vec![0; 99],
    };
    let session = ScanSession::start(Box::new(ImageFrames::from_frames([bad]))).unwrap();
    let status = finish(&session);
    assert_eq!(status.error.map(|e| e.0), Some("invalid_frame"));
    assert_eq!(status.frames, 0);
}

struct Panicking;

impl FrameSource for Panicking {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        panic!("driver bug");
    }

    fn describe(&self) -> String {
        "panicking test source".into()
    }
}

#[test]
fn a_panicking_source_ends_the_session_with_an_error() {
    let session = ScanSession::start(Box::new(Panicking)).unwrap();
    let status = finish(&session);
    let (kind, message) = status.error.unwrap();
    assert_eq!(kind, "thread");
    assert!(message.contains("driver bug"), "{message}");
}
