//! Set-up shared by the vault's integration tests (`mod common;` in each):
//! vaults with the fast test KDF, a fixed-KEK key store, the stored
//! fixtures, and sample documents, submissions, profiles and credentials.
//!
//! Each test binary compiles its own copy and uses only part of it, hence
//! the `dead_code` allowance. The fixture generators in `fixtures/` do not
//! use this module: they are frozen records of older formats.
#![allow(dead_code)]

use cds_api::{Applicant, DocumentKind, DocumentRef, SubmitApplication};
use cds_vault::{
    CredentialSet, DocumentInput, KdfParams, KeyStore, NewProfile, Profile, Relation,
    StoredCredential, Vault, VaultError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The citizen of the sample CCCD ([`cccd`]).
pub const NUMBER: &str = "079095001234";
pub const NAME: &str = "Nguyễn Văn Bình";
pub const BIRTH_DATE: &str = "1995-08-15";

// ---- vaults and keys

/// Creates a vault at `path` with the insecure fast KDF (tests only).
pub fn fast_vault(path: &Path, keys: Option<&dyn KeyStore>, pin: Option<&str>) -> Vault {
    Vault::create_with_kdf(path, keys, pin, KdfParams::insecure_fast_kdf_for_tests()).unwrap()
}

/// A key store that always hands out the same KEK; storing is a no-op.
pub struct FixedKek(pub [u8; 32]);

impl KeyStore for FixedKek {
    fn load(&self) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
        Ok(Some(Zeroizing::new(self.0.to_vec())))
    }
    fn store(&self, _secret: &[u8]) -> Result<(), VaultError> {
        Ok(())
    }
    fn delete(&self) -> Result<(), VaultError> {
        Ok(())
    }
}

/// `<path><suffix>`: the files SQLite and the vault keep beside a vault
/// (`-wal`, `-shm`, `.files`).
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The schema version stored in a vault file.
pub fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// The largest attachment data or thumbnail cell left in SQLite (once
/// attachments live in files, the cells hold only small references).
pub fn largest_attachment_cell(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(
        "SELECT max(max(length(data)), max(coalesce(length(thumb), 0))) FROM attachments",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

// ---- the stored fixtures (`tests/fixtures`)

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies the fixture file `name` into `dir` (under the same name).
pub fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(fixtures_dir().join(name), &path).unwrap();
    path
}

/// The KEK of a fixture, from its `.kek.hex` file.
pub fn fixture_kek(name: &str) -> FixedKek {
    let hex = std::fs::read_to_string(fixtures_dir().join(name)).unwrap();
    let hex = hex.trim();
    FixedKek(std::array::from_fn(|i| {
        u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()
    }))
}

// ---- sample content

pub fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A document of `kind` for `profile` with the given fields and no custom
/// fields.
pub fn document(profile: &str, kind: DocumentKind, pairs: &[(&str, &str)]) -> DocumentInput {
    DocumentInput {
        profile_id: profile.into(),
        kind,
        fields: fields(pairs),
        custom_fields: vec![],
    }
}

/// The sample CCCD of [`NAME`] (number [`NUMBER`]) for `profile`.
pub fn cccd(profile: &str) -> DocumentInput {
    document(
        profile,
        DocumentKind::Cccd,
        &[
            ("number", NUMBER),
            ("full_name", NAME),
            ("date_of_birth", BIRTH_DATE),
            ("sex", "nam"),
            ("nationality", "Việt Nam"),
            ("place_of_origin", "Quảng Nam"),
            ("place_of_residence", "Đà Nẵng"),
            ("issue_date", "2021-04-01"),
            ("expiry_date", "2035-08-15"),
        ],
    )
}

/// A child's birth certificate (born 2019-06-01) for `profile`.
pub fn birth_cert(profile: &str, full_name: &str) -> DocumentInput {
    document(
        profile,
        DocumentKind::BirthCertificate,
        &[
            ("number", "123/2019"),
            ("full_name", full_name),
            ("date_of_birth", "2019-06-01"),
            ("sex", "nu"),
            ("place_of_birth", "Bệnh viện Đà Nẵng"),
            ("issue_date", "2019-06-10"),
            ("registration_place", "UBND phường Hải Châu"),
        ],
    )
}

/// A real `w`x`h` RGB PNG.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// Adds a child's profile.
pub fn add_child(v: &mut Vault, full_name: &str, date_of_birth: &str) -> Profile {
    v.add_profile(&NewProfile {
        full_name: full_name.into(),
        relation: Relation::Child,
        date_of_birth: Some(date_of_birth.into()),
    })
    .unwrap()
}

/// An application for service 1.001612 by the applicant (born
/// [`BIRTH_DATE`]) with one document of theirs.
pub fn submission_for(
    key: &str,
    id_number: &str,
    full_name: &str,
    kind: DocumentKind,
    number: &str,
    attachment_count: u32,
) -> SubmitApplication {
    SubmitApplication {
        idempotency_key: key.into(),
        service_code: "1.001612".into(),
        applicant: Applicant {
            id_number: id_number.into(),
            full_name: full_name.into(),
            date_of_birth: BIRTH_DATE.into(),
        },
        documents: vec![DocumentRef {
            kind,
            number: number.into(),
            full_name: full_name.into(),
            date_of_birth: BIRTH_DATE.into(),
            attachment_count,
        }],
        submitted_at: "2026-05-10T08:00:00Z".into(),
    }
}

/// A credential valid from 2026-11-01 to 2027-11-01.
pub fn credential(disclosure: &str, credential_id: &str, text: &str) -> StoredCredential {
    StoredCredential {
        disclosure: disclosure.into(),
        credential_id: credential_id.into(),
        text: text.into(),
        not_before: "2026-11-01T00:00:00Z".into(),
        not_after: "2027-11-01T00:00:00Z".into(),
    }
}

/// A credential set for `profile`, subject [`NUMBER`], fetched 2026-11-29.
pub fn credential_set(
    profile: &str,
    full_name: &str,
    credentials: Vec<StoredCredential>,
) -> CredentialSet {
    CredentialSet {
        profile_id: profile.into(),
        subject_number: NUMBER.into(),
        full_name: full_name.into(),
        credentials,
        fetched_at: "2026-11-29T07:00:00Z".into(),
    }
}
