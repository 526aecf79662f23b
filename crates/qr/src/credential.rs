//! The signed citizen credential: claims → CBOR → COSE_Sign1 (ES256, with a
//! key id) → zlib → Base45 → `CDS1:` prefix.
//!
//! The envelope follows the EU Digital COVID Certificate ("HC1:"): a CWT-style
//! claim set (RFC 8392 keys `iss` 1, `exp` 4, `nbf` 5, `iat` 6, `cti` 7) plus
//! one private claim ([`CLAIM_CDS`]) holding the citizen's data, signed as a
//! COSE_Sign1 (RFC 9052) with ECDSA P-256 / SHA-256 (`alg` ES256 = -7) in the
//! protected header and the signer's key id (`kid`) beside it, compressed
//! with zlib and written in Base45 (RFC 9285), whose alphabet is the QR
//! code's alphanumeric mode, so the QR stays small.
//!
//! # Selective disclosure
//!
//! A citizen chooses what to show by asking for the minimal credential:
//! [`Disclosure::Full`] (number, name, date of birth), [`Disclosure::Over18`]
//! (only the claim "over 18", no name, number or birth date) or
//! [`Disclosure::NameOnly`]. Each is a separately signed credential with its
//! own id; nothing else is derivable from it.
//!
//! # Decoding is strict and bounded
//!
//! Every stage has a limit ([`MAX_TEXT_LEN`], [`MAX_COMPRESSED_LEN`],
//! [`MAX_INFLATED_LEN`]); the inflater stops at the limit, so a
//! decompression bomb costs at most 4 KiB. Nothing here panics on input.
//!
//! # Verification is offline
//!
//! [`verify`] needs only the city's [`TrustList`] (kid → public key), the
//! last synced [`RevocationList`] (itself signed by the city) and the
//! current time, and gives one [`Verification`] outcome.

use crate::base45;
use crate::QrError;
use cds_domain::date::{is_adult_on, parse_iso_date};
use cds_domain::id_number::is_id_number_shape;
use ciborium::value::Value;
use coset::{
    iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable,
};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// Versioned prefix of a citizen credential QR text.
pub const PREFIX: &str = "CDS1:";
/// Longest credential text accepted (the alphanumeric capacity of a version
/// 40 QR code at level L).
pub const MAX_TEXT_LEN: usize = 4296;
/// Longest compressed (Base45-decoded) payload accepted.
pub const MAX_COMPRESSED_LEN: usize = 2048;
/// Largest inflated COSE structure accepted: the decompression bomb guard.
pub const MAX_INFLATED_LEN: usize = 4096;
/// Private CWT claim key holding the citizen data map.
pub const CLAIM_CDS: i64 = -65537;
/// Default validity of an issued credential.
pub const DEFAULT_VALIDITY_SECS: i64 = 30 * 24 * 3600;
/// Length of a key id: the first 8 bytes of SHA-256 of the SEC1 public key.
pub const KID_LEN: usize = 8;

const CWT_ISS: i64 = 1;
const CWT_EXP: i64 = 4;
const CWT_NBF: i64 = 5;
const CWT_IAT: i64 = 6;
const CWT_CTI: i64 = 7;

const CDS_PROFILE: i64 = 1;
const CDS_ID_NUMBER: i64 = 2;
const CDS_NAME: i64 = 3;
const CDS_DOB: i64 = 4;
const CDS_OVER_18: i64 = 5;

const MAX_NAME_CHARS: usize = 100;
const MAX_ISSUER_CHARS: usize = 64;

/// What a credential discloses about its holder: the domain's
/// [`QrDisclosure`](cds_domain::disclosure::QrDisclosure), one copy for the
/// QR, the backend, the app and the UI.
pub use cds_domain::disclosure::QrDisclosure as Disclosure;

/// The disclosure's number inside the signed claims (CBOR). Part of the
/// signed format: never renumber.
fn disclosure_number(d: Disclosure) -> u64 {
    match d {
        Disclosure::Full => 0,
        Disclosure::Over18 => 1,
        Disclosure::NameOnly => 2,
    }
}

fn disclosure_from_number(n: u64) -> Option<Disclosure> {
    Disclosure::ALL
        .into_iter()
        .find(|d| disclosure_number(*d) == n)
}

