//! Thumbnails of image attachments: JPEG, longest side 320 px.
//!
//! Decoding is bounded ([`image::Limits`]): an image that claims huge
//! dimensions (a decompression bomb) is refused with an error before its
//! pixels are allocated.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

use crate::error::VaultError;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 320;
/// Largest width or height of an image the vault decodes for a thumbnail.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// Most memory one decode may allocate.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// A JPEG thumbnail of `bytes` for an image `mime`; `Ok(None)` for a PDF,
/// or for an image the decoder cannot read (a damaged scan is still kept,
/// just without a thumbnail). An image too large to decode safely is an
/// error.
pub(crate) fn make_thumbnail(bytes: &[u8], mime: &str) -> Result<Option<Vec<u8>>, VaultError> {
    let format = match mime {
        "image/jpeg" => ImageFormat::Jpeg,
        "image/png" => ImageFormat::Png,
        "image/webp" => ImageFormat::WebP,
        "image/gif" => ImageFormat::Gif,
        _ => return Ok(None),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let img = match reader.decode() {
        Ok(img) => img,
        Err(image::ImageError::Limits(_)) => {
            return Err(VaultError::invalid(
                "attachments",
                format!(
                    "the image is too large to process (more than {MAX_IMAGE_SIDE} pixels \
                     wide or high, or too much memory to decode)"
                ),
            ))
        }
        Err(_) => return Ok(None),
    };
    let small = if img.width().max(img.height()) > THUMBNAIL_MAX_SIDE {
        img.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE)
    } else {
        img
    }
    .to_rgb8();
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    enc.encode_image(&small)
        .map_err(|e| VaultError::Storage(format!("cannot encode a thumbnail: {e}")))?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn thumbnails_are_jpeg_with_longest_side_320() {
        let t = make_thumbnail(&png(800, 400), "image/png")
            .unwrap()
            .unwrap();
        assert!(t.starts_with(&[0xFF, 0xD8, 0xFF]));
        let img = image::load_from_memory(&t).unwrap();
        assert_eq!((img.width(), img.height()), (320, 160));
        let t = make_thumbnail(&png(10, 20), "image/png").unwrap().unwrap();
        let img = image::load_from_memory(&t).unwrap();
        assert_eq!((img.width(), img.height()), (10, 20), "never upscaled");
    }

    #[test]
    fn pdfs_and_undecodable_images_have_none() {
        assert_eq!(
            make_thumbnail(b"%PDF-1.7", "application/pdf").unwrap(),
            None
        );
        let mut broken = png(4, 4);
        broken.truncate(30);
        assert_eq!(make_thumbnail(&broken, "image/png").unwrap(), None);
    }

    #[test]
    fn a_decompression_bomb_is_an_error_not_an_allocation() {
        // A valid PNG header claiming 100000 x 100000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // Fix the IHDR CRC so the decoder reads the dimensions.
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = make_thumbnail(&bomb, "image/png").unwrap_err();
        assert_eq!(err.kind(), "invalid_input");
        assert!(err.to_string().contains("too large"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
