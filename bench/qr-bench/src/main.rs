//! QR benchmark: read rate and time per image of each decoder and of the
//! chosen pipeline at rotations 0/90/180/270, time per 640x480 camera
//! frame, and credential QR generation time.
//!
//! Run: `cargo run --release --manifest-path bench/qr-bench/Cargo.toml -- ../shared/testdata/qr-photos`
//! (any folder of sub-folders of images, each `NAME.ext` with `NAME.txt`
//! holding the expected text). Options: `--rotations 0,90`, `--out FILE`
//! (Markdown table), `--only NAME[,NAME]` (decoders).

use cds_qr::credential::{Claims, Disclosure, SigningKey, Subject};
use cds_qr::render;
use cds_qr::scan::{self, Pipeline, QrDecoder, RqrrDecoder, Symbol};
use image::{DynamicImage, GrayImage};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Sample {
    name: String,
    image: DynamicImage,
    expected: String,
}

struct Bardecoder;

impl QrDecoder for Bardecoder {
    fn name(&self) -> &'static str {
        "bardecoder"
    }
    fn decode(&self, image: &GrayImage) -> Vec<Symbol> {
        let Some(img) = bardecoder_image(image) else {
            return Vec::new();
        };
        let decoder = bardecoder::default_decoder();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(&img)));
        out.unwrap_or_default()
            .into_iter()
            .filter_map(Result::ok)
            .map(|t| Symbol {
                bytes: t.clone().into_bytes(),
                text: Some(t),
                decoder: "bardecoder",
            })
            .collect()
    }
}

fn bardecoder_image(image: &GrayImage) -> Option<bardecoder_image::DynamicImage> {
    let buf = bardecoder_image::GrayImage::from_raw(
        image.width(),
        image.height(),
        image.as_raw().clone(),
    )?;
    Some(bardecoder_image::DynamicImage::ImageLuma8(buf))
}

fn load_samples(root: &Path) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            let ext = f
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !["png", "jpg", "jpeg", "webp", "gif", "bmp"].contains(&ext.as_str()) {
                continue;
            }
            let txt = f.with_extension("txt");
            let Ok(expected) = std::fs::read_to_string(&txt) else {
                eprintln!("skip {} (no .txt)", f.display());
                continue;
            };
            match scan::load_image_file(&f) {
                Ok(image) => out.push(Sample {
                    name: format!(
                        "{}/{}",
                        dir.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                        f.file_name().and_then(|n| n.to_str()).unwrap_or("")
                    ),
                    image,
                    expected,
                }),
                Err(e) => eprintln!("skip {}: {e}", f.display()),
            }
        }
    }
    out
}

fn rotate(img: &DynamicImage, deg: u32) -> DynamicImage {
    match deg {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img.clone(),
    }
}

fn is_read(found: &[Symbol], expected: &str) -> bool {
    found.iter().any(|s| s.text.as_deref() == Some(expected))
}

struct Row {
    name: String,
    rotation: u32,
    read: usize,
    total: usize,
    mean: Duration,
    p95: Duration,
    misses: Vec<String>,
}

fn stats(mut times: Vec<Duration>) -> (Duration, Duration) {
    if times.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let idx = ((times.len() as f64) * 0.95).ceil() as usize;
    (mean, times[idx.saturating_sub(1).min(times.len() - 1)])
}