/// The claims of one credential. Which optional fields are present is fixed
/// by [`Claims::disclosure`]; [`Claims::new`] and decoding enforce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Random id, the handle for revocation.
    pub credential_id: Uuid,
    /// Who issued it (e.g. the city's name).
    pub issuer: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Not valid before (Unix seconds).
    pub not_before: i64,
    /// Not valid from this time on (Unix seconds).
    pub expires: i64,
    pub disclosure: Disclosure,
    /// 12-digit personal identification number (full profile only).
    pub id_number: Option<String>,
    /// Full name (full and name-only profiles).
    pub full_name: Option<String>,
    /// ISO `YYYY-MM-DD` (full profile only).
    pub date_of_birth: Option<String>,
    /// `Some(true)` in the over-18 profile only.
    pub over_18: Option<bool>,
}

/// The citizen data a credential is issued from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub id_number: String,
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: String,
}

impl Claims {
    /// Builds the minimal claim set for `disclosure`, valid from `now` for
    /// `validity_secs`. Checks the subject's data; an over-18 credential is
    /// refused for someone under 18 at `now`.
    pub fn new(
        subject: &Subject,
        disclosure: Disclosure,
        issuer: &str,
        now: i64,
        validity_secs: i64,
    ) -> Result<Claims, QrError> {
        let bad = |m: String| QrError::Encoding(m);
        if !is_id_number_shape(&subject.id_number) {
            return Err(bad("the identification number must be 12 digits".into()));
        }
        let name = subject.full_name.trim();
        check_name(name).map_err(bad)?;
        let dob = parse_iso_date(&subject.date_of_birth).ok_or_else(|| {
            bad(format!(
                "date of birth {:?} is not a real YYYY-MM-DD date",
                subject.date_of_birth
            ))
        })?;
        check_issuer(issuer).map_err(bad)?;
        if validity_secs <= 0 {
            return Err(bad("validity must be positive".into()));
        }
        let expires = now
            .checked_add(validity_secs)
            .ok_or_else(|| bad("validity overflows".into()))?;
        let today = OffsetDateTime::from_unix_timestamp(now)
            .map_err(|_| bad("the issue time is out of range".into()))?
            .date();
        if dob > today {
            return Err(bad("the date of birth is in the future".into()));
        }
        let mut claims = Claims {
            credential_id: Uuid::new_v4(),
            issuer: issuer.to_owned(),
            issued_at: now,
            not_before: now,
            expires,
            disclosure,
            id_number: None,
            full_name: None,
            date_of_birth: None,
            over_18: None,
        };
        match disclosure {
            Disclosure::Full => {
                claims.id_number = Some(subject.id_number.clone());
                claims.full_name = Some(name.to_owned());
                claims.date_of_birth = Some(subject.date_of_birth.clone());
            }
            Disclosure::NameOnly => claims.full_name = Some(name.to_owned()),
            Disclosure::Over18 => {
                if !is_adult_on(dob, today) {
                    return Err(bad("the holder is not 18 or older".into()));
                }
                claims.over_18 = Some(true);
            }
        }
        Ok(claims)
    }

