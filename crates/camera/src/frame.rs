//! One grey camera frame, and its conversions.

use crate::CameraError;
use image::{DynamicImage, GrayImage};

/// One frame: 8-bit grey (luma), row-major, `width * height` bytes.
///
/// Grey because that is all the QR decoders look at, and it is a third of
/// the size of RGB: a mobile bridge hands over the Y plane of its YUV frame
/// as it is, without a colour conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub luma: Vec<u8>,
}

impl Frame {
    /// A checked frame: the buffer must hold exactly `width * height`
    /// bytes and the frame must not be empty.
    pub fn new(width: u32, height: u32, luma: Vec<u8>) -> Result<Frame, CameraError> {
        let frame = Frame {
            width,
            height,
            luma,
        };
        frame.check()?;
        Ok(frame)
    }

    /// The grey version of a decoded image (any colour type).
    pub fn from_image(image: &DynamicImage) -> Frame {
        Frame::from_gray(image.to_luma8())
    }

    /// Wraps a grey image without copying.
    pub fn from_gray(gray: GrayImage) -> Frame {
        let (width, height) = gray.dimensions();
        Frame {
            width,
            height,
            luma: gray.into_raw(),
        }
    }

    /// The fields are public (a platform bridge fills them in), so every
    /// consumer checks them rather than trusting them.
    pub fn check(&self) -> Result<(), CameraError> {
        if self.width == 0 || self.height == 0 {
            return Err(CameraError::InvalidFrame(format!(
                "the frame is empty ({}x{})",
                self.width, self.height
            )));
        }
        let expected = u64::from(self.width) * u64::from(self.height);
        if self.luma.len() as u64 != expected {
            return Err(CameraError::InvalidFrame(format!(
                "{}x{} needs {expected} bytes, the buffer holds {}",
                self.width,
                self.height,
                self.luma.len()
            )));
        }
        Ok(())
    }

    /// A copy as an [`image::GrayImage`].
    pub fn to_gray_image(&self) -> Result<GrayImage, CameraError> {
        self.clone().into_gray_image()
    }

    /// Converts into an [`image::GrayImage`] without copying the pixels.
    pub fn into_gray_image(self) -> Result<GrayImage, CameraError> {
        self.check()?;
        let (w, h) = (self.width, self.height);
        GrayImage::from_raw(w, h, self.luma).ok_or_else(|| {
            CameraError::InvalidFrame(format!("{w}x{h}: buffer does not match the size"))
        })
    }
}

impl From<&DynamicImage> for Frame {
    fn from(image: &DynamicImage) -> Self {
        Frame::from_image(image)
    }
}

impl TryFrom<Frame> for GrayImage {
    type Error = CameraError;

    fn try_from(frame: Frame) -> Result<Self, Self::Error> {
        frame.into_gray_image()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};

    #[test]
    fn from_image_is_grey_row_major() {
        let mut rgb = RgbImage::new(3, 2);
        rgb.put_pixel(2, 1, Rgb([255, 255, 255]));
        let f = Frame::from_image(&DynamicImage::ImageRgb8(rgb));
        assert_eq!((f.width, f.height), (3, 2));
        assert_eq!(f.luma, vec![0, 0, 0, 0, 0, 255]);
        let g = f.to_gray_image().unwrap();
        assert_eq!(g.get_pixel(2, 1), &Luma([255]));
        assert_eq!(g.get_pixel(0, 0), &Luma([0]));
    }

    #[test]
    fn wrong_buffer_length_is_refused() {
        let e = Frame::new(4, 4, vec![0; 15]).unwrap_err();
        assert_eq!(e.kind(), "invalid_frame");
        let bad = Frame {
            width: 4,
            height: 4,
            luma: vec![0; 17],
        };
        assert_eq!(bad.to_gray_image().unwrap_err().kind(), "invalid_frame");
    }

    #[test]
    fn empty_frame_is_refused() {
        assert_eq!(
            Frame::new(0, 10, Vec::new()).unwrap_err().kind(),
            "invalid_frame"
        );
    }

    #[test]
    fn gray_round_trip_keeps_pixels() {
        let g = GrayImage::from_fn(5, 3, |x, y| Luma([(x * 10 + y) as u8]));
        let f = Frame::from_gray(g.clone());
        assert_eq!(GrayImage::try_from(f).unwrap(), g);
    }
}
