//! Why a delivery to the city failed, typed: [`DeliveryErrorKind`], stored
//! sealed with its message in `applications.last_error`, so the app shows
//! the right text and decides about retrying without re-reading English
//! messages.
//!
//! The sealed value (place label `last_error`) is one of:
//! - **typed** (written since the kind exists): the byte `0xFF`, then the
//!   JSON `{"kind": "<kind>" | null, "message": "…", "retry_after_secs": n}`
//!   (`retry_after_secs` only when the city asked to wait). `0xFF` never occurs
//!   in UTF-8, so it cannot be mistaken for the older form;
//! - **text** (older rows and backups): the message as UTF-8, no kind.

use serde::{Deserialize, Serialize};

use crate::crypto::Place;
use crate::VaultError;

/// The first byte of a typed `last_error` value.
const TYPED: u8 = 0xFF;
/// Longest message kept (characters).
pub(crate) const MAX_ERROR_CHARS: usize = 2000;

/// Why delivering an application failed. Serialised in `snake_case`
/// (`"rate_limited"`). Every failure of a delivery attempt is one of these:
///
/// | kind | what happened | try again? |
/// |---|---|---|
/// | `unreachable` | no connection: offline, DNS, refused or reset connection | yes, later |
/// | `timeout` | connected, but no complete answer in time | yes, later |
/// | `tls` | the city's certificate is not trusted, or the TLS handshake failed | no, until the trust settings change |
/// | `server_unavailable` | the city (or a proxy before it) answered 5xx or 408 | yes, later |
/// | `rate_limited` | the city answered 429 (with or without `Retry-After`) | yes, after the wait |
/// | `unauthorized` | the city answered 401 or 403: this device is not (or no longer) allowed | no, until re-enrolled |
/// | `refused` | the city answered another 4xx with its error body: it refuses this application | no: it needs changing |
/// | `bad_response` | the city answered 2xx with something that is not a valid receipt for it | yes, later (a city bug) |
/// | `internal` | anything else, on this device (storage, a bug) | yes, later |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryErrorKind {
    Unreachable,
    Timeout,
    Tls,
    ServerUnavailable,
    RateLimited,
    Unauthorized,
    Refused,
    BadResponse,
    Internal,
}

impl DeliveryErrorKind {
    /// Every kind, in the order of the table above.
    pub const ALL: [DeliveryErrorKind; 9] = [
        DeliveryErrorKind::Unreachable,
        DeliveryErrorKind::Timeout,
        DeliveryErrorKind::Tls,
        DeliveryErrorKind::ServerUnavailable,
        DeliveryErrorKind::RateLimited,
        DeliveryErrorKind::Unauthorized,
        DeliveryErrorKind::Refused,
        DeliveryErrorKind::BadResponse,
        DeliveryErrorKind::Internal,
    ];

    /// The stable `snake_case` code (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            DeliveryErrorKind::Unreachable => "unreachable",
            DeliveryErrorKind::Timeout => "timeout",
            DeliveryErrorKind::Tls => "tls",
            DeliveryErrorKind::ServerUnavailable => "server_unavailable",
            DeliveryErrorKind::RateLimited => "rate_limited",
            DeliveryErrorKind::Unauthorized => "unauthorized",
            DeliveryErrorKind::Refused => "refused",
            DeliveryErrorKind::BadResponse => "bad_response",
            DeliveryErrorKind::Internal => "internal",
        }
    }

    /// Whether trying the same application again later may succeed without
    /// anything changing on this device (the "try again?" column: `yes`).
    pub fn is_temporary(self) -> bool {
        match self {
            DeliveryErrorKind::Unreachable
            | DeliveryErrorKind::Timeout
            | DeliveryErrorKind::ServerUnavailable
            | DeliveryErrorKind::RateLimited
            | DeliveryErrorKind::BadResponse
            | DeliveryErrorKind::Internal => true,
            DeliveryErrorKind::Tls
            | DeliveryErrorKind::Unauthorized
            | DeliveryErrorKind::Refused => false,
        }
    }
}

/// The last delivery failure of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailure {
    /// `None` only for failures recorded before kinds existed (older rows
    /// and backups).
    pub kind: Option<DeliveryErrorKind>,
    /// For logs and developers (English, from the sync client).
    pub message: String,
    /// How long the city asked to wait (`Retry-After` of a 429 or 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl DeliveryFailure {
    /// A failure with its message cut to [`MAX_ERROR_CHARS`].
    pub(crate) fn new(kind: Option<DeliveryErrorKind>, message: &str) -> Self {
        DeliveryFailure {
            kind,
            message: message.chars().take(MAX_ERROR_CHARS).collect(),
            retry_after_secs: None,
        }
    }

    /// The plaintext sealed into `last_error` (the typed form).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, VaultError> {
        let mut out = vec![TYPED];
        serde_json::to_writer(&mut out, self).map_err(VaultError::storage)?;
        Ok(out)
    }

    /// Reads either form; anything else authenticated under the label is
    /// not ours: tampered.
    pub(crate) fn decode(plain: &[u8], place: &Place<'_>) -> Result<Self, VaultError> {
        match plain.split_first() {
            Some((&TYPED, json)) => serde_json::from_slice(json).map_err(|_| place.tampered()),
            _ => match std::str::from_utf8(plain) {
                Ok(message) => Ok(DeliveryFailure {
                    kind: None,
                    message: message.to_owned(),
                    retry_after_secs: None,
                }),
                Err(_) => Err(place.tampered()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_in_snake_case_as_their_code() {
        for k in DeliveryErrorKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.code())
            );
            let back: DeliveryErrorKind =
                serde_json::from_str(&format!("\"{}\"", k.code())).unwrap();
            assert_eq!(back, k);
        }
        assert_eq!(DeliveryErrorKind::RateLimited.code(), "rate_limited");
        assert!(DeliveryErrorKind::RateLimited.is_temporary());
        assert!(!DeliveryErrorKind::Refused.is_temporary());
        assert!(!DeliveryErrorKind::Tls.is_temporary());
    }

    #[test]
    fn both_stored_forms_read_back_and_others_are_tampered() {
        let place = Place::new("applications", "k", "last_error");
        let typed = DeliveryFailure::new(Some(DeliveryErrorKind::Timeout), "no answer in 20 s");
        assert_eq!(
            DeliveryFailure::decode(&typed.encode().unwrap(), &place).unwrap(),
            typed
        );
        let waiting = DeliveryFailure {
            retry_after_secs: Some(30),
            ..DeliveryFailure::new(Some(DeliveryErrorKind::RateLimited), "429")
        };
        assert_eq!(
            DeliveryFailure::decode(&waiting.encode().unwrap(), &place).unwrap(),
            waiting
        );
        let untyped = DeliveryFailure::new(None, "{\"kind\":\"tls\",\"message\":\"x\"}");
        assert_eq!(
            DeliveryFailure::decode(&untyped.encode().unwrap(), &place).unwrap(),
            untyped
        );
        // An older row: the bare message, even one that looks like JSON.
        let old = DeliveryFailure::decode(b"{\"kind\":\"tls\",\"message\":\"x\"}", &place).unwrap();
        assert_eq!(old.kind, None);
        assert_eq!(old.message, "{\"kind\":\"tls\",\"message\":\"x\"}");
        assert!(DeliveryFailure::decode(&[0xFF, b'{'], &place).is_err());
        assert!(DeliveryFailure::decode(&[0xC3], &place).is_err());
        assert_eq!(
            DeliveryFailure::new(None, &"é".repeat(3000))
                .message
                .chars()
                .count(),
            MAX_ERROR_CHARS
        );
    }
}
