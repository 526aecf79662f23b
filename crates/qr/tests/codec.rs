//! The citizen credential codec: round trips, outcomes, tampering.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cds_qr::credential::{
    self, decode, verify, Claims, Disclosure, RevocationList, SigningKey, Subject, TrustList,
    Verification, MAX_INFLATED_LEN, PREFIX,
};
use cds_qr::{base45, QrError};
use proptest::prelude::*;
use std::io::Write;

const NOW: i64 = 1_780_000_000; // 2026-05-28
const DAY: i64 = 86_400;

fn key() -> SigningKey {
    SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
}

fn subject() -> Subject {
    Subject {
        id_number: "001199012345".into(),
        full_name: "Nguyễn Văn An".into(),
        date_of_birth: "1999-03-15".into(),
    }
}

fn trust(k: &SigningKey) -> TrustList {
    let mut t = TrustList::new();
    t.add(k.public_key(), Some(k.kid())).unwrap();
    t
}

fn issue(k: &SigningKey, d: Disclosure) -> (Claims, String) {
    let c = Claims::new(&subject(), d, "TP Hà Nội", NOW, 30 * DAY).unwrap();
    let t = k.issue(&c).unwrap();
    (c, t)
}

/// Re-wraps raw COSE bytes as a `CDS1:` text.
fn wrap(cose: &[u8]) -> String {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(cose).unwrap();
    format!("{PREFIX}{}", base45::encode(&enc.finish().unwrap()))
}

fn unwrap_cose(text: &str) -> Vec<u8> {
    let z = base45::decode(text.strip_prefix(PREFIX).unwrap()).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&z[..]), &mut out).unwrap();
    out
}