fn run(
    name: &str,
    pipeline: &Pipeline,
    samples: &[(String, DynamicImage, String)],
    rotation: u32,
) -> Row {
    let mut times = Vec::new();
    let mut read = 0;
    let mut misses = Vec::new();
    for (n, img, expected) in samples {
        let t = Instant::now();
        let found = pipeline.scan(img).unwrap_or_default();
        times.push(t.elapsed());
        if is_read(&found, expected) {
            read += 1;
        } else {
            misses.push(n.clone());
        }
    }
    let (mean, p95) = stats(times);
    Row {
        name: name.to_owned(),
        rotation,
        read,
        total: samples.len(),
        mean,
        p95,
        misses,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut folder = None;
    let mut rotations = vec![0u32, 90, 180, 270];
    let mut out_file: Option<PathBuf> = None;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rotations" => {
                rotations = it
                    .next()
                    .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
                    .unwrap_or_default()
            }
            "--out" => out_file = it.next().map(PathBuf::from),
            "--only" => only = it.next().map(|v| v.split(',').map(str::to_owned).collect()),
            other => folder = Some(PathBuf::from(other)),
        }
    }
    let Some(folder) = folder else {
        eprintln!("usage: qr-bench FOLDER [--rotations 0,90,180,270] [--out FILE] [--only a,b]");
        std::process::exit(2);
    };
    // rqrr can panic on some images (caught in the decoder); keep the
    // report readable.
    std::panic::set_hook(Box::new(|_| {}));
    let samples = load_samples(&folder);
    eprintln!("{} images from {}", samples.len(), folder.display());

    let mut configs: Vec<(&str, Pipeline)> = vec![
        (
            "zxing-cpp",
            Pipeline::single(Box::new(scan::ZxingDecoder::default())),
        ),
        ("rqrr", Pipeline::single(Box::new(RqrrDecoder))),
        ("bardecoder", Pipeline::single(Box::new(Bardecoder))),
        ("rqrr + preprocessing", Pipeline::rqrr_only()),
        (
            "chosen: zxing-cpp, then rqrr + preprocessing",
            Pipeline::default(),
        ),
    ];
    if let Some(only) = &only {
        configs.retain(|(n, _)| only.iter().any(|o| n.starts_with(o.as_str())));
    }

    let mut rows = Vec::new();
    for &rot in &rotations {
        let rotated: Vec<(String, DynamicImage, String)> = samples
            .iter()
            .map(|s| (s.name.clone(), rotate(&s.image, rot), s.expected.clone()))
            .collect();
        for (name, p) in &configs {
            let row = run(name, p, &rotated, rot);
            eprintln!(
                "{:>3}° {:<45} {:>3}/{:<3} mean {:>7} ms p95 {:>7} ms  misses: {}",
                rot,
                row.name,
                row.read,
                row.total,
                ms(row.mean),
                ms(row.p95),
                row.misses.join(" ")
            );
            rows.push(row);
        }
    }

    // Camera frames: every photo letterboxed into 640x480 grayscale.
    let frames: Vec<GrayImage> = samples
        .iter()
        .map(|s| {
            let img = s
                .image
                .resize(640, 480, image::imageops::FilterType::Triangle);
            let mut frame = GrayImage::from_pixel(640, 480, image::Luma([128]));
            image::imageops::overlay(
                &mut frame,
                &img.to_luma8(),
                i64::from((640 - img.width()) / 2),
                i64::from((480 - img.height()) / 2),
            );
            frame
        })
        .collect();
    let mut frame_rows = Vec::new();
    let frame_pipelines: Vec<(&str, Pipeline)> = vec![
        ("camera pipeline (zxing-cpp fast)", Pipeline::camera()),
        (
            "zxing-cpp (try harder)",
            Pipeline::single(Box::new(scan::ZxingDecoder::default())),
        ),
        ("rqrr", Pipeline::single(Box::new(RqrrDecoder))),
        ("image-file pipeline (default)", Pipeline::default()),
    ];
    for (name, p) in &frame_pipelines {
        let mut times = Vec::new();
        let mut read = 0;
        for (frame, s) in frames.iter().zip(&samples) {
            let t = Instant::now();
            let found = p.scan_gray(frame).unwrap_or_default();
            times.push(t.elapsed());
            if is_read(&found, &s.expected) {
                read += 1;
            }
        }
        let (mean, p95) = stats(times);
        eprintln!(
            "frame 640x480 {name:<32} read {read}/{} mean {} ms p95 {} ms",
            frames.len(),
            ms(mean),
            ms(p95)
        );
        frame_rows.push((name.to_string(), read, frames.len(), mean, p95));
    }

    // Generation: issue (claims, CBOR, sign, zlib, Base45) and render.
    let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().expect("key")).expect("key");
    let subject = Subject {
        id_number: "001099012345".into(),
        full_name: "Nguyễn Thị Minh Khai".into(),
        date_of_birth: "1999-05-17".into(),
    };
    let now = 1_800_000_000;
    let n = 300u32;
    let mut gen = Vec::new();
    let mut text = String::new();
    let t = Instant::now();
    for _ in 0..n {
        let claims =
            Claims::new(&subject, Disclosure::Full, "TP Hà Nội", now, 30 * 86400).expect("claims");
        text = key.issue(&claims).expect("issue");
    }
    gen.push((
        "issue (claims → CDS1 text, incl. ECDSA sign)",
        t.elapsed() / n,
    ));
    let t = Instant::now();
    for _ in 0..n {
        let _ = render::render_svg(&text, 256).expect("svg");
    }
    gen.push(("render SVG (qrcode)", t.elapsed() / n));
    let t = Instant::now();
    for _ in 0..n {
        let _ = render::render_image(&text, 8).expect("img");
    }
    gen.push(("render bitmap 8 px/module (qrcode)", t.elapsed() / n));
    let t = Instant::now();
    for _ in 0..n {
        let claims =
            Claims::new(&subject, Disclosure::Full, "TP Hà Nội", now, 30 * 86400).expect("claims");
        let text = key.issue(&claims).expect("issue");
        let _ = render::render_svg(&text, 256).expect("svg");
    }
    gen.push(("issue + render SVG", t.elapsed() / n));
    let modules = render::modules(&text).unwrap_or(0);
    for (name, d) in &gen {
        eprintln!(
            "generation {name}: {} ms",
            format_args!("{:.3}", d.as_secs_f64() * 1000.0)
        );
    }
    eprintln!(
        "credential text {} chars, QR {modules}x{modules} modules",
        text.len()
    );

    let mut md = String::new();
    md.push_str("| rotation | decoder / pipeline | read | mean ms/image | p95 ms/image |\n|---|---|---|---|---|\n");
    for r in &rows {
        md.push_str(&format!(
            "| {}° | {} | {}/{} | {} | {} |\n",
            r.rotation,
            r.name,
            r.read,
            r.total,
            ms(r.mean),
            ms(r.p95)
        ));
    }
    md.push_str("\n| 640x480 frame | read | mean ms/frame | p95 ms/frame |\n|---|---|---|---|\n");
    for (name, read, total, mean, p95) in &frame_rows {
        md.push_str(&format!(
            "| {name} | {read}/{total} | {} | {} |\n",
            ms(*mean),
            ms(*p95)
        ));
    }
    md.push_str("\n| generation | ms |\n|---|---|\n");
    for (name, d) in &gen {
        md.push_str(&format!("| {name} | {:.3} |\n", d.as_secs_f64() * 1000.0));
    }
    md.push_str(&format!(
        "\nCredential (full profile): {} characters, QR {modules}×{modules} modules (level M).\n",
        text.len()
    ));
    md.push_str("\nMisses (images not read):\n\n");
    for r in &rows {
        md.push_str(&format!(
            "- {}° {}: {}\n",
            r.rotation,
            r.name,
            if r.misses.is_empty() {
                "none".into()
            } else {
                r.misses.join(", ")
            }
        ));
    }
    println!("{md}");
    if let Some(f) = out_file {
        if let Err(e) = std::fs::write(&f, &md) {
            eprintln!("cannot write {}: {e}", f.display());
        }
    }
}
