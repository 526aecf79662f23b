//! Finding and decoding QR codes in images.
//!
//! Decoders sit behind [`QrDecoder`], so a mobile build can plug in the
//! platform scanner and a desktop camera (nokhwa) can feed frames to the same
//! [`Pipeline`]. Two decoders are built in: [`ZxingDecoder`] (zxing-cpp,
//! feature `zxing`, default) and [`RqrrDecoder`] (pure Rust). The default
//! pipeline was chosen by measurement (see `BENCHMARKS-QR.md`): zxing-cpp
//! first, then rqrr over preprocessed variants (contrast stretch, adaptive
//! threshold, inverted, mirrored, half size) when zxing finds nothing.
//!
//! Input is bounded: files over [`MAX_FILE_BYTES`] or images over
//! [`MAX_IMAGE_PIXELS`] are refused before decoding, and images are
//! downscaled to at most [`WORK_PIXELS`] before the detectors run, so a 50 MP
//! photo costs one resize, not a hang.

use crate::QrError;
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageReader, Luma};
use std::io::Cursor;
use std::path::Path;

/// Largest image file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest image (width × height) decoded at all.
pub const MAX_IMAGE_PIXELS: u64 = 120_000_000;
/// Images are downscaled to at most this many pixels before detection.
pub const WORK_PIXELS: u32 = 3_000_000;
/// Most QR symbols a decoder reports per image.
pub const MAX_SYMBOLS: usize = 16;

/// One decoded QR symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The payload as text, when the decoder could make text of it.
    pub text: Option<String>,
    /// The raw payload bytes.
    pub bytes: Vec<u8>,
    /// Which decoder read it.
    pub decoder: &'static str,
}

/// A QR decoder: finds every QR code in a grayscale image.
pub trait QrDecoder: Send + Sync {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// The symbols found; empty when none. Never panics.
    fn decode(&self, image: &GrayImage) -> Vec<Symbol>;
}

/// Pure-Rust decoder ([`rqrr`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RqrrDecoder;

impl QrDecoder for RqrrDecoder {
    fn name(&self) -> &'static str {
        "rqrr"
    }

    fn decode(&self, image: &GrayImage) -> Vec<Symbol> {
        if image.width() < 21 || image.height() < 21 {
            return Vec::new();
        }
        let result = std::panic::catch_unwind(|| {
            let mut prepared = rqrr::PreparedImage::prepare(image.clone());
            let grids = prepared.detect_grids();
            let mut out = Vec::new();
            for grid in grids.iter().take(MAX_SYMBOLS * 2) {
                let mut bytes = Vec::new();
                if grid.decode_to(&mut bytes).is_ok() {
                    out.push(Symbol {
                        text: bytes_to_text(&bytes),
                        bytes,
                        decoder: "rqrr",
                    });
                    if out.len() >= MAX_SYMBOLS {
                        break;
                    }
                }
            }
            out
        });
        result.unwrap_or_default()
    }
}

/// QR text as decoders give it: UTF-8 when valid, else ISO-8859-1 (the QR
/// default byte charset) when it has no control characters, else none.
pub fn bytes_to_text(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_owned());
    }
    if bytes
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || (0x7f..0xa0).contains(&b))
    {
        return None;
    }
    Some(bytes.iter().map(|&b| char::from(b)).collect())
}

/// zxing-cpp decoder (C++ library, bundled build).
#[cfg(feature = "zxing")]
#[derive(Debug, Clone, Copy)]
pub struct ZxingDecoder {
    /// zxing's "try harder" (more scanning lines, rotations, inversions).
    /// Off is faster for camera frames.
    pub try_harder: bool,
}

#[cfg(feature = "zxing")]
impl Default for ZxingDecoder {
    fn default() -> Self {
        ZxingDecoder { try_harder: true }
    }
}

