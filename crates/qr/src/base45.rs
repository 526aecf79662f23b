//! Base45 (RFC 9285): bytes as text in the QR alphanumeric alphabet.
//!
//! Two bytes become three characters, a trailing byte two characters. The
//! decoder is strict: only the 45 alphabet characters, no trailing single
//! character, and no triple or pair whose value overflows.

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes `data` as Base45 text.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        let n = (usize::from(pair[0]) << 8) | usize::from(pair[1]);
        out.push(char::from(ALPHABET[n % 45]));
        out.push(char::from(ALPHABET[(n / 45) % 45]));
        out.push(char::from(ALPHABET[n / (45 * 45)]));
    }
    if let [last] = chunks.remainder() {
        let n = usize::from(*last);
        out.push(char::from(ALPHABET[n % 45]));
        out.push(char::from(ALPHABET[n / 45]));
    }
    out
}

fn value(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|&a| a == c)
}

/// Why Base45 text did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base45Error {
    /// A character outside the alphabet, at this byte offset.
    InvalidCharacter(usize),
    /// The length leaves one character over (`len % 3 == 1`).
    BadLength(usize),
    /// A group decodes to more than fits in its bytes, at this offset.
    Overflow(usize),
}

impl std::fmt::Display for Base45Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base45Error::InvalidCharacter(i) => {
                write!(f, "character at offset {i} is not Base45")
            }
            Base45Error::BadLength(n) => write!(f, "length {n} is not a Base45 length"),
            Base45Error::Overflow(i) => write!(f, "Base45 group at offset {i} overflows"),
        }
    }
}

/// Decodes Base45 `text` strictly.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err(Base45Error::BadLength(bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for (i, group) in bytes.chunks(3).enumerate() {
        let offset = i * 3;
        let mut n = 0usize;
        let mut scale = 1usize;
        for (j, &c) in group.iter().enumerate() {
            let v = value(c).ok_or(Base45Error::InvalidCharacter(offset + j))?;
            n += v * scale;
            scale *= 45;
        }
        if group.len() == 3 {
            if n > 0xFFFF {
                return Err(Base45Error::Overflow(offset));
            }
            out.push((n >> 8) as u8);
            out.push((n & 0xFF) as u8);
        } else {
            if n > 0xFF {
                return Err(Base45Error::Overflow(offset));
            }
            out.push(n as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(encode(b""), "");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode("ZZZ"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode("A"), Err(Base45Error::BadLength(1)));
        assert_eq!(decode("ab"), Err(Base45Error::InvalidCharacter(0)));
        assert_eq!(decode("BB8:Z"), Err(Base45Error::Overflow(3)));
        assert_eq!(decode("FGW"), Ok(vec![0xFF, 0xFF]));
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(decode(&encode(&data)).unwrap(), data);
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,64}") {
            let _ = decode(&s);
        }
    }
}
