//! Where frames come from: the [`FrameSource`] interface and the
//! decoded-frames source [`ImageFrames`].

use crate::{CameraError, Frame};
use image::{DynamicImage, RgbImage};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Photos are kept at most this many pixels (12 MP, a good phone camera):
/// enough to read the small print of a scanned paper, and a bound on the
/// memory one frame can take.
pub const PHOTO_MAX_PIXELS: u32 = 12_000_000;

/// Something that hands over frames one at a time: a desktop camera, the
/// frames a mobile platform bridge passes in, or images in tests.
///
/// `Send` because a [`crate::ScanSession`] pulls from it on its own thread.
pub trait FrameSource: Send {
    /// The next frame; `Ok(None)` when the source has ended. A live source
    /// blocks for at most about one frame period and returns its newest
    /// frame (see [`crate::ScanSession`] on why stale frames are dropped
    /// there and not in the session).
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError>;
    /// A short human-readable name for logs ("camera 0: HD Webcam").
    fn describe(&self) -> String;
    /// The next frame in colour, for taking a photo of a document; the
    /// same contract as [`FrameSource::next_frame`]. The default turns the
    /// grey frame into a grey RGB image, so a source that only has luma (a
    /// mobile bridge passing the Y plane) still works; sources that have
    /// colour override it.
    fn next_photo(&mut self) -> Result<Option<RgbImage>, CameraError> {
        match self.next_frame()? {
            Some(frame) => Ok(Some(
                DynamicImage::ImageLuma8(frame.into_gray_image()?).to_rgb8(),
            )),
            None => Ok(None),
        }
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        (**self).next_frame()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }

    fn next_photo(&mut self) -> Result<Option<RgbImage>, CameraError> {
        (**self).next_photo()
    }
}

enum Item {
    Path(PathBuf),
    Image(DynamicImage),
    Frame(Frame),
}

/// A [`FrameSource`] over a fixed list of images, image files or frames,
/// handed over in order, every one of them (a list has no clock, so
/// nothing is stale and nothing is dropped), then `None`.
///
/// Files are read lazily, when their turn comes, with `cds-qr`'s size
/// limits; a file that cannot be read is an error from
/// [`FrameSource::next_frame`] at that point. Large images are reduced to
/// `cds_qr::scan::WORK_PIXELS` as the still-image scanner does.
pub struct ImageFrames {
    items: VecDeque<Item>,
    total: usize,
}

impl ImageFrames {
    /// An empty source (ends at once); add to it with the `push_*` methods.
    pub fn new() -> ImageFrames {
        ImageFrames {
            items: VecDeque::new(),
            total: 0,
        }
    }

    /// Frames from image files, read when their turn comes.
    pub fn from_paths<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> ImageFrames {
        let mut s = ImageFrames::new();
        for p in paths {
            s.push_path(p);
        }
        s
    }

    /// Frames from decoded images.
    pub fn from_images(images: impl IntoIterator<Item = DynamicImage>) -> ImageFrames {
        let mut s = ImageFrames::new();
        for i in images {
            s.push_image(i);
        }
        s
    }

    /// Frames as they are (e.g. handed over by a platform bridge).
    pub fn from_frames(frames: impl IntoIterator<Item = Frame>) -> ImageFrames {
        let mut s = ImageFrames::new();
        for f in frames {
            s.push_frame(f);
        }
        s
    }

    /// Appends an image file.
    pub fn push_path(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.push(Item::Path(path.into()))
    }

    /// Appends a decoded image.
    pub fn push_image(&mut self, image: DynamicImage) -> &mut Self {
        self.push(Item::Image(image))
    }

    /// Appends a frame.
    pub fn push_frame(&mut self, frame: Frame) -> &mut Self {
        self.push(Item::Frame(frame))
    }

    /// Frames not handed over yet.
    pub fn remaining(&self) -> usize {
        self.items.len()
    }

    fn push(&mut self, item: Item) -> &mut Self {
        self.items.push_back(item);
        self.total += 1;
        self
    }
}

impl Default for ImageFrames {
    fn default() -> Self {
        ImageFrames::new()
    }
}

/// Grey and at most `WORK_PIXELS`: the same reduction the still-image
/// scanner applies, so a 12 MP photo costs one resize, not a slow decode.
fn work_frame(image: &DynamicImage) -> Frame {
    Frame::from_gray(cds_qr::scan::to_work_gray(image, cds_qr::scan::WORK_PIXELS))
}

/// In colour and at most [`PHOTO_MAX_PIXELS`].
pub(crate) fn photo_of(image: &DynamicImage) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let pixels = u64::from(w) * u64::from(h);
    if pixels <= u64::from(PHOTO_MAX_PIXELS) {
        return image.to_rgb8();
    }
    let scale = (f64::from(PHOTO_MAX_PIXELS) / pixels as f64).sqrt();
    let nw = ((f64::from(w) * scale).floor() as u32).max(1);
    let nh = ((f64::from(h) * scale).floor() as u32).max(1);
    image::imageops::thumbnail(&image.to_rgb8(), nw, nh)
}