#[cfg(feature = "zxing")]
impl QrDecoder for ZxingDecoder {
    fn name(&self) -> &'static str {
        if self.try_harder {
            "zxing-cpp"
        } else {
            "zxing-cpp-fast"
        }
    }

    fn decode(&self, image: &GrayImage) -> Vec<Symbol> {
        if image.width() == 0 || image.height() == 0 {
            return Vec::new();
        }
        let Ok(view) = zxingcpp::ImageView::from_slice(
            image.as_raw(),
            image.width(),
            image.height(),
            zxingcpp::ImageFormat::Lum,
        ) else {
            return Vec::new();
        };
        let reader = zxingcpp::read()
            .formats([zxingcpp::BarcodeFormat::QRCode])
            .try_harder(self.try_harder)
            .try_rotate(self.try_harder)
            .try_invert(true)
            .try_downscale(true)
            .max_number_of_symbols(MAX_SYMBOLS as i32);
        let Ok(codes) = reader.from(view) else {
            return Vec::new();
        };
        codes
            .into_iter()
            .filter(|c| c.is_valid())
            .take(MAX_SYMBOLS)
            .map(|c| {
                let bytes = c.bytes();
                // zxing decodes the text with the symbol's ECI / charset
                // guess (Shift_JIS, ISO-8859-1, UTF-8…); binary content
                // gets the same treatment as rqrr's bytes.
                let text = if c.content_type() == zxingcpp::ContentType::Binary {
                    bytes_to_text(&bytes)
                } else {
                    Some(c.text())
                };
                Symbol {
                    text,
                    bytes,
                    decoder: "zxing-cpp",
                }
            })
            .collect()
    }
}

/// Preprocessed variants tried by the fallback stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Plain,
    Stretched,
    AdaptiveThreshold,
    Inverted,
    Mirrored,
    Half,
}

impl Variant {
    pub const ALL: [Variant; 6] = [
        Variant::Plain,
        Variant::Stretched,
        Variant::AdaptiveThreshold,
        Variant::Inverted,
        Variant::Mirrored,
        Variant::Half,
    ];

    /// Makes the variant of `gray`.
    pub fn apply(self, gray: &GrayImage) -> GrayImage {
        match self {
            Variant::Plain => gray.clone(),
            Variant::Stretched => stretch_contrast(gray),
            Variant::AdaptiveThreshold => adaptive_threshold(gray),
            Variant::Inverted => {
                let mut g = gray.clone();
                image::imageops::invert(&mut g);
                g
            }
            Variant::Mirrored => image::imageops::flip_horizontal(gray),
            Variant::Half => {
                let (w, h) = (gray.width() / 2, gray.height() / 2);
                if w < 21 || h < 21 {
                    gray.clone()
                } else {
                    image::imageops::resize(gray, w, h, FilterType::Triangle)
                }
            }
        }
    }
}

/// Linear contrast stretch between the 1st and 99th percentile.
pub fn stretch_contrast(gray: &GrayImage) -> GrayImage {
    let mut hist = [0u64; 256];
    for p in gray.pixels() {
        hist[usize::from(p.0[0])] += 1;
    }
    let total: u64 = hist.iter().sum();
    let cut = total / 100;
    let (mut lo, mut hi) = (0usize, 255usize);
    let mut acc = 0;
    for (i, h) in hist.iter().enumerate() {
        acc += h;
        if acc > cut {
            lo = i;
            break;
        }
    }
    acc = 0;
    for (i, h) in hist.iter().enumerate().rev() {
        acc += h;
        if acc > cut {
            hi = i;
            break;
        }
    }
    if hi <= lo {
        return gray.clone();
    }
    let range = (hi - lo) as f32;
    let mut out = gray.clone();
    for p in out.pixels_mut() {
        let v = (f32::from(p.0[0]) - lo as f32) / range * 255.0;
        p.0[0] = v.clamp(0.0, 255.0) as u8;
    }
    out
}

