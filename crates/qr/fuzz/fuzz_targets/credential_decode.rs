#![no_main]
//! Any bytes as a scanned credential: decode and verify must not panic and
//! must never say Valid (the trust list holds a key nobody can sign with).

use cds_qr::credential::{decode, verify, RevocationList, SigningKey, TrustList};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn trust() -> &'static TrustList {
    static T: OnceLock<TrustList> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = TrustList::new();
        if let Ok(k) = SigningKey::generate_pkcs8().and_then(|p| SigningKey::from_pkcs8(&p)) {
            let _ = t.add(k.public_key(), None);
        }
        t
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode(&text);
    let with_prefix = format!("CDS1:{text}");
    let out = verify(&with_prefix, trust(), &RevocationList::default(), 1_780_000_000);
    assert_ne!(out.code(), "valid");
});
