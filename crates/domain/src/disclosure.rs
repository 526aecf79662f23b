//! What leaves the citizen's vault, and how: the access log's channel and
//! what a citizen QR discloses.

use serde::{Deserialize, Serialize};

/// How data left the citizen's vault (an access log entry's channel).
/// Shared by the vault, which stores it, and the view, which shows it, so
/// the two can never drift apart. The serde names are stored in vaults:
/// never rename them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureChannel {
    /// Sent with an application.
    Application,
    /// Shown as the citizen QR.
    Qr,
    /// Exported.
    Export,
    /// Written into an encrypted backup.
    Backup,
}

/// What a citizen QR discloses. Each is a separate, minimal credential
/// signed by the city (selective disclosure by issuing the minimum), never
/// a full credential with parts hidden.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QrDisclosure {
    /// Identification number, full name and date of birth.
    Full,
    /// Only "18 or older".
    Over18,
    /// Only the full name.
    NameOnly,
}

impl QrDisclosure {
    pub const ALL: [QrDisclosure; 3] = [
        QrDisclosure::Full,
        QrDisclosure::Over18,
        QrDisclosure::NameOnly,
    ];

    /// The wire code (`full`, `over18`, `name_only`), as the backend and
    /// `cds-qr` spell it.
    pub fn code(self) -> &'static str {
        match self {
            QrDisclosure::Full => "full",
            QrDisclosure::Over18 => "over18",
            QrDisclosure::NameOnly => "name_only",
        }
    }

    pub fn from_code(code: &str) -> Option<QrDisclosure> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Moved from cds-api's lib.rs.
    #[test]
    fn disclosure_channels_keep_their_stored_names() {
        let names: Vec<String> = [
            DisclosureChannel::Application,
            DisclosureChannel::Qr,
            DisclosureChannel::Export,
            DisclosureChannel::Backup,
        ]
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
        assert_eq!(
            names,
            ["\"application\"", "\"qr\"", "\"export\"", "\"backup\""]
        );
    }

    #[test]
    fn qr_disclosure_codes_are_the_wire_names() {
        for d in QrDisclosure::ALL {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.code())
            );
            assert_eq!(QrDisclosure::from_code(d.code()), Some(d));
        }
        assert_eq!(
            QrDisclosure::ALL.map(QrDisclosure::code),
            ["full", "over18", "name_only"]
        );
        assert_eq!(QrDisclosure::from_code("everything"), None);
    }
}