/// Mean-of-window adaptive threshold (window ~1/8 of the short side) using
/// an integral image: black where a pixel is darker than its neighbourhood.
pub fn adaptive_threshold(gray: &GrayImage) -> GrayImage {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w == 0 || h == 0 {
        return gray.clone();
    }
    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(gray.as_raw()[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let r = (w.min(h) / 16).max(4);
    let mut out = GrayImage::new(gray.width(), gray.height());
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
                - integral[y0 * (w + 1) + x1]
                - integral[y1 * (w + 1) + x0];
            let count = ((y1 - y0) * (x1 - x0)) as u64;
            let v = u64::from(gray.as_raw()[y * w + x]) * count * 100;
            let black = v < sum * 93;
            out.put_pixel(x as u32, y as u32, Luma([if black { 0 } else { 255 }]));
        }
    }
    out
}

/// Reads an image file with the size limits.
pub fn load_image_file(path: &Path) -> Result<DynamicImage, QrError> {
    let io = |e: std::io::Error| QrError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(QrError::TooLarge {
            what: "image file",
            size: usize::try_from(meta.len()).unwrap_or(usize::MAX),
            limit: MAX_FILE_BYTES as usize,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    load_image_bytes(&bytes)
}

/// Decodes image bytes (PNG, JPEG, WebP, GIF, BMP) with the size limits.
pub fn load_image_bytes(bytes: &[u8]) -> Result<DynamicImage, QrError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(QrError::TooLarge {
            what: "image file",
            size: bytes.len(),
            limit: MAX_FILE_BYTES as usize,
        });
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::NotAnImage(e.to_string()))?;
    if reader.format().is_none() {
        return Err(QrError::NotAnImage(
            "the file is not a PNG, JPEG, WebP, GIF or BMP image".into(),
        ));
    }
    let (w, h) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::NotAnImage(e.to_string()))?
        .into_dimensions()
        .map_err(|e| QrError::NotAnImage(e.to_string()))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(QrError::TooLarge {
            what: "image (pixels)",
            size: usize::try_from(pixels).unwrap_or(usize::MAX),
            limit: MAX_IMAGE_PIXELS as usize,
        });
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4 + 64 * 1024 * 1024);
    let mut reader = reader;
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| QrError::NotAnImage(e.to_string()))
}

/// Grayscale, downscaled so that it has at most `max_pixels` pixels.
pub fn to_work_gray(image: &DynamicImage, max_pixels: u32) -> GrayImage {
    let (w, h) = (image.width(), image.height());
    let pixels = u64::from(w) * u64::from(h);
    if pixels > u64::from(max_pixels) && w > 0 && h > 0 {
        let scale = (f64::from(max_pixels) / pixels as f64).sqrt();
        let nw = ((f64::from(w) * scale) as u32).max(1);
        let nh = ((f64::from(h) * scale) as u32).max(1);
        // Reduce with a cheap filter: a 50 MP photo must not take seconds.
        let small = image.resize_exact(nw, nh, FilterType::Triangle);
        small.to_luma8()
    } else {
        image.to_luma8()
    }
}

/// A decoding pipeline: primary decoders on the image as given, then the
/// fallback decoders over preprocessed variants.
pub struct Pipeline {
    primary: Vec<Box<dyn QrDecoder>>,
    fallback: Vec<Box<dyn QrDecoder>>,
    variants: Vec<Variant>,
    work_pixels: u32,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "primary",
                &self.primary.iter().map(|d| d.name()).collect::<Vec<_>>(),
            )
            .field(
                "fallback",
                &self.fallback.iter().map(|d| d.name()).collect::<Vec<_>>(),
            )
            .field("variants", &self.variants)
            .finish()
    }
}

impl Default for Pipeline {
    /// The pipeline chosen by measurement: zxing-cpp (when built with the
    /// `zxing` feature), then rqrr over the preprocessed variants.
    fn default() -> Self {
        #[cfg(feature = "zxing")]
        let primary: Vec<Box<dyn QrDecoder>> = vec![Box::new(ZxingDecoder::default())];
        #[cfg(not(feature = "zxing"))]
        let primary: Vec<Box<dyn QrDecoder>> = Vec::new();
        Pipeline {
            primary,
            fallback: vec![Box::new(RqrrDecoder)],
            variants: Variant::ALL.to_vec(),
            work_pixels: WORK_PIXELS,
        }
    }
}

