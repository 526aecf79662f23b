//! Taking photos of documents, and the virtual camera, without a real
//! camera: `PhotoSession` over `ImageFrames`, `VirtualCamera` and small
//! test sources.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_camera::{
    CameraError, Frame, FrameSource, ImageFrames, PhotoSession, ScanSession, VirtualCamera,
    PHOTO_MAX_PIXELS, PREVIEW_MAX_WIDTH,
};
use image::{DynamicImage, Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Only a guard against a hung run, never a performance claim.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn photo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../qr/tests/photos")
        .join(rel)
}

/// A colour test card: red left half, blue right half.
fn card(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 30, 30])
        } else {
            Rgb([30, 30, 220])
        }
    })
}

fn decode_jpeg(bytes: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

fn wait_finished(session: &PhotoSession) {
    let start = Instant::now();
    while !session.status().finished {
        assert!(start.elapsed() < HANG_GUARD, "the session never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_photo_keeps_full_size_and_colour_and_the_preview_is_small() {
    let source = ImageFrames::from_images([DynamicImage::ImageRgb8(card(1280, 720))]);
    let session = PhotoSession::start(Box::new(source)).unwrap();
    let status = session.wait_for_frame(HANG_GUARD);
    assert_eq!(status.frames, 1);
    assert_eq!((status.width, status.height), (1280, 720));
    let preview = decode_jpeg(status.preview_jpeg.as_deref().unwrap());
    assert_eq!(
        (preview.width(), preview.height()),
        (PREVIEW_MAX_WIDTH, 270)
    );

    // The list ends after one frame; the newest frame can still be taken.
    wait_finished(&session);
    let photo = session.take().unwrap();
    assert_eq!((photo.width, photo.height), (1280, 720));
    let img = decode_jpeg(&photo.jpeg);
    assert_eq!(img.dimensions(), (1280, 720));
    // Colour survived: red on the left, blue on the right (JPEG is lossy,
    // so only the dominant channel is checked).
    let left = img.get_pixel(100, 360);
    let right = img.get_pixel(1180, 360);
    assert!(left[0] > 180 && left[2] < 80, "left is {left:?}");
    assert!(right[2] > 180 && right[0] < 80, "right is {right:?}");
    assert_eq!(session.stop().error, None);
}

#[test]
fn the_newest_frame_is_the_one_taken() {
    let source = ImageFrames::from_images([
        DynamicImage::ImageRgb8(card(320, 240)),
        DynamicImage::ImageRgb8(card(640, 360)),
    ]);
    let session = PhotoSession::start(Box::new(source)).unwrap();
    wait_finished(&session);
    assert_eq!(session.status().frames, 2);
    let photo = session.take().unwrap();
    assert_eq!((photo.width, photo.height), (640, 360));
}

#[test]
fn a_photo_file_is_taken_in_colour_from_the_image_list() {
    // A real phone photo (WebP) through the file path of `ImageFrames`.
    let path = photo_path("qrcode-1/13.webp");
    let original = image::open(&path).unwrap();
    let session = PhotoSession::start(Box::new(ImageFrames::from_paths([&path]))).unwrap();
    wait_finished(&session);
    let photo = session.take().unwrap();
    assert_eq!(
        (photo.width, photo.height),
        (original.width(), original.height())
    );
}

#[test]
fn huge_images_are_reduced_to_the_photo_limit() {
    let big = DynamicImage::ImageRgb8(RgbImage::new(6000, 3000));
    let session = PhotoSession::start(Box::new(ImageFrames::from_images([big]))).unwrap();
    wait_finished(&session);
    let photo = session.take().unwrap();
    assert!(u64::from(photo.width) * u64::from(photo.height) <= u64::from(PHOTO_MAX_PIXELS));
    // The aspect ratio is kept (2:1, give or take a rounding pixel).
    assert!((i64::from(photo.width) - 2 * i64::from(photo.height)).abs() <= 2);
}

/// A grey-only source (a mobile bridge passing the Y plane): the default
/// `next_photo` gives a grey RGB photo rather than nothing.
struct GreyOnly(Option<Frame>);

impl FrameSource for GreyOnly {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        Ok(self.0.take())
    }

    fn describe(&self) -> String {
        "grey only".into()
    }
}

#[test]
fn a_grey_source_still_gives_a_photo() {
    let frame = Frame::new(4, 2, vec![0, 50, 100, 150, 200, 250, 255, 10]).unwrap();
    let mut source = GreyOnly(Some(frame));
    let rgb = source.next_photo().unwrap().unwrap();
    assert_eq!(rgb.dimensions(), (4, 2));
    assert_eq!(rgb.get_pixel(1, 0), &Rgb([50, 50, 50]));
    assert_eq!(source.next_photo().unwrap(), None);
}

#[test]
fn taking_before_the_first_frame_is_not_ready() {
    /// Blocks until told, like a camera still warming up.
    struct Slow(std::sync::mpsc::Receiver<()>);
    impl FrameSource for Slow {
        fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
            let _ = self.0.recv();
            Ok(None)
        }
        fn describe(&self) -> String {
            "slow".into()
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let session = PhotoSession::start(Box::new(Slow(rx))).unwrap();
    assert_eq!(session.take().unwrap_err(), CameraError::NotReady);
    tx.send(()).unwrap();
    wait_finished(&session);
    // Ended without a frame: still nothing to take, and no error made up.
    assert_eq!(session.take().unwrap_err().kind(), "not_ready");
    assert_eq!(session.stop().error, None);
}

#[test]
fn a_failing_source_is_reported_and_taking_says_why() {
    let mut source = ImageFrames::from_paths(["/nonexistent/cds-camera/photo.png"]);
    // Sanity: the same source fails the same way outside a session.
    assert_eq!(source.next_photo().unwrap_err().kind(), "io");
    let source = ImageFrames::from_paths(["/nonexistent/cds-camera/photo.png"]);
    let session = PhotoSession::start(Box::new(source)).unwrap();
    wait_finished(&session);
    let status = session.status();
    assert_eq!(status.error.as_ref().map(|e| e.0), Some("io"));
    let e = session.take().unwrap_err();
    assert!(e.to_string().contains("photo.png"), "{e}");
}

#[test]
fn the_virtual_camera_loops_at_its_frame_rate() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    card(64, 48).save(&a).unwrap();
    RgbImage::from_pixel(32, 32, Rgb([0, 200, 0]))
        .save(&b)
        .unwrap();
    let interval = Duration::from_millis(20);
    let mut cam = VirtualCamera::open([&a, &b], interval).unwrap();
    assert!(
        cam.describe().contains("2 image file(s)"),
        "{}",
        cam.describe()
    );
    let start = Instant::now();
    let mut sizes = Vec::new();
    for _ in 0..6 {
        let img = cam.next_photo().unwrap().unwrap();
        sizes.push(img.width());
    }
    // Six frames take at least five frame periods: it keeps a clock, it is
    // not a list handed over as fast as it is read.
    assert!(start.elapsed() >= interval * 5, "{:?}", start.elapsed());
    // It never ends, and both pictures come round.
    assert!(sizes.contains(&64) && sizes.contains(&32), "{sizes:?}");
    let grey = cam.next_frame().unwrap().unwrap();
    assert!(grey.width == 64 || grey.width == 32);
}

#[test]
fn the_virtual_camera_refuses_bad_files_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("not-a-picture.png");
    std::fs::write(&txt, b"hello").unwrap();
    let e = VirtualCamera::open([&txt], Duration::from_millis(10))
        .err()
        .unwrap();
    assert_eq!(e.kind(), "image", "{e}");
    let none: [&Path; 0] = [];
    let e = VirtualCamera::open(none, Duration::from_millis(10))
        .err()
        .unwrap();
    assert_eq!(e.kind(), "not_found");
}

#[test]
fn the_virtual_camera_scans_a_code_and_takes_a_photo() {
    let path = photo_path("qrcode-6/15.webp");
    let expected = std::fs::read_to_string(path.with_extension("txt")).unwrap();
    let cam = VirtualCamera::open([&path], Duration::from_millis(10)).unwrap();
    let scan = ScanSession::start(Box::new(cam)).unwrap();
    let status = scan.wait(HANG_GUARD);
    assert_eq!(status.found.as_deref(), Some(expected.as_str()));

    let cam = VirtualCamera::open([&path], Duration::from_millis(10)).unwrap();
    let session = PhotoSession::start(Box::new(cam)).unwrap();
    let status = session.wait_for_frame(HANG_GUARD);
    assert!(status.frames >= 1 && status.preview_jpeg.is_some());
    let photo = session.take().unwrap();
    assert!(photo.jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    // A live source keeps running until stopped.
    std::thread::sleep(Duration::from_millis(50));
    assert!(!session.status().finished);
    let end = session.stop();
    assert!(end.finished && end.error.is_none(), "{end:?}");
}