    fn to_cbor(&self) -> Result<Vec<u8>, QrError> {
        let int = |i: i64| Value::Integer(i.into());
        let mut cds = vec![(
            int(CDS_PROFILE),
            Value::Integer(disclosure_number(self.disclosure).into()),
        )];
        if let Some(n) = &self.id_number {
            cds.push((int(CDS_ID_NUMBER), Value::Text(n.clone())));
        }
        if let Some(n) = &self.full_name {
            cds.push((int(CDS_NAME), Value::Text(n.clone())));
        }
        if let Some(d) = &self.date_of_birth {
            cds.push((int(CDS_DOB), Value::Text(d.clone())));
        }
        if let Some(b) = self.over_18 {
            cds.push((int(CDS_OVER_18), Value::Bool(b)));
        }
        let map = Value::Map(vec![
            (int(CWT_ISS), Value::Text(self.issuer.clone())),
            (int(CWT_EXP), int(self.expires)),
            (int(CWT_NBF), int(self.not_before)),
            (int(CWT_IAT), int(self.issued_at)),
            (
                int(CWT_CTI),
                Value::Bytes(self.credential_id.as_bytes().to_vec()),
            ),
            (int(CLAIM_CDS), Value::Map(cds)),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&map, &mut out).map_err(|e| QrError::Encoding(e.to_string()))?;
        Ok(out)
    }

    fn from_cbor(bytes: &[u8]) -> Result<Claims, String> {
        let map = match read_cbor(bytes)? {
            Value::Map(m) => m,
            _ => return Err("the claims are not a CBOR map".into()),
        };
        let top = int_keyed(map, "claims")?;
        let mut allowed = [CWT_ISS, CWT_EXP, CWT_NBF, CWT_IAT, CWT_CTI, CLAIM_CDS].to_vec();
        allowed.sort_unstable();
        if let Some(k) = top.keys().find(|k| allowed.binary_search(k).is_err()) {
            return Err(format!("unknown claim {k}"));
        }
        let issuer = text(top.get(&CWT_ISS), "iss")?;
        check_issuer(&issuer)?;
        let expires = integer(top.get(&CWT_EXP), "exp")?;
        let not_before = integer(top.get(&CWT_NBF), "nbf")?;
        let issued_at = integer(top.get(&CWT_IAT), "iat")?;
        if expires <= not_before {
            return Err("exp is not after nbf".into());
        }
        let credential_id = match top.get(&CWT_CTI) {
            Some(Value::Bytes(b)) => {
                Uuid::from_slice(b).map_err(|_| "cti is not 16 bytes".to_owned())?
            }
            _ => return Err("cti (credential id) is missing or not bytes".into()),
        };
        let cds = match top.get(&CLAIM_CDS) {
            Some(Value::Map(m)) => int_keyed(m.clone(), "citizen claims")?,
            _ => return Err("the citizen claims are missing".into()),
        };
        let profile = match cds.get(&CDS_PROFILE) {
            Some(Value::Integer(i)) => u64::try_from(*i)
                .ok()
                .and_then(disclosure_from_number)
                .ok_or_else(|| "unknown disclosure profile".to_owned())?,
            _ => return Err("the disclosure profile is missing".into()),
        };
        let expected: &[i64] = match profile {
            Disclosure::Full => &[CDS_PROFILE, CDS_ID_NUMBER, CDS_NAME, CDS_DOB],
            Disclosure::Over18 => &[CDS_PROFILE, CDS_OVER_18],
            Disclosure::NameOnly => &[CDS_PROFILE, CDS_NAME],
        };
        let keys: Vec<i64> = cds.keys().copied().collect();
        let mut want = expected.to_vec();
        want.sort_unstable();
        if keys != want {
            return Err(format!(
                "a `{}` credential must carry exactly claims {want:?}, this one has {keys:?}",
                profile.code()
            ));
        }
        let mut claims = Claims {
            credential_id,
            issuer,
            issued_at,
            not_before,
            expires,
            disclosure: profile,
            id_number: None,
            full_name: None,
            date_of_birth: None,
            over_18: None,
        };
        if cds.contains_key(&CDS_ID_NUMBER) {
            let n = text(cds.get(&CDS_ID_NUMBER), "identification number")?;
            if !is_id_number_shape(&n) {
                return Err("the identification number is not 12 digits".into());
            }
            claims.id_number = Some(n);
        }
        if cds.contains_key(&CDS_NAME) {
            let n = text(cds.get(&CDS_NAME), "name")?;
            check_name(&n)?;
            claims.full_name = Some(n);
        }
        if cds.contains_key(&CDS_DOB) {
            let d = text(cds.get(&CDS_DOB), "date of birth")?;
            if parse_iso_date(&d).is_none() {
                return Err("the date of birth is not a real date".into());
            }
            claims.date_of_birth = Some(d);
        }
        if cds.contains_key(&CDS_OVER_18) {
            match cds.get(&CDS_OVER_18) {
                Some(Value::Bool(true)) => claims.over_18 = Some(true),
                _ => return Err("the over-18 claim must be `true`".into()),
            }
        }
        Ok(claims)
    }
}

fn read_cbor(bytes: &[u8]) -> Result<Value, String> {
    let mut rest = bytes;
    let value: Value =
        ciborium::de::from_reader(&mut rest).map_err(|e| format!("invalid CBOR: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the CBOR value", rest.len()));
    }
    Ok(value)
}

