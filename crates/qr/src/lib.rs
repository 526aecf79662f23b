//! QR codes for Công dân số.
//!
//! - [`credential`]: the signed citizen credential shown offline (CBOR claims
//!   in COSE_Sign1 with ES256, zlib, Base45, `CDS1:` prefix), its issuing
//!   key, trust list, signed revocation list and offline [`verify`].
//! - [`cccd`]: the parser of the QR printed on Vietnamese chip ID cards
//!   (2021 CCCD and 2024 Căn cước), yielding an [`UnverifiedCccdQr`].
//! - [`scan`]: decoding QR codes from images behind the [`QrDecoder`]
//!   trait, with the pipeline chosen by measurement.
//! - [`route()`]: classifying a scanned payload.
//! - [`render`]: drawing a payload as a QR code (SVG or bitmap).
//!
//! Every fallible function returns [`QrError`]; nothing panics on input.
//!
//! [`verify`]: credential::verify
//! [`UnverifiedCccdQr`]: cccd::UnverifiedCccdQr
//! [`QrDecoder`]: scan::QrDecoder

pub mod base45;
pub mod cccd;
pub mod credential;
mod error;
pub mod render;
pub mod route;
pub mod scan;

pub use error::QrError;
pub use route::{route, route_bytes, Routed};
