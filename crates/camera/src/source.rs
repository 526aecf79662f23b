//! Where frames come from: the [`FrameSource`] interface and the
//! decoded-frames source [`ImageFrames`].

use crate::{CameraError, Frame};
use image::DynamicImage;
use std::collections::VecDeque;
use std::path::PathBuf;

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
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        (**self).next_frame()
    }

    fn describe(&self) -> String {
        (**self).describe()
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