fn int_keyed(map: Vec<(Value, Value)>, what: &str) -> Result<BTreeMap<i64, Value>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = match k {
            Value::Integer(i) => {
                i64::try_from(i).map_err(|_| format!("{what}: key out of range"))?
            }
            _ => return Err(format!("{what}: keys must be integers")),
        };
        if out.insert(key, v).is_some() {
            return Err(format!("{what}: duplicate key {key}"));
        }
    }
    Ok(out)
}

fn text(v: Option<&Value>, what: &str) -> Result<String, String> {
    match v {
        Some(Value::Text(s)) => Ok(s.clone()),
        _ => Err(format!("{what} is missing or not text")),
    }
}

fn integer(v: Option<&Value>, what: &str) -> Result<i64, String> {
    match v {
        Some(Value::Integer(i)) => i64::try_from(*i).map_err(|_| format!("{what} is out of range")),
        _ => Err(format!("{what} is missing or not an integer")),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.trim() != name || name.chars().any(char::is_control) {
        return Err(format!(
            "the name must be 1 to {MAX_NAME_CHARS} printable characters, trimmed"
        ));
    }
    Ok(())
}

fn check_issuer(issuer: &str) -> Result<(), String> {
    let n = issuer.chars().count();
    if n == 0 || n > MAX_ISSUER_CHARS || issuer.chars().any(char::is_control) {
        return Err(format!(
            "the issuer must be 1 to {MAX_ISSUER_CHARS} printable characters"
        ));
    }
    Ok(())
}

/// Key id of a SEC1 uncompressed P-256 public key.
pub fn key_id(public_key: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, public_key).as_ref()[..KID_LEN].to_vec()
}

/// The city's P-256 signing key. Only the backend holds one.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &hex(&self.kid))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Makes a new key and returns its PKCS#8 document (to persist).
    pub fn generate_pkcs8() -> Result<Vec<u8>, QrError> {
        let rng = SystemRandom::new();
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| QrError::Key("cannot generate a P-256 key".into()))
    }

    /// Loads a key from its PKCS#8 document.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<SigningKey, QrError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| QrError::Key(format!("not a P-256 PKCS#8 key: {e}")))?;
        let kid = key_id(pair.public_key().as_ref());
        Ok(SigningKey { pair, kid, rng })
    }

    pub fn kid(&self) -> &[u8] {
        &self.kid
    }

    /// SEC1 uncompressed public key (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn sign_cose(&self, payload: Vec<u8>) -> Result<Vec<u8>, QrError> {
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES256)
            .key_id(self.kid.clone())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(payload)
            .try_create_signature(b"", |tbs| {
                self.pair
                    .sign(&self.rng, tbs)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| QrError::Signing("ECDSA signing failed".into()))
            })?
            .build();
        sign1
            .to_tagged_vec()
            .map_err(|e| QrError::Encoding(format!("COSE encoding failed: {e}")))
    }

    /// Signs `claims` and returns the QR text (`CDS1:…`).
    pub fn issue(&self, claims: &Claims) -> Result<String, QrError> {
        let cose = self.sign_cose(claims.to_cbor()?)?;
        let compressed = compress(&cose)?;
        Ok(format!("{PREFIX}{}", base45::encode(&compressed)))
    }

    /// Signs a revocation list; the result travels as bytes (base64 on the
    /// wire) and is checked by [`RevocationList::from_signed`].
    pub fn sign_revocations(&self, list: &RevocationList) -> Result<Vec<u8>, QrError> {
        let ids = list
            .revoked
            .iter()
            .map(|id| Value::Bytes(id.as_bytes().to_vec()))
            .collect();
        let map = Value::Map(vec![
            (
                Value::Integer(1.into()),
                Value::Integer(list.issued_at.into()),
            ),
            (Value::Integer(2.into()), Value::Array(ids)),
        ]);
        let mut payload = Vec::new();
        ciborium::ser::into_writer(&map, &mut payload)
            .map_err(|e| QrError::Encoding(e.to_string()))?;
        self.sign_cose(payload)
    }
}

fn compress(data: &[u8]) -> Result<Vec<u8>, QrError> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|e| QrError::Encoding(format!("compression failed: {e}")))
}

