#![no_main]
//! Any bytes as a scanned QR payload: routing must not panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cds_qr::route_bytes(data);
});