impl Pipeline {
    /// A pipeline of one decoder on the plain grayscale image only (used by
    /// the benchmark to compare decoders).
    pub fn single(decoder: Box<dyn QrDecoder>) -> Self {
        Pipeline {
            primary: vec![decoder],
            fallback: Vec::new(),
            variants: Vec::new(),
            work_pixels: WORK_PIXELS,
        }
    }

    /// The camera-frame pipeline: zxing-cpp without "try harder" on the
    /// frame as it is (about 2 ms per 640x480 frame here), falling back to
    /// plain rqrr only when zxing-cpp is not built in. The next frame is
    /// the retry, so no expensive preprocessing per frame.
    pub fn camera() -> Self {
        #[cfg(feature = "zxing")]
        let primary: Vec<Box<dyn QrDecoder>> = vec![Box::new(ZxingDecoder { try_harder: false })];
        #[cfg(not(feature = "zxing"))]
        let primary: Vec<Box<dyn QrDecoder>> = vec![Box::new(RqrrDecoder)];
        Pipeline {
            primary,
            fallback: Vec::new(),
            variants: Vec::new(),
            work_pixels: WORK_PIXELS,
        }
    }

    /// The pure-Rust pipeline: rqrr over every variant.
    pub fn rqrr_only() -> Self {
        Pipeline {
            primary: Vec::new(),
            fallback: vec![Box::new(RqrrDecoder)],
            variants: Variant::ALL.to_vec(),
            work_pixels: WORK_PIXELS,
        }
    }

    /// A custom pipeline.
    pub fn new(
        primary: Vec<Box<dyn QrDecoder>>,
        fallback: Vec<Box<dyn QrDecoder>>,
        variants: Vec<Variant>,
    ) -> Self {
        Pipeline {
            primary,
            fallback,
            variants,
            work_pixels: WORK_PIXELS,
        }
    }

    /// Number of decode attempts one image may cost.
    pub fn attempts(&self) -> usize {
        self.primary.len() + self.fallback.len() * self.variants.len()
    }

    /// Decodes every QR code in `image`. `Err(NoQrCode)` when none is found.
    pub fn scan(&self, image: &DynamicImage) -> Result<Vec<Symbol>, QrError> {
        let gray = to_work_gray(image, self.work_pixels);
        self.scan_gray(&gray)
    }

    /// As [`Pipeline::scan`], on an already grayscale image (a camera frame).
    pub fn scan_gray(&self, gray: &GrayImage) -> Result<Vec<Symbol>, QrError> {
        if gray.width() == 0 || gray.height() == 0 {
            return Err(QrError::NotAnImage("the image is empty".into()));
        }
        for d in &self.primary {
            let found = d.decode(gray);
            if !found.is_empty() {
                return Ok(dedup(found));
            }
        }
        for v in &self.variants {
            let img = v.apply(gray);
            for d in &self.fallback {
                let found = d.decode(&img);
                if !found.is_empty() {
                    return Ok(dedup(found));
                }
            }
        }
        Err(QrError::NoQrCode {
            attempts: self.attempts(),
        })
    }

    /// Reads and decodes an image file.
    pub fn scan_file(&self, path: &Path) -> Result<Vec<Symbol>, QrError> {
        self.scan(&load_image_file(path)?)
    }

    /// Decodes image bytes.
    pub fn scan_bytes(&self, bytes: &[u8]) -> Result<Vec<Symbol>, QrError> {
        self.scan(&load_image_bytes(bytes)?)
    }
}

fn dedup(mut found: Vec<Symbol>) -> Vec<Symbol> {
    let mut seen = std::collections::HashSet::new();
    found.retain(|s| seen.insert(s.bytes.clone()));
    found
}