#[test]
fn full_credential_round_trips_and_is_valid() {
    let k = key();
    let (claims, text) = issue(&k, Disclosure::Full);
    assert!(text.starts_with("CDS1:"));
    assert!(text.len() < 400, "compact: {} chars", text.len());
    let out = verify(&text, &trust(&k), &RevocationList::default(), NOW + DAY);
    assert_eq!(out, Verification::Valid(claims.clone()));
    assert_eq!(out.code(), "valid");
    let c = out.claims().unwrap();
    assert_eq!(c.id_number.as_deref(), Some("001199012345"));
    assert_eq!(c.full_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(c.date_of_birth.as_deref(), Some("1999-03-15"));
    assert_eq!(c.over_18, None);
    assert_eq!(decode(&text).unwrap().kid, k.kid());
}

#[test]
fn over18_credential_discloses_nothing_else() {
    let k = key();
    let (_, text) = issue(&k, Disclosure::Over18);
    let out = verify(&text, &trust(&k), &RevocationList::default(), NOW);
    let c = out.claims().unwrap();
    assert_eq!(out.code(), "valid");
    assert_eq!(c.disclosure, Disclosure::Over18);
    assert_eq!(c.over_18, Some(true));
    assert_eq!(
        (
            c.id_number.as_ref(),
            c.full_name.as_ref(),
            c.date_of_birth.as_ref()
        ),
        (None, None, None)
    );
    // The name and number are not hidden somewhere in the payload either.
    let cose = unwrap_cose(&text);
    assert!(!cose.windows(12).any(|w| w == b"001199012345"));
    assert!(!String::from_utf8_lossy(&cose).contains("Nguyễn"));
}

#[test]
fn name_only_credential() {
    let k = key();
    let (_, text) = issue(&k, Disclosure::NameOnly);
    let out = verify(&text, &trust(&k), &RevocationList::default(), NOW);
    let c = out.claims().unwrap();
    assert_eq!(c.full_name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(
        (c.id_number.as_ref(), c.date_of_birth.as_ref(), c.over_18),
        (None, None, None)
    );
}

#[test]
fn over18_is_refused_for_a_minor() {
    let minor = Subject {
        date_of_birth: "2010-01-01".into(),
        id_number: "001210012345".into(),
        ..subject()
    };
    let err = Claims::new(&minor, Disclosure::Over18, "x", NOW, DAY).unwrap_err();
    assert!(err.to_string().contains("not 18"), "{err}");
    // Turning 18 exactly on the issue day counts.
    let today = Subject {
        date_of_birth: "2008-05-28".into(),
        ..minor.clone()
    };
    assert!(Claims::new(&today, Disclosure::Over18, "x", NOW, DAY).is_ok());
    let tomorrow = Subject {
        date_of_birth: "2008-05-29".into(),
        ..minor
    };
    assert!(Claims::new(&tomorrow, Disclosure::Over18, "x", NOW, DAY).is_err());
}

#[test]
fn bad_subjects_are_refused() {
    for (id, name, dob) in [
        ("00119901234", "A", "1999-01-01"),
        ("001199012345", "", "1999-01-01"),
        ("001199012345", "A", "1999-02-31"),
        ("001199012345", "A", "2999-01-01"),
        ("001199012345", "A\u{0}B", "1999-01-01"),
    ] {
        let s = Subject {
            id_number: id.into(),
            full_name: name.into(),
            date_of_birth: dob.into(),
        };
        let e = Claims::new(&s, Disclosure::Full, "x", NOW, DAY).unwrap_err();
        assert_eq!(e.kind(), "encoding");
    }
}

#[test]
fn validity_window_and_revocation() {
    let k = key();
    let (claims, text) = issue(&k, Disclosure::Full);
    let t = trust(&k);
    let none = RevocationList::default();
    assert_eq!(
        verify(&text, &t, &none, NOW - 1),
        Verification::NotYetValid(claims.clone())
    );
    assert_eq!(verify(&text, &t, &none, NOW).code(), "valid");
    assert_eq!(verify(&text, &t, &none, NOW + 30 * DAY - 1).code(), "valid");
    assert_eq!(
        verify(&text, &t, &none, NOW + 30 * DAY),
        Verification::Expired(claims.clone())
    );
    let mut revoked = RevocationList {
        issued_at: NOW,
        revoked: Default::default(),
    };
    revoked.revoked.insert(claims.credential_id);
    assert_eq!(
        verify(&text, &t, &revoked, NOW + 1),
        Verification::Revoked(claims)
    );
}

#[test]
fn unknown_key_and_other_key_are_forged() {
    let k = key();
    let other = key();
    let (_, text) = issue(&other, Disclosure::Full);
    let out = verify(&text, &trust(&k), &RevocationList::default(), NOW);
    assert!(
        matches!(&out, Verification::Forged(r) if r.contains("unknown key")),
        "{out:?}"
    );
    // Same kid as the trusted key, but signed by another key: bad signature.
    let mut cose = coset::CoseSign1::from_tagged_slice(&unwrap_cose(&text)).unwrap();
    cose.protected = coset::ProtectedHeader {
        original_data: None,
        header: coset::HeaderBuilder::new()
            .algorithm(coset::iana::Algorithm::ES256)
            .key_id(k.kid().to_vec())
            .build(),
    };
    use coset::TaggedCborSerializable;
    let forged = wrap(&cose.to_tagged_vec().unwrap());
    let out = verify(&forged, &trust(&k), &RevocationList::default(), NOW);
    assert!(
        matches!(&out, Verification::Forged(r) if r.contains("signature")),
        "{out:?}"
    );
}

#[test]
fn altered_claims_with_recompression_are_forged() {
    let k = key();
    let (_, text) = issue(&k, Disclosure::Full);
    let cose = unwrap_cose(&text);
    // Change the birth year inside the signed payload, keep the structure.
    let pos = cose.windows(4).position(|w| w == b"1999").unwrap();
    let mut altered = cose.clone();
    altered[pos + 3] = b'0';
    let out = verify(&wrap(&altered), &trust(&k), &RevocationList::default(), NOW);
    assert_eq!(out.code(), "forged", "{out:?}");
}

#[test]
fn malformed_inputs_say_why() {
    let k = key();
    let t = trust(&k);
    let r = RevocationList::default();
    let check = |s: &str, needle: &str| {
        let out = verify(s, &t, &r, NOW);
        match &out {
            Verification::Malformed(m) => assert!(m.contains(needle), "{s:?}: {m}"),
            other => panic!("{s:?}: {other:?}"),
        }
    };
    check("", "CDS1:");
    check("HC1:ABC", "CDS1:");
    check("CDS1:a", "Base45");
    check("CDS1:ABCD", "Base45");
    check("CDS1:BB8", "zlib");
    check(&wrap(b"\x01\x02"), "COSE");
    check(&"CDS1:".repeat(1000), "too large");
    check(&wrap(&[0u8; 10]), "COSE");
}

#[test]
fn decompression_bomb_is_capped() {
    let bomb = wrap(&vec![0u8; 1_000_000]);
    assert!(
        bomb.len() < 4000,
        "the bomb itself is small: {}",
        bomb.len()
    );
    match decode(&bomb) {
        Err(QrError::TooLarge { what, limit, .. }) => {
            assert_eq!(what, "inflated credential");
            assert_eq!(limit, MAX_INFLATED_LEN);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn trailing_bytes_after_the_zlib_stream_are_refused() {
    let k = key();
    let (_, text) = issue(&k, Disclosure::Full);
    let mut z = base45::decode(text.strip_prefix(PREFIX).unwrap()).unwrap();
    z.extend_from_slice(b"xx");
    let t = format!("{PREFIX}{}", base45::encode(&z));
    assert!(
        matches!(decode(&t), Err(QrError::MalformedCredential(m)) if m.contains("after the end"))
    );
}

#[test]
fn signed_revocation_list_round_trips_and_rejects_tampering() {
    let k = key();
    let mut list = RevocationList {
        issued_at: NOW,
        revoked: Default::default(),
    };
    list.revoked.insert(uuid::Uuid::new_v4());
    list.revoked.insert(uuid::Uuid::new_v4());
    let signed = k.sign_revocations(&list).unwrap();
    assert_eq!(
        RevocationList::from_signed(&signed, &trust(&k)).unwrap(),
        list
    );
    let err = RevocationList::from_signed(&signed, &trust(&key())).unwrap_err();
    assert_eq!(err.kind(), "invalid_list");
    for i in 0..signed.len() {
        let mut s = signed.clone();
        s[i] ^= 0x01;
        if let Ok(l) = RevocationList::from_signed(&s, &trust(&k)) {
            panic!("byte {i} flipped still verified: {l:?}");
        }
    }
}

#[test]
fn trust_list_checks_keys_and_kids() {
    let k = key();
    let mut t = TrustList::new();
    assert!(t.add(&[4u8; 10], None).is_err());
    assert!(t.add(k.public_key(), Some(&[0u8; 8])).is_err());
    assert_eq!(t.add(k.public_key(), None).unwrap(), k.kid());
    assert_eq!(t.len(), 1);
    assert_eq!(credential::key_id(k.public_key()), k.kid());
}

#[test]
fn errors_have_stable_kinds() {
    assert_eq!(QrError::NoQrCode { attempts: 1 }.kind(), "no_qr_code");
    assert_eq!(QrError::Binary { len: 3 }.kind(), "binary_payload");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_subject_round_trips(
        id in "0[0-9]{2}[0-3][0-9]{8}",
        name in "[A-Za-zĐđàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹ ]{1,60}",
        year in 1900i32..2007, month in 1u8..=12, day in 1u8..=28,
        profile in 0usize..3,
        validity in 1i64..(90 * DAY),
    ) {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        prop_assume!(!name.is_empty());
        let s = Subject {
            id_number: id,
            full_name: name,
            date_of_birth: format!("{year:04}-{month:02}-{day:02}"),
        };
        let k = key();
        let d = Disclosure::ALL[profile];
        let c = Claims::new(&s, d, "city", NOW, validity).unwrap();
        let text = k.issue(&c).unwrap();
        prop_assert_eq!(verify(&text, &trust(&k), &RevocationList::default(), NOW), Verification::Valid(c));
    }

    /// Any single-byte change of the signed COSE structure (re-compressed,
    /// so it reaches the parser) is never Valid.
    #[test]
    fn any_single_byte_change_of_the_signed_payload_is_never_valid(
        idx in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let k = key();
        let (_, text) = issue(&k, Disclosure::Full);
        let mut cose = unwrap_cose(&text);
        let i = idx.index(cose.len());
        cose[i] = cose[i].wrapping_add(delta);
        let out = verify(&wrap(&cose), &trust(&k), &RevocationList::default(), NOW);
        prop_assert!(matches!(out, Verification::Forged(_) | Verification::Malformed(_)), "byte {}: {:?}", i, out);
    }

    /// Any single-character change of the QR text is never Valid.
    #[test]
    fn any_single_character_change_of_the_text_is_never_valid(
        idx in any::<prop::sample::Index>(),
        c in prop::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a\x00".to_vec()),
    ) {
        let k = key();
        let (_, text) = issue(&k, Disclosure::Over18);
        let mut bytes = text.into_bytes();
        let i = idx.index(bytes.len());
        prop_assume!(bytes[i] != c);
        bytes[i] = c;
        let changed = String::from_utf8(bytes).unwrap();
        let out = verify(&changed, &trust(&k), &RevocationList::default(), NOW);
        prop_assert!(matches!(out, Verification::Forged(_) | Verification::Malformed(_)), "{:?}", out);
    }
}

#[test]
fn a_published_list_skips_other_algorithms_and_refuses_damage() {
    use cds_qr::credential::{hex, PublishedKey};
    let (a, b) = (key(), key());
    let (ka, kb) = (hex(a.kid()), hex(b.kid()));
    let (pa, pb) = (a.public_key(), b.public_key());
    fn es<'a>(kid: &'a str, public_key: &'a [u8]) -> PublishedKey<'a> {
        PublishedKey {
            kid,
            alg: "ES256",
            public_key,
        }
    }
    // A key of a newer algorithm beside two ES256 keys: skipped, reported,
    // and the others still verify.
    let future = PublishedKey {
        kid: "00ff",
        alg: "ML-DSA-44",
        public_key: &[1, 2, 3],
    };
    let (list, skipped) = TrustList::from_published([es(&ka, pa), future, es(&kb, pb)]).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(skipped, ["00ff"]);
    // Only keys of other algorithms, or none: nothing usable, refused.
    let err = TrustList::from_published([future]).unwrap_err();
    assert!(err.to_string().contains("no usable ES256 key"), "{err}");
    assert!(TrustList::from_published([]).is_err());
    // A damaged ES256 key, a key id of another key, a key id that is not
    // hex: the whole list is refused.
    assert!(TrustList::from_published([es(&ka, pa), es(&kb, &[])]).is_err());
    assert!(TrustList::from_published([es(&ka, pb)]).is_err());
    assert!(TrustList::from_published([es("xyz", pa)]).is_err());
}