/// Inflates a zlib stream, refusing more than `limit` output bytes and any
/// bytes after the stream's end.
pub(crate) fn inflate_limited(data: &[u8], limit: usize) -> Result<Vec<u8>, QrError> {
    let mut inflater = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(limit + 1);
    let status = inflater
        .decompress_vec(data, &mut out, flate2::FlushDecompress::Finish)
        .map_err(|e| QrError::malformed(format!("zlib: {e}")))?;
    if out.len() > limit {
        return Err(QrError::TooLarge {
            what: "inflated credential",
            size: out.len(),
            limit,
        });
    }
    match status {
        flate2::Status::StreamEnd => {}
        _ if out.len() == limit + 1 || out.len() == out.capacity() => {
            return Err(QrError::TooLarge {
                what: "inflated credential",
                size: out.len(),
                limit,
            })
        }
        _ => return Err(QrError::malformed("zlib: the stream is truncated")),
    }
    let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
    if consumed != data.len() {
        return Err(QrError::malformed(format!(
            "zlib: {} bytes after the end of the stream",
            data.len().saturating_sub(consumed)
        )));
    }
    Ok(out)
}

/// A credential taken apart but not yet verified.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub kid: Vec<u8>,
    sign1: CoseSign1,
}

/// Strictly decodes the QR text down to the COSE_Sign1 structure, checking
/// every size limit. Does not check the signature.
pub fn decode(text: &str) -> Result<Unverified, QrError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(QrError::TooLarge {
            what: "credential text",
            size: text.len(),
            limit: MAX_TEXT_LEN,
        });
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| QrError::malformed(format!("it does not start with `{PREFIX}`")))?;
    if body.len() / 3 * 2 > MAX_COMPRESSED_LEN + 1 {
        return Err(QrError::TooLarge {
            what: "compressed credential",
            size: body.len() / 3 * 2,
            limit: MAX_COMPRESSED_LEN,
        });
    }
    let compressed =
        base45::decode(body).map_err(|e| QrError::malformed(format!("Base45: {e}")))?;
    if compressed.len() > MAX_COMPRESSED_LEN {
        return Err(QrError::TooLarge {
            what: "compressed credential",
            size: compressed.len(),
            limit: MAX_COMPRESSED_LEN,
        });
    }
    let cose = inflate_limited(&compressed, MAX_INFLATED_LEN)?;
    let sign1 = parse_sign1(&cose)?;
    Ok(Unverified {
        kid: sign1.protected.header.key_id.clone(),
        sign1,
    })
}

fn parse_sign1(cose: &[u8]) -> Result<CoseSign1, QrError> {
    let sign1 = CoseSign1::from_tagged_slice(cose)
        .or_else(|_| CoseSign1::from_slice(cose))
        .map_err(|e| QrError::malformed(format!("not a COSE_Sign1: {e}")))?;
    let header = &sign1.protected.header;
    if header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::ES256,
        ))
    {
        return Err(QrError::malformed("the algorithm is not ES256"));
    }
    if header.key_id.len() != KID_LEN {
        return Err(QrError::malformed(
            "the key id is missing or of the wrong length",
        ));
    }
    if !header.crit.is_empty() {
        return Err(QrError::malformed("unsupported critical headers"));
    }
    if sign1.payload.is_none() {
        return Err(QrError::malformed("the payload is detached"));
    }
    Ok(sign1)
}

impl Unverified {
    /// The claims, *without* checking the signature: for showing the
    /// holder's own stored credential, never for deciding anything.
    pub fn claims_unverified(&self) -> Result<Claims, QrError> {
        Claims::from_cbor(self.sign1.payload.as_deref().unwrap_or_default())
            .map_err(QrError::MalformedCredential)
    }

    /// Checks the signature against the trust list and returns the signed
    /// payload; the error is why it is forged.
    fn verified_payload(&self, trust: &TrustList) -> Result<&[u8], String> {
        let Some(public_key) = trust.keys.get(&self.kid) else {
            return Err(format!("signed with unknown key {}", hex(&self.kid)));
        };
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key);
        self.sign1
            .verify_signature(b"", |sig, data| key.verify(data, sig))
            .map_err(|_| "the signature does not match".to_owned())?;
        Ok(self.sign1.payload.as_deref().unwrap_or_default())
    }
}

