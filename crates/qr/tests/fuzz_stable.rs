//! Bounded fuzz-style tests on stable Rust: mutated and random inputs to
//! every decoder of untrusted bytes (the cargo-fuzz targets in `fuzz/` do the
//! same without bounds on nightly). None may panic; a mutated credential is
//! never Valid.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_qr::cccd::parse_cccd_qr;
use cds_qr::credential::{
    decode, verify, Claims, Disclosure, RevocationList, SigningKey, Subject, TrustList,
};
use cds_qr::scan;
use cds_qr::{route, route_bytes};
use proptest::prelude::*;
use std::sync::OnceLock;

fn fixture() -> &'static (TrustList, String) {
    static F: OnceLock<(TrustList, String)> = OnceLock::new();
    F.get_or_init(|| {
        let k = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        let s = Subject {
            id_number: "001099012345".into(),
            full_name: "Nguyễn Văn An".into(),
            date_of_birth: "1999-03-15".into(),
        };
        let c = Claims::new(&s, Disclosure::Full, "city", 1_780_000_000, 86_400).unwrap();
        let mut t = TrustList::new();
        t.add(k.public_key(), None).unwrap();
        (t, k.issue(&c).unwrap())
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut v: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if v.is_empty() {
            v.push(0);
        }
        match m {
            Mutation::Set(i, b) => {
                let i = i.index(v.len());
                v[i] = *b;
            }
            Mutation::Insert(i, b) => {
                let i = i.index(v.len() + 1);
                v.insert(i, *b);
            }
            Mutation::Remove(i) => {
                let i = i.index(v.len());
                v.remove(i);
            }
            Mutation::Truncate(i) => {
                let i = i.index(v.len());
                v.truncate(i);
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn mutated_credentials_are_never_valid(ms in proptest::collection::vec(mutation(), 1..6)) {
        let (trust, text) = fixture();
        let bytes = apply(text.clone().into_bytes(), &ms);
        prop_assume!(bytes != text.as_bytes());
        let s = String::from_utf8_lossy(&bytes);
        let out = verify(&s, trust, &RevocationList::default(), 1_780_000_001);
        prop_assert_ne!(out.code(), "valid");
        let _ = route(&s);
        let _ = route_bytes(&bytes);
    }

    #[test]
    fn random_text_never_panics(s in "(CDS1:)?[0-9A-Z $%*+\\-./:]{0,400}") {
        let _ = decode(&s);
        let _ = route(&s);
    }

    #[test]
    fn mutated_cccd_never_panics(ms in proptest::collection::vec(mutation(), 1..8)) {
        let base = "001099012345|123456789|Nguyễn Văn An|15031999|Nam|Hà Nội|20042021|001099000001|Lê B|Lê C";
        let bytes = apply(base.as_bytes().to_vec(), &ms);
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_cccd_qr(&s);
        let _ = route(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_and_mutated_image_bytes_never_panic(ms in proptest::collection::vec(mutation(), 1..4)) {
        let img = cds_qr::render::render_image("CDS1:TEST", 2).unwrap();
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(img).write_to(&mut png, image::ImageFormat::Png).unwrap();
        let bytes = apply(png.into_inner(), &ms);
        if let Ok(img) = scan::load_image_bytes(&bytes) {
            let _ = scan::Pipeline::rqrr_only().scan(&img);
        }
    }
}
