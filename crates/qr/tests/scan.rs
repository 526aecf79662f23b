//! Scanning real photos and generated codes; bad images.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_qr::credential::{
    verify, Claims, Disclosure, RevocationList, SigningKey, Subject, TrustList,
};
use cds_qr::render;
use cds_qr::scan::{self, Pipeline, RqrrDecoder};
use cds_qr::{route, route_bytes, QrError, Routed};
use image::{DynamicImage, GrayImage, Luma};
use std::path::{Path, PathBuf};

/// Read count of the default pipeline at rotation 0 measured on
/// ../shared/testdata/qr-photos (see BENCHMARKS-QR.md), vendored in
/// `tests/photos` (zxing-cpp's test images, licence beside them) so a clean
/// checkout has them; the test asserts at least this many.
const MIN_READ_AT_0: usize = 91;

fn photos_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/photos");
    p.is_dir().then_some(p)
}

fn samples(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ["png", "jpg", "webp"].contains(&ext) {
                let expected = std::fs::read_to_string(f.with_extension("txt")).unwrap();
                out.push((f, expected));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn real_photos_are_read_with_exact_text() {
    let Some(root) = photos_dir() else {
        panic!("crates/qr/tests/photos is missing");
    };
    let all = samples(&root);
    assert_eq!(all.len(), 95);
    let pipeline = Pipeline::default();
    let mut read = 0;
    for (path, expected) in &all {
        match pipeline.scan_file(path) {
            Ok(symbols) => {
                assert!(!symbols.is_empty());
                if symbols
                    .iter()
                    .any(|s| s.text.as_deref() == Some(expected.as_str()))
                {
                    read += 1;
                } else {
                    // A symbol was decoded but it is not the expected text:
                    // only allowed on images holding several codes.
                    assert!(
                        symbols.len() > 1
                            || expected.contains('\n')
                            || path.to_string_lossy().contains("qrcode-2"),
                        "{}: decoded {:?}, expected {expected:?}",
                        path.display(),
                        symbols.iter().map(|s| s.text.clone()).collect::<Vec<_>>()
                    );
                }
            }
            Err(e) => assert_eq!(e.kind(), "no_qr_code", "{}: {e}", path.display()),
        }
    }
    assert!(read >= MIN_READ_AT_0, "read {read} of {}", all.len());
}

fn key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
}

fn credential() -> (SigningKey, String) {
    let k = key();
    let s = Subject {
        id_number: "079199001234".into(),
        full_name: "Võ Thị Sáu".into(),
        date_of_birth: "1990-01-02".into(),
    };
    let c = Claims::new(
        &s,
        Disclosure::Full,
        "TP Hồ Chí Minh",
        1_780_000_000,
        86_400,
    )
    .unwrap();
    let t = k.issue(&c).unwrap();
    (k, t)
}

fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageLuma8(img.clone())
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn generated_credential_round_trips_through_an_image() {
    let (k, text) = credential();
    let img = render::render_image(&text, 6).unwrap();
    for pipeline in [Pipeline::default(), Pipeline::rqrr_only()] {
        let symbols = pipeline.scan_bytes(&png(&img)).unwrap();
        assert_eq!(symbols[0].text.as_deref(), Some(text.as_str()));
        let routed = route_bytes(&symbols[0].bytes);
        let Routed::CitizenCredential(payload) = routed else {
            panic!("{routed:?}")
        };
        let mut t = TrustList::new();
        t.add(k.public_key(), None).unwrap();
        assert_eq!(
            verify(&payload, &t, &RevocationList::default(), 1_780_000_001).code(),
            "valid"
        );
    }
    let svg = render::render_svg(&text, 300).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"));
    // The bitmap has the quiet zone: white border of 4 modules.
    let m = render::modules(&text).unwrap() as u32;
    assert_eq!(img.width(), (m + 8) * 6);
    assert!((0..img.width()).all(|x| img.get_pixel(x, 0).0[0] == 255));
    // Camera pipeline reads it too.
    assert_eq!(
        Pipeline::camera().scan_gray(&img).unwrap()[0]
            .text
            .as_deref(),
        Some(text.as_str())
    );
}

#[test]
fn inverted_and_mirrored_codes_are_read() {
    let (_, text) = credential();
    let img = render::render_image(&text, 5).unwrap();
    let mut inverted = img.clone();
    image::imageops::invert(&mut inverted);
    let mirrored = image::imageops::flip_horizontal(&img);
    for (name, variant) in [("inverted", inverted), ("mirrored", mirrored)] {
        for pipeline in [Pipeline::default(), Pipeline::rqrr_only()] {
            let s = pipeline
                .scan_gray(&variant)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s[0].text.as_deref(), Some(text.as_str()), "{name}");
        }
    }
    // Plain rqrr alone does not read the inverted code: preprocessing helps.
    let mut inv = img.clone();
    image::imageops::invert(&mut inv);
    assert!(Pipeline::single(Box::new(RqrrDecoder))
        .scan_gray(&inv)
        .is_err());
}