/// The city's public keys, by key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    keys: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl TrustList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a SEC1 uncompressed P-256 public key; returns its kid. When
    /// `expected_kid` is given it must match the key.
    pub fn add(
        &mut self,
        public_key: &[u8],
        expected_kid: Option<&[u8]>,
    ) -> Result<Vec<u8>, QrError> {
        if public_key.len() != 65 || public_key.first() != Some(&4) {
            return Err(QrError::InvalidList {
                what: "trust list",
                reason: "a public key must be a 65-byte uncompressed P-256 point".into(),
            });
        }
        let kid = key_id(public_key);
        if let Some(e) = expected_kid {
            if e != kid.as_slice() {
                return Err(QrError::InvalidList {
                    what: "trust list",
                    reason: format!("key id {} does not match its key ({})", hex(e), hex(&kid)),
                });
            }
        }
        self.keys.insert(kid.clone(), public_key.to_vec());
        Ok(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `(kid, public key)` pairs.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.keys.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }
}

/// One key of a trust list as the city publishes it: its hex key id, its
/// algorithm's name and its SEC1 public key (the caller decodes the
/// transport encoding; bytes that could not be decoded are passed empty and
/// refused as "not a P-256 point").
#[derive(Debug, Clone, Copy)]
pub struct PublishedKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub public_key: &'a [u8],
}

/// The one algorithm a credential is signed with.
pub const TRUSTED_ALG: &str = "ES256";

impl TrustList {
    /// Reads a published trust list: the one rule, used by the app and by
    /// the backend's verifier alike. Returns the list and the ids of the keys
    /// it skipped.
    ///
    /// - A key of another algorithm than [`TRUSTED_ALG`] is **skipped** (and
    ///   reported, for a warning): a city may publish a key for a newer
    ///   algorithm before every app knows it, and the app must keep
    ///   verifying with the keys it does know.
    /// - An ES256 key that is damaged (not a P-256 point, a key id that does
    ///   not match its key or is not hex) makes the whole list invalid: such
    ///   a list is not one the city published.
    /// - A list with no usable key is invalid: trusting nothing would refuse
    ///   every QR with a misleading reason.
    pub fn from_published<'a>(
        keys: impl IntoIterator<Item = PublishedKey<'a>>,
    ) -> Result<(TrustList, Vec<String>), QrError> {
        let invalid = |reason: String| QrError::InvalidList {
            what: "trust list",
            reason,
        };
        let mut list = TrustList::new();
        let mut skipped = Vec::new();
        for k in keys {
            if k.alg != TRUSTED_ALG {
                skipped.push(k.kid.to_owned());
                continue;
            }
            let kid =
                unhex(k.kid).ok_or_else(|| invalid(format!("key id {:?} is not hex", k.kid)))?;
            list.add(k.public_key, Some(&kid))?;
        }
        if list.is_empty() {
            return Err(invalid(format!(
                "no usable {TRUSTED_ALG} key ({} skipped)",
                skipped.len()
            )));
        }
        Ok((list, skipped))
    }
}

/// Revoked credential ids as of `issued_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    /// Unix seconds when the city produced the list.
    pub issued_at: i64,
    pub revoked: BTreeSet<Uuid>,
}

/// Most ids a signed revocation list may hold (and its byte limit).
pub const MAX_REVOCATIONS: usize = 100_000;
const MAX_REVOCATION_BYTES: usize = MAX_REVOCATIONS * 18 + 256;

