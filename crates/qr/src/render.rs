//! Rendering a payload (a credential) as a QR code.
//!
//! The symbol is encoded by the `qrcode` crate; drawing is done here
//! directly from its module matrix (one SVG path, or a filled bitmap), which
//! is several times faster than the crate's generic renderers.

use crate::QrError;
use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

fn code(text: &str) -> Result<QrCode, QrError> {
    // Level M survives smudges and screen glare and keeps the symbol small;
    // `qrcode` picks alphanumeric mode for Base45 payloads by itself.
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| QrError::Encoding(format!("cannot make a QR code: {e}")))
}

/// An SVG of `text`'s QR code (black on white, one path, with the quiet
/// zone), scaled to `size` pixels by the viewer.
pub fn render_svg(text: &str, size: u32) -> Result<String, QrError> {
    let code = code(text)?;
    let w = code.width();
    let total = w + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    let mut path = String::with_capacity(w * w * 4);
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % w + QUIET_ZONE, i / w + QUIET_ZONE);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{size}\" height=\"{size}\" \
viewBox=\"0 0 {total} {total}\" shape-rendering=\"crispEdges\">\
<rect width=\"{total}\" height=\"{total}\" fill=\"#fff\"/>\
<path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// A grayscale bitmap of `text`'s QR code, `module_px` pixels per module
/// (clamped to 1..=64), with the quiet zone.
pub fn render_image(text: &str, module_px: u32) -> Result<GrayImage, QrError> {
    let code = code(text)?;
    let module_px = module_px.clamp(1, 64) as usize;
    let w = code.width();
    let colors = code.to_colors();
    let side = (w + 2 * QUIET_ZONE) * module_px;
    let side_u32 = u32::try_from(side).map_err(|_| QrError::Encoding("image too large".into()))?;
    let mut img = GrayImage::from_pixel(side_u32, side_u32, Luma([255]));
    let buf: &mut [u8] = &mut img;
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % w + QUIET_ZONE, i / w + QUIET_ZONE);
        for dy in 0..module_px {
            let row = (my * module_px + dy) * side;
            let start = row + mx * module_px;
            if let Some(span) = buf.get_mut(start..start + module_px) {
                span.fill(0);
            }
        }
    }
    Ok(img)
}

/// Number of modules per side of `text`'s QR code (without quiet zone).
pub fn modules(text: &str) -> Result<usize, QrError> {
    Ok(code(text)?.width())
}
