//! The crate's one error type.

use cds_qr::QrError;

/// Everything that can go wrong while opening a camera, reading frames or
/// scanning them.
///
/// Each variant has a stable machine-readable [`CameraError::kind`] code so
/// the app can translate the message; the `Display` text is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    /// No camera with this index is connected.
    #[error("no camera with index {index}: {reason}")]
    NotFound { index: u32, reason: String },
    /// This build or platform cannot capture from a camera (the `nokhwa`
    /// feature is off, or the platform has no native backend).
    #[error("camera capture is not supported here: {0}")]
    Unsupported(String),
    /// The camera exists but opening it, configuring it or reading from it
    /// failed (busy, permission denied, unplugged…).
    #[error("camera error: {0}")]
    Device(String),
    /// The camera stopped delivering frames.
    #[error("the camera delivered no frame for {seconds} s")]
    Timeout { seconds: u64 },
    /// An image file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// An image could not be decoded (not an image, too large…).
    #[error("not a usable image: {0}")]
    Image(String),
    /// A frame's buffer does not match its size, or the frame is empty.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    /// The QR decoder failed for a reason other than "no code in view".
    #[error("QR decoding failed: {0}")]
    Decode(String),
    /// The preview JPEG could not be encoded.
    #[error("preview encoding failed: {0}")]
    Preview(String),
    /// A photo was asked for before the camera delivered its first frame.
    #[error("the camera has not delivered a picture yet")]
    NotReady,
    /// The scanning thread could not be started or died.
    #[error("scan thread failed: {0}")]
    Thread(String),
}

impl CameraError {
    /// Stable code for the UI to translate.
    pub fn kind(&self) -> &'static str {
        match self {
            CameraError::NotFound { .. } => "not_found",
            CameraError::Unsupported(_) => "unsupported",
            CameraError::Device(_) => "device",
            CameraError::Timeout { .. } => "timeout",
            CameraError::Io { .. } => "io",
            CameraError::Image(_) => "image",
            CameraError::InvalidFrame(_) => "invalid_frame",
            CameraError::Decode(_) => "decode",
            CameraError::Preview(_) => "preview",
            CameraError::NotReady => "not_ready",
            CameraError::Thread(_) => "thread",
        }
    }
}

impl From<QrError> for CameraError {
    fn from(e: QrError) -> Self {
        match e {
            QrError::Io { path, reason } => CameraError::Io { path, reason },
            QrError::NotAnImage(_) | QrError::TooLarge { .. } => CameraError::Image(e.to_string()),
            other => CameraError::Decode(other.to_string()),
        }
    }
}