impl RevocationList {
    /// Checks a list signed with [`SigningKey::sign_revocations`] against the
    /// trust list and returns it.
    pub fn from_signed(signed: &[u8], trust: &TrustList) -> Result<RevocationList, QrError> {
        let invalid = |reason: String| QrError::InvalidList {
            what: "revocation list",
            reason,
        };
        if signed.len() > MAX_REVOCATION_BYTES {
            return Err(QrError::TooLarge {
                what: "revocation list",
                size: signed.len(),
                limit: MAX_REVOCATION_BYTES,
            });
        }
        let sign1 = parse_sign1(signed).map_err(|e| invalid(e.to_string()))?;
        let unverified = Unverified {
            kid: sign1.protected.header.key_id.clone(),
            sign1,
        };
        let payload = unverified
            .verified_payload(trust)
            .map_err(|r| invalid(format!("not signed by a trusted key: {r}")))?;
        let map = match read_cbor(payload).map_err(invalid)? {
            Value::Map(m) => int_keyed(m, "revocation list").map_err(invalid)?,
            _ => return Err(invalid("not a CBOR map".into())),
        };
        if map.len() != 2 {
            return Err(invalid("unexpected fields".into()));
        }
        let issued_at = integer(map.get(&1), "issued_at").map_err(invalid)?;
        let Some(Value::Array(ids)) = map.get(&2) else {
            return Err(invalid("the ids are missing".into()));
        };
        let mut revoked = BTreeSet::new();
        for id in ids {
            match id {
                Value::Bytes(b) => {
                    revoked.insert(
                        Uuid::from_slice(b).map_err(|_| invalid("an id is not 16 bytes".into()))?,
                    );
                }
                _ => return Err(invalid("an id is not bytes".into())),
            }
        }
        Ok(RevocationList { issued_at, revoked })
    }
}

/// The outcome of checking a scanned credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Signed by a trusted key, inside its validity window, not revoked.
    Valid(Claims),
    /// Genuine but past its `exp`.
    Expired(Claims),
    /// Genuine but before its `nbf` (or the verifier's clock is wrong).
    NotYetValid(Claims),
    /// Genuine but on the revocation list.
    Revoked(Claims),
    /// Unknown key id or a signature that does not match: altered or forged.
    Forged(String),
    /// Not a well-formed credential at all.
    Malformed(String),
}

impl Verification {
    /// Stable code: `valid`, `expired`, `not_yet_valid`, `revoked`, `forged`,
    /// `malformed`.
    pub fn code(&self) -> &'static str {
        match self {
            Verification::Valid(_) => "valid",
            Verification::Expired(_) => "expired",
            Verification::NotYetValid(_) => "not_yet_valid",
            Verification::Revoked(_) => "revoked",
            Verification::Forged(_) => "forged",
            Verification::Malformed(_) => "malformed",
        }
    }

    /// The claims, for outcomes where the signature was good.
    pub fn claims(&self) -> Option<&Claims> {
        match self {
            Verification::Valid(c)
            | Verification::Expired(c)
            | Verification::NotYetValid(c)
            | Verification::Revoked(c) => Some(c),
            Verification::Forged(_) | Verification::Malformed(_) => None,
        }
    }

    /// A one-line message in Vietnamese and English.
    pub fn message(&self) -> String {
        match self {
            Verification::Valid(_) => "Hợp lệ / Valid".into(),
            Verification::Expired(c) => format!("Đã hết hạn / Expired (exp {})", c.expires),
            Verification::NotYetValid(c) => {
                format!("Chưa có hiệu lực / Not yet valid (nbf {})", c.not_before)
            }
            Verification::Revoked(_) => "Đã bị thu hồi / Revoked".into(),
            Verification::Forged(r) => format!("Giả mạo hoặc bị sửa đổi / Forged or altered: {r}"),
            Verification::Malformed(r) => format!("Mã không hợp lệ / Malformed: {r}"),
        }
    }
}

/// Verifies a scanned credential text offline at time `now` (Unix seconds).
///
/// Order: structure (→ `Malformed`), key id and signature (→ `Forged`),
/// claims (→ `Malformed`), revocation (→ `Revoked`), validity window
/// (→ `NotYetValid` / `Expired`).
pub fn verify(
    text: &str,
    trust: &TrustList,
    revocations: &RevocationList,
    now: i64,
) -> Verification {
    let unverified = match decode(text) {
        Ok(u) => u,
        Err(e) => return Verification::Malformed(e.to_string()),
    };
    let payload = match unverified.verified_payload(trust) {
        Ok(p) => p,
        Err(reason) => return Verification::Forged(reason),
    };
    let claims = match Claims::from_cbor(payload) {
        Ok(c) => c,
        Err(e) => return Verification::Malformed(e),
    };
    if revocations.revoked.contains(&claims.credential_id) {
        Verification::Revoked(claims)
    } else if now < claims.not_before {
        Verification::NotYetValid(claims)
    } else if now >= claims.expires {
        Verification::Expired(claims)
    } else {
        Verification::Valid(claims)
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lower- or upper-case hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}
