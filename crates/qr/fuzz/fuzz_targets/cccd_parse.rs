#![no_main]
//! Any text as a CCCD QR: the parser must not panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = cds_qr::cccd::parse_cccd_qr(s);
    }
});
