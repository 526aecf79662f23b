//! The crate's one error type.

/// Everything that can go wrong in `cds-qr`.
///
/// Each variant has a stable machine-readable [`QrError::kind`] code, so the
/// app can translate the message; the `Display` text is for logs and
/// developers (English, with the Vietnamese term where it helps).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The scanned credential text is not a well-formed `CDS1:` payload
    /// (bad prefix, Base45, zlib, CBOR or COSE structure, or a claim).
    #[error("malformed credential: {0}")]
    MalformedCredential(String),
    /// An input exceeds a size limit (text, decoded bytes, inflated bytes,
    /// image pixels).
    #[error("too large: {what} is {size}, the limit is {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// A CCCD QR string is missing a field or has an unusable one.
    #[error("not a CCCD QR code: {0}")]
    CccdFormat(String),
    /// A CCCD QR string's fields contradict each other (number vs date of
    /// birth and sex, unknown province code…). Every disagreement is listed.
    #[error("CCCD QR content is inconsistent: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    CccdInconsistent(Vec<cds_domain::IdNumberProblem>),
    /// A file or buffer is not an image this crate can read.
    #[error("not a readable image: {0}")]
    NotAnImage(String),
    /// The image was read but no QR code could be decoded in it.
    #[error("no QR code found in the image (tried {attempts} variants)")]
    NoQrCode { attempts: usize },
    /// A QR code was found but its bytes are not UTF-8 text.
    #[error("the QR code holds {len} bytes of binary data, not text")]
    Binary { len: usize },
    /// A key could not be generated, parsed or used.
    #[error("key error: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// Building the claims or the QR symbol failed (e.g. too much data for
    /// a QR code).
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// A trust list or revocation list is unusable.
    #[error("invalid {what}: {reason}")]
    InvalidList { what: &'static str, reason: String },
    /// Reading a file failed.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
}

impl QrError {
    /// Stable code for the UI to translate.
    pub fn kind(&self) -> &'static str {
        match self {
            QrError::MalformedCredential(_) => "malformed_credential",
            QrError::TooLarge { .. } => "too_large",
            QrError::CccdFormat(_) => "cccd_format",
            QrError::CccdInconsistent(_) => "cccd_inconsistent",
            QrError::NotAnImage(_) => "not_an_image",
            QrError::NoQrCode { .. } => "no_qr_code",
            QrError::Binary { .. } => "binary_payload",
            QrError::Key(_) => "key",
            QrError::Signing(_) => "signing",
            QrError::Encoding(_) => "encoding",
            QrError::InvalidList { .. } => "invalid_list",
            QrError::Io { .. } => "io",
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        QrError::MalformedCredential(reason.into())
    }
}
