//! Attachments: decoding what the UI sends, reading a file from disk,
//! recognising the type by content, and the thumbnail for `<img>`.

use crate::error::too_large;
use crate::mapping::attachment_view;
use crate::AppCore;
use base64::Engine as _;
use cds_vault::NewAttachment;
use cds_view::{AttachmentView, ErrorKind, IpcError, NewAttachmentInput};
use std::path::Path;

/// Largest attachment, in bytes (the domain's one limit, which the vault
/// enforces; checked here first so a huge file is refused before it is
/// decoded), and the one content sniffer.
pub use cds_domain::{sniff_mime, MAX_ATTACHMENT_BYTES};

pub(crate) fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn unsupported(name: &str) -> IpcError {
    IpcError::new(
        ErrorKind::UnsupportedFile,
        format!("{name} is not an image (JPEG, PNG, WebP, GIF) or a PDF"),
    )
}

/// Decodes a picked file sent as base64, refusing an oversized one before
/// decoding it.
pub(crate) fn decode_attachment(a: NewAttachmentInput) -> Result<NewAttachment, IpcError> {
    // base64 is 4 characters per 3 bytes.
    if (a.data_base64.len() as u64) / 4 * 3 > MAX_ATTACHMENT_BYTES + 3 {
        return Err(too_large(&a.file_name));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.data_base64.as_bytes())
        .map_err(|e| {
            IpcError::invalid(
                "attachment",
                format!("{} could not be read: {e}", a.file_name),
            )
        })?;
    if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(too_large(&a.file_name));
    }
    let mime = sniff_mime(&bytes).ok_or_else(|| unsupported(&a.file_name))?;
    Ok(NewAttachment {
        file_name: a.file_name,
        mime: mime.to_owned(),
        bytes,
    })
}

/// Reads a file from disk for attaching: size from metadata first, so a
/// 200 MB file is refused without being read.
pub fn read_attachment_file(path: &Path) -> Result<NewAttachment, IpcError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let meta = std::fs::metadata(path).map_err(|e| {
        IpcError::invalid("attachment", format!("cannot open {}: {e}", path.display()))
    })?;
    if !meta.is_file() {
        return Err(IpcError::invalid(
            "attachment",
            format!("{} is not a file", path.display()),
        ));
    }
    if meta.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_large(&name));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        IpcError::invalid("attachment", format!("cannot read {}: {e}", path.display()))
    })?;
    let mime = sniff_mime(&bytes).ok_or_else(|| unsupported(&name))?;
    Ok(NewAttachment {
        file_name: name,
        mime: mime.to_owned(),
        bytes,
    })
}

impl AppCore {
    pub fn add_attachment(
        &self,
        document_id: &str,
        input: NewAttachmentInput,
    ) -> Result<AttachmentView, IpcError> {
        let a = decode_attachment(input)?;
        self.with_vault(|v| v.add_attachment(document_id, &a))
            .map(attachment_view)
    }

    /// Adds a file by its path, checking its size from the file's metadata
    /// before reading a byte of it.
    pub fn add_attachment_from_path(
        &self,
        document_id: &str,
        path: &Path,
    ) -> Result<AttachmentView, IpcError> {
        let a = read_attachment_file(path)?;
        self.with_vault(|v| v.add_attachment(document_id, &a))
            .map(attachment_view)
    }

    pub fn delete_attachment(&self, id: &str) -> Result<(), IpcError> {
        self.with_vault(|v| v.delete_attachment(id))
    }

    /// The attachment's JPEG thumbnail as a `data:` URL; `None` when it has
    /// none (a PDF).
    pub fn thumbnail_data_url(&self, id: &str) -> Result<Option<String>, IpcError> {
        self.with_vault(|v| Ok(v.thumbnail(id)?.map(|b| data_url("image/jpeg", &b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_by_content() {
        assert_eq!(sniff_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_mime(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff_mime(b""), None);
    }
}