#[test]
fn blurred_and_partial_codes_give_no_qr_code() {
    let (_, text) = credential();
    let img = render::render_image(&text, 4).unwrap();
    let blurred = image::imageops::blur(&img, 12.0);
    let mut partial = img.clone();
    let (w, h) = (partial.width(), partial.height());
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            partial.put_pixel(x, y, Luma([255]));
        }
    }
    for (name, bad) in [("blurred", blurred), ("partial", partial)] {
        let err = Pipeline::default().scan_gray(&bad).unwrap_err();
        assert_eq!(err.kind(), "no_qr_code", "{name}");
        assert!(err.to_string().contains("no QR code"));
    }
}

#[test]
fn non_images_and_empty_images_are_clear_errors() {
    for bytes in [&b""[..], b"hello, not an image", b"\x89PNG\r\n\x1a\nbroken"] {
        let err = Pipeline::default().scan_bytes(bytes).unwrap_err();
        assert_eq!(err.kind(), "not_an_image", "{bytes:?}: {err}");
    }
    let err = Pipeline::default()
        .scan_gray(&GrayImage::new(0, 0))
        .unwrap_err();
    assert_eq!(err.kind(), "not_an_image");
    let err = Pipeline::default()
        .scan_file(Path::new("/nonexistent/x.png"))
        .unwrap_err();
    assert_eq!(err.kind(), "io");
}

#[test]
fn huge_images_are_refused_or_downscaled() {
    // A PNG header claiming 200 000 x 200 000 pixels: refused before decoding.
    let mut fake = png(&GrayImage::new(1, 1));
    fake[16..20].copy_from_slice(&200_000u32.to_be_bytes());
    fake[20..24].copy_from_slice(&200_000u32.to_be_bytes());
    let err = scan::load_image_bytes(&fake).unwrap_err();
    assert!(
        matches!(err, QrError::TooLarge { .. } | QrError::NotAnImage(_)),
        "{err:?}"
    );
    // A real 50 MP image with a code in it is downscaled, then read.
    let (_, text) = credential();
    let code = render::render_image(&text, 40).unwrap();
    let mut big = GrayImage::from_pixel(8660, 5774, Luma([255]));
    image::imageops::overlay(&mut big, &code, 3000, 1500);
    let gray = scan::to_work_gray(&DynamicImage::ImageLuma8(big), scan::WORK_PIXELS);
    assert!(u64::from(gray.width()) * u64::from(gray.height()) <= u64::from(scan::WORK_PIXELS));
    let s = Pipeline::default().scan_gray(&gray).unwrap();
    assert_eq!(s[0].text.as_deref(), Some(text.as_str()));
}

#[test]
fn three_kilobytes_of_binary_is_a_clear_error() {
    let data: Vec<u8> = (0..3072u32).map(|i| (i * 7 + 3) as u8).collect();
    match route_bytes(&data) {
        Routed::TooLarge { len, message } => {
            assert_eq!(len, 3072);
            assert!(message.contains("too much data"));
        }
        other => panic!("{other:?}"),
    }
    let small: Vec<u8> = (0..200u32).map(|i| (i * 13) as u8).collect();
    let Routed::Binary { message, .. } = route_bytes(&small) else {
        panic!()
    };
    assert!(message.contains("binary"));
    // A real QR code of 2 KB of binary bytes, scanned and routed.
    let bin: Vec<u8> = (0..2000u32).map(|i| (i * 31 + 7) as u8).collect();
    let code = qrcode::QrCode::with_error_correction_level(&bin, qrcode::EcLevel::L).unwrap();
    let img = code.render::<Luma<u8>>().module_dimensions(3, 3).build();
    let symbols = Pipeline::default().scan_gray(&img).unwrap();
    assert_eq!(symbols[0].bytes, bin);
    assert_eq!(route_bytes(&symbols[0].bytes).kind(), "binary");
}

#[test]
fn routing() {
    assert_eq!(route("CDS1:ABC").kind(), "citizen_credential");
    let r = route("001099012345|123456789|Nguyễn Văn An|15031999|Nam|Hà Nội|20042021");
    let Routed::CccdCard(c) = r else {
        panic!("{r:?}")
    };
    assert_eq!(c.number, "001099012345");
    let r = route("001099012345|123456789|Nguyễn Văn An|31021999|Nam|Hà Nội|20042021");
    assert_eq!(r.kind(), "invalid_cccd");
    let Routed::Url { url, warning } = route("https://example.com/x") else {
        panic!()
    };
    assert_eq!(url, "https://example.com/x");
    assert!(warning.contains("trust"));
    assert_eq!(route("Xin chào").kind(), "text");
    assert_eq!(route(&"a".repeat(2500)).kind(), "too_large");
}