impl FrameSource for ImageFrames {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        let Some(item) = self.items.pop_front() else {
            return Ok(None);
        };
        let frame = match item {
            Item::Path(p) => work_frame(&cds_qr::scan::load_image_file(&p)?),
            Item::Image(i) => work_frame(&i),
            Item::Frame(f) => {
                f.check()?;
                f
            }
        };
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        format!("{} decoded frame(s), {} left", self.total, self.items.len())
    }

    fn next_photo(&mut self) -> Result<Option<RgbImage>, CameraError> {
        let Some(item) = self.items.pop_front() else {
            return Ok(None);
        };
        Ok(Some(match item {
            Item::Path(p) => photo_of(&cds_qr::scan::load_image_file(&p)?),
            Item::Image(i) => photo_of(&i),
            Item::Frame(f) => DynamicImage::ImageLuma8(f.into_gray_image()?).to_rgb8(),
        }))
    }
}

/// A camera made of image files: it plays them in a loop, one frame every
/// `interval`, like a webcam pointed at a slideshow, and never ends.
///
/// What it is for: trying the app's camera features (document photos, the
/// QR scanner) on a machine without a camera, and testing them end to end
/// in the real window. The app turns it on only when asked to
/// (`CDS_CAMERA_FILES`), in the spirit of Chromium's
/// `--use-file-for-fake-video-capture`. Unlike [`ImageFrames`], it keeps
/// a live camera's clock: a consumer that is slower than `interval` gets
/// the frame that is current when it asks, and the frames in between are
/// skipped.
pub struct VirtualCamera {
    images: Vec<DynamicImage>,
    interval: Duration,
    started: Instant,
    /// The tick last handed over (to wait for the next one).
    last_tick: Option<u64>,
    name: String,
}

impl VirtualCamera {
    /// Reads and decodes every file now, so a bad file is an error when the
    /// camera opens, not in the middle of a preview.
    pub fn open(
        paths: impl IntoIterator<Item = impl Into<PathBuf>>,
        interval: Duration,
    ) -> Result<VirtualCamera, CameraError> {
        let mut images = Vec::new();
        for p in paths {
            let p: PathBuf = p.into();
            images.push(DynamicImage::ImageRgb8(photo_of(
                &cds_qr::scan::load_image_file(&p)?,
            )));
        }
        if images.is_empty() {
            return Err(CameraError::NotFound {
                index: 0,
                reason: "the virtual camera was given no image file".into(),
            });
        }
        let name = format!("virtual camera ({} image file(s))", images.len());
        Ok(VirtualCamera {
            images,
            interval: interval.max(Duration::from_millis(1)),
            started: Instant::now(),
            last_tick: None,
            name,
        })
    }

    /// Waits for the next tick (at most one `interval`) and returns the
    /// image current then.
    fn tick(&mut self) -> &DynamicImage {
        let period = self.interval.as_nanos().max(1);
        let mut now = (self.started.elapsed().as_nanos() / period) as u64;
        if self.last_tick.is_some_and(|t| now <= t) {
            let next = self.last_tick.map_or(0, |t| t + 1);
            let due = self
                .interval
                .saturating_mul(u32::try_from(next).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_sub(self.started.elapsed()));
            now = next;
        }
        self.last_tick = Some(now);
        let i = usize::try_from(now % self.images.len() as u64).unwrap_or(0);
        &self.images[i]
    }
}

impl FrameSource for VirtualCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        Ok(Some(work_frame(self.tick())))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn next_photo(&mut self) -> Result<Option<RgbImage>, CameraError> {
        Ok(Some(self.tick().to_rgb8()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma};

    #[test]
    fn hands_over_every_item_in_order_then_ends() {
        let a = Frame::new(2, 1, vec![1, 2]).unwrap();
        let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(3, 3, Luma([7])));
        let mut s = ImageFrames::from_frames([a.clone()]);
        s.push_image(img);
        assert_eq!(s.remaining(), 2);
        assert_eq!(s.next_frame().unwrap(), Some(a));
        let b = s.next_frame().unwrap().unwrap();
        assert_eq!((b.width, b.height), (3, 3));
        assert!(b.luma.iter().all(|&v| v == 7));
        assert_eq!(s.next_frame().unwrap(), None);
        assert_eq!(s.next_frame().unwrap(), None);
        assert!(s.describe().contains("2 decoded frame(s)"));
    }

    #[test]
    fn missing_file_is_an_io_error_not_a_panic() {
        let mut s = ImageFrames::from_paths(["/nonexistent/cds-camera/x.png"]);
        let e = s.next_frame().unwrap_err();
        assert_eq!(e.kind(), "io");
    }

    #[test]
    fn malformed_frame_is_refused() {
        let mut s = ImageFrames::from_frames([Frame {
            width: 10,
            height: 10,
            luma: vec![0; 3],
        }]);
        assert_eq!(s.next_frame().unwrap_err().kind(), "invalid_frame");
    }

    #[test]
    fn big_images_are_reduced_to_the_work_size() {
        let big = DynamicImage::ImageLuma8(GrayImage::new(4000, 1000));
        let f = ImageFrames::from_images([big])
            .next_frame()
            .unwrap()
            .unwrap();
        assert!(u64::from(f.width) * u64::from(f.height) <= u64::from(cds_qr::scan::WORK_PIXELS));
        assert!(f.width > f.height);
    }
}
